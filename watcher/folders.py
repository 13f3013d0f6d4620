"""Watched folders: whether each is online, and whether it is watched natively or polled.

A folder that is missing (an unplugged drive, an unmounted share) is offline, never
empty: its projects are kept, and it is attached again when it is back. A network file
system is polled, because changes made on other machines raise no native events there.
A folder whose native watch cannot be set up (inotify limits) is polled until native is
tried again, with a growing delay, as Syncthing does. Each time a folder comes online
the daemon is told (`on_attached`) so it can reconcile what happened meanwhile.

A folder that is a link (`~/Music/Projects -> /Volumes/Studio`) is watched at the real
folder, and everything is reported, stored and sent under the configured path: it is
what the user wrote and sees, it keeps the state's keys stable when the link is pointed
at a replacement drive, and SessionDock reaches the project through the link as the
user does. A link pointed elsewhere while running is noticed by the online check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from watcher.config import WatchFolder
from watcher.detector import MissedEvents
from watcher.logging import get_logger
from watcher.mounts import inner_roots, is_virtual_root, real_path
from watcher.observer import WatchError, Watchers, WatchMode, is_network_share

log = get_logger("watcher.folders")

FolderMode = Literal["native", "polling", "offline"]

VIRTUAL_NOTE = "a virtual file system (/proc, /sys, /dev, /run): never watched"

NATIVE_RETRY_SECONDS = (60.0, 3600.0)
"""First and longest wait before native events are tried again after a failure."""


@dataclass
class Folder:
    config: WatchFolder
    mode: FolderMode = "offline"
    note: str = ""
    """Why it is in its mode, as shown by `status`."""
    native_failures: int = 0
    native_retry_at: float | None = None

    @property
    def path(self) -> Path:
        return self.config.path


class Folders:
    """Every watched folder and its mode; `watchers` stays None for a one-pass `scan`."""

    def __init__(
        self,
        configs: Iterable[WatchFolder],
        clock: Callable[[], float],
        offline_check_seconds: float,
        on_attached: Callable[[Folder], None],
        on_mode_change: Callable[[], None],
    ) -> None:
        self._folders = {c.path: Folder(c) for c in configs}
        self._inner = inner_roots(self._folders)
        self.watchers: Watchers | None = None
        self._clock = clock
        self.offline_check_seconds = offline_check_seconds
        self._on_attached = on_attached
        self._on_mode_change = on_mode_change
        self.missed = MissedEvents()
        """Verification's findings per folder: after repeated misses a folder is polled."""

    def __iter__(self) -> Iterator[Folder]:
        return iter(list(self._folders.values()))

    def __len__(self) -> int:
        return len(self._folders)

    def get(self, path: Path) -> Folder | None:
        return self._folders.get(path)

    def containing(self, path: Path) -> Folder | None:
        """The innermost watched folder that holds `path`."""
        best: Folder | None = None
        for root, folder in self._folders.items():
            if (path == root or root in path.parents) and (
                best is None or len(root.parts) > len(best.path.parts)
            ):
                best = folder
        return best

    def inner(self, path: Path) -> frozenset[Path]:
        """Watched folders nested in this one (owned by their own entry): its walk skips them."""
        return self._inner.get(path, frozenset())

    def modes(self) -> dict[str, str]:
        return {str(p): f.mode for p, f in self._folders.items()}

    def report(self) -> dict[str, dict[str, str]]:
        return {str(p): {"mode": f.mode, "note": f.note} for p, f in self._folders.items()}

    def attach_all(self) -> None:
        if self.watchers is not None:
            self.watchers.claim(self._folders)
        for folder in self:
            self.attach(folder)

    def attach(self, folder: Folder) -> None:
        """Start watching a folder that is online, or note it offline."""
        if not folder.path.is_dir():
            if folder.mode != "offline" or not folder.note:
                folder.note = "missing"
                log.warning(
                    "folder_offline",
                    folder=str(folder.path),
                    action=f"checked every {self.offline_check_seconds:g}s",
                )
            folder.mode = "offline"
            return
        if is_virtual_root(real_path(folder.path)):
            if folder.note != VIRTUAL_NOTE:
                folder.note = VIRTUAL_NOTE
                log.warning(
                    "folder_not_watched",
                    folder=str(folder.path),
                    advice="point watch[].path at the folder that holds your projects",
                )
            folder.mode = "offline"
            return
        if self.watchers is None:
            folder.mode = "polling" if folder.config.polling else "native"
        else:
            self._watch(folder, self.watchers)
        self._on_attached(folder)

    def _watch(self, folder: Folder, watchers: Watchers) -> None:
        mode: WatchMode
        real = real_path(folder.path)
        interval = folder.config.polling_interval_seconds
        if folder.config.polling:
            mode, why = "polling", "polling: true in the config"
        elif is_network_share(real):
            mode, why = "polling", "network file system: native events do not arrive"
        elif self.missed.count(folder.path) >= self.missed.limit:
            mode, why = "polling", _missed_note(self.missed.count(folder.path))
        else:
            mode, why = "native", "local file system"
        try:
            watchers.watch(folder.path, folder.config.recursive, mode, interval)
        except WatchError as exc:
            failures = folder.native_failures = folder.native_failures + 1
            delay = min(NATIVE_RETRY_SECONDS[0] * 2 ** (failures - 1), NATIVE_RETRY_SECONDS[1])
            folder.native_retry_at = self._clock() + delay
            log.warning(
                "native_watch_failed",
                folder=str(folder.path),
                advice=str(exc),
                action=f"polling instead; native retried in {delay:g}s",
            )
            watchers.watch(folder.path, folder.config.recursive, "polling", interval)
            mode, why = "polling", "native events unavailable"
        else:
            if mode == "native":
                folder.native_failures, folder.native_retry_at = 0, None
        if real != folder.path:
            why += f"; a link to {real}, watched there"
        folder.mode, folder.note = mode, why
        log.info("folder_watched", folder=str(folder.path), mode=mode, why=why, real=str(real))

    def check_online(self, folder: Folder) -> None:
        """Notice a folder going away or coming back (drives, shares)."""
        online = folder.path.is_dir() and folder.note != VIRTUAL_NOTE
        watchers = self.watchers
        if online and folder.mode != "offline" and watchers is not None:
            watched_at = watchers.real(folder.path)
            if watched_at is not None and watched_at != real_path(folder.path):
                log.info(
                    "folder_relinked", folder=str(folder.path), action="watching the new target"
                )
                self._unwatch(folder.path)
                self.attach(folder)
                self._on_mode_change()
                return
        if folder.mode == "offline" and online:
            log.info("folder_online", folder=str(folder.path), action="reconciling")
            self.attach(folder)
            self._on_mode_change()
        elif folder.mode != "offline" and not online:
            self._unwatch(folder.path)
            folder.mode, folder.note = "offline", "disappeared"
            log.warning(
                "folder_offline",
                folder=str(folder.path),
                action="its projects are kept; watching resumes when it is back",
            )
            self._on_mode_change()

    def check_all_online(self) -> None:
        for folder in self:
            self.check_online(folder)

    def supervise(self, now: float) -> None:
        """Re-attach folders whose observer died, and retry native events when due."""
        if self.watchers is None:
            return
        for path in self.watchers.dead():
            folder = self._folders.get(path)
            if folder is not None:
                log.warning("observer_died", folder=str(path), action="re-attaching")
                self._unwatch(path)
                self.attach(folder)
        for folder in self:
            if folder.native_retry_at is not None and now >= folder.native_retry_at:
                folder.native_retry_at = None
                self._unwatch(folder.path)
                self.attach(folder)

    def note_missed(self, path: Path, example: Path, now: float) -> None:
        """The change detector found changes in a native folder that no event reported.

        Logged each time it happens; after `missed.limit` times the folder is polled."""
        folder = self._folders.get(path)
        if folder is None or folder.mode != "native":
            return
        verdict = self.missed.observe(path, True, now)
        times = self.missed.count(path)
        action = "imported from the check; polled if it happens again"
        if verdict == "poll":
            action = "polling this folder from now on"
        log.warning(
            "native_events_missed",
            folder=str(path),
            example=str(example),
            times=times,
            advice="a FUSE/network share or dropped events: native events cannot be trusted "
            "here; set polling: true for it to skip the check",
            action=action,
        )
        if verdict == "poll":
            self._unwatch(path)
            self.attach(folder)
            self._on_mode_change()

    def reconfigure(self, configs: Iterable[WatchFolder]) -> list[Path]:
        """Apply a reloaded config: unchanged folders keep going; returns removed roots."""
        old, self._folders = self._folders, {}
        configs = list(configs)
        self._inner = inner_roots(c.path for c in configs)
        if self.watchers is not None:
            self.watchers.claim(c.path for c in configs)
        for config in configs:
            previous = old.pop(config.path, None)
            if previous is not None and previous.config == config:
                self._folders[config.path] = previous
                continue
            if previous is not None:
                self._unwatch(config.path)
            self._folders[config.path] = folder = Folder(config)
            self.attach(folder)
        for path in old:
            self._unwatch(path)
        return list(old)

    def _unwatch(self, path: Path) -> None:
        if self.watchers is not None:
            self.watchers.unwatch(path)


