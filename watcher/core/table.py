"""The project table in memory, and the changes to it not yet handed out to persist.

Every change goes through a method here, which mirrors the rules the SQLite table had:
a project is `pending` before anything is sent, `in_flight` while a request carries
it, `imported` only after a 2xx; `rejected` and `invalid` are retried only when the
project changes. Changed paths are collected until `take_changes` turns them into one
`Persist`. A record is a frozen value of about 20 fields: 20,000 projects are a few MB.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from watcher.core.batching import Queued
from watcher.core.effects import Persist
from watcher.core.records import STATES, Project, ProjectRecord, Signature, StateName

SETTLED: frozenset[StateName] = frozenset({"imported", "rejected", "pending", "in_flight"})
"""States in which the same bytes are never queued again."""


def base_name(path: str) -> str:
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def is_under(path: str, directory: str) -> bool:
    """`path` is `directory` or inside it (either separator; no file system involved)."""
    if path == directory:
        return True
    head = directory.rstrip("/\\")
    return len(path) > len(head) and path.startswith(head) and path[len(head)] in "/\\"


class Table(Mapping[str, ProjectRecord]):
    def __init__(self, records: Iterable[ProjectRecord] = ()) -> None:
        self._rows: dict[str, ProjectRecord] = {r.path: r for r in records}
        self._pending: set[str] = set()
        self._groups: dict[tuple[str, bool], int] = {}
        """Pending projects per (kind, generate_previews): one request's worth each."""
        for r in self._rows.values():
            if r.state == "pending":
                self._add_pending(r)
        self._counts: dict[str, int] = dict.fromkeys(STATES, 0)
        for r in self._rows.values():
            self._counts[r.state] += 1
        self._changed: set[str] = set()
        self._missing: dict[str, set[str]] = {}
        self._identities: dict[str, set[str]] = {}
        """identity -> paths of every record that has one (copies and moves)."""
        """identity -> paths of imported projects gone from disk (the relink candidates)."""
        for r in self._rows.values():
            self._index_missing(r, add=True)

    # --- reading ----------------------------------------------------------------------

    def __getitem__(self, path: str) -> ProjectRecord:
        return self._rows[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def in_state(self, state: StateName) -> list[ProjectRecord]:
        """Every record in `state`; a look at the counts first, since callers ask each
        loop turn (relinks) and a scan of 20,000 records is most of an idle daemon's CPU."""
        if not self._counts.get(state):
            return []
        return [r for r in self._rows.values() if r.state == state]

    def sendable(self) -> list[Queued[str]]:
        rows = (self._rows[p] for p in self._pending)
        return [Queued(r.path, r.kind, r.generate_previews, r.queued_at or 0.0) for r in rows]

    def oldest_pending(self) -> ProjectRecord | None:
        rows = (self._rows[p] for p in self._pending)
        return min(rows, key=lambda r: (r.queued_at or 0.0, r.path), default=None)

    # --- writing ----------------------------------------------------------------------

    def fullest_group(self) -> int:
        return max(self._groups.values(), default=0)

    def _add_pending(self, record: ProjectRecord) -> None:
        self._pending.add(record.path)
        group = (record.kind, record.generate_previews)
        self._groups[group] = self._groups.get(group, 0) + 1

    def _remove_pending(self, record: ProjectRecord) -> None:
        self._pending.discard(record.path)
        group = (record.kind, record.generate_previews)
        left = self._groups[group] - 1
        if left:
            self._groups[group] = left
        else:
            del self._groups[group]

    def _index_missing(self, record: ProjectRecord, add: bool) -> None:
        if record.identity is None:
            return
        every = self._identities.setdefault(record.identity, set())
        if add:
            every.add(record.path)
        else:
            every.discard(record.path)
            if not every:
                del self._identities[record.identity]
        if record.missing_since is None:
            return
        paths = self._missing.setdefault(record.identity, set())
        if add:
            paths.add(record.path)
        else:
            paths.discard(record.path)
            if not paths:
                del self._missing[record.identity]

    def missing_count(self) -> int:
        return sum(1 for r in self._rows.values() if r.missing_since is not None)

    def _put(self, record: ProjectRecord) -> None:
        old = self._rows.get(record.path)
        if old is not None:
            self._index_missing(old, add=False)
            self._counts[old.state] -= 1
            if old.state == "pending":
                self._remove_pending(old)
        self._counts[record.state] += 1
        self._rows[record.path] = record
        self._index_missing(record, add=True)
        if record.state == "pending":
            self._add_pending(record)
        self._changed.add(record.path)

    def _drop(self, path: str) -> None:
        old = self._rows.pop(path)
        self._index_missing(old, add=False)
        self._counts[old.state] -= 1
        if old.state == "pending":
            self._remove_pending(old)
        self._changed.add(path)

    def enqueue(self, project: Project, wall: float) -> bool:
        """Queue a ready project unless it is unchanged since it was last dealt with.

        A project changed while in flight goes back to pending: the answer for the old
        bytes then finds it no longer in flight and leaves it queued for the new ones.
        """
        old = self._rows.get(project.path)
        if old is not None and old.signature == project.signature and old.state in SETTLED:
            return False
        queued_at = old.queued_at if old is not None and old.state == "pending" else wall
        self._put(
            ProjectRecord(
                **_project_fields(project),
                state="pending",
                attempts=0,
                queued_at=queued_at,
                import_id=old.import_id if old is not None else None,
                imported_at=old.imported_at if old is not None else None,
                session_id=old.session_id if old is not None else None,
            )
        )
        return True

    def mark_invalid(
        self, path: str, root: str, kind: str, signature: Signature, reason: str
    ) -> bool:
        """Remember bytes that are not a project; True when this is news worth a line."""
        old = self._rows.get(path)
        if old is not None and old.state == "in_flight":
            return False
        if old is not None and old.state == "invalid" and old.signature == signature:
            return False
        if old is None:
            record = ProjectRecord(
                path=path,
                root=root,
                kind=kind,
                title=base_name(path),
                project_type="",
                project_path=path,
                preview_path=None,
                generate_previews=False,
                signature=signature,
                state="invalid",
                last_error=reason,
            )
        else:
            record = replace(old, state="invalid", signature=signature, last_error=reason)
        self._put(record)
        return old is None or old.state != "invalid" or old.last_error != reason

    def cancel(self, path: str) -> bool:
        """A deleted project no longer needs sending; delivered history is kept."""
        old = self._rows.get(path)
        if old is None or old.state not in ("pending", "invalid"):
            return False
        self._drop(path)
        return True

    def mark_in_flight(self, paths: Iterable[str]) -> list[ProjectRecord]:
        marked = []
        for path in paths:
            old = self._rows.get(path)
            if old is not None and old.state == "pending":
                record = replace(old, state="in_flight", attempts=old.attempts + 1)
                self._put(record)
                marked.append(record)
        return marked

    def mark_imported(self, paths: Iterable[str], import_id: str | None, wall: float) -> int:
        count = 0
        for path in paths:
            old = self._rows.get(path)
            if old is not None and old.state == "in_flight":
                self._put(
                    replace(
                        old,
                        state="imported",
                        import_id=import_id,
                        imported_at=wall,
                        last_error=None,
                    )
                )
                count += 1
        return count

    def mark_rejected(self, path: str, message: str) -> bool:
        old = self._rows.get(path)
        if old is None or old.state != "in_flight":
            return False
        self._put(replace(old, state="rejected", last_error=message))
        return True

    def requeue(self, paths: Iterable[str], error: str | None) -> None:
        """Back to pending after a failed attempt (or a crash while in flight)."""
        for path in paths:
            old = self._rows.get(path)
            if old is not None and old.state == "in_flight":
                self._put(replace(old, state="pending", last_error=error))

    def adopt(
        self, library: frozenset[str], wall: float, paths: Iterable[str] | None = None
    ) -> int:
        """Pending projects whose path SessionDock's library already has become imported
        (never sent: on an empty state, what SessionDock holds is not sent again)."""
        count = 0
        for path in list(self._pending) if paths is None else paths:
            old = self._rows.get(path)
            if old is not None and old.state == "pending" and old.project_path in library:
                self._put(replace(old, state="imported", imported_at=wall, last_error=None))
                count += 1
        return count

    # --- relinking (issue 12) ------------------------------------------------------------

    def vanished_like(self, identity: str) -> list[ProjectRecord]:
        """Imported projects gone from disk whose recorded identity is `identity`."""
        rows = (self._rows[p] for p in sorted(self._missing.get(identity, ())))
        return [r for r in rows if r.state == "imported"]

    def present_like(self, identity: str) -> list[ProjectRecord]:
        """Imported projects not known to be gone whose identity is `identity`."""
        rows = (self._rows[p] for p in sorted(self._identities.get(identity, ())))
        return [r for r in rows if r.state == "imported" and r.missing_since is None]

    def mark_missing(self, path: str, wall: float) -> bool:
        """An imported project gone from an online folder: kept (its session too), marked."""
        old = self._rows.get(path)
        if old is None or old.state != "imported" or old.missing_since is not None:
            return False
        self._put(replace(old, missing_since=wall))
        return True

    def seen_again(self, path: str) -> bool:
        """A missing project is back (a restored folder, a remounted drive)."""
        old = self._rows.get(path)
        if old is None or old.missing_since is None:
            return False
        self._put(replace(old, missing_since=None))
        return True

    def returned(self, project: Project) -> bool:
        """A missing project back at its path with the same content (a restored copy:
        new inode and mtime): imported still, with its new signature."""
        old = self._rows.get(project.path)
        if old is None or old.missing_since is None or old.state != "imported":
            return False
        if old.identity != project.identity:
            return False
        self._put(replace(old, signature=project.signature, missing_since=None))
        return True

    def relink(self, project: Project, old: ProjectRecord, wall: float) -> None:
        """The project at `old.path` moved to `project.path`: one record, `relinking`
        until SessionDock's session points at the new path."""
        self._drop(old.path)
        self._put(
            replace(
                old,
                **_project_fields(project),
                state="relinking",
                attempts=0,
                queued_at=wall,
                missing_since=None,
                moved_from=old.moved_from or old.project_path,
                moved_title=old.moved_title or old.title,
            )
        )

    def relinked(self, path: str, session_id: str) -> ProjectRecord | None:
        old = self._rows.get(path)
        if old is None or old.state != "relinking":
            return None
        self._put(
            replace(old, state="imported", session_id=session_id, moved_from=None, moved_title=None)
        )
        return old

    def relink_lost(self, path: str, wall: float) -> bool:
        """The session is gone (404): the project is imported as new."""
        old = self._rows.get(path)
        if old is None or old.state != "relinking":
            return False
        self._put(
            replace(
                old,
                state="pending",
                queued_at=wall,
                session_id=None,
                moved_from=None,
                moved_title=None,
                import_id=None,
                imported_at=None,
            )
        )
        return True

    def set_session_ids(self, ids: Mapping[str, str]) -> int:
        """Session ids the library told, by `project_path`; returns how many are new."""
        count = 0
        for r in list(self._rows.values()):
            sid = ids.get(r.project_path)
            if sid is not None and r.state == "imported" and r.session_id != sid:
                self._put(replace(r, session_id=sid))
                count += 1
        return count

    def touch_keys(self, paths: Iterable[str]) -> None:
        """Write these records again (their last write failed)."""
        self._changed.update(paths)

    def take_changes(self, meta: Iterable[tuple[str, object]] = ()) -> Persist | None:
        """Everything changed since the last call, as one `Persist` (None: nothing)."""
        meta = tuple(meta)
        if not self._changed and not meta:
            return None
        changed, self._changed = sorted(self._changed), set()
        upserts = tuple(self._rows[p] for p in changed if p in self._rows)
        deletes = tuple(p for p in changed if p not in self._rows)
        return Persist(upserts=upserts, deletes=deletes, meta=meta)


def _project_fields(project: Project) -> dict[str, Any]:
    """What a probed project sets in its record, whether new, re-queued or moved."""
    return {
        "path": project.path,
        "root": project.root,
        "kind": project.kind,
        "title": project.title,
        "project_type": project.project_type,
        "project_path": project.project_path,
        "preview_path": project.preview_path,
        "generate_previews": project.generate_previews,
        "signature": project.signature,
        "identity": project.identity,
    }
