"""Attaching watched folders: whether each is there, how it is watched, and when the
daemon is ready (every folder attached once: `READY=1` and the `watching` line).

The decisions per folder are `watcher.core.folders`; this part turns the shell's
answers into them and reconciles a folder (a walk) each time it comes online.
"""

from __future__ import annotations

from watcher.core.base import EXIT_UNDELIVERED
from watcher.core.effects import Notify
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
