"""From a file event to a queued project: debounce, stat, probe, enqueue.

A file is stat'ed at each event; a bundle only once it has gone quiet (stat'ing one
walks it). When a project has been quiet for `quiet_seconds` a fresh stat must agree
with the last one (the `Debouncer`'s rule); then it is probed (content-checked, off the
shell's loop), and what the probe built is queued, persisted before it is sent.
"""

from __future__ import annotations

from dataclasses import replace

from watcher.core.base import Waiting
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
from watcher.core.store import is_under
from watcher.core.unconfirmed import Unconfirmed
from watcher.core.unreadable import is_read_error


class Intake(Unconfirmed):
    # --- events -----------------------------------------------------------------------

    def _on_project_changed(self, event: ProjectChanged) -> None:
        if self.folders.online(event.root) is None:
            return
        event = replace(event, path=self._spelled(event.path))
        if event.bundle:
            self._touch(event.root, event.path, True, event.at, None)
            return
        self._touch_stats[event.path] = (event.root, event.at)
        self._emit(Stat(event.path, bundle=False))

    def _on_project_gone(self, event: ProjectGone) -> None:
        """Gone, even when the event comes after the news that followed it (late.py)."""
        if self.folders.online(event.root) is None:
            return
        path = self._spelled(event.path)
        later = self._later_than([path], event.at)
        self._forget(path)
        self._gone_by_event([path], event.at)
        self._go_on(later)

    def _on_directory_changed(self, event: DirectoryChanged) -> None:
        if event.attrib and not self.unreadable.has_folder(event.path):
            return  # a chmod or touch of a folder that was readable: nothing new inside
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
            later = self._later_than(self._work_under(event.path), event.at)
            self._forget_under(event.path)
            self._gone_under(event.path, event.at)
            self._go_on(later)

    def _touch(
        self, root: str, path: str, bundle: bool, at: float, signature: Signature | None
    ) -> None:
        # A stat out for the end of its quiet period is moot: its answer would be judged
        # against this newer signature, not one a quiet period old (seed 123457320).
        self._confirm_stats.pop(path, None)
        self._waiting[path] = Waiting(root, bundle)
        self.debouncer.touch(path, at, signature)

    def _forget(self, path: str) -> None:
        self._unconfirmed.discard(path)
        self.unreadable.project_read(path)
        self._verifying.pop(path, None)
        self.debouncer.forget(path)
        self._waiting.pop(path, None)
        self._touch_stats.pop(path, None)
        self._confirm_stats.pop(path, None)
        self._probing.pop(path, None)
        if self.table.cancel(path, self._carried(path)):
            self._log("project_removed", path=path, action="pending import cancelled")
        else:
            self._vanish(path)

    def _forget_under(self, directory: str) -> None:
        known = {*self._waiting, *self._probing, *self._touch_stats, *self._confirm_stats}
        known.update(self._verifying)
        known.update(p for p, r in self.table.items() if r.state in ("pending", "invalid"))
        for path in sorted(p for p in known if is_under(p, directory)):
            self._forget(path)
        self._vanish_under(directory)

    def _forget_waiting_under(self, root: str) -> None:
        """A folder is no longer watched: drop its work in progress (its records stay)."""
        work = {*self._waiting, *self._probing, *self._touch_stats, *self._confirm_stats}
        work.update(self._verifying)
        for path in [p for p in work if is_under(p, root)]:
            self.debouncer.forget(path)
            self._waiting.pop(path, None)
            self._probing.pop(path, None)
            self._touch_stats.pop(path, None)
            self._confirm_stats.pop(path, None)
            self._verifying.pop(path, None)
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
            if under is None:
                self._walk_paths[folder.root] = set()
            self._emit(Walk(folder.root, under))

    def _on_walk_found(self, found: WalkFound) -> None:
        at = self._walking.get((found.root, found.under))
        if self.folders.online(found.root) is None or at is None:
            return
        self.counters.found += len(found.items)
        items = [replace(i, path=self._spelled(i.path)) for i in found.items]
        if found.under is None:
            self._walk_seen(found.root, [item.path for item in items])
        for item in items:
            if item.path in self._unconfirmed:
                self._confirm_restored(item.path)
            if item.signature is None:
                continue
            if self._gone_since(item.path, at):
                continue  # listed before it was found gone: the listing says nothing of it
            if self._unchanged(item.path, item.signature):
                self._seen(item.path)
                continue
            if self.debouncer.signature(item.path) == item.signature:
                continue  # waiting on these very bytes: no news (seed 55001129)
            # Moved or copied in: as fresh as its event; found by a reconcile: stat'ed
            # again a full quiet period after the walk's stat.
            touched = at if found.under is not None else self._now
            self._touch(found.root, item.path, item.bundle, touched, item.signature)

    def _gone_since(self, path: str, at: float) -> bool:
        """Found missing after the walk began (`at`): what it lists may be older than
        that (a folder moved away while the walk that listed it was out: simulator seed
        501562), so it neither brings the project back nor counts as a file being looked
        at there (which would strike the project from a move's candidates, seed 101095).
        Back for real, its event comes, or the next walk finds it. What the gone event's
        own time says comes first (`_gone_before_walk`): the wall clock may have
        stepped back across a restart (seed 34977), and an event comes late."""
        record = self.table.get(path)
        since = record.missing_since if record is not None else None
        if since is None:
            return False
        before = self._gone_before_walk(path, since, at)
        if before is not None:
            return not before
        return since >= at + self._wall_offset

    def _on_walk_ended(self, ended: WalkEnded) -> None:
        if self._walking.pop((ended.root, ended.under), None) is not None and ended.under is None:
            self.counters.walked += 1
            self._walk_done(ended.root, tuple(p for p, _ in ended.unreadable))
            self._prune_gone()
        news = False
        for path, advice in ended.unreadable:
            if self.unreadable.folder_failed(path, advice):
                news = True
                self._log("folder_unreadable", "warning", folder=path, advice=advice)
        if ended.under is None:
            self._restored_not_found(ended.root)
            for path in self.unreadable.walked(ended.root, (p for p, _ in ended.unreadable)):
                news = True
                self._log("folder_readable", folder=path, action="its projects are found")
        if news:
            self._status()

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
        if path in self._move_stats:
            self._move_checked(path, signature)
            return
        if self._session_looks.get(path) is False:
            self._session_looked(path, signature)
            return
        self._replan_soft = True  # a queued project held back while it changed may go now
        touched = self._touch_stats.pop(path, None)
        if touched is not None:
            if self._confirm_stats.pop(path, None) is not None:
                # The end of its quiet period was stat'ed before this change was: two
                # answers come. This one is taken for the older, moot, and the next
                # decides: taken for the change's, an older "nothing there" dropped the
                # file for good (simulator seed 360026419, moved back meanwhile).
                self._touch_stats[path] = touched
                return
            self._verifying.pop(path, None)  # written again: its check is moot
            if signature is None or self.folders.online(touched[0]) is None:
                self._out_of_sight(path)
            else:
                self._touch(touched[0], path, False, touched[1], signature)
            return
        if path in self._verifying:
            self._on_verified(path, signature)
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
        if signature is None:
            self._out_of_sight(path)
        elif decision is Decision.READY:
            self._ready(waiting.root, path, waiting.bundle, signature)

    def _still_settling(self, path: str, signature: Signature) -> bool:
        """A bundle whose newest file is younger than the quiet period waits for it.

        A bundle's events carry no signature, so its first fresh one is only compared
        with another a moment later; a writer pausing longer than that, with its events
        lost, would be taken for finished. Its files' own times say when it was last
        written (capped by `max_wait`, for clocks that disagree). A time in the future
        says nothing (the clock stepped, or another machine wrote it): the fresh
        signatures a full quiet period apart decide alone, as for a file. So does a
        signature unlike the last one: the change is seen now, and a piece written since
        may carry an older time (simulator seed 141606), so its files' times never make
        that wait shorter.
        """
        if signature != self.debouncer.signature(path):
            return False
        age = self._wall() - signature.mtime_ns / 1e9
        if age < 0 or age >= self.debouncer.quiet or self.debouncer.capped(path, self._now):
            return False
        self.debouncer.touch(path, self._now - age, signature)
        return True

    def _ready(self, root: str, path: str, bundle: bool, signature: Signature) -> None:
        if self.folders.online(root) is None:
            self._out_of_sight(path)
            return
        self._there(root, path)
        if self._unchanged(path, signature):
            self._seen(path)
            return
        self._probing[path] = (root, signature, bundle)
        self._emit(Probe(root, path, bundle, signature))
        self._log("content_check_started", "debug", path=path)

    def _unchanged(self, path: str, signature: Signature) -> bool:
        """Already dealt with (queued, sent, imported, rejected or judged), same bytes.

        A record that is `invalid` only because it could not be read is judged again."""
        record = self.table.get(path)
        return (
            record is not None
            and record.signature.agrees(signature)
            and not is_read_error(record.state, record.last_error)
            and not self._moved_onto_rejected(record)
        )

    def _on_probed(self, probed: Probed) -> None:
        """A content check came back: it counts only if the project is still as it was
        when the check started, which a fresh stat (`_on_verified`) tells."""
        self._replan_soft = True
        probing = self._probing.pop(probed.path, None)
        if probing is None:
            return  # forgotten meanwhile (deleted, moved, its folder removed)
        root, signature, bundle = probing
        if self.folders.online(root) is None:
            self._out_of_sight(probed.path)
            return
        self._verifying[probed.path] = (root, signature, probed.outcome, bundle)
        self._emit(Stat(probed.path, bundle))

    def _on_verified(self, path: str, fresh: Signature | None) -> None:
        root, signature, outcome, bundle = self._verifying.pop(path)
        if fresh != signature:
            if fresh is None:
                self._out_of_sight(path)
            else:  # changed while checked: wait for quiet again
                self._touch(root, path, bundle, self._now, fresh)
            return
        if isinstance(outcome, NotAProject) and outcome.reason == "unreadable":
            # Not a verdict on the bytes: nothing is stored, so the next change (a
            # chmod included) and each reconciliation try again.
            if self.unreadable.project_failed(path, outcome.detail):
                self._status()
                self._log(
                    "project_unreadable",
                    "warning",
                    path=path,
                    advice=outcome.detail,
                    action="tried again when it changes and at each reconciliation",
                )
            return
        if self.unreadable.project_read(path):
            self._log("project_readable", path=path)
        if isinstance(outcome, NotAProject):
            record = self.table.get(path)
            if record is not None and record.state in ("in_flight", "relinking"):
                # The bytes in flight (or moved) were complete; these are not. If that
                # request fails, or the relink would send the bytes the move found, they
                # are not sent (`_requeue`, `_relink_verdict`; simulator seed 71002953).
                self._superseded[path] = (root, outcome, signature)
                return
            if self.table.mark_invalid(path, root, outcome.kind, signature, outcome.detail):
                self._log(
                    "project_skipped",
                    "warning",
                    path=path,
                    reason=outcome.reason,
                    detail=outcome.detail,
                    action=outcome.advice or "tried again when the file changes",
                )
            return
        self._superseded.pop(path, None)  # these newer bytes are a project after all
        self._enqueue(outcome, bundle)

    def _there(self, root: str, path: str) -> None:
        """A fresh stat or probe found `path`: a reconciling walk of its folder that is
        running counts it as seen, though it may have listed its folder before the
        project came (or came back): it must not call it missing at its end (simulator
        seeds 141733, 5000575)."""
        seen = self._walk_paths.get(root)
        if seen is not None:
            seen.add(path)

    def _enqueue(self, project: Project, bundle: bool = False, checked: bool = False) -> None:
        self._there(project.root, project.path)
        self._unpark(project.path)
        project = self._respelled(project)
        new = project.path not in self.table or self._moved_onto_rejected(self.table[project.path])
        if new and self._renamed_case(project, bundle):
            return
        if self._moved(project, new, bundle, checked):
            return
        if self.table.enqueue(project, self._wall()):
            if self._adopted(project, new):
                return
            self.counters.queued += 1
            self._replan_soft = True
            self._log("project_queued", path=project.path, kind=project.kind, title=project.title)
