"""Which paths are DAW projects: the registry table and the pure rules around it.

Nothing here touches the disk. `Registry.classify` maps any path an event or a walk
produces to the project unit it belongs to (the file, or the bundle root for packages
such as `.logicx`), or says why it is skipped. Content checks take an open binary file
so they run on real bytes in tests without a filesystem. Adding a DAW is one
`DawFormat` row in `FORMATS`.

What is known about each format, and how sure we are, is in `../shared/daw-formats.md`
(sections 1 and 7); comments below say "unconfirmed" wherever a rule rests on less than
a source or a real file, so nobody mistakes a guess for a fact.
"""

from __future__ import annotations

import os
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import PurePath
from typing import BinaryIO, Literal

from watcher.config import KindOverride

ContentCheck = Callable[[BinaryIO], "str | None"]
"""Reads a project's main file; returns None when it is this DAW's format, else why not."""

NamesIn = Callable[[PurePath], Collection[str]]
"""The names inside a directory; injected so classification stays free of I/O."""

SkipReason = Literal[
    "junk", "backup", "excluded", "bad-content", "open", "unrecognised", "unreadable", "link"
]


@dataclass(frozen=True)
class DawFormat:
    """One DAW's project format: what a project looks like and what is never one."""

    kind: str
    """The default `kind` sent to SessionDock; users can rename it under `kinds:`."""
    extensions: tuple[str, ...]
    """Lower-case, with the dot. Matched case-insensitively."""
    bundle: bool = False
    """True when the project is a directory (a macOS package) rather than a file."""
    check: ContentCheck | None = None
    """None where the format's bytes are unknown: then only the generic checks run."""
    content_files: tuple[str, ...] = ()
    """For bundles: glob patterns, relative to the bundle, of the files `check` reads.
    The first pattern that matches anything wins; every file it matches is checked."""
    backup_dirs: tuple[str, ...] = ()
    """Folder names that hold backups/autosaves when they sit inside a project root
    (for bundles: anywhere inside the bundle)."""
    backup_files: tuple[str, ...] = ()
    """Regexes (searched, case-insensitive) on project-file names that are backups."""
    backup_extensions: tuple[str, ...] = ()
    """Extensions of the backup/undo files this DAW writes beside a project. They are
    never projects anyway; naming them lets `scan --dry-run --explain` say what they are."""
    open_while: tuple[str, ...] = ()
    """Suffixes added to the project file's name whose presence means the DAW has the
    project open (Audacity's SQLite `-wal`). Events on them map to the project, they
    count in its signature, and the project is not sent while one exists."""
    bounce_dirs: tuple[str, ...] = ()
    """Folders beside the project (in its folder) where rendered mixes usually land."""
    bundle_bounce_dirs: tuple[str, ...] = ()
    """For bundles: glob patterns inside the bundle where rendered mixes land."""
    markers: tuple[str, ...] = ()
    """Names whose presence in a folder marks it as this DAW's project root
    (e.g. `Ableton Project Info`). A folder holding a project file is one too."""

    @property
    def backup_file_rules(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(rule, re.IGNORECASE) for rule in self.backup_files)


# --- content checks -------------------------------------------------------------------
#
# Each check proves two things as cheaply as it can: that the bytes are this DAW's
# format (magic bytes, see daw-formats.md section 7), and, where the format carries a
# length or an end marker, that the file is complete (a Finder copy or a sync client
# still filling it in has the right magic but no end).

_GZIP_MAGIC = b"\x1f\x8b"
_APPLEDOUBLE_MAGIC = b"\x00\x05\x16\x07"
_APPLESINGLE_MAGIC = b"\x00\x05\x16\x00"
_XML_TAIL = 256


def _size(stream: BinaryIO) -> int:
    size = stream.seek(0, 2)
    stream.seek(0)
    return size


def _tail(stream: BinaryIO, count: int = _XML_TAIL) -> bytes:
    size = _size(stream)
    stream.seek(max(0, size - count))
    data = stream.read(count)
    stream.seek(0)
    return data


