"""Zip-based projects: Studio One `.song`, `.dawproject`, Renoise `.xrns`.

A zip's central directory sits at its very end, so finding it intact proves a copy
complete, and its names say which format it is. The directory is read entry by entry
straight from the stream, never as a whole and never into per-entry objects, and no
member is ever inflated: a zip bomb (huge members or millions of entries) costs a
bounded amount of memory, and its time is bounded by `Limits.seconds`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

from watcher.daws.base import DEFAULT_LIMITS, Budget, ContentCheck, DawFormat, Limits
from watcher.daws.reading import size_of

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_END = b"PK\x05\x06"
_END64_LOCATOR = b"PK\x06\x07"
_END64 = b"PK\x06\x06"
_END_SIZE = 22
_END64_SIZE = 56
_LOCATOR_SIZE = 20
_CENTRAL_SIZE = 46


class _Damaged(Exception):
    pass


def _directory_span(stream: BinaryIO) -> tuple[int, int]:
    """Where the central directory starts and how long it is, from the end records."""
    size = size_of(stream)
    window = min(size, _END_SIZE + 0xFFFF)
    stream.seek(size - window)
    end = stream.read(window)
    at = end.rfind(_END)
    if at < 0 or at + _END_SIZE > len(end):
        raise _Damaged("no end-of-central-directory record")
    end_at = size - window + at
    _sig, _disk, _cd_disk, _here, entries, cd_size, cd_offset, _comment = struct.unpack(
        "<4s4H2LH", end[at : at + _END_SIZE]
    )
    directory_end = end_at
    if entries == 0xFFFF or 0xFFFFFFFF in (cd_size, cd_offset):
        stream.seek(max(0, end_at - _LOCATOR_SIZE))
        locator = stream.read(_LOCATOR_SIZE)
        if locator[:4] == _END64_LOCATOR:
            directory_end = end_at - _LOCATOR_SIZE - _END64_SIZE
            stream.seek(max(0, directory_end))
            record = stream.read(_END64_SIZE)
            if record[:4] != _END64:
                raise _Damaged("a zip64 locator without its record")
            cd_size, cd_offset = struct.unpack_from("<2Q", record, 40)
    start = directory_end - cd_size
    if start < 0 or cd_offset > start:
        raise _Damaged("the central directory is not where the end record says")
    return start, cd_size


def _names(stream: BinaryIO, limits: Limits) -> Iterator[bytes]:
    """Each entry's name, read from the central directory one record at a time."""
    start, length = _directory_span(stream)
    budget = Budget(limits)
    stream.seek(start)
    seen = 0
    while seen < length:
        record = stream.read(_CENTRAL_SIZE)
        if len(record) < _CENTRAL_SIZE or record[:4] != _CENTRAL:
            raise _Damaged("a central directory entry is cut short")
        name_length, extra_length, comment_length = struct.unpack_from("<3H", record, 28)
        name = stream.read(name_length)
        stream.seek(extra_length + comment_length, 1)
        seen += _CENTRAL_SIZE + name_length + extra_length + comment_length
        budget.tick()
        yield name.rstrip(b"/")
    if seen != length:
        raise _Damaged("the central directory overruns its declared size")


def zip_check(what: str, *required: str) -> ContentCheck:
    """A zip project: its central directory (at the very end) lists one of `required`."""
    wanted = frozenset(name.encode() for name in required)

    def check(stream: BinaryIO, limits: Limits = DEFAULT_LIMITS) -> str | None:
        if stream.read(4) != _LOCAL:
            stream.seek(0)
            return f"not {what} (not a zip archive)"
        found = False
        try:
            for name in _names(stream, limits):
                found = found or name in wanted
        except (_Damaged, struct.error, OSError, ValueError) as exc:
            return f"truncated or damaged: no complete zip central directory at the end ({exc})"
        finally:
            stream.seek(0)
        if wanted and not found:
            return f"not {what} (the archive holds no {' or '.join(required)})"
        return None

    return check


STUDIO_ONE = DawFormat(
    kind="Studio One",
    extensions=(".song",),
    check=zip_check("a Studio One song", "Song/song.xml"),
    backup_dirs=("History", "Cache"),
    bounce_dirs=("Mixdown",),
)

DAWPROJECT = DawFormat(
    kind="DAWproject",
    extensions=(".dawproject",),
    # Format 0.1 (early Bitwig exports) holds project.json instead of project.xml.
    check=zip_check("a DAWproject file", "project.xml", "project.json"),
)

RENOISE = DawFormat(
    kind="Renoise",
    extensions=(".xrns",),
    check=zip_check("a Renoise song", "Song.xml"),
    # Backups/autosaves unconfirmed.
)
