"""Watched folders: whether each is online, and whether it is watched natively or polled.

A folder that is missing (an unplugged drive, an unmounted share) is offline, never
empty: its projects are kept, and it is attached again when it is back. A network file
system is polled, because changes made on other machines raise no native events there.
A folder whose native watch cannot be set up (inotify limits) is polled until native is
tried again, with a growing delay, as Syncthing does. Each time a folder comes online
the core reconciles it (a walk), so what happened meanwhile is found.

Pure: the shell checks existence and sets up watches (`CheckFolder`, `Watch`) and
answers; this module only says what to do next.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from watcher.core.effects import CheckFolder, Effect, Log, Unwatch, Watch
from watcher.core.inputs import WatchMode
from watcher.core.settings import FolderSettings
from watcher.core.store import is_under

FolderMode = Literal["native", "polling", "offline"]

VIRTUAL_NOTE = "a virtual file system (/proc, /sys, /dev, /run): never watched"

MISSED_LIMIT = 2
MISSED_WINDOW_SECONDS = 24 * 3600.0
"""After this many misses within the window a folder's native events are not trusted."""

NATIVE_RETRY_SECONDS = (60.0, 3600.0)
"""First and longest wait before native events are tried again after a failure."""


@dataclass
class Folder:
    config: FolderSettings
    mode: FolderMode = "offline"
    note: str = ""
    """Why it is in its mode, as shown by `status`."""
    native_failures: int = 0
    native_retry_at: float | None = None
    checking: bool = False
    """A `CheckFolder` is out; another is not asked for until it is answered."""
    watching: WatchMode | None = None
    """A `Watch` in this mode is out."""
    why: str = ""
    """Why the watch that is out was chosen."""
    reattach: bool = False
    """Watch it again once it is found there (its observer died, or native is retried)."""
    real: str | None = None
    """Where a linked root led when it was watched (None: not a link)."""
    leads: str | None = None
    """Where it leads now, for the watch that is out."""
    case_insensitive: bool = False
    """`song.als` and `Song.als` are one file here (watcher.core.paths)."""

    @property
    def root(self) -> str:
        return self.config.root


