"""Knowing each project's session, and adding folder tags to it (issue 12, items 5, 6).

Session ids. SessionDock's import is a background job (`done` may be false, and there
is no status endpoint), so the id of a new session is learned later, from the library
listing: after imports (a second after the first answer, then again with a backoff
while sessions of recent imports are still not listed, for up to
`sessiondock.session_id_patience_seconds`), and for every imported project at each
reconciliation. One listing is a few paged requests whatever the number of projects;
the ids are kept in the project records (the state database), so a relink uses the
known id.

Folder tags. `watch[].tags` are added to the session of every project of that folder
(the innermost watched folder holding it, as for its other settings): projects
imported from now on, projects imported before the tags were configured, projects
adopted from an existing library, and projects moved in from another folder (the
new folder's tags are added; none is ever removed). What is left to do for a record
is the folder's tags minus `tags_done` (the tags already added to its session, or
found on it, compared without regard to case), so the work is as durable as the
record and the config: a `kill -9` loses none of it, and doing an item twice is a
merge that adds nothing. A tag the user removes in SessionDock is never put back.
A session is tagged once its id is known; tags wait behind imports and relinks.
"""

from __future__ import annotations

from collections.abc import Iterable

from watcher.core.adoption import Adoption
from watcher.core.base import Job
from watcher.core.effects import AskLibrary, Log, Tag, TagItem
from watcher.core.inputs import Accepted, Failure, Library, LibraryAnswered, TagsAnswered
from watcher.core.records import ProjectRecord
from watcher.core.settings import Settings
from watcher.core.table import Table

IDS_FIRST_SECONDS = 1.0
"""After an import is answered, the first listing that looks for its sessions."""
IDS_START_SECONDS = 30.0
"""After a start, the listing for ids an older state lacks (the first walk comes first)."""
IDS_RETRY_MAX_SECONDS = 60.0


def tags_left(wanted: Iterable[str], done: Iterable[str]) -> tuple[str, ...]:
    """The folder tags not yet added to a session (case-insensitive: `Client A` and
    `client a` are one tag, as `watcher.relink.merged_tags` treats them)."""
    have = {t.casefold() for t in done}
    return tuple(t for t in wanted if t.casefold() not in have)


def tag_work(record: ProjectRecord, settings: Settings) -> tuple[str, ...]:
    """The tags still to add to this record's session (empty: nothing to do)."""
    if record.state != "imported" or record.missing_since is not None:
        return ()
    wanted = settings.tags_for(record.root)
    if not wanted:
        return ()
    known = record.session_id is None or record.session_id == record.tags_session
    return tags_left(wanted, record.tags_done if known else ())


