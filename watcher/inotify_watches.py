"""Linux's inotify, as the native observer uses it: what to tell a user whose limits ran
out, and watchdog's emitter without watches on folders that never hold a project.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable
from typing import Any

from watchdog.events import DirAttribEvent, FileSystemEvent
from watchdog.observers.api import EventEmitter


def inotify_advice(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return (
            "out of inotify watches: raise fs.inotify.max_user_watches, e.g. "
            "`sudo sysctl fs.inotify.max_user_watches=524288` (persist it in /etc/sysctl.d/)"
        )
    if exc.errno == errno.EMFILE:
        return (
            "out of inotify instances: raise fs.inotify.max_user_instances, e.g. "
            "`sudo sysctl fs.inotify.max_user_instances=512`"
        )
    return f"native file events unavailable: {exc.strerror or exc}"


class _Callbacks:
    """A watch's callbacks, as watchdog uses its dict (`in`, `[]=`, `pop`, `values`,
    truth), held inline for the one callback a watch almost always has: a dict per
    watch is 184 bytes, 15 MB for a million-file library's 82,000 watches."""

    __slots__ = ("_key", "_more", "_value")

    def __init__(self) -> None:
        self._key: Any = _NONE
        self._value: Any = None
        self._more: dict[Any, Any] | None = None

    def __contains__(self, key: object) -> bool:
        return (self._key is not _NONE and self._key == key) or (
            self._more is not None and key in self._more
        )

    def __setitem__(self, key: Any, value: Any) -> None:
        if self._key is _NONE or self._key == key:
            self._key, self._value = key, value
        else:
            if self._more is None:
                self._more = {}
            self._more[key] = value

    def pop(self, key: Any, default: Any = None) -> Any:
        if self._key is not _NONE and self._key == key:
            value = self._value
            self._key, self._value = _NONE, None
            if self._more:  # the next one moves inline
                self._key, self._value = self._more.popitem()
            return value
        return self._more.pop(key, default) if self._more is not None else default

    def values(self) -> list[Any]:
        first = [] if self._key is _NONE else [self._value]
        return first + list(self._more.values()) if self._more else first

    def __bool__(self) -> bool:
        return self._key is not _NONE


_NONE = object()


class _SlimWatch(_Callbacks):
    """watchdog's `Watch` (inotify_c.py) with slots, its own callbacks' holder: a
    dataclass with a dict per instance and a dict of callbacks cost ~320 bytes a
    watch, ~25 MB of a million-file library's RSS (issue 13's target is 150 MB)."""

    __slots__ = ("_initial_creation_path", "mask", "wd")

    def __init__(self, wd: Any, mask: Any, path: bytes) -> None:
        super().__init__()
        self.wd, self.mask, self._initial_creation_path = wd, mask, path

    @property
    def callbacks(self) -> _Callbacks:
        return self

    @property
    def is_used(self) -> bool:
        return self._key is not _NONE

    def short_str(self) -> str:
        return f"<Watch: wd={self.wd}, _initial_creation_path={self._initial_creation_path!r}>"


def slim_watches() -> None:
    """Make watchdog's inotify keep `_SlimWatch`es (it creates watches by its module's
    `Watch` name; watchdog is pinned below its next major, and tests/test_observer.py
    checks that the name and its use are still there)."""
    from watchdog.observers import inotify_c

    inotify_c.Watch = _SlimWatch  # type: ignore[misc,assignment]


def pruning_inotify_emitter(
    prune: Callable[[str], bool], skip: Callable[[str], bool]
) -> type[EventEmitter]:
    """watchdog's inotify emitter, minus watches on folders that never hold a project.

    A recursive inotify watch costs one kernel watch per directory, and sample libraries
    and `Audio Files/` are most of a studio's directories; `fs.inotify.max_user_watches`
    is shared by every program of the user. `skip` (by full path) keeps it out of
    virtual file systems and out of other watched folders nested inside. watchdog
    offers no hook for this, so the methods that add watches are overridden (watchdog
    is pinned below its next major).
    """
    from watchdog.observers.inotify import InotifyEmitter, InotifyWatchGroup

    def pruned(path: bytes) -> bool:
        return prune(os.fsdecode(os.path.basename(path))) or skip(os.fsdecode(path))

    class PrunedWatchGroup(InotifyWatchGroup):
        def _add_all_callbacks(self, path: bytes) -> None:
            if path != self.path and pruned(path):
                return
            self._add_new_callback(path)
            if not (self.is_recursive and os.path.isdir(path)):
                return
            for root, dirnames, _ in os.walk(path, followlinks=self.follow_symlink):
                dirnames[:] = [d for d in dirnames if not pruned(os.path.join(root, d))]
                for dirname in dirnames:
                    full_path = os.path.join(root, dirname)
                    if self.follow_symlink or not os.path.islink(full_path):
                        self._add_new_callback(full_path)

        def _add_new_callback(self, path: bytes) -> None:
            """Skip folders this group already watches. A tree moved in is walked once
            per folder event; watchdog re-adds each folder and warns with a message
            unique to it, and Python keeps every unique warning for the life of the
            process: 126 MiB after a 5,000-project burst (bench/profile_memory.py)."""
            wd = self._active_callbacks_by_path.get(path)
            if wd is None or int(wd) < 0:  # -1: inotify refused it (unreadable); try again
                self._add_callback(path)

    class PrunedEmitter(InotifyEmitter):
        def on_thread_start(self) -> None:
            self._inotify = PrunedWatchGroup(
                self._inotify_fd,
                os.fsencode(self.watch.path),
                is_recursive=self.watch.is_recursive,
                event_mask=self.get_event_mask_from_filter(),
                follow_symlink=self.watch.follow_symlink,
            )

        def queue_event(self, event: FileSystemEvent) -> None:
            """A folder made readable again (`chmod`) had no watch: inotify refuses one
            on a folder it cannot read. Add the missing watches below it now."""
            group = self._inotify
            if isinstance(event, DirAttribEvent) and group is not None and self.watch.is_recursive:
                path = os.fsencode(event.src_path)
                wd = group._active_callbacks_by_path.get(path)
                if wd is not None and int(wd) < 0:  # refused before; watched folders: no walk
                    with contextlib.suppress(OSError):
                        group._add_all_callbacks(path)
            super().queue_event(event)

    return PrunedEmitter
