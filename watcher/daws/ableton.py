"""Ableton Live: `.als`, gzip-compressed XML (daw-formats.md 1.1)."""

from __future__ import annotations

from typing import BinaryIO

from watcher.daws.base import DEFAULT_LIMITS, DawFormat, Limits
from watcher.daws.reading import inflate, xml_document

_GZIP_MAGIC = b"\x1f\x8b"


def check_ableton(stream: BinaryIO, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """Live writes gzip-compressed XML; some version-control set-ups keep it as plain XML.

    The gzip stream is inflated to its end, in pieces, because reaching the end is the
    only cheap proof that a copy is complete (an interrupted Finder copy has the right
    magic but no end); the document itself is never held.
    """
    magic = stream.read(2)
    stream.seek(0)
    if magic != _GZIP_MAGIC:
        return xml_document(stream, b"Ableton", "an Ableton Live set")
    inflated = inflate(stream, 31, limits)
    if isinstance(inflated, str):
        return inflated
    if not inflated.complete:
        return "truncated: the compressed data ends early"
    if b"<Ableton" not in inflated.head:
        return "not an Ableton Live set (no <Ableton> root element)"
    if not inflated.tail.rstrip().endswith(b"</Ableton>"):
        return "truncated: no closing </Ableton> at the end"
    return None


ABLETON = DawFormat(
    kind="Ableton",
    extensions=(".als",),
    check=check_ableton,
    backup_dirs=("Backup",),
    markers=("Ableton Project Info",),
)