class Sessions(Adoption):
    def __init__(self, settings: Settings, table: Table, meta: dict[str, object]) -> None:
        super().__init__(settings, table, meta)
        self._ids_wanted = False
        """A listing for session ids is due (the `sessions` timer fired, or a start)."""
        self._ids_all = False
        """The next listing refreshes every imported project's id (a reconciliation)."""
        self._ids_delay = IDS_FIRST_SECONDS
        self._tag_cache: tuple[int, Settings, list[str], int] | None = None
        """(table revision, settings, keys ready to tag, how many wait for their id)."""
        self._tagging: dict[str, tuple[str, ...]] = {}
        """The tags each item of the `Tag` out was asked to add."""

    # --- when ----------------------------------------------------------------------------

    def _recover(self) -> None:
        super()._recover()
        if not self.settings.once:
            self.timers["sessions"] = self._now + IDS_START_SECONDS

    def _mark_imported(self, keys: tuple[str, ...], accepted: Accepted) -> None:
        super()._mark_imported(keys, accepted)
        if self.settings.once:
            return
        at = self._now + IDS_FIRST_SECONDS
        self.timers["sessions"] = min(self.timers.get("sessions", at), at)
        self._ids_delay = IDS_FIRST_SECONDS

    def _sessions_timer(self) -> None:
        self._ids_wanted = True
        self._replan = True

    def _refresh_sessions(self) -> None:
        """A reconciliation: every imported project's id is read again."""
        self._ids_wanted = self._ids_all = True
        self._replan = True

    def _sessions_due(self) -> bool:
        """Nothing else to send: tag sessions, or list the library for ids. True when a
        request went out."""
        if self.settings.once or self._adopting or self._job is not None:
            return False
        ready, _ = self._tag_scan()
        if ready:
            self._send_tags(ready[: self.settings.batch_size])
            return True
        if not self._ids_wanted:
            return False
        self._ids_wanted = False
        everything, self._ids_all = self._ids_all, False
        among = frozenset(
            r.project_path
            for r in self.table.values()
            if r.state == "imported" and (everything or r.session_id is None)
        )
        if not among:
            return False
        job = self._job = Job(self._request(), "ids")
        self._emit(AskLibrary(job.request, among))
        self._request_out()
        return True

    def _tag_scan(self) -> tuple[list[str], int]:
        """Records whose sessions can be tagged now, and how many wait for their id."""
        if not self.settings.folder_tags:
            return [], 0
        cache = self._tag_cache
        if cache is not None and cache[0] == self.table.revision and cache[1] is self.settings:
            return cache[2], cache[3]
        ready: list[str] = []
        waiting = 0
        for record in self.table.values():
            if tag_work(record, self.settings):
                if record.session_id is None:
                    waiting += 1
                else:
                    ready.append(record.path)
        self._tag_cache = (self.table.revision, self.settings, ready, waiting)
        return ready, waiting

    # --- session ids ---------------------------------------------------------------------

    def _on_library(self, answered: LibraryAnswered) -> None:
        job = self._job_answered("ids", answered.request)
        if job is None:
            super()._on_library(answered)
            return
        self._job_done()
        outcome = answered.outcome
        if isinstance(outcome, Failure):
            self._ids_again()
            self._failed(outcome)
            return
        if self.gate.succeeded():
            self._log("sending_resumed", pending=self.table.counts()["pending"])
        self._resolve_error()
        self._learn_ids(outcome)

    def _learn_ids(self, library: Library) -> None:
        learned = self.table.set_session_ids(library.ids, library.only_original)
        if learned:
            self._log("session_ids_learned", "debug", sessions=learned)
        wall, patience = self._wall(), self.settings.session_id_patience_seconds
        if any(
            r.state == "imported"
            and r.session_id is None
            and wall - (r.imported_at or 0.0) < patience
            for r in self.table.values()
        ):
            self._ids_again()  # an import still being carried out by SessionDock
        else:
            self._ids_delay = IDS_FIRST_SECONDS

    def _ids_again(self) -> None:
        self.timers["sessions"] = self._now + self._ids_delay
        self._ids_delay = min(self._ids_delay * 2, IDS_RETRY_MAX_SECONDS)

    # --- tags ----------------------------------------------------------------------------

    def _send_tags(self, keys: list[str]) -> None:
        items = []
        for key in keys:
            record = self.table[key]
            assert record.session_id is not None
            tags = tag_work(record, self.settings)
            self._tagging[key] = tags
            items.append(TagItem(key, record.session_id, tags))
        job = self._job = Job(self._request(), "tag")
        job.current = tuple(keys)
        self.counters.requests += 1
        self._flush()  # the ids these items carry are on disk before the PATCH goes out
        self._emit(Tag(job.request, tuple(items)))
        self._request_out()

    def _on_tags_answered(self, answered: TagsAnswered) -> None:
        job = self._job_answered("tag", answered.request)
        if job is None:
            return
        self._job_done()
        tagging, self._tagging = self._tagging, {}
        for done in answered.done:
            tags = tagging.get(done.key, ())
            self.table.tags_done(done.key, done.session_id, tags)
            fields: dict[str, object] = {"session_id": done.session_id, "path": done.key}
            if done.gone:
                self._log(
                    "tags_dropped",
                    "warning",
                    **fields,
                    tags=list(tags),
                    reason="the session was deleted in SessionDock; its tags are not added",
                )
            elif done.refused is not None:
                self._log(
                    "tags_refused",
                    "warning",
                    **fields,
                    tags=list(tags),
                    error=done.refused,
                    advice="SessionDock refused these tags: check watch[].tags in the config",
                )
            elif done.added:
                self.counters.tagged += 1
                self._set_meta("tagged", int(self.meta.get("tagged", 0) or 0) + 1)
                self._emit(Log("session_tagged", "info", {**fields, "tags": list(done.added)}))
        if answered.failure is not None:
            self._failed(answered.failure, sessions=len(job.current) - len(answered.done))
            return
        if self.gate.succeeded():
            self._log("sending_resumed", pending=self.table.counts()["pending"])
        self._resolve_error()
