"""What a watched folder's volume does with names, and where a drive came back.

Two facts the core cannot find out and SessionDock's machines differ on (issue 12):
whether `song.als` and `Song.als` are one file (APFS and NTFS by default, exFAT; not
ext4 or a case-sensitive APFS), tried cheaply at each folder check by stat'ing a name
in the folder under its other case; and, for `check`, where a watched folder that is
offline, or whose projects are all gone, now is when a drive came back under another
mount point (`/Volumes/Studio` -> `/Volumes/Studio 1`, `E:` -> `F:`): the recorded
projects are looked for under the names beside the missing one.
"""

from __future__ import annotations

import itertools
import os
import string
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from watcher.relink import remap_root

ENTRIES_TRIED = 64
"""Names of the folder looked at for one with letters, at most (a folder check is cheap)."""
SIBLINGS_TRIED = 256
"""Mount points (or folders) beside a missing one looked at by `check`, at most."""
SAMPLES = 5
"""Recorded projects that must all be found under another mount point."""


def _flipped(name: str) -> str | None:
    flipped = name.swapcase()
    return flipped if flipped != name and flipped.casefold() == name.casefold() else None


def case_insensitive(root: Path) -> bool | None:
    """Whether names in `root` are found in any letter case; None: nothing to try.

    A name inside the folder is tried first (it is on the folder's own volume); the
    folder's own name only when it holds none with letters (that tries the volume it
    is mounted on, which is usually the same)."""
    try:
        with os.scandir(root) as entries:
            for count, entry in enumerate(entries):
                if count >= ENTRIES_TRIED:
                    break
                answer = _same_file(Path(entry.path), _flipped(entry.name))
                if answer is not None:
                    return answer
    except OSError:
        return None
    return _same_file(root, _flipped(root.name))


def _same_file(path: Path, flipped: str | None) -> bool | None:
    if flipped is None:
        return None
    try:
        mine = path.lstat()
    except OSError:
        return None
    try:
        other = path.with_name(flipped).lstat()
    except FileNotFoundError:
        return False
    except OSError:
        return None
    return (mine.st_dev, mine.st_ino) == (other.st_dev, other.st_ino)


def remounted(root: Path, recorded: Sequence[str]) -> Path | None:
    """Where the library recorded under `root` is now, or None.

    Up to `SAMPLES` recorded project paths must all exist under a folder that differs
    from `root` in one path part (the mount point, or a drive letter): one match is an
    answer, none or several are not."""
    samples = sorted(recorded)[:: max(1, len(recorded) // SAMPLES)][:SAMPLES]
    if not samples:
        return None
    found = [c for c in _elsewhere(root) if _holds(c, root, samples)]
    return found[0] if len(found) == 1 else None


def _holds(candidate: Path, root: Path, samples: Sequence[str]) -> bool:
    for sample in samples:
        moved = remap_root(sample, str(root), str(candidate))
        if moved is None or not os.path.lexists(moved):
            return False
    return True


def _elsewhere(root: Path) -> Iterator[Path]:
    """`root` with one of its parts (from the deepest up) replaced by a folder beside it."""
    parts = root.parts
    for depth in range(len(parts) - 1, 0, -1):
        parent, name, rest = Path(*parts[:depth]), parts[depth], parts[depth + 1 :]
        try:
            with os.scandir(parent) as entries:
                siblings = sorted(e.name for e in itertools.islice(entries, SIBLINGS_TRIED))
        except OSError:
            continue
        for sibling in siblings:
            if sibling != name:
                candidate = Path(parent, sibling, *rest)
                if candidate.is_dir():
                    yield candidate
    if sys.platform == "win32" and root.drive:
        for letter in string.ascii_uppercase:
            drive = f"{letter}:\\"
            if drive.casefold() != root.anchor.casefold() and os.path.isdir(drive):
                candidate = Path(drive, *parts[1:])
                if candidate.is_dir():
                    yield candidate
