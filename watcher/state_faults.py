"""What an SQLite or OS error means for the state file, and moving a damaged one aside.

A lock or a full disk is a condition to wait out (`StateUnavailable`); damage is
repaired by moving the file aside and rebuilding (`StateCorrupt`); anything else is a
bug and stays loud. Each carries one line of advice for the log and `status`.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import time
from pathlib import Path
from typing import Literal


class StateError(Exception):
    """The state database cannot be opened or written; the message says which file."""

    advice = "check state.path and that the folder is writable"


class StateCorrupt(StateError):
    """The file is not an SQLite database, or a page of it is damaged."""

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(f"state database {path} is damaged ({detail})")
        self.path = path
        self.advice = (
            "the daemon moves it aside (kept beside it as "
            f"{path.name}.corrupt-<time>) and rebuilds it from a walk plus SessionDock's "
            "library at its next start: restart it (`sessiondock-watcher run`, or the "
            "service)"
        )


class StateUnavailable(StateError):
    """A condition to wait out: another program's lock, a full disk, an I/O error."""

    def __init__(self, path: Path, reason: Literal["locked", "full", "io"], detail: str) -> None:
        super().__init__(f"state database {path} unavailable: {detail}")
        self.path = path
        self.reason = reason
        self.advice = {
            "locked": f"another program holds {path.name} locked (a backup tool, an open "
            "sqlite3 shell?): close it; the daemon retries by itself",
            "full": f"free space on the disk holding {path.parent}; the daemon retries by "
            "itself and loses nothing",
            "io": f"check the disk holding {path.parent} and its permissions; the daemon "
            "retries by itself",
        }[reason]


# SQLite's primary result codes (sqlite.org/rescode.html); not every Python's sqlite3
# module (or its type stubs) exports them by name.
_BUSY, _LOCKED_CODE, _FULL_CODE, _IOERR, _CANTOPEN, _READONLY, _PERM = 5, 6, 13, 10, 14, 8, 3
_CORRUPT_CODE, _NOTADB, _PROTOCOL = 11, 26, 15
_CORRUPT = {_CORRUPT_CODE, _NOTADB}
_LOCKED = {_BUSY, _LOCKED_CODE}
_FULL = {_FULL_CODE}
_IO = {_IOERR, _CANTOPEN, _READONLY, _PERM, _PROTOCOL}


def classify(path: Path, exc: BaseException) -> StateError | None:
    """The StateError an sqlite3 or OS error means for this file; None for anything else
    (a bug, which should stay loud)."""
    if isinstance(exc, StateError):
        return exc
    if isinstance(exc, sqlite3.Error):
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
        if code in _CORRUPT:
            return StateCorrupt(path, str(exc))
        if code in _LOCKED:
            return StateUnavailable(path, "locked", str(exc))
        if code in _FULL:
            return StateUnavailable(path, "full", str(exc))
        if code in _IO:
            return StateUnavailable(path, "io", str(exc))
        return None
    if isinstance(exc, OSError):
        reason: Literal["full", "io"] = "full" if exc.errno == errno.ENOSPC else "io"
        return StateUnavailable(path, reason, exc.strerror or str(exc))
    return None


def move_aside(database: Path, now: float | None = None) -> Path:
    """Rename a damaged database (and its WAL and shared-memory files) out of the way.

    Kept, never deleted: it may hold what a person wants back. The new name carries the
    time, so repeated damage never overwrites an earlier copy.
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    target = database.with_name(f"{database.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = database.with_name(f"{database.name}.corrupt-{stamp}-{n}")
    os.replace(database, target)
    for suffix in ("-wal", "-shm"):
        side = database.with_name(database.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    return target
