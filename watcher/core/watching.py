"""Attaching watched folders: whether each is there, how it is watched, and when the
daemon is ready (every folder attached once: `READY=1` and the `watching` line).

The decisions per folder are `watcher.core.folders`; this part turns the shell's
answers into them and reconciles a folder (a walk) each time it comes online.
"""

from __future__ import annotations

from watcher.core.base import EXIT_UNDELIVERED
from watcher.core.effects import Notify, Stat
from watcher.core.folders import Folder
from watcher.core.inputs import (
    ChangeCheckFailed,
    EventsLost,
    EventsMissed,
    FolderChecked,
    WatchesChecked,
    WatchFailed,
    WatchStarted,
)
from watcher.core.intake import Intake
from watcher.core.records import Project


class Watching(Intake):
    def _attached(self, root: str | None) -> None:
        """A folder's first attach is done; once all are, the daemon is ready."""
        if root is not None:
            if root not in self._attaching:
                return
            self._attaching.discard(root)
        if self._attaching:
            return
        if self.settings.once:
            if any(f.mode == "offline" for f in self.folders):
                self.exit_code = EXIT_UNDELIVERED
            return
        self._emit(Notify(("READY=1", f"STATUS={self._status_line()}")))
        self._log("watching", folders=self.folders.modes())

    # --- folders ----------------------------------------------------------------------

    def _on_folder_checked(self, checked: FolderChecked) -> None:
        folder = self.folders.get(checked.root)
        if folder is None:
            return
        was = folder.mode
        effects, online = self.folders.checked(
            folder,
            checked.exists,
            checked.network,
            checked.virtual,
            checked.real,
            checked.case_insensitive,
        )
        self._emit(*effects)
        if online:
            self._reconcile(folder)
        if folder.watching is None:
            self._attached(folder.root)
        if folder.mode != was and self._started:
            self._status()
        if folder.root in self._gone_if_online:
            self._folder_answered(folder.root)
        if folder.root in self._gone_if_back:
            self._back_answered(folder)

    def _on_watch_started(self, started: WatchStarted) -> None:
        folder = self.folders.get(started.root)
        if folder is None:
            return
        effects = self.folders.watch_started(folder, started.mode)
        if effects is None:
            return
        self._emit(*effects)
        self._reconcile(folder)
        self._attached(folder.root)
        self._status()
        if folder.root in self._gone_if_back:
            self._back_answered(folder)

    def _stat_when_back(self, root: str, path: str, waiting: list[tuple[Project, bool]]) -> None:
        """A stat found nothing at a project's path (a new project has its identity)
        while its folder is offline to the core: the drive still away, or back with its
        events not seen, the project moved out meanwhile (simulator seed 1001778). The
        folder is checked: found there, the path is stat'ed again once it is watched,
        and nothing there then is a move (relinked); still away, the new one is new."""
        self._gone_if_back.setdefault(root, {})[path] = waiting
        folder = self.folders.get(root)
        if folder is not None:
            self._emit(*self.folders.check(folder))

    def _back_answered(self, folder: Folder) -> None:
        if folder.mode != "offline":
            for path, waiting in self._gone_if_back.pop(folder.root).items():
                self._move_stats.setdefault(path, []).extend(waiting)
                self._emit(Stat(path, waiting[0][1]))
        elif folder.watching is None and not folder.checking:  # still away
            for waiting in self._gone_if_back.pop(folder.root).values():
                self._move_resolved(waiting)

    def _on_watch_failed(self, failed: WatchFailed) -> None:
        folder = self.folders.get(failed.root)
        if folder is None:
            return
        self._emit(*self.folders.watch_failed(folder, failed.mode, failed.advice, self._now))
        if folder.watching is None:
            self._attached(folder.root)

    def _on_watches_checked(self, checked: WatchesChecked) -> None:
        self._emit(*self.folders.supervise(checked.dead, self._now))

    def _on_events_missed(self, missed: EventsMissed) -> None:
        folder = self.folders.get(missed.root)
        if folder is not None:
            self._emit(*self.folders.missed(folder, missed.example, self._now))

    def _on_check_failed(self, failed: ChangeCheckFailed) -> None:
        self._log(
            "change_check_failed",
            "warning",
            folder=failed.root,
            error=failed.detail,
            action="reconciling all folders; the check is tried again next interval",
        )
        self._reconcile_all()

    def _on_events_lost(self, lost: EventsLost) -> None:
        self._log("events_lost", "warning", detail=lost.detail, action="reconciling all folders")
        self._reconcile_all()