class Unreadable:
    """Projects and folders this user could not read, so each is logged once, not at
    every event and every walk, and its recovery is logged too.

    Nothing here is a verdict: a read error is tried again on the next change and at
    each reconciliation, and only this process remembers it (a restart logs it again).
    Entries go when the path is readable again or gone, so it stays as small as the
    number of unreadable paths.
    """

    def __init__(self) -> None:
        self._projects: dict[Path, str] = {}
        self._folders: dict[Path, str] = {}

    def project_failed(self, path: Path, detail: str) -> bool:
        """True when this is news (first failure, or a different one): log it."""
        news = self._projects.get(path) != detail
        self._projects[path] = detail
        return news

    def project_read(self, path: Path) -> bool:
        """The project was read (or is gone); True when it had been unreadable."""
        return self._projects.pop(path, None) is not None

    def folder_failed(self, path: Path, detail: str) -> bool:
        news = self._folders.get(path) != detail
        self._folders[path] = detail
        return news

    def has_folder(self, path: Path) -> bool:
        return path in self._folders

    def walked(self, root: Path, failed: Iterable[Path]) -> list[Path]:
        """A walk of `root` finished, failing only on `failed`: the folders under it that
        were unreadable and no longer are (or no longer exist)."""
        still = set(failed)
        recovered = [
            p for p in self._folders if (p == root or root in p.parents) and p not in still
        ]
        for path in recovered:
            del self._folders[path]
        return recovered

    def report(self, limit: int = 20) -> list[dict[str, str]]:
        """What `status` shows: folders first, then projects, at most `limit`."""
        entries = [*self._folders.items(), *self._projects.items()][:limit]
        return [{"path": str(path), "advice": advice} for path, advice in entries]

    def __len__(self) -> int:
        return len(self._projects) + len(self._folders)


def _missed_note(times: int) -> str:
    return f"native events missed {times} times: changes arrive without events"