def _text_head(stream: BinaryIO, count: int = 4096) -> bytes:
    """The first bytes of a text format, without a UTF-8 byte order mark or whitespace."""
    head = stream.read(count)
    stream.seek(0)
    return head.removeprefix(b"\xef\xbb\xbf").lstrip()


def check_generic(stream: BinaryIO) -> str | None:
    """What is never a project whatever the DAW: empty files and resource-fork sidecars.

    Runs before every DAW's own check, so DAWs whose bytes are unknown (Reason,
    Cakewalk) still reject cloud placeholders and AppleDouble copies.
    """
    head = stream.read(4)
    stream.seek(0)
    if not head:
        return "empty file (a placeholder, e.g. a cloud file not downloaded yet)"
    if head in (_APPLEDOUBLE_MAGIC, _APPLESINGLE_MAGIC):
        return "an AppleDouble resource-fork file, not a project"
    return None


def _complete_gzip_head(stream: BinaryIO, limit: int = 64 * 1024) -> bytes | str:
    """Decompress the whole gzip stream to prove it is complete; return its first bytes.

    A truncated copy (an interrupted Finder copy, a half-synced file) has the right magic
    but no end; reading to the end is the only cheap proof, and zlib does ~300 MB/s.
    """
    decompressor = zlib.decompressobj(wbits=31)
    head = b""
    while chunk := stream.read(1 << 20):
        try:
            data = decompressor.decompress(chunk)
        except zlib.error as exc:
            return f"corrupt gzip data ({exc})"
        if len(head) < limit:
            head += data[: limit - len(head)]
        if decompressor.eof:
            return head
    return "truncated: the compressed data ends early"


def _xml_document(stream: BinaryIO, root: bytes, what: str) -> str | None:
    """An XML project: its root element near the start and its closing tag at the end."""
    head = _text_head(stream)
    if not head.startswith(b"<"):
        return f"not {what} (not XML text)"
    if b"<" + root not in head:
        return f"not {what} (no <{root.decode()}> root element)"
    if not _tail(stream).rstrip().endswith(b"</" + root + b">"):
        return f"truncated: no closing </{root.decode()}> at the end"
    return None


def check_ableton(stream: BinaryIO) -> str | None:
    """Live writes gzip-compressed XML; some version-control set-ups keep it as plain XML."""
    magic = stream.read(2)
    stream.seek(0)
    if magic == _GZIP_MAGIC:
        head = _complete_gzip_head(stream)
        if isinstance(head, str):
            return head
        if b"<Ableton" not in head[:4096]:
            return "not an Ableton Live set (no <Ableton> root element)"
        return None
    return _xml_document(stream, b"Ableton", "an Ableton Live set")


_LOGIC_MAGIC = b"\x23\x47\xc0\xab"


def check_logic_project_data(stream: BinaryIO) -> str | None:
    """`ProjectData` starts `23 47 C0 AB`; the u32 at 0x10 is the file size minus 24.

    The length field is documented by LogicProFormatWriter and holds in every real
    Logic and GarageBand bundle we have, so it doubles as a completeness proof.
    """
    header = stream.read(24)
    size = _size(stream)
    if header[:4] != _LOGIC_MAGIC:
        return "ProjectData is not Logic/GarageBand data (no 23 47 C0 AB magic)"
    if len(header) < 24:
        return "truncated: ProjectData is shorter than its header"
    (declared,) = struct.unpack_from("<I", header, 0x10)
    if declared != (size - 24) & 0xFFFFFFFF:
        return f"truncated: ProjectData declares {declared + 24} bytes, has {size}"
    return None


def check_garageband(stream: BinaryIO) -> str | None:
    """GarageBand 10 has Logic's `ProjectData`; older bundles only a `projectData` plist."""
    head = _text_head(stream, 8)
    if head.startswith(_LOGIC_MAGIC):
        return check_logic_project_data(stream)
    if head.startswith(b"bplist"):
        return None
    if head.startswith(b"<"):
        return _xml_document(stream, b"plist", "a GarageBand projectData plist")
    return "not GarageBand project data (neither ProjectData nor a plist)"


