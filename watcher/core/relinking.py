"""Relinks sent and answered: a `PATCH /sessions/{id}` per moved project, its answer
turning the record `imported` at its new path (moves.py decides what moved).

A PATCH whose answer is lost may have acted, so it is counted on disk before it goes
out; one that finds no session is waited on while SessionDock may not list it yet
(adoption.py), then taken for a session the user deleted: the project is imported.
"""

from __future__ import annotations

from watcher.core.adoption import Adoption
from watcher.core.base import Job
from watcher.core.effects import Log, Relink, RelinkItem
from watcher.core.inputs import RelinkAnswered
from watcher.core.policy import answer_lost
from watcher.core.relinks import as_project
from watcher.core.spellings import Spellings
from watcher.core.store import has_session


class Relinking(Spellings, Adoption):
    def _relink_due(self) -> bool:
        """Send waiting relinks (before imports): True when a request went out."""
        self._undo_guesses_back()
        later = self._relink_later  # a session not listed yet: asked for later
        rows = [r for r in self.table.in_state("relinking") if not self._held_at_session(r)]
        waiting = [r for r in rows if later.get(r.path, 0.0) <= self._now]
        if not waiting:
            return False
        rows = sorted(waiting, key=lambda r: (r.queued_at or 0.0, r.path))
        rows = rows[: self.settings.batch_size]
        for r in rows:  # its next PATCH looks at its session's path again
            self._session_looks.pop(r.moved_from or "", None)
        unknown = any(r.session_id is None for r in rows)  # (then: one listing, by path)
        held = frozenset(self.table.session_holders() if unknown else ())  # seed 7301083
        items = tuple(
            RelinkItem(
                key=r.path,
                session_id=r.session_id,
                old_path=r.moved_from or r.project_path,
                new_path=r.project_path,
                old_title=r.moved_title or r.title,
                new_title=r.title,
                taken=held if r.session_id is None else frozenset(),
                also_paths=r.moved_also,
                by_new_path=r.attempts > 0,  # counted before this PATCH: may have acted
            )
            for r in rows
        )
        job = Job(self._request(), "relink")
        job.current = tuple(r.path for r in rows)
        self._job = job
        self.counters.requests += 1
        # The PATCH may act though its answer is lost (a timeout, or a crash or stop
        # before it is written): `attempts` says so on disk before it goes out, and a
        # failure that says it did not act takes it back (simulator seed 64194).
        self.table.carried(job.current)
        self._flush()  # the relinking records are on disk before the PATCH goes out
        self._emit(Relink(job.request, items))
        self._request_out()
        return True

    def _undo_guesses_back(self) -> None:
        """A project came back to its session's path while a relink's PATCH was out,
        and was queued as new (`_relink_undone`: the answer decides). That PATCH failed
        or its answer was lost: the project back is looked at again, as before any
        PATCH, so a copy taken for it (not its inode) gives the session back (pointed
        back at it, if the PATCH acted) and is imported as new, never sent again to
        take the session from the project there (simulator seed 5511109). Being looked
        at then (saved), it is once that is done: a record's check never asks whether
        it is the project back (`Intake._enqueue`: not new)."""
        for key, back in list(self._back_while_out.items()):
            if self._out_with("relink", key) or self._looking_at(back):
                continue  # being looked at, the relink is held (`_held_at_session`)
            del self._back_while_out[key]
            r, there = self.table.get(key), self.table.get(back)
            if (
                r is not None
                and there is not None
                and r.state == "relinking"
                and r.moved_from == back
                and there.state == "pending"
                and not has_session(there)
            ):
                self._relink_undone(as_project(there))

    def _back_while_out_on_disk(self) -> None:
        """`_back_while_out` read back from disk at a restart (seed 5511109's window): a
        relink that did not keep the inode it was taken for (a copy taken for its
        session's project), whose session's path holds a project queued with no session
        and that very inode. A project back there while no PATCH was out undid the
        relink at once (`_relink_undone`), and one taken for a twin moved onto that path
        has another inode (unless the file system gave it out again): this one came back
        while the PATCH was out, whose answer died with the process, or failed (not
        counted then: `attempts` alone cannot tell) and the process died before the
        next turn that could send (`_undo_guesses_back` then decides). Not one that
        moved on while a PATCH was unsettled (`moved_also`): the copy moved on after the
        project came back and that PATCH found the session (a 2xx: its next PATCH goes
        by that id, and the copy keeps it) leaves the same rows, so it is not read as
        this; nor, then, one whose earlier PATCH moved on unsettled (as before)."""
        for r in self.table.in_state("relinking"):
            there = self.table.get(r.moved_from or "")
            if (
                not r.moved_also
                and there is not None
                and there.state == "pending"
                and there.missing_since is None
                and not has_session(there)
                and there.signature.inode == r.moved_inode != r.signature.inode
            ):
                self._back_while_out[r.path] = there.path

    def _on_relink_answered(self, answered: RelinkAnswered) -> None:
        job = self._job_answered("relink", answered.request)
        if job is None:
            return
        self._job_done()
        for key, session_id in answered.outcome.done:
            if session_id is None:
                # No session found, or 404: this PATCH did not act (seeds 1100396,
                # 4201447: a copy's relink may then be retaken), nor for the path its
                # project moved on to meanwhile.
                self.table.uncarried((self._retargeted.pop(key, key),))
                if self._relink_not_listed_yet(key):
                    continue  # stays relinking: sent again later
                if self.table.relink_lost(key, self._wall()):
                    self.counters.queued += 0 if self._relink_verdict(key) else 1
                    self._log(
                        "project_relink_lost",
                        "warning",
                        path=key,
                        action="its session was deleted in SessionDock; imported as new",
                    )
                self._superseded.pop(key, None)
                continue
            self._unlisted.pop(key, None)
            self._relink_later.pop(key, None)
            moved_on = self._retargeted.pop(key, None)
            if moved_on is not None:
                # Moved again while its PATCH was out: the next PATCH, for its newest
                # path, goes by the id this one found.
                self.table.relink_session(moved_on, session_id)
                self._superseded.pop(key, None)  # its newest path is checked on its own
                continue
            old = self.table.relinked(key, session_id, self._wall())
            self._relink_verdict(key)
            if old is not None:
                if self.table[key].state == "pending":  # its change is sent next
                    self.counters.queued += 1
                    self._replan = True
                self.counters.relinked += 1
                self._set_meta("relinked", int(self.meta.get("relinked", 0) or 0) + 1)
                fields = {"session_id": session_id, "from": old.moved_from, "to": old.project_path}
                self._emit(Log("project_relinked", "info", fields))
        if answered.failure is not None:
            # Refused (not a lost answer, nor a 2xx not understood), or lost before its
            # PATCH went out (a refused connection, its GET: seeds 3400098, 3402899): it
            # did not act, nor did the items after it (never sent).
            done = {key for key, _ in answered.outcome.done}
            unsent = [self._retargeted.pop(k, k) for k in job.current if k not in done]
            lost = answer_lost(answered.failure) and answered.outcome.sent
            self.table.uncarried(unsent[1:] if lost else unsent)
            self._failed(answered.failure, projects=len(job.current) - len(answered.outcome.done))
            return
        if self.gate.succeeded():
            self._log("sending_resumed", pending=self.table.counts()["pending"])
        self._resolve_error()
        self._status()

    def _relink_verdict(self, key: str) -> bool:
        """Its PATCH answered, a relinked project is queued to send the bytes its move
        found (`Table.relinked`, `relink_lost`); a check since that found its newest
        bytes not a project (open in Audacity, rewritten in place: simulator seed
        71002953) stands in their stead, as for a request in flight (`_requeue`). True
        when it did."""
        superseded = self._superseded.pop(key, None)
        record = self.table.get(key)
        if superseded is None or record is None or record.state != "pending":
            return False
        root, verdict, signature = superseded
        self.table.mark_invalid(key, root, verdict.kind, signature, verdict.detail)
        return True
