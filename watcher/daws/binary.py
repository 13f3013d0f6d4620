"""DAWs with a binary header of their own: FL Studio, Pro Tools, Cubase/Nuendo, Bitwig.

Each check reads a few header bytes and, where the format declares a length, compares
it with the file's size (a copy cut short is shorter than it says).
"""

from __future__ import annotations

import re
import struct
from typing import BinaryIO

from watcher.daws.base import DEFAULT_LIMITS, DawFormat, Limits
from watcher.daws.reading import size_of


def check_fl_studio(stream: BinaryIO, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """`FLhd`, a 6-byte header, then `FLdt` and the u32 length of the event data."""
    head = stream.read(22)
    size = size_of(stream)
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


def check_pro_tools(stream: BinaryIO, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """Byte 0 is `03`, then the ASCII bitcode `0010111100101011` (Pro Tools 5 to 12,
    `.pts`, `.ptf` and `.ptx` alike).

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


def check_steinberg(stream: BinaryIO, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """Cubase/Nuendo: `RIFF`, a big-endian length, then form type `NUND`.

    A plain RIFF check would also pass WAV files, so the form type matters. The real
    `.cpr` we have is exactly length + 12 bytes; requiring length + 8 (the RIFF rule)
    catches truncation without betting on the extra 4 bytes.
    """
    head = stream.read(12)
    size = size_of(stream)
    if head[:4] != b"RIFF" or head[8:12] != b"NUND":
        return "not a Cubase/Nuendo project (no RIFF ... NUND header)"
    (declared,) = struct.unpack_from(">I", head, 4)
    if size < declared + 8:
        return f"truncated: the RIFF header declares {declared + 8} bytes, has {size}"
    return None


def check_bitwig(stream: BinaryIO, limits: Limits = DEFAULT_LIMITS) -> str | None:
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


FL_STUDIO = DawFormat(
    kind="FL Studio",
    extensions=(".flp",),
    check=check_fl_studio,
    # Naming unconfirmed (daw-formats.md 1.4); FL keeps these in its own data folder.
    backup_files=(r"\((autosave|overwritten at)\b[^)]*\)",),
)

PRO_TOOLS = DawFormat(
    kind="Pro Tools",
    # `.pts`: Pro Tools 5-6 on Windows, same header as `.ptf` (issue 10).
    extensions=(".ptx", ".ptf", ".pts"),
    check=check_pro_tools,
    backup_dirs=("Session File Backups",),
    bounce_dirs=("Bounced Files",),  # folder name unconfirmed, but the usual one
    markers=("Audio Files", "WaveCache.wfm"),
)

CUBASE = DawFormat(
    kind="Cubase",
    extensions=(".cpr",),
    check=check_steinberg,
    backup_dirs=("Auto Saves",),
    backup_extensions=(".bak",),
    bounce_dirs=("Mixdown",),  # unconfirmed default of Export Audio Mixdown
)

NUENDO = DawFormat(
    kind="Nuendo",
    extensions=(".npr",),  # extension unconfirmed; same code base as Cubase
    check=check_steinberg,
    backup_dirs=("Auto Saves",),
    backup_extensions=(".bak",),
    bounce_dirs=("Mixdown",),
)

BITWIG = DawFormat(
    kind="Bitwig Studio",
    extensions=(".bwproject",),
    check=check_bitwig,
    # Backups unconfirmed; `bounce/` holds bounced clips, not a mix, so no preview.
)