def check_fl_studio(stream: BinaryIO) -> str | None:
    """`FLhd`, a 6-byte header, then `FLdt` and the u32 length of the event data."""
    head = stream.read(22)
    size = _size(stream)
    if head[:4] != b"FLhd":
        return "not an FL Studio project (no FLhd header)"
    (header_length,) = struct.unpack_from("<I", head, 4) if len(head) >= 8 else (0,)
    data_at = 8 + header_length
    stream.seek(data_at)
    chunk = stream.read(8)
    stream.seek(0)
    if chunk[:4] != b"FLdt" or len(chunk) < 8:
        return "truncated or damaged: no FLdt chunk after the FLhd header"
    (data_length,) = struct.unpack_from("<I", chunk, 4)
    if size < data_at + 8 + data_length:
        return f"truncated: FLdt declares {data_length} bytes of data, the file ends early"
    return None


_PT_BITCODE = b"0010111100101011"


def check_pro_tools(stream: BinaryIO) -> str | None:
    """Byte 0 is `03`, then the ASCII bitcode `0010111100101011` (Pro Tools 5 to 12).

    The rest is XOR-obfuscated and carries no length we know of, so completeness is
    left to the debounce's stable-size rule.
    """
    head = stream.read(20)
    stream.seek(0)
    if head[1:17] != _PT_BITCODE:
        return "not a Pro Tools session (no 0010111100101011 bitcode at offset 1)"
    if len(head) < 20:
        return "truncated: shorter than a Pro Tools session header"
    return None


def check_steinberg(stream: BinaryIO) -> str | None:
    """Cubase/Nuendo: `RIFF`, a big-endian length, then form type `NUND`.

    A plain RIFF check would also pass WAV files, so the form type matters. The real
    `.cpr` we have is exactly length + 12 bytes; requiring length + 8 (the RIFF rule)
    catches truncation without betting on the extra 4 bytes.
    """
    head = stream.read(12)
    size = _size(stream)
    if head[:4] != b"RIFF" or head[8:12] != b"NUND":
        return "not a Cubase/Nuendo project (no RIFF ... NUND header)"
    (declared,) = struct.unpack_from(">I", head, 4)
    if size < declared + 8:
        return f"truncated: the RIFF header declares {declared + 8} bytes, has {size}"
    return None


def check_reaper(stream: BinaryIO) -> str | None:
    """Plain text starting `<REAPER_PROJECT`; the outermost block closes with `>`."""
    if not _text_head(stream).startswith(b"<REAPER_PROJECT"):
        return "not a REAPER project (does not start with <REAPER_PROJECT)"
    if not _tail(stream).rstrip().endswith(b">"):
        return "truncated: the <REAPER_PROJECT block is not closed"
    return None


def _zip_check(what: str, *required: str) -> ContentCheck:
    """A zip project: its central directory (at the very end) lists one of `required`.

    Reading the central directory is cheap and proves the archive is complete: a copy
    cut short loses its end-of-central-directory record first.
    """

    def check(stream: BinaryIO) -> str | None:
        if stream.read(4) != b"PK\x03\x04":
            stream.seek(0)
            return f"not {what} (not a zip archive)"
        stream.seek(0)
        try:
            with zipfile.ZipFile(stream) as archive:
                names = {n.rstrip("/") for n in archive.namelist()}
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            return f"truncated or damaged: no complete zip central directory at the end ({exc})"
        finally:
            stream.seek(0)
        if required and not names.intersection(required):
            return f"not {what} (the archive holds no {' or '.join(required)})"
        return None

    return check


