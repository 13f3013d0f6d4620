"""The bytes each DAW writes, small and unique per project, for the real content checks.

Every builder takes a `tag` that makes the bytes unique to one project and revision,
so two projects never share content (issue 12 matches moved projects by content).
A prefix of these bytes is what a slow or interrupted write leaves on disk: formats
with a length or an end marker fail their content check on it, the others (Pro Tools,
Bitwig, Reason, Cakewalk) do not, and only debouncing protects them.
"""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

Files = dict[str, bytes]
"""Relative path inside the unit -> bytes; a single-file project has the one key ""."""


def _als(tag: str) -> bytes:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Ableton MajorVersion="5" Creator="Ableton Live 11.3"><LiveSet Tag="{tag}">'
        + "<Tracks/>" * 20
        + "</LiveSet></Ableton>\n"
    )
    return gzip.compress(xml.encode(), mtime=0)


def _logic_data(tag: str) -> bytes:
    payload = tag.encode() * 8 + b"\x00" * 64
    header = b"\x23\x47\xc0\xab" + b"\xae\x06\x02\x00\x04\x00\x00\x00\x01\x00\x08\x00"
    return header + struct.pack("<I", len(payload)) + b"\x00" * 4 + payload


def _flp(tag: str) -> bytes:
    payload = tag.encode() * 10
    return (
        b"FLhd"
        + struct.pack("<IhhH", 6, 0, 4, 96)
        + b"FLdt"
        + struct.pack("<I", len(payload))
        + payload
    )


def _ptx(tag: str) -> bytes:
    return b"\x03" + b"0010111100101011" + b"\x00\x01\x50" + tag.encode() * 12


def _riff(tag: str) -> bytes:
    payload = b"ROOT" + tag.encode() * 10
    return b"RIFF" + struct.pack(">I", len(payload)) + b"NUND" + payload


def _rpp(tag: str) -> bytes:
    return (
        f'<REAPER_PROJECT 0.1 "7.11/x64" 1714557600\n  TITLE "{tag}"\n'
        + "  <TRACK\n    NAME Vox\n  >\n" * 5
        + ">\n"
    ).encode()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def _sqlite(tag: str) -> bytes:
    """An SQLite header whose page count and size agree (what `_check_sqlite` proves)."""
    pages, page_size = 2, 512
    header = bytearray(100)
    header[:16] = b"SQLite format 3\x00"
    struct.pack_into(">H", header, 16, page_size)
    struct.pack_into(">II", header, 24, 7, pages)
    struct.pack_into(">I", header, 92, 7)
    body = (tag.encode() * 64)[: pages * page_size - 100]
    return bytes(header) + body.ljust(pages * page_size - 100, b"\x00")


def _xml(root: str, tag: str) -> str:
    return f'<?xml version="1.0"?>\n<{root} name="{tag}">\n' + "  <x/>\n" * 10 + f"</{root}>\n"


def _mmpz(tag: str) -> bytes:
    xml = _xml("lmms-project", tag).encode()
    return struct.pack(">I", len(xml)) + zlib.compress(xml)


def _opaque(tag: str) -> bytes:
    return b"RSN\x01" + tag.encode() * 16


@dataclass(frozen=True)
class Format:
    """One kind of project the world can make: its extension and how its bytes look."""

    ext: str
    build: Callable[[str], Files]
    proves_complete: bool
    """The content check rejects a prefix of the bytes (a length field or an end marker)."""

    @property
    def bundle(self) -> bool:
        return self.ext in (".logicx", ".band")


def _one(fn: Callable[[str], bytes]) -> Callable[[str], Files]:
    return lambda tag: {"": fn(tag)}


def _logic(tag: str) -> Files:
    return {
        "Alternatives/000/ProjectData": _logic_data(tag),
        "Alternatives/000/MetaData.plist": b"bplist00" + tag.encode(),
        "Resources/ProjectInformation.plist": b"bplist00info",
    }


def _band(tag: str) -> Files:
    return {
        "Alternatives/000/ProjectData": _logic_data(tag),
        "Output/metadata.plist": b"bplist00" + tag.encode(),
    }


FORMATS: tuple[Format, ...] = (
    Format(".als", _one(_als), True),
    Format(".logicx", _logic, True),
    Format(".band", _band, True),
    Format(".flp", _one(_flp), True),
    Format(".ptx", _one(_ptx), False),
    Format(".cpr", _one(_riff), True),
    Format(".npr", _one(_riff), True),
    Format(".rpp", _one(_rpp), True),
    Format(".song", _one(lambda t: _zip({"Song/song.xml": t.encode()})), True),
    Format(".bwproject", _one(lambda t: b"BtWg00010002" + t.encode() * 8), False),
    Format(".reason", _one(_opaque), False),
    Format(".ardour", _one(lambda t: _xml("Session", t).encode()), True),
    Format(".aup", _one(lambda t: _xml("project", t).encode()), True),
    Format(".aup3", _one(_sqlite), True),
    Format(".dawproject", _one(lambda t: _zip({"project.xml": t.encode()})), True),
    Format(".xrns", _one(lambda t: _zip({"Song.xml": t.encode()})), True),
    Format(".mmp", _one(lambda t: _xml("lmms-project", t).encode()), True),
    Format(".mmpz", _one(_mmpz), True),
    Format(".cwp", _one(_opaque), False),
)

APPLEDOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00" + b"Mac OS X        " + b"\x00" * 40
