"""Carrying out a `Relink`: point existing sessions at their projects' new paths.

The core decided that these projects moved (watcher/core/moves.py); this only talks
to SessionDock. A session whose id is not recorded yet is found by its old path in one
paged listing per request (a few GETs for thousands of sessions), or by its new path
when an earlier PATCH already went through (a crash before its answer was written).
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
from watcher.relink import relinked_title


def relink(
    client: SessionDockClient, job: Relink, auth_advice: str | None = None
) -> RelinkAnswered:
    done: list[tuple[str, str | None]] = []
    library: dict[str, Session] | None = None
    try:
        for item in job.items:
            session: Session | None = None
            if item.session_id is None:
                if library is None:
                    library = _by_path(client.sessions())
                session = library.get(item.old_path) or library.get(item.new_path)
                if session is None:
                    done.append((item.key, None))
                    continue
            done.append((item.key, _patch(client, item, session)))
    except SessionDockError as exc:
        failure: Failure = failure_of(exc, client.last_token, auth_advice)
        return RelinkAnswered(job.request, Relinked(tuple(done)), failure)
    return RelinkAnswered(job.request, Relinked(tuple(done)))


def _by_path(sessions: list[Session]) -> dict[str, Session]:
    """Sessions by where they point now, then by where they were imported from. A path
    a session was first imported from may have another session now (the project moved
    away and a new one came, or it came back): that one is the session at the path
    (simulator seeds 61357, 20468, 41873: the moved-away session was taken again)."""
    found: dict[str, Session] = {}
    for session in sessions:
        if session.project_path:
            found.setdefault(session.project_path, session)
    for session in sessions:
        if session.original_path:
            found.setdefault(session.original_path, session)
    return found


def _patch(client: SessionDockClient, item: RelinkItem, session: Session | None) -> str | None:
    """PATCH one session; its id, or None when SessionDock has no such session."""
    session_id = item.session_id or (session.id if session is not None else "")
    try:
        if session is None:
            session = client.session(session_id)
        changes: dict[str, Any] = {"projectPath": item.new_path}
        title = relinked_title(session.title, item.old_title, item.new_title)
        if title is not None:
            changes["title"] = title
        client.patch_session(session_id, changes)
    except NotFound:
        return None
    return session_id
