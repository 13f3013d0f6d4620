"""What every DAW module shares: the row type, the check signature and the limits.

A content check reads bytes nobody vetted: a set copied from a stranger, a file cut
short by a sync client, or a deliberate decompression bomb. `Limits` is what bounds
such a check in bytes, ratio and seconds; a check that hits one raises `TooLarge`,
which the caller turns into the `too-large` skip reason.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import PurePath
from typing import BinaryIO, Literal, Protocol

GIB = 1 << 30
MIB = 1 << 20

SkipReason = Literal[
    "junk",
    "backup",
    "excluded",
    "bad-content",
    "too-large",
    "open",
    "unsuffixed",
    "unrecognised",
    "bad-name",
    "unreadable",
    "link",
]

NamesIn = Callable[[PurePath], Collection[str]]
"""The names inside a directory; injected so classification stays free of I/O."""


@dataclass(frozen=True)
class Limits:
    """Bounds on one content check that a real project never reaches.

    Real sets are 5-50 MB compressed and Ableton's XML inflates 10-20x, so a 50 MB set
    is about 1 GB of XML. The ratio is inflated bytes over compressed bytes consumed so
    far; it is judged only past `ratio_floor` inflated bytes, so a small file that
    compresses well is never mistaken for a bomb, while a bomb (zeros inflate ~1000x)
    is stopped after its first `ratio_floor` bytes.
    """

    max_inflated_bytes: int = 4 * GIB
    max_inflate_ratio: float = 200.0
    seconds: float = 300.0
    ratio_floor: int = 64 * MIB
    clock: Callable[[], float] = time.monotonic
    cancelled: Callable[[], bool] = lambda: False
    """True once the caller no longer wants the answer (the daemon is stopping)."""


DEFAULT_LIMITS = Limits()


class TooLarge(Exception):
    """A content check stopped at one of its `Limits`; the message says which."""


class Budget:
    """One check's running account against its limits (bytes in, bytes out, time)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._deadline = limits.clock() + limits.seconds

    def charge(self, inflated: int, consumed: int) -> None:
        """Raise `TooLarge` when `inflated` bytes from `consumed` break a limit."""
        limits = self.limits
        if inflated > limits.max_inflated_bytes:
            raise TooLarge(
                f"inflates past {_size_text(limits.max_inflated_bytes)} "
                "(scan.max_inflated_bytes); not a real project, or raise the limit"
            )
        if inflated > limits.ratio_floor and inflated > consumed * limits.max_inflate_ratio:
            raise TooLarge(
                f"inflates more than {limits.max_inflate_ratio:g}x "
                f"({_size_text(inflated)} from {_size_text(consumed)}; "
                "scan.max_inflate_ratio): a decompression bomb, not a real project"
            )
        self.tick()

    def tick(self) -> None:
        if self.limits.cancelled():
            raise TooLarge("content check cancelled: the watcher is stopping")
        if self.limits.clock() > self._deadline:
            raise TooLarge(
                f"content check took longer than {self.limits.seconds:g} s "
                "(scan.content_check_seconds)"
            )


def _size_text(count: int) -> str:
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", 1024)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{count} bytes"


class ContentCheck(Protocol):
    """Reads a project's main file; returns None when it is this DAW's format, else why not.

    May raise `TooLarge`. Takes the stream at offset 0 and leaves it there.
    """

    def __call__(self, stream: BinaryIO, limits: Limits = ..., /) -> str | None: ...


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
