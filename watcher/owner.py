"""One process owns a state database at a time: an OS lock on a file beside it.

Two writers on one database send the same projects twice (each sees them pending), so
`run` and `scan` take an exclusive lock on `<database>.lock` before they open the state,
and hold it until they exit. The lock is the kernel's (flock on Unix, a byte-range lock
on Windows), so it goes away with the process, however it dies: a `kill -9`'d owner
never blocks the next start, and there is no stale-lock cleanup to get wrong. The file
holds the owner's pid, only so the refusal can name it.

Readers (`status`, `check`, `scan --dry-run`) never take the lock: probing it, even for
an instant, could make a daemon starting at that moment believe it is the second one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

EXIT_LOCKED = 75
"""EX_TEMPFAIL: another process owns the state; a service manager retrying later is right."""

_WINDOWS_LOCK_OFFSET = 1 << 30
"""Windows byte-range locks stop other processes reading the range; lock a byte far past
the pid so the refusal can still read it."""


_HELD = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, getattr(errno, "EDEADLOCK", errno.EDEADLK)}
"""What flock (EWOULDBLOCK) and msvcrt.locking (EACCES, EDEADLOCK) say when it is taken."""


class LockHeld(Exception):
    """Another live process owns the state database."""

    def __init__(self, lock_path: Path, pid: int | None) -> None:
        who = f"pid {pid}" if pid else "another process"
        super().__init__(
            f"another sessiondock-watcher ({who}) already owns the state database "
            f"{lock_path.with_suffix('')}"
        )
        self.lock_path = lock_path
        self.pid = pid
        self.advice = (
            "only one `run` or `scan` per state database: the running daemon imports "
            "these folders already (stop it first for a one-off `scan`, or use "
            "`scan --dry-run`, which only reads)"
        )


def lock_path_for(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def owner_pid(database: Path) -> int | None:
    """The pid last written into the lock file (it may have exited): for messages only."""
    try:
        text = lock_path_for(database).read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    try:
        return int(text.strip() or "0") or None
    except ValueError:
        return None


class Owner:
    """The held lock; `release` (or process exit) gives it up."""

    def __init__(self, database: Path) -> None:
        self.path = lock_path_for(database)
        self._file: IO[str] | None = None

    def acquire(self) -> Owner:
        """Take the lock or raise `LockHeld`; OSError when the folder is unusable."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        file = os.fdopen(fd, "r+", encoding="ascii")
        try:
            _lock(file)
        except OSError as exc:
            file.close()
            if exc.errno in _HELD:
                raise LockHeld(self.path, owner_pid(self.path.with_suffix(""))) from None
            raise  # e.g. ENOLCK on a network file system: not another owner

        file.seek(0)
        file.truncate()
        file.write(f"{os.getpid()}\n")
        file.flush()
        self._file = file
        return self

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                _unlock(self._file)
            self._file.close()
            self._file = None


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(file: IO[str]) -> None:
        file.seek(_WINDOWS_LOCK_OFFSET)
        msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(file: IO[str]) -> None:
        file.seek(_WINDOWS_LOCK_OFFSET)
        msvcrt.locking(file.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(file: IO[str]) -> None:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(file: IO[str]) -> None:
        fcntl.flock(file.fileno(), fcntl.LOCK_UN)


HEARTBEAT_FRESH_SECONDS = 90.0
"""The daemon rewrites its heartbeat (`daemon` in meta) every 30 s; older means gone."""


def daemon_running(heartbeat: Mapping[str, Any]) -> bool:
    """Whether the daemon that wrote this heartbeat is still running.

    Its flag and a fresh timestamp are not enough after a `kill -9` (the flag stays set
    for up to a heartbeat interval), so the pid must be alive too.
    """
    fresh = time.time() - float(heartbeat.get("updated_at", 0)) < HEARTBEAT_FRESH_SECONDS
    return bool(heartbeat.get("running")) and fresh and _pid_alive(heartbeat.get("pid"))


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True
