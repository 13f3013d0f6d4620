"""`scan --dry-run` on two cores: each watched folder's top-level folders are split
between this process and a forked helper.

Why: a dry run is one interpreter start, about 0.13 s of imports (pydantic validates
the config; its semantics and its errors must stay those of every other command), a
walk and a content check per project. Alone that is 3-4x `find` on a large library.
Forked before the helper's imports, the helper pays them on the other core while this
process (the lead) already walks, and then walks its share of the folders.

Where the folders split is decided when the helper is ready, not before: until then
the lead takes each top-level folder it reaches; once the helper's first word arrives,
the folders not yet reached are halved. So the two finish together however long the
helper's start took and however large the library (a fixed fraction fits one size).

The split keeps the serial order exactly: the lead prints everything at a watched
folder's top level and the top-level folders sorted before the boundary; the helper
takes the folders from the boundary on, and its lines are printed after the lead's for
that watched folder. The lead sends the boundary (so a folder created between the two
listings is walked by exactly one of them). If the helper is gone (its config did not
load, it crashed), the lead walks the helper's share itself: the output never depends
on the helper being there.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import select
import signal
import struct
import sys
from bisect import bisect_left
from collections.abc import Callable
from typing import IO, Any


def preload() -> None:
    """Import what both processes walk and print with, before the fork: the helper
    inherits the modules instead of importing them again (0.05 CPU s). It does not
    start walking later for it: its own imports (pydantic) come after them either way."""
    import watcher.dryconfig
    import watcher.dryrun
    import watcher.mounts
    import watcher.scanner  # noqa: F401


_LENGTH = struct.Struct("!I")
_UNREAD = object()


def _send(fd: int, message: Any) -> None:
    data = marshal.dumps(message)
    os.write(fd, _LENGTH.pack(len(data)) + data)


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _receive(fd: int) -> Any:
    """The next message, or None once the other process is gone."""
    head = _read_exactly(fd, _LENGTH.size)
    if head is None:
        return None
    body = _read_exactly(fd, _LENGTH.unpack(head)[0])
    return None if body is None else marshal.loads(body)  # noqa: S302 - our own child


class Share:
    """Which of a watched folder's top-level folders a walk enters, and whether it
    reports the top level itself (its files, links and junk): the whole folder, unless
    a subclass says otherwise. `watcher.walking.walk` hands over the sorted names of
    the top-level folders once it has listed them (`begin`), then asks about each as it
    reaches it, in that order (`enters`)."""

    lead = True

    def begin(self, folders: list[str]) -> None:
        """The top-level folders' names, sorted."""

    def enters(self, name: str) -> bool:
        return True


class _LeadShare(Share):
    """Every folder until the helper is ready, then those before the boundary."""

    def __init__(self, ready: Callable[[], bool], send: Callable[[str | None], bool]) -> None:
        self._ready = ready
        self._send = send
        self._folders: list[str] = []
        self.boundary: str | None = None
        self.sent = False

    def begin(self, folders: list[str]) -> None:
        self._folders = folders

    def enters(self, name: str) -> bool:
        if not self.sent:
            if not self._ready():
                return True  # the helper is not walking yet: this one is the lead's
            left = self._folders[bisect_left(self._folders, name) :]
            cut = (len(left) + 1) // 2  # the lead takes the middle one: it is walking now
            self.sent = True
            if not self._send(left[cut] if cut < len(left) else None):
                return True  # no helper: walk them all
            self.boundary = left[cut] if cut < len(left) else None
        return self.boundary is None or name < self.boundary


class _RestShare(Share):
    """The folders from the boundary on, without the top level (the helper's share)."""

    lead = False

    def __init__(self, boundary: str | None) -> None:
        self._boundary = boundary

    def enters(self, name: str) -> bool:
        return self._boundary is not None and name >= self._boundary


