"""DAWs that save a text document: REAPER, Ardour, Audacity (and Audacity 3's SQLite),
plus the two whose bytes are unknown (Reason, Cakewalk), checked only generically.

Text checks read the first few KB and the last 256 bytes, never the whole file.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from watcher.daws.base import DEFAULT_LIMITS, DawFormat, Limits
from watcher.daws.reading import size_of, tail_of, text_head, xml_document


def check_reaper(stream: BinaryIO, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """Plain text starting `<REAPER_PROJECT`; the outermost block closes with `>`."""
    if not text_head(stream).startswith(b"<REAPER_PROJECT"):
        return "not a REAPER project (does not start with <REAPER_PROJECT)"
    if not tail_of(stream).rstrip().endswith(b">"):
        return "truncated: the <REAPER_PROJECT block is not closed"
    return None


def check_ardour(stream: BinaryIO, limits: Limits = DEFAULT_LIMITS) -> str | None:
    return xml_document(stream, b"Session", "an Ardour session")


_SQLITE_MAGIC = b"SQLite format 3\x00"


def _check_sqlite(stream: BinaryIO) -> str | None:
    """The header's page size times its page count is the database's size, when valid.

    The count is trusted only when the "version valid for" number equals the change
    counter (SQLite's own rule); a shorter file is a truncated copy. Only the 100-byte
    header is read, whatever the database's size.
    """
    header = stream.read(100)
    size = size_of(stream)
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


def check_audacity(stream: BinaryIO, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """`.aup3` is an SQLite database; `.aup` (Audacity 2 and older) XML with a <project>."""
    head = stream.read(16)
    stream.seek(0)
    if head == _SQLITE_MAGIC:
        return _check_sqlite(stream)
    return xml_document(stream, b"project", "an Audacity project")


REAPER = DawFormat(
    kind="Reaper",
    extensions=(".rpp",),
    check=check_reaper,
    backup_extensions=(".rpp-bak", ".rpp-undo"),
    # Timestamped auto-saves, often set to a `Backups` folder in the project; their
    # name and extension are unconfirmed, so the folder is what tells them apart.
    backup_dirs=("Backups", "Backup"),
)

ARDOUR = DawFormat(
    kind="Ardour",
    extensions=(".ardour",),
    check=check_ardour,
    backup_extensions=(".bak", ".pending", ".history"),
    bounce_dirs=("export",),  # unconfirmed default export folder
)

AUDACITY = DawFormat(
    kind="Audacity",
    extensions=(".aup3", ".aup"),
    check=check_audacity,
    open_while=("-wal",),
)

REASON = DawFormat(
    kind="Reason",
    extensions=(".reason",),
    # Format, backups and autosaves unknown (daw-formats.md 1.10): generic checks only.
)

CAKEWALK = DawFormat(
    kind="Cakewalk",
    extensions=(".cwp",),
    # Bytes unknown: generic checks only. Dated versions (versioning on) are real
    # projects whose name format is unconfirmed, so they are not filtered.
    backup_files=(r"^Auto Save Version of ",),
)