class Folders:
    """Every watched folder and its mode; `live` is False for a one-pass `scan`."""

    def __init__(
        self, configs: Iterable[FolderSettings], live: bool, offline_check_seconds: float
    ) -> None:
        self._folders = {c.root: Folder(c) for c in configs}
        self._missed: dict[str, list[float]] = {}
        """When verification found changes native events never reported, per folder."""
        self.live = live
        self.offline_check_seconds = offline_check_seconds

    def __iter__(self) -> Iterator[Folder]:
        return iter(list(self._folders.values()))

    def __len__(self) -> int:
        return len(self._folders)

    def get(self, root: str) -> Folder | None:
        return self._folders.get(root)

    def online(self, root: str) -> Folder | None:
        folder = self._folders.get(root)
        return folder if folder is not None and folder.mode != "offline" else None

    def containing(self, path: str) -> Folder | None:
        """The innermost watched folder that holds `path`."""
        best: Folder | None = None
        for root, folder in self._folders.items():
            if is_under(path, root) and (best is None or len(root) > len(best.root)):
                best = folder
        return best

    def modes(self) -> dict[str, str]:
        return {root: f.mode for root, f in self._folders.items()}

    def report(self) -> dict[str, dict[str, str]]:
        return {root: {"mode": f.mode, "note": f.note} for root, f in self._folders.items()}

    # --- decisions --------------------------------------------------------------------

    def check(self, folder: Folder) -> list[Effect]:
        """Ask whether a folder is there (at most one question out per folder)."""
        if folder.checking:
            return []
        folder.checking = True
        return [CheckFolder(folder.root)]

    def check_all(self) -> list[Effect]:
        return [e for folder in self for e in self.check(folder)]

    def checked(
        self,
        folder: Folder,
        exists: bool,
        network: bool,
        virtual: bool = False,
        real: str | None = None,
        case_insensitive: bool | None = None,
    ) -> tuple[list[Effect], bool]:
        """A `FolderChecked` answer: the effects, and whether the folder just came online
        without a watch to wait for (then the caller reconciles it).

        A linked root is watched at its target and reported under the configured path;
        a link pointed elsewhere while watched is watched again at its new target."""
        folder.checking = False
        if folder.config.case_sensitive is not None:
            folder.case_insensitive = not folder.config.case_sensitive
        elif case_insensitive is not None:
            folder.case_insensitive = case_insensitive
        if not exists:
            folder.reattach = False
            return self._gone(folder), False
        if virtual:
            return self._virtual(folder), False
        relinked: list[Effect] = []
        if folder.mode != "offline" and folder.watching is None and real != folder.real:
            relinked = [
                Log(
                    "folder_relinked",
                    "info",
                    {"folder": folder.root, "action": "watching the new target"},
                ),
                Unwatch(folder.root),
            ]
            folder.reattach = True
        folder.leads = real
        if (folder.mode != "offline" and not folder.reattach) or folder.watching is not None:
            return [], False
        folder.reattach = False
        effects: list[Effect] = relinked
        if folder.note in ("missing", "disappeared"):
            effects.append(
                Log("folder_online", "info", {"folder": folder.root, "action": "reconciling"})
            )
        if not self.live:
            folder.mode = "polling" if folder.config.polling else "native"
            return effects, True
        mode: WatchMode
        if folder.config.polling:
            mode, why = "polling", "polling: true in the config"
        elif network:
            mode, why = "polling", "network file system: native events do not arrive"
        elif len(self._missed.get(folder.root, ())) >= MISSED_LIMIT:
            times = len(self._missed[folder.root])
            mode, why = (
                "polling",
                f"native events missed {times} times: changes arrive without events",
            )
        else:
            mode, why = "native", "local file system"
        return [*effects, *self._watch(folder, mode, why)], False

    def _watch(self, folder: Folder, mode: WatchMode, why: str) -> list[Effect]:
        folder.watching, folder.why = mode, why
        return [Watch(folder.root, folder.config.recursive, mode)]

    def _virtual(self, folder: Folder) -> list[Effect]:
        effects: list[Effect] = []
        if folder.mode != "offline" or folder.watching is not None:
            effects.append(Unwatch(folder.root))
        folder.mode, folder.watching, folder.reattach = "offline", None, False
        if folder.note != VIRTUAL_NOTE:
            folder.note = VIRTUAL_NOTE
            effects.append(
                Log(
                    "folder_not_watched",
                    "warning",
                    {
                        "folder": folder.root,
                        "advice": "point watch[].path at the folder that holds your projects",
                    },
                )
            )
        return effects

    def _gone(self, folder: Folder) -> list[Effect]:
        if folder.watching is not None:
            folder.watching = None
            return [Unwatch(folder.root), *self._gone(folder)]
        if folder.mode != "offline":
            folder.mode, folder.note = "offline", "disappeared"
            return [
                Unwatch(folder.root),
                Log(
                    "folder_offline",
                    "warning",
                    {
                        "folder": folder.root,
                        "action": "its projects are kept; watching resumes when it is back",
                    },
                ),
            ]
        if folder.note not in ("missing", "disappeared"):
            folder.note = "missing"
            return [
                Log(
                    "folder_offline",
                    "warning",
                    {
                        "folder": folder.root,
                        "action": f"checked every {self.offline_check_seconds:g}s",
                    },
                )
            ]
        return []

    def watch_started(self, folder: Folder, mode: WatchMode) -> list[Effect] | None:
        """The watch is up: the folder is online (the caller reconciles it).

        None when no watch was out (the folder went offline meanwhile): ignore it."""
        if folder.watching is None:
            return None
        why = folder.why if folder.watching == mode else mode
        folder.watching = None
        if mode == "native":
            folder.native_failures, folder.native_retry_at = 0, None
        folder.real = folder.leads
        if folder.real is not None:
            why += f"; a link to {folder.real}, watched there"
        folder.mode, folder.note = mode, why
        fields = {"folder": folder.root, "mode": mode, "why": why}
        return [Log("folder_watched", "info", {**fields, "real": folder.real or folder.root})]

    def watch_failed(
        self, folder: Folder, mode: WatchMode, advice: str, now: float
    ) -> list[Effect]:
        """Native events cannot be set up: poll, and try native again later."""
        if folder.watching is None:
            return []
        if mode == "polling":  # polling needs nothing from the kernel; keep trying later
            folder.watching = None
            return [Log("watch_failed", "warning", {"folder": folder.root, "advice": advice})]
        failures = folder.native_failures = folder.native_failures + 1
        delay = min(NATIVE_RETRY_SECONDS[0] * 2 ** (failures - 1), NATIVE_RETRY_SECONDS[1])
        folder.native_retry_at = now + delay
        log = Log(
            "native_watch_failed",
            "warning",
            {
                "folder": folder.root,
                "advice": advice,
                "action": f"polling instead; native retried in {delay:g}s",
            },
        )
        return [log, *self._watch(folder, "polling", "native events unavailable")]

    def supervise(self, dead: Iterable[str], now: float) -> list[Effect]:
        """Re-attach folders whose observer died, and retry native events when due."""
        effects: list[Effect] = []
        for root in dead:
            folder = self._folders.get(root)
            if folder is not None and folder.mode != "offline":
                effects.append(
                    Log("observer_died", "warning", {"folder": root, "action": "re-attaching"})
                )
                effects.extend(self._reattach(folder))
        for folder in self:
            if folder.native_retry_at is not None and now >= folder.native_retry_at:
                folder.native_retry_at = None
                effects.extend(self._reattach(folder))
        return effects

    def _reattach(self, folder: Folder) -> list[Effect]:
        folder.reattach, folder.watching = True, None
        return [Unwatch(folder.root), *self.check(folder)]

    def missed(self, folder: Folder, example: str, now: float) -> list[Effect]:
        """The change detector found changes in a native folder that no event reported.

        Logged each time it happens (a FUSE share, an overflowed buffer and a linked
        folder all look the same: it is observed, not guessed); after `MISSED_LIMIT`
        times in a day the folder is polled."""
        if folder.mode != "native":
            return []
        seen = [t for t in self._missed.get(folder.root, []) if now - t < MISSED_WINDOW_SECONDS]
        seen.append(now)
        self._missed[folder.root] = seen
        poll = len(seen) >= MISSED_LIMIT
        action = (
            "polling this folder from now on"
            if poll
            else ("imported from the check; polled if it happens again")
        )
        log = Log(
            "native_events_missed",
            "warning",
            {
                "folder": folder.root,
                "example": example,
                "times": len(seen),
                "advice": "a FUSE/network share or dropped events: native events cannot be "
                "trusted here; set polling: true for it to skip the check",
                "action": action,
            },
        )
        return [log, *self._reattach(folder)] if poll else [log]

    def reconfigure(self, configs: Iterable[FolderSettings]) -> tuple[list[Effect], list[str]]:
        """Apply a reloaded config: unchanged folders keep going; returns removed roots."""
        old, self._folders = self._folders, {}
        effects: list[Effect] = []
        for config in configs:
            previous = old.pop(config.root, None)
            if previous is not None and previous.config == config:
                self._folders[config.root] = previous
                continue
            if previous is not None:
                effects.append(Unwatch(config.root))
            self._folders[config.root] = folder = Folder(config)
            effects.extend(self.check(folder))
        effects.extend(Unwatch(root) for root in old)
        return effects, list(old)
