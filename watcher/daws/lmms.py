"""LMMS: `.mmp` XML, or `.mmpz` in Qt's qCompress framing."""

from __future__ import annotations

import struct
from typing import BinaryIO

from watcher.daws.base import DEFAULT_LIMITS, DawFormat, Limits, TooLarge
from watcher.daws.reading import inflate, text_head, xml_document


def check_lmms(stream: BinaryIO, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """`.mmp` is XML; `.mmpz` Qt's qCompress: a big-endian length, then a zlib stream.

    The root is `<lmms-project>` in the real files we have. The compressed form is
    inflated in pieces to its end, which proves it complete and checks the declared
    length; a declared length past the limit is refused before inflating anything.
    """
    if text_head(stream, 64).startswith(b"<"):
        return xml_document(stream, b"lmms-project", "an LMMS project")
    header = stream.read(4)
    if len(header) < 4:
        stream.seek(0)
        return "not an LMMS project (too short)"
    (declared,) = struct.unpack(">I", header)
    if declared > limits.max_inflated_bytes:
        stream.seek(0)
        raise TooLarge(
            f"declares {declared} bytes of XML, past scan.max_inflated_bytes "
            f"({limits.max_inflated_bytes})"
        )
    inflated = inflate(stream, 15, limits)
    if isinstance(inflated, str):
        return "not an LMMS project (neither XML nor qCompress data)"
    if not inflated.complete:
        return "truncated: the compressed data ends early"
    if inflated.total != declared:
        return f"damaged: {inflated.total} bytes inflated, the header declares {declared}"
    if b"<lmms-project" not in inflated.head:
        return "not an LMMS project (no <lmms-project> root element)"
    if not inflated.tail.rstrip().endswith(b"</lmms-project>"):
        return "truncated: no closing </lmms-project> at the end"
    return None


LMMS = DawFormat(
    kind="LMMS",
    extensions=(".mmp", ".mmpz"),
    check=check_lmms,
    backup_files=(r"^recover\.mmpz$",),
    backup_extensions=(".bak",),
)
