"""From a file event to a queued project: debounce, stat, probe, enqueue.

A file is stat'ed at each event; a bundle only once it has gone quiet (stat'ing one
walks it). When a project has been quiet for `quiet_seconds` a fresh stat must agree
with the last one (the `Debouncer`'s rule); then it is probed (content-checked, off the
shell's loop), and what the probe built is queued, persisted before it is sent.
"""

from __future__ import annotations

from watcher.core.base import CoreBase, Waiting
from watcher.core.debounce import Decision
from watcher.core.effects import Probe, Stat, Walk
from watcher.core.folders import Folder
from watcher.core.inputs import (
    DirectoryChanged,
    DirectoryGone,
    NotAProject,
    Probed,
    ProjectChanged,
    ProjectGone,
    Statted,
    WalkEnded,
    WalkFound,
)
from watcher.core.records import Project, Signature
from watcher.core.table import is_under

WALK_SETTLE_SECONDS = 1.0
"""A project a walk finds is stat'ed again at least this long after the walk's stat,
even when its mtime says it was written long ago (a clock that jumped can say so)."""


class Intake(CoreBase):
    # --- events -----------------------------------------------------------------------

    def _on_project_changed(self, event: ProjectChanged) -> None:
        if self.folders.online(event.root) is None:
            return
        if event.bundle:
            self._touch(event.root, event.path, True, event.at, None)
            return
        self._touch_stats[event.path] = (event.root, event.at)
        self._emit(Stat(event.path, bundle=False))

    def _on_project_gone(self, event: ProjectGone) -> None:
        if self.folders.online(event.root) is not None:
            self._forget(event.path)

    def _on_directory_changed(self, event: DirectoryChanged) -> None:
        folder = self.folders.online(event.root)
        if folder is not None and folder.config.recursive and event.path != event.root:
            self._walk(folder, event.path, event.at)

    def _on_directory_gone(self, event: DirectoryGone) -> None:
        folder = self.folders.get(event.root)
        if folder is None:
            return
        if event.path == event.root:
            self._emit(*self.folders.check(folder))
        elif folder.mode != "offline":
            self._forget_under(event.path)

    def _touch(
        self, root: str, path: str, bundle: bool, at: float, signature: Signature | None
    ) -> None:
        self._waiting[path] = Waiting(root, bundle)
        self.debouncer.touch(path, at, signature)

    def _forget(self, path: str) -> None:
        self.debouncer.forget(path)
        self._waiting.pop(path, None)
        self._touch_stats.pop(path, None)
        self._confirm_stats.pop(path, None)
        self._probing.pop(path, None)
        if self.table.cancel(path):
            self._log("project_removed", path=path, action="pending import cancelled")

    def _forget_under(self, directory: str) -> None:
        known = {*self._waiting, *self._probing, *self._touch_stats, *self._confirm_stats}
        known.update(p for p, r in self.table.items() if r.state in ("pending", "invalid"))
        for path in sorted(p for p in known if is_under(p, directory)):
            self._forget(path)

    def _forget_waiting_under(self, root: str) -> None:
        """A folder is no longer watched: drop its work in progress (its records stay)."""
        work = {*self._waiting, *self._probing, *self._touch_stats, *self._confirm_stats}
        for path in [p for p in work if is_under(p, root)]:
            self.debouncer.forget(path)
            for table in (self._waiting, self._probing, self._touch_stats, self._confirm_stats):
                table.pop(path, None)
        for key in [k for k in self._walking if k[0] == root]:
            del self._walking[key]

    # --- walks ------------------------------------------------------------------------

    def _reconcile(self, folder: Folder) -> None:
        self._walk(folder, None, self._now)

    def _reconcile_all(self) -> None:
        for folder in self.folders:
            if folder.mode != "offline":
                self._reconcile(folder)

    def _walk(self, folder: Folder, under: str | None, at: float) -> None:
        key = (folder.root, under)
        if key not in self._walking:
            self._walking[key] = at
            self._emit(Walk(folder.root, under))

    def _on_walk_found(self, found: WalkFound) -> None:
        at = self._walking.get((found.root, found.under))
        if self.folders.online(found.root) is None or at is None:
            return
        self.counters.found += len(found.items)
        wall = self._wall()
        for item in found.items:
            if item.signature is None or self._unchanged(item.path, item.signature):
                continue
            if found.under is not None:  # moved or copied in: as fresh as its event
                self._touch(found.root, item.path, item.bundle, at, item.signature)
            else:  # a reconcile: as old as its last write, and stat'ed again a moment later
                age = max(0.0, wall - item.signature.mtime_ns / 1e9)
                at = self._now - min(age, max(self.debouncer.quiet - WALK_SETTLE_SECONDS, 0.0))
                self._touch(found.root, item.path, item.bundle, at, item.signature)

    def _on_walk_ended(self, ended: WalkEnded) -> None:
        if self._walking.pop((ended.root, ended.under), None) is not None and ended.under is None:
            self.counters.walked += 1

    # --- quiet, stat, probe -----------------------------------------------------------

    def _release_ready(self) -> None:
        for path in self.debouncer.due(self._now):
            waiting = self._waiting.get(path)
            if waiting is None:
                self.debouncer.forget(path)
                continue
            self._confirm_stats[path] = waiting.root
            self._emit(Stat(path, waiting.bundle))

    def _on_statted(self, statted: Statted) -> None:
        path, signature = statted.path, statted.signature
        self._replan_soft = True  # a queued project held back while it changed may go now
        touched = self._touch_stats.pop(path, None)
        if touched is not None:
            self._confirm_stats.pop(path, None)
            if signature is not None and self.folders.online(touched[0]) is not None:
                self._touch(touched[0], path, False, touched[1], signature)
            return
        root = self._confirm_stats.pop(path, None)
        waiting = self._waiting.get(path)
        if root is None or waiting is None:
            return
        if waiting.bundle and signature is not None and self._still_settling(path, signature):
            return
        decision = self.debouncer.confirm(path, self._now, signature)
        if decision is Decision.WAIT:
            return
        del self._waiting[path]
        if decision is Decision.READY and signature is not None:
            self._ready(waiting.root, path, waiting.bundle, signature)

    def _still_settling(self, path: str, signature: Signature) -> bool:
        """A bundle whose newest file is younger than the quiet period waits for it.

        A bundle's events carry no signature, so its first fresh one is only compared
        with another a moment later; a writer pausing longer than that, with its events
        lost, would be taken for finished. Its files' own times say when it was last
        written (capped by `max_wait`, for clocks that disagree).
        """
        age = self._wall() - signature.mtime_ns / 1e9
        if age >= self.debouncer.quiet or self.debouncer.capped(path, self._now):
            return False
        self.debouncer.touch(path, self._now - max(age, 0.0), signature)
        return True

    def _ready(self, root: str, path: str, bundle: bool, signature: Signature) -> None:
        if self._unchanged(path, signature) or self.folders.online(root) is None:
            return
        self._probing[path] = (root, signature)
        self._emit(Probe(root, path, bundle, signature))

    def _unchanged(self, path: str, signature: Signature) -> bool:
        """Already dealt with (queued, sent, imported, rejected or judged), same bytes."""
        record = self.table.get(path)
        return record is not None and record.signature == signature

    def _on_probed(self, probed: Probed) -> None:
        self._replan_soft = True
        probing = self._probing.pop(probed.path, None)
        if probing is None:
            return  # forgotten meanwhile (deleted, moved, its folder removed)
        root, signature = probing
        outcome = probed.outcome
        if isinstance(outcome, NotAProject):
            record = self.table.get(probed.path)
            if record is not None and record.state == "in_flight":
                # The bytes in flight were complete; these are not. If that request
                # fails, the old bytes are not sent again (`_requeue`).
                self._superseded[probed.path] = (root, outcome, signature)
                return
            if self.table.mark_invalid(probed.path, root, outcome.kind, signature, outcome.detail):
                self._log(
                    "project_skipped",
                    "warning",
                    path=probed.path,
                    reason=outcome.reason,
                    detail=outcome.detail,
                    action="tried again when the file changes",
                )
            return
        self._enqueue(outcome)

    def _enqueue(self, project: Project) -> None:
        if self.table.enqueue(project, self._wall()):
            self.counters.queued += 1
            self._replan_soft = True
            self._log("project_queued", path=project.path, kind=project.kind, title=project.title)
