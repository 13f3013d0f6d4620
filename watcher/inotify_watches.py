"""Linux's inotify, as the native observer uses it: what to tell a user whose limits ran
out, and watchdog's emitter without watches on folders that never hold a project.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable

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