def check_bitwig(stream: BinaryIO) -> str | None:
    """`BtWg` then an ASCII hex version (`0001...`); not a zip.

    No length field is known, so there is no completeness proof (unconfirmed format).
    """
    head = stream.read(8)
    stream.seek(0)
    if head[:4] != b"BtWg":
        return "not a Bitwig Studio project (no BtWg header)"
    if not re.fullmatch(rb"[0-9a-fA-F]{4}", head[4:8]):
        return "truncated or damaged: no version after the BtWg header"
    return None


def check_ardour(stream: BinaryIO) -> str | None:
    return _xml_document(stream, b"Session", "an Ardour session")


_SQLITE_MAGIC = b"SQLite format 3\x00"


def _check_sqlite(stream: BinaryIO) -> str | None:
    """The header's page size times its page count is the database's size, when valid.

    The count is trusted only when the "version valid for" number equals the change
    counter (SQLite's own rule); a shorter file is a truncated copy.
    """
    header = stream.read(100)
    size = _size(stream)
    if len(header) < 100:
        return "truncated: shorter than an SQLite header"
    (page_size,) = struct.unpack_from(">H", header, 16)
    page_size = 65536 if page_size == 1 else page_size
    change_counter, pages = struct.unpack_from(">II", header, 24)
    (valid_for,) = struct.unpack_from(">I", header, 92)
    if page_size < 512 or page_size & (page_size - 1):
        return "damaged: not a valid SQLite page size"
    if size % page_size:
        return "truncated: not a whole number of database pages"
    if pages and valid_for == change_counter and size < pages * page_size:
        return f"truncated: the database declares {pages * page_size} bytes, has {size}"
    return None


def check_audacity(stream: BinaryIO) -> str | None:
    """`.aup3` is an SQLite database; `.aup` (Audacity 2 and older) XML with a <project>."""
    head = stream.read(16)
    stream.seek(0)
    if head == _SQLITE_MAGIC:
        return _check_sqlite(stream)
    return _xml_document(stream, b"project", "an Audacity project")


def check_lmms(stream: BinaryIO) -> str | None:
    """`.mmp` is XML; `.mmpz` Qt's qCompress: a big-endian length, then a zlib stream.

    The root is `<lmms-project>` in the real files we have. The compressed form is
    inflated in full, which proves it complete and checks the declared length.
    """
    if _text_head(stream, 64).startswith(b"<"):
        return _xml_document(stream, b"lmms-project", "an LMMS project")
    header = stream.read(4)
    if len(header) < 4:
        return "not an LMMS project (too short)"
    (declared,) = struct.unpack(">I", header)
    decompressor = zlib.decompressobj()
    head, total = b"", 0
    try:
        while chunk := stream.read(1 << 20):
            data = decompressor.decompress(chunk)
            total += len(data)
            head += data[: 4096 - len(head)]
            if decompressor.eof:
                break
    except zlib.error:
        return "not an LMMS project (neither XML nor qCompress data)"
    finally:
        stream.seek(0)
    if not decompressor.eof:
        return "truncated: the compressed data ends early"
    if total != declared:
        return f"damaged: {total} bytes inflated, the header declares {declared}"
    if b"<lmms-project" not in head:
        return "not an LMMS project (no <lmms-project> root element)"
    return None


# --- generic junk rules ---------------------------------------------------------------

_JUNK_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rule, re.IGNORECASE), why)
    for rule, why in (
        (r"^\._", "an AppleDouble sidecar (macOS resource fork on SMB/NFS/exFAT)"),
        (r"^\..*\.icloud$", "an iCloud placeholder (not downloaded)"),
        (r".* \([^)]*conflicted copy[^)]*\)", "a Dropbox conflict copy"),
        (r".* \((Case|Unicode Encoding) Conflict\)", "a Dropbox conflict copy"),
        (r"\.sync-conflict-", "a Syncthing conflict copy"),
        (r"^\.", "a hidden or temporary file (dot-prefixed)"),
        (r"^~\$", "an Office-style lock file"),
        (r"^(#recycle|\$RECYCLE\.BIN|\.Trashes)$", "a recycle bin"),
        (r"^(@.*|#snapshot|System Volume Information)$", "NAS or OS metadata"),
        (r"^(Thumbs\.db|ehthumbs\.db|desktop\.ini|Icon\r|__MACOSX)$", "OS metadata"),
        (r"~$", "an editor backup"),
        (
            r"\.(part|partial|crdownload|download|tmp|temp|icloud)$",
            "an incomplete download or temp file",
        ),
    )
)