class Split:
    """This process's end of the split: the lead or the helper."""

    def __init__(self, lead: bool, to_other: int, from_other: int, out: IO[bytes]) -> None:
        self.lead = lead
        self._to, self._from, self._out = to_other, from_other, out
        self._alive = True
        self._printed = 0  # how far into the helper's output the lead has printed
        self.pid = 0  # the helper's, in the lead
        self._verdict: Any = _UNREAD
        self.closed = False

    @classmethod
    def fork(cls) -> Split | None:
        """Fork the helper (None where there is no fork or a single core). The helper's
        stdout and stderr go to /dev/null: only the lead speaks."""
        if not hasattr(os, "fork") or len(_cores()) < 2:
            return None
        out = _scratch_file()
        down_r, down_w = os.pipe()  # lead -> helper: boundaries
        up_r, up_w = os.pipe()  # helper -> lead: "folder k done, output ends at n"
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            os.close(down_w)
            os.close(up_r)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            os.close(null)
            return cls(False, up_w, down_r, out)
        os.close(down_r)
        os.close(up_w)
        split = cls(True, down_w, up_r, out)
        split.pid = pid
        return split

    def report(self, config_view: Any) -> None:
        """The helper's first word: the view of the config it validated
        (watcher/dryconfig.py), which the lead compares with its own reading."""
        try:
            _send(self._to, ("config", config_view))
        except OSError:
            self._alive = False

    def confirm(self, config_view: Any) -> bool:
        """The lead: did the helper validate a config with this view? False also when
        the helper is gone (its config did not load, it crashed)."""
        return self._alive and self._helper_view() == config_view

    def _helper_view(self) -> Any:
        if self._verdict is _UNREAD:
            message = _receive(self._from)
            if message is None or message[0] != "config":
                self._alive = False
                self._verdict = None
            else:
                self._verdict = message[1]
        return self._verdict

    def _ready(self) -> bool:
        """The lead, between two folders: has the helper's first word come (it is ready
        to walk), or is it gone? Never waits."""
        if self._verdict is _UNREAD and self._alive:
            waiting, _, _ = select.select([self._from], [], [], 0)
            if not waiting:
                return False
        self._helper_view()
        return True

    def share(self, index: int) -> Share:
        """The share of watched folder number `index` this process walks."""
        if self.lead:
            return _LeadShare(self._ready, lambda boundary: self._tell(index, boundary))
        message = _receive(self._from) if self._alive else None
        if message is None or message[0] != index:
            self._alive = False
            return _RestShare(None)
        return _RestShare(message[1])

    def _tell(self, index: int, boundary: str | None) -> bool:
        """Send the boundary; False when there is no helper to send it to."""
        if self._alive:
            try:
                _send(self._to, (index, boundary))
            except OSError:  # the helper is gone: the lead does its share
                self._alive = False
        return self._alive

    def done(self, index: int, share: Share, lines: list[str]) -> list[str]:
        """After a watched folder: the helper hands its lines over; the lead returns the
        helper's lines for that folder (or [] and walks the share itself when the helper
        could not: see `rest`)."""
        if not self.lead:
            if self._alive:
                self._out.write("".join(lines).encode("utf-8", "surrogateescape"))
                self._out.flush()
                try:
                    _send(self._to, (index, self._out.tell()))
                except OSError:
                    self._alive = False
            return []
        assert isinstance(share, _LeadShare)
        if not share.sent:
            self._tell(index, None)  # the walk never listed the top level: nothing to split
        self._helper_view()  # read past the helper's first word, if not read yet
        message = _receive(self._from) if self._alive else None
        if message is None or message[0] != index:
            self._alive = False
            return []
        end = message[1]
        data = os.pread(self._out.fileno(), end - self._printed, self._printed)
        self._printed = end
        return [data.decode("utf-8", "surrogateescape")]

    def missing(self, share: Share) -> Share | None:
        """The helper's share, for the lead to walk when the helper is gone."""
        if not self.lead or self._alive or not isinstance(share, _LeadShare):
            return None
        return _RestShare(share.boundary) if share.boundary is not None else None

    def abandon(self) -> None:
        """The lead's reading of the config was not the helper's: stop the helper (it
        may be walking a large share) and close."""
        if self.pid:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for fd in (self._to, self._from):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._out.close()
        if self.pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)


def _scratch_file() -> IO[bytes]:
    """An unnamed file both processes share (an in-memory one where Linux has it:
    `tempfile` alone costs 5 ms of imports)."""
    if hasattr(os, "memfd_create"):
        return os.fdopen(os.memfd_create("sessiondock-dry-run"), "w+b")
    import tempfile

    return tempfile.TemporaryFile()


def _cores() -> set[int]:
    try:
        return os.sched_getaffinity(0)
    except AttributeError:  # macOS
        return set(range(os.cpu_count() or 1))
