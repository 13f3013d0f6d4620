"""What SessionDock already has: recovery after a crash, adoption on an empty state.

After a crash, records left in flight are looked up in SessionDock's library first:
what it has is imported, the rest is sent again. On an empty state (a first run, or a
database rebuilt after damage), nothing is sent until the library is known and the
first walks are done; then pending projects the library already lists are recorded as
imported instead of being sent, and projects of that first walk still settling are
checked against it as they become ready.
"""

from __future__ import annotations

from watcher.core.base import Job
from watcher.core.effects import AskLibrary
from watcher.core.inputs import Failure, Library, LibraryAnswered
from watcher.core.policy import Pause
from watcher.core.records import Project
from watcher.core.sending import Sending
from watcher.core.store import has_session, unheard


class Adoption(Sending):
    def _recover(self) -> None:
        """Projects in flight when the last process died: ask SessionDock before resending."""
        in_flight = tuple(sorted(r.path for r in self.table.in_state("in_flight")))
        if not in_flight:
            self._ask_health()
            return
        self._log("recovering_in_flight", projects=len(in_flight))
        self._ask_library(Job(self._request(), "library", "crash", recovering=in_flight))

    def _look_up_gone(self) -> bool:
        """Records left in flight by a request SessionDock may have acted on, its answer
        lost, gone from disk meanwhile (`table.requeue`; or `unheard` ones found gone
        since, `table.mark_missing`): its library says whether they have a session
        (then a project of their content found since is them, moved) before they are
        forgotten. Not listed yet, they are asked again on a backoff (`_on_library`).
        (Those in flight at a crash are `_recover`'s.)"""
        if self._job is not None or self._now < self._look_up_at:
            return False
        rows = self.table
        stray = {k for k in self._look_up if k in rows and rows[k].state == "in_flight"}
        stray.update(r.path for r in rows.in_state("in_flight") if unheard(r))
        self._look_up.clear()
        if not stray:
            return False
        self._ask_library(Job(self._request(), "library", recovering=tuple(sorted(stray))))
        return True

    def _not_listed_yet(self, keys: list[str]) -> list[str]:
        """Those `unheard` that a listing has lacked for less than the patience
        (`listing_lag_seconds`): the import SessionDock may have made them by is still
        running, perhaps."""
        now, rows, patience = self._now, self.table, self.settings.listing_lag_seconds
        return [
            k
            for k in keys
            if k in rows and unheard(rows[k]) and now - self._unlisted.setdefault(k, now) < patience
        ]

    def _relink_not_listed_yet(self, key: str) -> bool:
        """A PATCH by path found no session for a record whose id was never listed:
        made by an import not done yet, perhaps (not listed, so not found). For the
        patience (monotonic, from the first miss: a wall clock step must not cut it
        short, simulator seed 300163) it is tried again on the backoff, rather than the
        session taken for deleted and the project imported anew beside it (two
        sessions at one path once it moves back: simulator seeds 14, 33, 45). A
        session whose id was listed is asked for by id: a 404 is final at once."""
        record = self.table.get(key, None)
        if record is None or record.state != "relinking" or record.session_id is not None:
            return False
        now = self._now
        waited = now - self._unlisted.setdefault(key, now)
        if waited >= self.settings.listing_lag_seconds:
            del self._unlisted[key]
            self._relink_later.pop(key, None)
            return False
        at = self._relink_later[key] = now + min(max(waited, 1.0), 60.0)  # a backoff
        self.timers["relink"] = min(self.timers.get("relink", at), at)
        return True

    def _ask_library(self, job: Job) -> None:
        self._job = job
        among = frozenset(self.table[k].project_path for k in job.recovering) or None
        self._emit(AskLibrary(job.request, among))
        self._request_out()

    def _adopt(self) -> bool:
        """True once sending may start (the library is known and the first walks done)."""
        if self._library is None:
            if self._job is None:
                self._ask_library(Job(self._request(), "catalog"))
            return False
        if self._walking or self._attaching:  # a folder not answered has not been walked
            return False
        adopted = self.table.adopt(self._library, self._wall(), ids=self._library_ids)
        self._log(
            "library_adopted",
            already_in_library=adopted,
            sessions=len(self._library),
            to_send=self.table.counts()["pending"],
        )
        self._adopting = False
        return True

    def _adopted(self, project: Project, new: bool) -> bool:
        """A project of the first walk, just queued, that SessionDock already has."""
        if not new or not self._library or project.project_path not in self._library:
            return False
        paths = frozenset({project.project_path})
        self.table.adopt(paths, self._wall(), [project.path], self._library_ids)
        self._log("project_adopted", "debug", path=project.path)
        return True

    def _on_library(self, answered: LibraryAnswered) -> None:
        job = self._job
        if job is None or job.what not in ("library", "catalog"):
            return
        if answered.request != job.request:
            return
        self._job_done()
        outcome = answered.outcome
        if job.what == "catalog":
            if isinstance(outcome, Failure):
                self._failed(outcome)
                return
            if self.gate.pause is Pause.BACKOFF and self.gate.succeeded():
                self._log("sending_resumed", pending=self.table.counts()["pending"])
            self._resolve_error()
            self._library = outcome.paths
            self._library_ids = outcome.ids
            return
        known: list[str] = []
        if isinstance(outcome, Library):
            # A path listed only as the `projectOriginalPath` of a session (relinked
            # away from it) has no session now, even when the record at its new path
            # does not hold its id yet (seeds 801, 200060278): what this project's
            # request made would be listed there as a `projectPath`.
            # One that had a session before this request (a change in flight) is
            # listed whether or not the change came: it is sent again (seeds 10, 17).
            holders = self.table.session_holders()
            known = [
                k
                for k in job.recovering
                if k in self.table
                and not has_session(self.table[k])
                and (path := self.table[k].project_path) in outcome.paths
                and path not in outcome.only_original
                and holders.get(outcome.ids.get(path, ""), k) == k
            ]
        self.table.mark_imported(known, None, self._wall())
        if isinstance(outcome, Library):
            self.table.set_session_ids(outcome.ids, outcome.only_original)
        unknown = [k for k in job.recovering if k not in set(known)]
        # Not answered: those gone stay in flight, asked again once SessionDock answers;
        # not listed, those `unheard` lately too, later (a background import: seed 52131).
        if job.kind == "crash":  # their request may have made sessions just now
            self.table.set_unheard(unknown, self._wall())
        failed = isinstance(outcome, Failure)
        waiting = [] if failed else self._not_listed_yet(unknown)
        # Listed, a change in flight may have acted (the crash after its request went out).
        paths = outcome.paths if isinstance(outcome, Library) else frozenset()
        listed = {
            k
            for k in unknown
            if k in self.table
            and has_session(self.table[k])
            and self.table[k].project_path in paths
        }
        rest = [k for k in unknown if k not in waiting and k not in listed]
        kept = self.table.requeue(rest, None, failed)
        kept += self.table.requeue([*waiting, *sorted(listed)], None, True)
        self._look_up.update(kept)
        for key in set(job.recovering).difference(kept):
            self._unlisted.pop(key, None)
        # Found open in its DAW since the crash: not its older bytes sent again (seed 270004824).
        self._supersede(sorted(set(job.recovering).difference(kept)))
        if kept and isinstance(outcome, Library):
            self._look_up_at = self._now + self._look_up_delay
            self.timers["look_up"] = self._look_up_at
            self._look_up_delay = min(self._look_up_delay * 2, 60.0)  # as ids' backoff
        elif not kept:
            self._look_up_delay = 1.0
        self._log(
            "in_flight_recovered",
            already_in_library=len(known),
            to_resend=len(unknown),
            checked=isinstance(outcome, Library),
        )
        if isinstance(outcome, Failure):
            self._failed(outcome)
