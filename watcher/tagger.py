"""Carrying out a `Tag`: add a folder's tags to sessions, keeping every tag they have.

The core decided which sessions lack which folder tags (watcher/core/sessions.py);
this only talks to SessionDock. `PATCH /sessions/{id}` replaces the whole tag list,
so each session is read first (`GET /sessions/{id}`) and sent back with its own tags,
in their order and spelling, followed by the folder tags it lacks
(`relink.merged_tags`: a tag differing only in case is one it has). A session that
has them all gets no PATCH. Between that GET and the PATCH (milliseconds) an edit the
user makes to the same session's tags would be overwritten; nothing else can be.
"""

from __future__ import annotations

from watcher.api import NotFound, Rejected, SessionDockError
from watcher.bridge import failure_of
from watcher.client import SessionDockClient
from watcher.core.effects import Tag, TagItem
from watcher.core.inputs import TagDone, TagsAnswered
from watcher.relink import merged_tags


def tag(client: SessionDockClient, job: Tag, auth_advice: str | None = None) -> TagsAnswered:
    done: list[TagDone] = []
    try:
        for item in job.items:
            done.append(_tag_one(client, item))
    except SessionDockError as exc:
        return TagsAnswered(
            job.request, tuple(done), failure_of(exc, client.last_token, auth_advice)
        )
    return TagsAnswered(job.request, tuple(done))


def _tag_one(client: SessionDockClient, item: TagItem) -> TagDone:
    try:
        session = client.session(item.session_id)
        merged = merged_tags(session.tags, item.tags)
        if merged is None:
            return TagDone(item.key, item.session_id)
        client.patch_session(item.session_id, {"tags": merged})
    except NotFound:
        return TagDone(item.key, item.session_id, gone=True)
    except Rejected as exc:
        return TagDone(item.key, item.session_id, refused=exc.detail)
    return TagDone(item.key, item.session_id, added=tuple(merged[len(session.tags) :]))