def junk_reason(name: str) -> str | None:
    """Why a name is OS, sync-client or download junk (never a project wherever it sits)."""
    for rule, why in _JUNK_RULES:
        if rule.search(name):
            return why
    return None


def is_junk_name(name: str) -> bool:
    return junk_reason(name) is not None


# --- the table ------------------------------------------------------------------------
#
# Bounce folders: only where daw-formats.md section 4 names one. Where the location is
# the user's choice (Ableton, FL Studio, REAPER, Audacity, Cakewalk, Bitwig, Reason),
# only a same-named audio file beside the project counts as its preview.

_LOGIC_BACKUPS = ("Project File Backups", "Autosave")  # plus any `*.nosync` folder

FORMATS: tuple[DawFormat, ...] = (
    DawFormat(
        kind="Ableton",
        extensions=(".als",),
        check=check_ableton,
        backup_dirs=("Backup",),
        markers=("Ableton Project Info",),
    ),
    DawFormat(
        kind="Logic Pro",
        extensions=(".logicx",),
        bundle=True,
        check=check_logic_project_data,
        content_files=("Alternatives/*/ProjectData",),
        backup_dirs=_LOGIC_BACKUPS,
        bounce_dirs=("Bounces",),
        bundle_bounce_dirs=("Bounces",),
    ),
    DawFormat(
        kind="GarageBand",
        extensions=(".band",),
        bundle=True,
        check=check_garageband,
        content_files=("Alternatives/*/ProjectData", "projectData"),
        backup_dirs=(*_LOGIC_BACKUPS, "Thumbs"),
        bundle_bounce_dirs=("Output", "Alternatives/*/Previews"),
    ),
    DawFormat(
        kind="FL Studio",
        extensions=(".flp",),
        check=check_fl_studio,
        # Naming unconfirmed (daw-formats.md 1.4); FL keeps these in its own data folder.
        backup_files=(r"\((autosave|overwritten at)\b[^)]*\)",),
    ),
    DawFormat(
        kind="Pro Tools",
        extensions=(".ptx", ".ptf"),
        check=check_pro_tools,
        backup_dirs=("Session File Backups",),
        bounce_dirs=("Bounced Files",),  # folder name unconfirmed, but the usual one
        markers=("Audio Files", "WaveCache.wfm"),
    ),
    DawFormat(
        kind="Cubase",
        extensions=(".cpr",),
        check=check_steinberg,
        backup_dirs=("Auto Saves",),
        backup_extensions=(".bak",),
        bounce_dirs=("Mixdown",),  # unconfirmed default of Export Audio Mixdown
    ),
    DawFormat(
        kind="Nuendo",
        extensions=(".npr",),  # extension unconfirmed; same code base as Cubase
        check=check_steinberg,
        backup_dirs=("Auto Saves",),
        backup_extensions=(".bak",),
        bounce_dirs=("Mixdown",),
    ),
    DawFormat(
        kind="Reaper",
        extensions=(".rpp",),
        check=check_reaper,
        backup_extensions=(".rpp-bak", ".rpp-undo"),
        # Timestamped auto-saves, often set to a `Backups` folder in the project; their
        # name and extension are unconfirmed, so the folder is what tells them apart.
        backup_dirs=("Backups", "Backup"),
    ),
    DawFormat(
        kind="Studio One",
        extensions=(".song",),
        check=_zip_check("a Studio One song", "Song/song.xml"),
        backup_dirs=("History", "Cache"),
        bounce_dirs=("Mixdown",),
    ),
    DawFormat(
        kind="Bitwig Studio",
        extensions=(".bwproject",),
        check=check_bitwig,
        # Backups unconfirmed; `bounce/` holds bounced clips, not a mix, so no preview.
    ),
    DawFormat(
        kind="Reason",
        extensions=(".reason",),
        # Format, backups and autosaves unknown (daw-formats.md 1.10): generic checks only.
    ),
    DawFormat(
        kind="Ardour",
        extensions=(".ardour",),
        check=check_ardour,
        backup_extensions=(".bak", ".pending", ".history"),
        bounce_dirs=("export",),  # unconfirmed default export folder
    ),
    DawFormat(
        kind="Audacity",
        extensions=(".aup3", ".aup"),
        check=check_audacity,
        open_while=("-wal",),
    ),
    DawFormat(
        kind="DAWproject",
        extensions=(".dawproject",),
        # Format 0.1 (early Bitwig exports) holds project.json instead of project.xml.
        check=_zip_check("a DAWproject file", "project.xml", "project.json"),
    ),
    DawFormat(
        kind="Renoise",
        extensions=(".xrns",),
        check=_zip_check("a Renoise song", "Song.xml"),
        # Backups/autosaves unconfirmed.
    ),
    DawFormat(
        kind="LMMS",
        extensions=(".mmp", ".mmpz"),
        check=check_lmms,
        backup_files=(r"^recover\.mmpz$",),
        backup_extensions=(".bak",),
    ),
    DawFormat(
        kind="Cakewalk",
        extensions=(".cwp",),
        # Bytes unknown: generic checks only. Dated versions (versioning on) are real
        # projects whose name format is unconfirmed, so they are not filtered.
        backup_files=(r"^Auto Save Version of ",),
    ),
)


