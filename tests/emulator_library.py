"""The emulator's session library: what `GET`/`PATCH /api/v1/sessions` see and change.

Built from SessionDock's reference page for `GET /sessions` and the product brief
(`../shared/product.md`): a session carries `id`, `title`, `kind`, `tags`,
`projectPath` and `projectOriginalPath` (among display fields); the list is paged with
`limit`/`offset` and filtered by `q`, `kind` (or its alias `daw`), `tags` and `recent`;
`PATCH /sessions/{id}` applies a partial update and answers the whole session; a
missing id is `404 not_found` ("session not found").

Where the reference is silent the emulator picks one behaviour and says so here:
- `tags` filters to sessions holding every listed tag;
- an import creates one session per new `projectPath`; a path already in the library
  (as `projectPath` or `projectOriginalPath`) is skipped, as SessionDock's `skipped`
  count suggests;
- an import's sessions can be made to appear late (`visible_after_seconds`), since the
  import is a background job with no status endpoint.

Not thread-safe by itself: the emulator calls it under its lock.
"""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Iterable, Mapping
from typing import Any

PATCHABLE = ("title", "kind", "status", "accent", "tags", "notes", "projectPath")


class SessionNotFound(Exception):
    pass


class BadPatch(Exception):
    pass


class Library:
    """Sessions by id, in the order they were created."""

    def __init__(self) -> None:
        self._sessions: dict[str, dict[str, Any]] = {}
        self._visible_at: dict[str, float] = {}
        self._ids = itertools.count(1)
        self.patches: list[tuple[str, dict[str, Any]]] = []
        """Every accepted PATCH: (id, the body), for tests to count."""

    # --- seeding and reading, for tests ------------------------------------------------

    def add(
        self,
        project_path: str,
        *,
        title: str = "",
        kind: str = "Ableton",
        tags: Iterable[str] = (),
        original_path: str | None = None,
        visible_after: float = 0.0,
        **extra: Any,
    ) -> dict[str, Any]:
        """Put a session in the library, as if SessionDock had imported it earlier."""
        session_id = f"session_{next(self._ids)}"
        session = {
            "id": session_id,
            "title": title,
            "kind": kind,
            "status": "draft",
            "accent": "gradient",
            "tags": list(tags),
            "notes": "",
            "lastOpened": None,
            "projectPath": project_path,
            "projectOriginalPath": original_path or project_path,
            "previewStatus": "none",
            **extra,
        }
        self._sessions[session_id] = session
        if visible_after > 0:
            self._visible_at[session_id] = time.monotonic() + visible_after
        return session

    def all(self) -> list[dict[str, Any]]:
        """Every session, visible or not yet, as copies."""
        return [copy.deepcopy(s) for s in self._sessions.values()]

    def by_path(self, path: str) -> list[dict[str, Any]]:
        """Sessions whose projectPath is `path` (more than one means a duplicate)."""
        return [copy.deepcopy(s) for s in self._sessions.values() if s["projectPath"] == path]

    def knows(self, path: str) -> bool:
        return any(path in (s["projectPath"], s["projectOriginalPath"]) for s in self._visible())

    def __len__(self) -> int:
        return len(self._sessions)

    # --- the API -----------------------------------------------------------------------

    def _visible(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        return [s for s in self._sessions.values() if self._visible_at.get(s["id"], 0.0) <= now]

    def imported(
        self, items: Iterable[Mapping[str, Any]], kind: str, visible_after: float = 0.0
    ) -> int:
        """Record an import's items; returns how many were skipped as already present."""
        skipped = 0
        for item in items:
            path = str(item["projectPath"])
            if any(
                path in (s["projectPath"], s["projectOriginalPath"])
                for s in self._sessions.values()
            ):
                skipped += 1
                continue
            self.add(
                path,
                title=str(item.get("title", "")),
                kind=kind,
                visible_after=visible_after,
            )
        return skipped

    def listing(self, query: Mapping[str, list[str]]) -> dict[str, Any]:
        limit = max(0, int(query.get("limit", ["50"])[0]))
        offset = max(0, int(query.get("offset", ["0"])[0]))
        rows = self._visible()
        kind = (query.get("kind") or query.get("daw") or [""])[0]
        if kind:
            rows = [s for s in rows if s["kind"] == kind]
        wanted = {t for raw in query.get("tags", []) for t in raw.split(",") if t}
        if wanted:
            rows = [s for s in rows if wanted.issubset(s["tags"])]
        text = (query.get("q") or [""])[0].lower()
        if text:
            rows = [s for s in rows if text in f"{s['title']} {s['notes']}".lower()]
        sort = (query.get("sort") or [""])[0]
        if sort in ("title", "kind", "projectPath"):
            rows = sorted(rows, key=lambda s: str(s[sort]))
        return {
            "data": copy.deepcopy(rows[offset : offset + limit]),
            "meta": {"total": len(rows), "limit": limit, "offset": offset},
        }

    def get(self, session_id: str) -> dict[str, Any]:
        session = self._sessions.get(session_id)
        if session is None or session not in self._visible():
            raise SessionNotFound(session_id)
        return copy.deepcopy(session)

    def patch(self, session_id: str, body: Any) -> dict[str, Any]:
        session = self._sessions.get(session_id)
        if session is None:
            raise SessionNotFound(session_id)
        if not isinstance(body, dict) or not body or set(body) - set(PATCHABLE):
            raise BadPatch("Request body must be a JSON object of patchable fields.")
        if "tags" in body and not (
            isinstance(body["tags"], list) and all(isinstance(t, str) for t in body["tags"])
        ):
            raise BadPatch("tags must be a list of strings.")
        for key in ("title", "kind", "status", "accent", "notes", "projectPath"):
            if key in body and not isinstance(body[key], str):
                raise BadPatch(f"{key} must be a string.")
        session.update(copy.deepcopy(body))
        self.patches.append((session_id, copy.deepcopy(body)))
        return copy.deepcopy(session)

    def delete(self, session_id: str) -> None:
        """A user deleting a session in SessionDock (tests only: the daemon never deletes)."""
        self._sessions.pop(session_id, None)
