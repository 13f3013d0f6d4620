"""Bounded reads of a project's bytes: head, tail, and streaming inflation.

Every helper here holds at most a few megabytes whatever the file: a check looks at
the start of a document for its root element and at the very end for its closing tag,
and compressed data is inflated in fixed-size pieces that are dropped as soon as they
are counted. Nothing here opens a file; callers hand in an open binary stream.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import BinaryIO

from watcher.daws.base import Budget, Limits

XML_TAIL = 256
HEAD = 4096
_IN_CHUNK = 64 * 1024
_OUT_CHUNK = 1 << 20

APPLEDOUBLE_MAGIC = b"\x00\x05\x16\x07"
APPLESINGLE_MAGIC = b"\x00\x05\x16\x00"


def size_of(stream: BinaryIO) -> int:
    size = stream.seek(0, 2)
    stream.seek(0)
    return size


def tail_of(stream: BinaryIO, count: int = XML_TAIL) -> bytes:
    size = size_of(stream)
    stream.seek(max(0, size - count))
    data = stream.read(count)
    stream.seek(0)
    return data


def text_head(stream: BinaryIO, count: int = HEAD) -> bytes:
    """The first bytes of a text format, without a UTF-8 byte order mark or whitespace."""
    head = stream.read(count)
    stream.seek(0)
    return head.removeprefix(b"\xef\xbb\xbf").lstrip()


def check_generic(stream: BinaryIO, limits: Limits | None = None) -> str | None:
    """What is never a project whatever the DAW: empty files and resource-fork sidecars.

    Runs before every DAW's own check, so DAWs whose bytes are unknown (Reason,
    Cakewalk) still reject cloud placeholders and AppleDouble copies.
    """
    head = stream.read(4)
    stream.seek(0)
    if not head:
        return "empty file (a placeholder, e.g. a cloud file not downloaded yet)"
    if head in (APPLEDOUBLE_MAGIC, APPLESINGLE_MAGIC):
        return "an AppleDouble resource-fork file, not a project"
    return None


def xml_document(stream: BinaryIO, root: bytes, what: str) -> str | None:
    """An XML project: its root element near the start and its closing tag at the end."""
    head = text_head(stream)
    if not head.startswith(b"<"):
        return f"not {what} (not XML text)"
    if b"<" + root not in head:
        return f"not {what} (no <{root.decode()}> root element)"
    if not tail_of(stream).rstrip().endswith(b"</" + root + b">"):
        return f"truncated: no closing </{root.decode()}> at the end"
    return None


@dataclass(frozen=True)
class Inflated:
    """What a streaming inflation saw: the ends of the document and how much there was."""

    head: bytes
    """The first `HEAD` inflated bytes."""
    tail: bytes
    """The last `XML_TAIL` inflated bytes."""
    total: int
    complete: bool
    """The compressed stream reached its end marker (a cut copy never does)."""


def inflate(stream: BinaryIO, wbits: int, limits: Limits) -> Inflated | str:
    """Inflate from the stream's position to the end of the compressed data.

    Output comes in pieces of at most 1 MiB (`max_length`), so a decompression bomb
    never materialises; only the head and a small sliding tail are kept. Returns why
    the data is not a compressed stream at all, or raises `TooLarge` at a limit.
    Leaves the stream at offset 0.
    """
    budget = Budget(limits)
    decompressor = zlib.decompressobj(wbits=wbits)
    head, tail = b"", b""
    total = read = 0
    pending = b""
    try:
        while not decompressor.eof:
            if pending:
                data = decompressor.decompress(pending, _OUT_CHUNK)
                pending = decompressor.unconsumed_tail
            else:
                chunk = stream.read(_IN_CHUNK)
                if chunk:
                    read += len(chunk)
                    data = decompressor.decompress(chunk, _OUT_CHUNK)
                    pending = decompressor.unconsumed_tail
                else:
                    data = decompressor.decompress(b"", _OUT_CHUNK)  # output zlib still holds
                    if not data:
                        break
            total += len(data)
            if len(head) < HEAD:
                head += data[: HEAD - len(head)]
            tail = (tail + data[-XML_TAIL:])[-XML_TAIL:]
            budget.charge(total, read - len(pending))
    except zlib.error as exc:
        return f"corrupt compressed data ({exc})"
    finally:
        stream.seek(0)
    return Inflated(head=head, tail=tail, total=total, complete=decompressor.eof)