def suffix_of(name: str) -> str:
    """The lower-case extension, without building a path: walks call it per entry."""
    return os.path.splitext(name)[1].lower()


HEAVY_DIRS = frozenset(
    {
        "samples", "audio files", "freeze files", "freeze files.nosync", "rendered files",
        "fade files", "video files", "peaks", "interchange",
    }
)  # fmt: skip
"""Payload folders that never hold a project; not descended into by walks or watches."""


def never_holds_projects(folder_name: str) -> bool:
    """Folders not worth a watch or a poll: payload (`Samples/`), DAW bookkeeping that
    never holds a project (`Ableton Project Info`, Logic's `*.nosync`), and OS junk."""
    lowered = folder_name.lower()
    return (
        lowered in HEAVY_DIRS
        or lowered == "ableton project info"
        or is_nosync(folder_name)
        or is_junk_name(folder_name)
    )


# --- classification -------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A project unit: the file or bundle root that is imported as one project."""

    path: PurePath
    daw: DawFormat


@dataclass(frozen=True)
class Skipped:
    """A path that looks like a project but is not imported, and why."""

    path: PurePath
    reason: SkipReason
    detail: str


Verdict = Candidate | Skipped | None


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as a regex over `/`-separated paths: `*` and `?` stay within one name,
    `**` spans folders (`Archive/**` is everything below `Archive`)."""
    out, index, text = [], 0, pattern.strip("/")
    while index < len(text):
        if text.startswith("**/", index):
            out.append("(?:[^/]*/)*")
            index += 3
        elif text.startswith("**", index):
            out.append(".*")
            index += 2
        elif text[index] == "*":
            out.append("[^/]*")
            index += 1
        elif text[index] == "?":
            out.append("[^/]")
            index += 1
        elif text[index] == "[" and "]" in text[index + 1 :]:
            end = text.index("]", index + 1)
            body = text[index + 1 : end].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
            index = end + 1
        else:
            out.append(re.escape(text[index]))
            index += 1
    return re.compile("".join(out), re.IGNORECASE)


def _glob_match(path: PurePath, pattern: str) -> bool:
    """`exclude` globs match the name or any trailing part of the path (`**/` implied)."""
    regex = _glob_regex(pattern)
    parts = path.parts
    return any(regex.fullmatch("/".join(parts[start:])) for start in range(len(parts)))


def is_nosync(name: str) -> bool:
    return name.lower().endswith(".nosync")


@dataclass(frozen=True)
class Registry:
    """The DAW table as configured: kind renames and extra extensions applied."""

    formats: tuple[DawFormat, ...] = FORMATS
    _by_extension: Mapping[str, DawFormat] = field(init=False, repr=False, compare=False)
    _backup_extensions: Mapping[str, str] = field(init=False, repr=False, compare=False)
    _backup_dirs: Mapping[str, tuple[DawFormat, ...]] = field(init=False, repr=False, compare=False)
    relevant_extensions: frozenset[str] = field(init=False, repr=False, compare=False)
    """Every extension a walk classifies (projects and backups): most of a studio's
    files are audio, and this set rejects them with one lookup."""
    bundle_extensions: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table = {ext: daw for daw in self.formats for ext in daw.extensions}
        owners: dict[str, list[str]] = {}
        dirs: dict[str, list[DawFormat]] = {}
        for daw in self.formats:
            for ext in daw.backup_extensions:
                owners.setdefault(ext, []).append(daw.kind)
            if not daw.bundle:
                for name in daw.backup_dirs:
                    dirs.setdefault(name.lower(), []).append(daw)
        object.__setattr__(self, "_by_extension", table)
        object.__setattr__(self, "_backup_extensions", {e: "/".join(k) for e, k in owners.items()})
        object.__setattr__(self, "_backup_dirs", {n: tuple(d) for n, d in dirs.items()})
        object.__setattr__(self, "relevant_extensions", frozenset(table) | frozenset(owners))
        bundles = frozenset(e for daw in self.formats if daw.bundle for e in daw.extensions)
        object.__setattr__(self, "bundle_extensions", bundles)

    @classmethod
    def configured(cls, overrides: Mapping[str, KindOverride]) -> Registry:
        """Apply `kinds:`; keys are the default kind strings, matched ignoring case."""
        known = {daw.kind.lower(): daw for daw in FORMATS}
        by_kind: dict[str, KindOverride] = {}
        for name, override in overrides.items():
            if name.lower() not in known:
                names = ", ".join(sorted(d.kind for d in FORMATS))
                raise ValueError(f"unknown DAW {name!r}; known: {names}")
            by_kind[known[name.lower()].kind] = override
        formats = []
        for daw in FORMATS:
            chosen = by_kind.get(daw.kind)
            if chosen:
                extra = tuple(e for e in chosen.extensions if e not in daw.extensions)
                daw = replace(daw, kind=chosen.kind or daw.kind, extensions=daw.extensions + extra)
            formats.append(daw)
        return cls(tuple(formats))

    def format_for(self, name: str) -> DawFormat | None:
        suffix = suffix_of(name)
        return self._by_extension.get(suffix) if suffix else None

    def is_relevant(self, name: str) -> bool:
        """A file name a walk classifies: a project or a DAW's backup file.

        Open markers (`X.aup3-wal`) are left out: they stand for their project, which
        the walk meets on its own; events on them are mapped by `classify`.
        """
        return suffix_of(name) in self.relevant_extensions

    def _owner_of_sidecar(self, name: str) -> tuple[DawFormat, str] | None:
        lowered = name.lower()
        for daw in self.formats:
            for suffix in daw.open_while:
                if lowered.endswith(suffix) and self.format_for(name[: -len(suffix)]) is daw:
                    return daw, name[: -len(suffix)]
        return None

    def classify(
        self,
        path: PurePath,
        root: PurePath,
        names_in: NamesIn,
        exclude: Iterable[str] = (),
    ) -> Verdict:
        """Map a path under a watched `root` to its project unit, or say why it is skipped.

        Returns None for paths that have nothing to do with projects (samples, audio,
        unrelated documents), so callers can ignore them silently.
        """
        try:
            relative = path.relative_to(root)
        except ValueError:
            return None
        parts = relative.parts
        if not parts:
            return None
        for index, name in enumerate(parts):
            daw = self.format_for(name)
            if daw and daw.bundle:
                unit = root.joinpath(*parts[: index + 1])
                inner = self._inside_bundle(daw, parts[index + 1 :])
                if inner is not None:
                    return Skipped(path, inner[0], inner[1])
                return self._judge(unit, root, names_in, exclude, daw)
            if index < len(parts) - 1 and name.lower() in HEAVY_DIRS:
                return None
        leaf = parts[-1]
        daw = self.format_for(leaf)
        if daw is not None:
            return self._judge(path, root, names_in, exclude, daw)
        sidecar = self._owner_of_sidecar(leaf)
        if sidecar is not None:
            return self._judge(path.with_name(sidecar[1]), root, names_in, exclude, sidecar[0])
        owners = self._backup_extensions.get(suffix_of(leaf))
        if owners is not None:
            return Skipped(path, "backup", f"{owners} backup or undo file")
        return None

    @staticmethod
    def _inside_bundle(daw: DawFormat, inner: tuple[str, ...]) -> tuple[SkipReason, str] | None:
        """Backups, undo data and junk inside a bundle never make the bundle change."""
        backups = {d.lower() for d in daw.backup_dirs}
        for name in inner:
            if name.lower() in backups or is_nosync(name):
                return "backup", f"inside {daw.kind}'s {name}/ folder in the bundle"
            why = junk_reason(name)
            if why:
                return "junk", f"{name!r} inside the bundle is {why}"
        return None

    def _judge(
        self,
        unit: PurePath,
        root: PurePath,
        names_in: NamesIn,
        exclude: Iterable[str],
        daw: DawFormat,
    ) -> Candidate | Skipped:
        relative = unit.relative_to(root)
        for pattern in exclude:
            if _glob_match(relative, pattern):
                return Skipped(unit, "excluded", f"matches exclude pattern {pattern!r}")
        for name in relative.parts:
            why = junk_reason(name)
            if why:
                return Skipped(unit, "junk", f"{name!r} is {why}")
        for rule in daw.backup_file_rules:
            if rule.search(unit.name):
                return Skipped(unit, "backup", f"a {daw.kind} backup or autosave (by its name)")
        parts = relative.parts
        for depth in range(len(parts) - 1, 0, -1):  # the nearest folder first
            if parts[depth - 1].lower() not in self._backup_dirs:
                continue  # no path built for the many folders that are no backup's name
            backup = self.backup_dir_reason(root.joinpath(*parts[:depth]), names_in)
            if backup:
                return Skipped(unit, "backup", backup)
        return Candidate(unit, daw)

    def backup_dir_reason(self, directory: PurePath, names_in: NamesIn) -> str | None:
        """Why `directory` is a DAW's backup folder, or None.

        Backup folder names count only inside a project root of their own DAW. A
        studio folder that happens to be called `Backup` or `History` must not hide
        the real projects in it, so `X/Backup/Y.als` is a backup only when `X` is an
        Ableton project folder (it holds the marker folder or a set of its own).
        """
        owners = self._backup_dirs.get(directory.name.lower())
        if not owners:
            return None
        names = names_in(directory.parent)
        for daw in owners:
            if self._is_project_root(names, daw):
                return f"inside {daw.kind}'s {directory.name}/ folder"
        return None

    @staticmethod
    def _is_project_root(names: Collection[str], daw: DawFormat) -> bool:
        if any(marker in names for marker in daw.markers):
            return True
        return any(suffix_of(n) in daw.extensions for n in names)


def title_for(project: PurePath, title_from: Literal["file", "folder"]) -> str:
    """The file name without its extension, or the enclosing folder's name.

    Ableton's `X Project/` convention loses its ` Project` suffix in folder mode.
    """
    if title_from == "folder" and project.parent.name:
        return project.parent.name.removesuffix(" Project")
    return project.name[: -len(project.suffix)] if project.suffix else project.name


def project_type(project: PurePath) -> str:
    return project.suffix.lower().lstrip(".")
