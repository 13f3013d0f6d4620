"""File events from watchdog, turned into plain `Change` values for the daemon.

One native observer serves every watched folder (inotify instances are scarce) and one
polling observer serves folders on network shares or set to `polling: true`. Callbacks
run on watchdog's threads and only hand a `Change` to the sink; all decisions happen on
the daemon's loop. watchdog types stay inside this module.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from watchdog.events import (
    DirAttribEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

from watcher.daws import Registry
from watcher.detector import Change, Detector, Rules, Snapshot
from watcher.inotify_watches import inotify_advice, pruning_inotify_emitter, slim_watches
from watcher.mounts import is_virtual_dir, real_path
from watcher.poller import DetectorFailed, Poller, Unreported

__all__ = [
    "Change",
    "DetectorFailed",
    "ObserverTrouble",
    "Unreported",
    "WatchError",
    "Watchers",
]

WatchMode = Literal["native", "polling"]

_LINUX = sys.platform.startswith("linux")

_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    # A `chmod` back to readable: the only sign that an unreadable project or folder
    # can be read now. Rare (chmod, chown, touch), so cheap to listen for.
    FileAttribEvent,
    DirAttribEvent,
]


@dataclass(frozen=True)
class ObserverTrouble:
    """Events may have been lost (queue overflow, dead emitter): reconcile."""

    detail: str


class WatchError(Exception):
    """A folder could not be watched natively; the message says what to raise."""


Sink = Callable[["Change | ObserverTrouble | Unreported | DetectorFailed"], None]


class _Handler(FileSystemEventHandler):
    """Events of one watched folder, reported under the path the config spells.

    The folder is watched at its real path (inotify does not follow a watched link:
    events in a linked folder itself never arrive), so event paths are translated back;
    events inside another watched folder nested in this one are left to that folder.
    """

    def __init__(
        self,
        sink: Sink,
        real: str,
        shown: str,
        owner: Callable[[str], str | None],
        record: Callable[[Path, float], None],
    ) -> None:
        self._sink = sink
        self._record = record
        self._real = real
        self._prefix = real.rstrip(os.sep) + os.sep
        self._shown = shown.rstrip(os.sep) + os.sep if shown != real else ""
        self._owner = owner

    def _path(self, raw: bytes | str, now: float) -> Path | None:
        """The path as the config spells it; None when a nested folder owns it. Every
        event is recorded first, so verification knows native events arrive there."""
        path = os.fsdecode(raw)
        owner = self._owner(path)
        if self._shown and path.startswith(self._prefix):
            path = self._shown + path[len(self._prefix) :]
        self._record(Path(path), now)
        if owner is not None and owner != self._real:
            return None
        return Path(path)

    def dispatch(self, event: FileSystemEvent) -> None:
        now = time.monotonic()
        src = self._path(event.src_path, now)
        if isinstance(event, (FileMovedEvent, DirMovedEvent)):
            dest = self._path(event.dest_path, now)
            if src is not None:
                self._sink(Change(src, gone=True, is_directory=event.is_directory, at=now))
            if dest is not None:
                self._sink(Change(dest, gone=False, is_directory=event.is_directory, at=now))
        elif src is None:
            return
        elif isinstance(event, (FileDeletedEvent, DirDeletedEvent)):
            self._sink(Change(src, gone=True, is_directory=event.is_directory, at=now))
        else:
            attrib = isinstance(event, (FileAttribEvent, DirAttribEvent))
            self._sink(Change(src, False, event.is_directory, now, attrib=attrib))


class _TroubleHandler(logging.Handler):
    """watchdog reports an inotify queue overflow only as a log warning; listen for it."""

    def __init__(self, sink: Sink) -> None:
        super().__init__(logging.WARNING)
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "overflow" in message.lower():
            self._sink(ObserverTrouble(message))


class Watchers:
    """The native observer, the change detector's poller, and which folder each serves.

    Polled folders are served by the change detector (`watcher.detector`), whose pass
    costs a stat per folder and per project candidate rather than one per file; with
    `verify_interval`, natively watched folders are checked by it too, slowly, so
    events that never arrive are noticed (`Unreported`). A folder is watched at its
    real path (see `_Handler`); `claim` names every watched folder up front, so the
    first folder's watches already step around the others.
    """

    def __init__(
        self,
        sink: Sink,
        polling_interval: float,
        prune: Callable[[str], bool] = lambda _name: False,
        registry: Registry | None = None,
        verify_interval: float | None = None,
    ) -> None:
        self._sink = sink
        self._poller = Poller(sink)
        self._prune = prune
        self._registry = registry or Registry()
        self.polling_interval = polling_interval
        self.verify_interval = verify_interval
        self._native: BaseObserver | None = None
        self._watches: dict[Path, tuple[WatchMode, ObservedWatch | None]] = {}
        self._real: dict[Path, Path] = {}
        self._intervals: dict[Path, float | None] = {}  # each folder's own, for a reload
        self._recursive: dict[Path, bool] = {}
        self._claimed: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._trouble = _TroubleHandler(sink)
        logging.getLogger("watchdog").addHandler(self._trouble)

    def configure(
        self, registry: Registry, polling_interval: float, verify_interval: float | None
    ) -> None:
        """A reloaded config: folders watched from now on use these, and the folders
        already watched take the new intervals (the core keeps a folder whose own
        settings did not change, so a new default would otherwise wait for a restart)."""
        with self._lock:
            renewed, self._registry = registry is not self._registry, registry
            self.polling_interval, self.verify_interval = polling_interval, verify_interval
            for folder, (mode, _watch) in self._watches.items():
                if renewed and self._poller.has(folder):  # the new DAW table from now on
                    rules = Rules(registry, self._recursive[folder], self._skip)
                    self._poller.renew(folder, Detector(folder, rules))
                if mode == "polling":
                    own = self._intervals.get(folder)
                    self._poller.retime(folder, own or polling_interval)
                elif not verify_interval:
                    self._poller.cancel(folder)
                elif self._poller.has(folder):
                    self._poller.retime(folder, verify_interval)
                else:
                    detector = Detector(
                        folder, Rules(registry, self._recursive[folder], self._skip)
                    )
                    self._poller.schedule(folder, detector, verify_interval, True)

    def claim(self, folders: Iterable[Path]) -> None:
        """Every folder the config watches (read by watchdog's threads: swapped whole)."""
        self._claimed = frozenset(str(real_path(f)) for f in folders)

    def _skip(self, path: str) -> bool:
        return path in self._claimed or is_virtual_dir(path)

    def _owner(self, path: str) -> str | None:
        """The innermost claimed folder holding `path`: the one whose events these are."""
        best: str | None = None
        for root in self._claimed:
            inside = path == root or path.startswith(root.rstrip(os.sep) + os.sep)
            if inside and (best is None or len(root) > len(best)):
                best = root
        return best

    def real(self, folder: Path) -> Path | None:
        """The real path `folder` is watched at, or None when it is not watched."""
        return self._real.get(folder)

    def _native_observer(self) -> BaseObserver:
        """Created on first use: watchdog opens its inotify instance in the constructor,
        which fails when the user's instances are used up; it is tried again later."""
        if self._native is None:
            try:
                observer = Observer()
            except OSError as exc:
                raise WatchError(inotify_advice(exc)) from None
            if _LINUX:
                with contextlib.suppress(ImportError):  # plain watches if watchdog moved them
                    observer._emitter_class = pruning_inotify_emitter(self._prune, self._skip)
                    slim_watches()
            observer.name = "observer-native"
            observer.start()
            self._native = observer
        return self._native

    def watch(
        self, folder: Path, recursive: bool, mode: WatchMode, interval: float | None = None
    ) -> None:
        """Start watching; raises WatchError (native only) with the limit to raise.

        `interval` is this folder's polling interval (default: the constructor's)."""
        real = real_path(folder)
        with self._lock:
            self._unwatch_locked(folder)
            if str(real) not in self._claimed:
                self._claimed = self._claimed | {str(real)}
            detector = Detector(folder, Rules(self._registry, recursive, self._skip))
            self._intervals[folder], self._recursive[folder] = interval, recursive
            if mode == "polling":
                self._poller.schedule(folder, detector, interval or self.polling_interval, False)
                self._watches[folder] = (mode, None)
                self._real[folder] = real
                return
            handler = _Handler(self._sink, str(real), str(folder), self._owner, self._poller.record)
            try:
                watch = self._native_observer().schedule(
                    handler, str(real), recursive=recursive, event_filter=_EVENTS
                )
            except OSError as exc:
                raise WatchError(inotify_advice(exc)) from None
            self._watches[folder] = (mode, watch)
            self._real[folder] = real
            if self.verify_interval:
                self._poller.schedule(folder, detector, self.verify_interval, True)

    def unwatch(self, folder: Path) -> None:
        with self._lock:
            self._unwatch_locked(folder)

    def _unwatch_locked(self, folder: Path) -> None:
        entry = self._watches.pop(folder, None)
        self._real.pop(folder, None)
        self._intervals.pop(folder, None)
        self._recursive.pop(folder, None)
        self._poller.cancel(folder)
        if entry is None or entry[1] is None or self._native is None:
            return
        # KeyError/OSError: the folder vanished and watchdog already dropped its watch.
        with contextlib.suppress(KeyError, OSError):
            self._native.unschedule(entry[1])

    def snapshot(self, folder: Path, registry: Registry) -> Snapshot | None:
        """The folder's last change-detector pass, if it has one made with `registry`
        (a walk may take its listings for the folders that did not change since)."""
        detector = self._poller.detector(folder)
        if detector is None or detector.rules.registry is not registry:
            return None
        return detector.snapshot

    def mode(self, folder: Path) -> WatchMode | None:
        entry = self._watches.get(folder)
        return entry[0] if entry else None

    def ready(self, folder: Path) -> bool:
        """Changes from now on are reported (the detector's baseline pass is done)."""
        return self.mode(folder) is not None and (
            not self._poller.has(folder) or self._poller.ready(folder)
        )

    def dead(self) -> list[Path]:
        """Folders whose emitter or poller thread has died (they then deliver nothing)."""
        native = self._native
        alive = set()
        if native is not None and native.is_alive():
            alive = {e.watch.path for e in native.emitters if e.is_alive()}
        polling = self._poller.alive()
        dead = []
        for folder, (_mode, watch) in list(self._watches.items()):
            native_dead = watch is not None and watch.path not in alive
            if native_dead or (self._poller.has(folder) and not polling):
                dead.append(folder)
        return dead

    def stop(self) -> None:
        """Stop then join, as watchdog's own tools do; safe to call twice."""
        logging.getLogger("watchdog").removeHandler(self._trouble)
        self._poller.stop()
        if self._native is not None:
            self._native.stop()
            if self._native.is_alive():
                self._native.join(timeout=5)
