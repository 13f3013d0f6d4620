"""An in-memory file system with inodes, mtimes and volumes that go offline.

Every mutation returns the events a native watcher would report for it (a move is
"gone at the source, created at the destination", as `watcher.observer` turns
watchdog's moved events into two `Change`s). Whether an event reaches the core is the
shell's decision (events get lost); the file system only says what happened.

Volumes: a watched root can be taken offline. While offline, nothing under it can be
listed or stat'ed by the shell, but the world may still change it (someone else edits
the drive), and no events are reported for those changes.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath
from typing import BinaryIO

P = PurePosixPath


@dataclass
class Node:
    is_dir: bool
    inode: int
    mtime_ns: int
    data: bytes = b""


@dataclass(frozen=True)
class Stat:
    is_dir: bool
    size: int
    mtime_ns: int
    inode: int


@dataclass(frozen=True)
class Event:
    """What a watcher reports: something at `path` exists now, or no longer does."""

    path: P
    gone: bool
    is_directory: bool


def below(path: P, top: P) -> bool:
    """`path` is strictly inside `top` (string work: `PurePath.parents` is slow)."""
    return str(path).startswith(str(top).rstrip("/") + "/")


def under(path: P, top: P) -> bool:
    """`path` is `top` or inside it."""
    return path == top or below(path, top)


def as_posix(path: PurePath | str) -> P:
    return path if isinstance(path, P) else P(str(path))


class SimFS:
    """Paths are absolute PurePosixPaths; the parent of every node exists."""

    def __init__(self) -> None:
        self._nodes: dict[P, Node] = {P("/"): Node(True, 1, 0)}
        self._children: dict[P, set[str]] = {P("/"): set()}
        self._next_inode = 2
        self.offline: set[P] = set()

    # --- what the shell sees (offline volumes hidden) --------------------------------

    def visible(self, path: P) -> bool:
        if not self.offline:
            return True
        return not any(under(path, root) for root in self.offline)

    def stat(self, path: PurePath | str) -> Stat | None:
        p = as_posix(path)
        node = self._nodes.get(p)
        if node is None or not self.visible(p):
            return None
        return Stat(node.is_dir, len(node.data), node.mtime_ns, node.inode)

    def listdir(self, path: PurePath | str) -> frozenset[str]:
        """The names in a directory; empty when it is missing, a file or offline."""
        p = as_posix(path)
        names = self._children.get(p)
        if names is None or not self.visible(p):
            return frozenset()
        return frozenset(names)

    def read(self, path: PurePath | str) -> bytes | None:
        p = as_posix(path)
        node = self._nodes.get(p)
        if node is None or node.is_dir or not self.visible(p):
            return None
        return node.data

    def open(self, path: PurePath | str) -> BinaryIO | None:
        data = self.read(path)
        return None if data is None else io.BytesIO(data)

    # --- the world's view (offline or not) -------------------------------------------

    def exists(self, path: P) -> bool:
        return path in self._nodes

    def is_dir(self, path: P) -> bool:
        node = self._nodes.get(path)
        return node is not None and node.is_dir

    def data(self, path: P) -> bytes | None:
        node = self._nodes.get(path)
        return None if node is None or node.is_dir else node.data

    def inode(self, path: P) -> int | None:
        node = self._nodes.get(path)
        return None if node is None else node.inode

    def walk_files(self, top: P) -> Iterator[P]:
        """Every file below `top` (sorted, so a seed's order never depends on hashing)."""
        for name in sorted(self._children.get(top, ())):
            child = top / name
            if self._nodes[child].is_dir:
                yield from self.walk_files(child)
            else:
                yield child

    def digest(self, unit: P) -> bytes | None:
        """What a file's bytes, or every file of a bundle, are now (None: nothing there)."""
        files = [unit] if self.data(unit) is not None else list(self.walk_files(unit))
        if not files:
            return None
        h = hashlib.blake2b(digest_size=16)
        for path in files:
            h.update(
                str(path.relative_to(unit)).encode() + b"\0" + (self.data(path) or b"") + b"\0"
            )
        return h.digest()

    def subtree(self, top: P) -> list[P]:
        """`top` and everything below it, parents before children."""
        out = [top]
        for name in sorted(self._children.get(top, ())):
            child = top / name
            if self._nodes[child].is_dir:
                out.extend(self.subtree(child))
            else:
                out.append(child)
        return out

    # --- mutations --------------------------------------------------------------------

    def _events(self, path: P, gone: bool, is_dir: bool) -> list[Event]:
        return [] if not self.visible(path) else [Event(path, gone, is_dir)]

    def _new_inode(self) -> int:
        self._next_inode += 1
        return self._next_inode

    def _link(self, path: P, node: Node) -> None:
        self._nodes[path] = node
        self._children[path.parent].add(path.name)
        if node.is_dir:
            self._children.setdefault(path, set())

    def makedirs(self, path: P, mtime_ns: int) -> list[Event]:
        events: list[Event] = []
        missing = [p for p in [path, *path.parents] if p not in self._nodes]
        for p in reversed(missing):
            self._link(p, Node(True, self._new_inode(), mtime_ns))
            self._nodes[p.parent].mtime_ns = mtime_ns
            events += self._events(p, False, True)
        return events

    def write(self, path: P, data: bytes, mtime_ns: int, append: bool = False) -> list[Event]:
        """Create or overwrite a file in place (same inode), or append to it."""
        events = self.makedirs(path.parent, mtime_ns)
        node = self._nodes.get(path)
        if node is None:
            self._link(path, Node(False, self._new_inode(), mtime_ns, data))
            self._nodes[path.parent].mtime_ns = mtime_ns
        else:
            node.data = node.data + data if append else data
            node.mtime_ns = mtime_ns
        return events + self._events(path, False, False)

    def replace(self, path: P, data: bytes, mtime_ns: int) -> list[Event]:
        """Save-by-rename, as most DAWs do: a temp file renamed over the old one (new inode)."""
        events = self.makedirs(path.parent, mtime_ns)
        existed = path in self._nodes
        if existed:
            self._unlink(path)
        self._link(path, Node(False, self._new_inode(), mtime_ns, data))
        return events + self._events(path, False, False)

    def _unlink(self, path: P) -> None:
        for p in reversed(self.subtree(path)):
            self._nodes.pop(p)
            self._children.pop(p, None)
        self._children[path.parent].discard(path.name)

    def delete(self, path: P, mtime_ns: int) -> list[Event]:
        if path not in self._nodes:
            return []
        events: list[Event] = []
        for p in reversed(self.subtree(path)):
            events += self._events(p, True, self._nodes[p].is_dir)
        self._unlink(path)
        self._nodes[path.parent].mtime_ns = mtime_ns
        return events

    def rename(self, src: P, dst: P, mtime_ns: int) -> list[Event]:
        """Move a file or a whole folder; inodes and mtimes are kept, as rename(2) does."""
        if src not in self._nodes or dst in self._nodes or below(dst, src):
            return []
        events = self.makedirs(dst.parent, mtime_ns)
        is_dir = self._nodes[src].is_dir
        moved = [(p, self._nodes[p]) for p in self.subtree(src)]
        self._unlink(src)
        for p, node in moved:
            self._link(dst / p.relative_to(src) if p != src else dst, node)
        self._nodes[src.parent].mtime_ns = mtime_ns
        self._nodes[dst.parent].mtime_ns = mtime_ns
        return events + self._events(src, True, is_dir) + self._events(dst, False, is_dir)

    def copy(self, src: P, dst: P, mtime_ns: int) -> list[Event]:
        """A copy: new inodes, the source's mtimes kept (Finder and `cp -p` keep them)."""
        if src not in self._nodes or dst in self._nodes or below(dst, src):
            return []
        events = self.makedirs(dst.parent, mtime_ns)
        for p in self.subtree(src):
            node = self._nodes[p]
            target = dst / p.relative_to(src) if p != src else dst
            self._link(target, Node(node.is_dir, self._new_inode(), node.mtime_ns, node.data))
            events += self._events(target, False, node.is_dir)
        return events
