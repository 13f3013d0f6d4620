"""Carrying out a `Relink`: point existing sessions at their projects' new paths.

The core decided that these projects moved (watcher/core/moves.py); this only talks
to SessionDock. Each session's current title is needed (the title rule below): a
request of many sessions, or one whose ids are not recorded yet, reads them from one
paged listing (a few GETs for thousands of sessions; an id not recorded yet is found
by the old path, or by the new one when an earlier PATCH went through before a crash);
a small one asks for each session by id.
The title follows the new name only while it is the one we derived
(`relink.relinked_title`). Nothing is ever deleted.
"""

from __future__ import annotations

from typing import Any

from watcher.api import NotFound, Session, SessionDockError
from watcher.bridge import failure_of
from watcher.client import SessionDockClient
from watcher.core.effects import Relink, RelinkItem
from watcher.core.inputs import Failure, RelinkAnswered, Relinked
from watcher.core.paths import nfc
from watcher.relink import relinked_title

LIST_FROM = 10
"""A request relinking this many sessions reads their titles from one listing (a page
per 200 sessions) rather than one GET each: a renamed client folder of 1,000 projects
costs 20 listings of a 2,000-session library instead of 1,000 GETs."""


def relink(
    client: SessionDockClient, job: Relink, auth_advice: str | None = None
) -> RelinkAnswered:
    done: list[tuple[str, str | None]] = []
    patching = False  # a PATCH is out: should its answer be lost, it may have acted
    try:
        library: SessionListing | None = None
        if len(job.items) >= LIST_FROM or any(i.session_id is None for i in job.items):
            library = SessionListing(client.sessions())
        for item in job.items:
            session = library.find(item) if library is not None else None
            if item.session_id is None and session is None:
                done.append((item.key, None))
                continue
            sid = item.session_id or (session.id if session is not None else "")
            try:
                changes = _changes(item, session or client.session(sid))
                patching = True
                client.patch_session(sid, changes)
                done.append((item.key, sid))
            except NotFound:
                done.append((item.key, None))
            patching = False
    except SessionDockError as exc:
        # A failure before the PATCH went out (of the listing or the session's GET:
        # SessionDock down, the connection refused) acted on nothing.
        failure: Failure = failure_of(exc, client.last_token, auth_advice)
        return RelinkAnswered(job.request, Relinked(tuple(done), sent=patching), failure)
    return RelinkAnswered(job.request, Relinked(tuple(done)))


class SessionListing:
    """One listing, by id and by path in NFC form (SessionDock may hand back either form
    of a name)."""

    def __init__(self, sessions: list[Session]) -> None:
        self.by_id = {session.id: session for session in sessions}
        # Where a session points now first, then where it was imported from: a path a
        # session was first imported from may have another session now (the project
        # moved away and a new one came, or it came back): that one is the session at
        # the path (simulator seeds 61357, 20468, 41873).
        self.by_path: dict[str, Session] = {}
        for session in sessions:
            if session.project_path:
                self.by_path.setdefault(nfc(session.project_path), session)
        for session in sessions:
            if session.original_path:
                self.by_path.setdefault(nfc(session.original_path), session)

    def find(self, item: RelinkItem) -> Session | None:
        """The item's session: by its id when known (a session not listed yet is asked
        for by id), else by its old path, then any other it may be at, or its new one
        when an earlier PATCH may have gone through unheard (`RelinkItem.by_new_path`);
        never a session another project holds."""
        if item.session_id is not None:
            return self.by_id.get(item.session_id)
        last = (item.new_path,) if item.by_new_path else ()
        for path in (item.old_path, *item.also_paths, *last):
            found = self.by_path.get(nfc(path))
            if found is not None and found.id not in item.taken:
                return found
        return None


def _changes(item: RelinkItem, session: Session) -> dict[str, Any]:
    """The PATCH body: the new path, and the new title only while the session's title
    is the one we derived."""
    changes: dict[str, Any] = {"projectPath": item.new_path}
    title = relinked_title(session.title, item.old_title, item.new_title)
    if title is not None:
        changes["title"] = title
    return changes
