"""The rules a project record follows, mirroring the ones the SQLite table had.

A project is `pending` before anything is sent, `in_flight` while a request carries
it, `imported` only after a 2xx; `rejected` and `invalid` are retried only when the
project changes; an imported project gone from disk is `missing` (its session kept),
and one found elsewhere is `relinking` until SessionDock's answer. Every change goes
through `Rows._put` or `Rows._drop` (store.py), which keep the indexes in step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from watcher.core.records import Project, ProjectRecord, Signature, StateName
from watcher.core.relinks import (
    NOT_HELD,
    NOT_MOVED,
    RelinkRows,
    as_project,
    held_identity,
    holds_other,
    project_fields,
    stale,
)
from watcher.core.store import base_name, has_session, unheard

SETTLED: frozenset[StateName] = frozenset({"imported", "rejected", "pending", "in_flight"})
"""States in which the same bytes are never queued again."""


class Table(RelinkRows):
    def enqueue(self, project: Project, wall: float) -> bool:
        """Queue a ready project unless it is unchanged since it was last dealt with.

        A project changed while in flight goes back to pending: the answer for the old
        bytes then finds it no longer in flight and leaves it queued for the new ones.
        Till that answer is heard it is `unheard` (`unheard_at`): the process dying first,
        the request may have made its session, and the project gone at the restart is
        looked up, not forgotten (simulator seed 2609893: moved back later, it took the
        path of the session it had, then a second session there).
        """
        old = self._rows.get(project.path)
        if old is not None and old.signature.agrees(project.signature) and old.state in SETTLED:
            return False
        if old is not None and old.state == "relinking":
            # Saved at its new path before the PATCH was answered: still the same
            # session, and the PATCH still to send (the save rides with it).
            self._put(replace(old, **project_fields(project), missing_since=None))
            return False
        queued_at = old.queued_at if old is not None and old.state == "pending" else wall
        self._put(
            ProjectRecord(
                **project_fields(project),
                state="pending",
                attempts=0,
                queued_at=queued_at,
                import_id=old.import_id if old is not None else None,
                imported_at=old.imported_at if old is not None else None,
                session_id=old.session_id if old is not None else None,
                tags_done=old.tags_done if old is not None else (),
                tags_session=old.tags_session if old is not None else None,
                unheard_at=self._unheard_at(old, wall),
                moved_identity=_held(old),
            )
        )
        return True

    @staticmethod
    def _unheard_at(old: ProjectRecord | None, wall: float) -> float | None:
        if old is None or old.state != "in_flight" or has_session(old):
            return old.unheard_at if old is not None else None
        return old.unheard_at or wall  # a request out carries its older bytes

    def mark_invalid(
        self, path: str, root: str, kind: str, signature: Signature, reason: str
    ) -> bool:
        """Remember bytes that are not a project; True when this is news worth a line."""
        old = self._rows.get(path)
        if old is not None and old.state in ("in_flight", "relinking"):
            return False  # a relink's PATCH still goes out: the session is the project's
        if old is not None and old.state == "invalid" and old.signature.agrees(signature):
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

    def cancel(self, path: str, carried: bool = False) -> bool:
        """A deleted project no longer needs sending; delivered history is kept. One
        `carried` (its older bytes in a request out) may get a session: `mark_missing`."""
        old = self._rows.get(path)
        if old is None or old.state not in ("pending", "invalid") or carried or has_session(old):
            return False  # (with a session: a change of an imported project, kept missing)
        self._drop(path)
        return True

    def mark_in_flight(self, paths: Iterable[str]) -> list[ProjectRecord]:
        marked = []
        for path in paths:
            old = self._rows.get(path)
            if old is not None and old.state == "pending":
                # Its bytes are carried now (`stale`); an `unheard` request's session
                # may hold older ones still, kept for the library check after a crash.
                held = old.moved_identity if unheard(old) else None
                record = replace(
                    old, state="in_flight", attempts=old.attempts + 1, moved_identity=held
                )
                self._put(record)
                marked.append(record)
        return marked

    def mark_imported(self, paths: Iterable[str], import_id: str | None, wall: float) -> int:
        """A 2xx. One changed while it was out, queued for its new bytes, got a session
        for the old ones: recorded, so a delete or move keeps it (simulator seed 15176)."""
        count = 0
        for path in paths:
            old = self._rows.get(path)
            if old is not None and old.state in ("pending", "invalid") and not has_session(old):
                self._put(replace(old, import_id=import_id, imported_at=wall))
            if old is not None and old.state == "in_flight":
                # Kept in flight for an older request (`mark_missing`, carried) and back
                # since: its session has the older bytes, and these are sent (seed 87675).
                # Listed (no 2xx) after a crash, one sent over an `unheard` request's
                # session of older bytes may be listed for that session: sent again
                # (seed 100008477). A 2xx of its own request delivered its bytes.
                own = import_id is not None and old.attempts > 0
                send = holds_other(old) and old.missing_since is None
                send = send and not own
                self._put(
                    replace(
                        old,
                        state="pending" if send else "imported",
                        import_id=import_id,
                        imported_at=wall,
                        last_error=None,
                        session_id=None,  # learned again: it may be a new session
                        moved_identity=None if send or own else old.moved_identity,
                    )
                )
                count += 1
        return count

    def mark_rejected(self, path: str, message: str) -> bool:
        old = self._rows.get(path)
        if old is None or old.state != "in_flight":
            return False
        self._put(replace(old, state="rejected", last_error=message, unheard_at=None))
        return True

    def requeue(
        self,
        paths: Iterable[str],
        error: str | None,
        acted: bool = False,
        wall: float | None = None,
    ) -> list[str]:
        """Back to pending after a failed attempt (or a crash while in flight); the kept.

        `acted`: SessionDock may have made the sessions although the request failed (a
        timeout or reset after it acted; `unheard_at` from `wall` on). One gone since
        stays in flight, to be looked up in the library (`Adoption._look_up_gone`):
        dropped, a project of its content found later would be imported as new, and
        moved back, relinked onto the unheard one's path (seeds 5787, 52131)."""
        kept = []
        for path in paths:
            old = self._rows.get(path)
            if old is None or old.state != "in_flight":
                continue
            if acted and wall is not None:
                old = replace(old, unheard_at=wall)
            if old.missing_since is None:
                self._put(replace(old, state="pending", last_error=error))
            elif has_session(old):
                # Gone meanwhile: no 2xx says its session got this change (one that may
                # have acted may as well not have), so it is sent once relinked or back
                # (`stale`; a PATCH sends no bytes: simulator seeds 1065, 1097).
                held = old.moved_identity or NOT_HELD
                self._put(replace(old, state="imported", last_error=None, moved_identity=held))
            elif acted:
                self._put(old)
                kept.append(path)
            else:
                self._drop(path)  # gone meanwhile, never imported: nothing to keep
        return kept

    def adopt(
        self,
        library: frozenset[str],
        wall: float,
        paths: Iterable[str] | None = None,
        ids: Mapping[str, str] | None = None,
    ) -> int:
        """Pending projects whose path SessionDock's library already has become imported
        (never sent: on an empty state, what SessionDock holds is not sent again), with
        their session ids when the listing gave them."""
        count = 0
        ids = ids or {}
        held = self.session_holders() if ids else {}
        for path in list(self._pending) if paths is None else paths:
            old = self._rows.get(path)
            if old is not None and old.state == "pending" and old.project_path in library:
                sid = ids.get(old.project_path, old.session_id)
                if sid is not None and held.get(sid, path) != path:
                    sid = old.session_id  # another record's session (see set_session_ids)
                if sid is not None:
                    held[sid] = path
                self._put(
                    replace(
                        old, state="imported", imported_at=wall, last_error=None, session_id=sid
                    )
                )
                count += 1
        return count

    # --- relinking (issue 12) ------------------------------------------------------------

    def mark_missing(self, path: str, wall: float, carried: bool = False) -> bool:
        """A project gone from an online folder: kept (its session too), marked.

        An imported or relinking one is a relink candidate; one in flight becomes one if
        its request is answered with a 2xx; a queued change of an imported project (not
        sent yet, or refused) is the imported project gone, its change carried by the
        relink. A change queued while a request carries the older bytes (`carried`) is
        in flight again: that request says whether it has a session (seed 15176)."""
        old = self._rows.get(path)
        if old is None or old.missing_since is not None:
            return False
        if old.state in ("imported", "relinking", "in_flight"):
            self._put(replace(old, missing_since=wall))
        elif old.state in ("pending", "invalid", "rejected") and has_session(old):
            # A change not sent, or refused (a 400 says SessionDock did not take it):
            # its session holds other bytes (`stale`), sent if it comes back (seed 2311)
            # or once relinked, a PATCH sending none (seed 116007409; a refused one is
            # tried once more then). Bytes not a project are not.
            untaken = old.state in ("pending", "rejected")
            held = old.moved_identity or (NOT_HELD if untaken else None)
            self._put(
                replace(
                    old, state="imported", missing_since=wall, last_error=None, moved_identity=held
                )
            )
        elif old.state in ("pending", "invalid") and carried:
            # The session that request may have made holds older bytes, unless these are
            # the ones it carried (`attempts`: a change starts at 0): seed 87675.
            held = old.moved_identity or (old.identity if old.attempts else NOT_HELD)
            self._put(
                replace(
                    old, state="in_flight", missing_since=wall, last_error=None, moved_identity=held
                )
            )
        else:
            return False
        return True

    def seen_again(self, path: str, wall: float) -> bool:
        """A missing project is back (a restored folder, a remounted drive): recorded now."""
        old = self._rows.get(path)
        if old is None or old.missing_since is None:
            return False
        queued = wall if old.state in ("imported", "relinking") else old.queued_at
        if stale(old):  # its session holds older bytes (`relinked`): they are sent
            self._put(
                replace(
                    old, state="pending", missing_since=None, queued_at=wall, moved_identity=None
                )
            )
            return True
        self._put(replace(old, missing_since=None, queued_at=queued))
        return True

    def returned(self, project: Project, wall: float) -> bool:
        """A missing project back at its path with the same content (a restored copy:
        new inode and mtime): imported still, with its new signature, recorded now.
        So is one back with the bytes its session holds (`moved_identity`), its change
        never sent: the file it was (trashed, restored) after another file took its
        path a while and went (simulator seed 300058730), as `relink_undone` does."""
        old = self._rows.get(project.path)
        if old is None or old.missing_since is None or old.state != "imported":
            return False
        held = project.identity is not None and old.moved_identity == project.identity
        if old.identity != project.identity and not held:
            return False
        state: StateName = "pending" if stale(old) and not held else "imported"
        self._put(
            replace(
                old,
                signature=project.signature,
                identity=project.identity,
                state=state,
                missing_since=None,
                queued_at=wall,
                moved_identity=None,
            )
        )
        return True

    def relink_undone(
        self, moving: ProjectRecord, back: Project, wall: float, copy: bool = True
    ) -> str:
        """`back` is the project `moving` was taken for: it keeps the session (at its
        path still), and the file at `moving.path`, a copy, is queued as new; its path.
        Without `copy`, `back` is that very file moved back: nothing is queued. Its
        bytes changed since the move was found (saved in the trash, or at the path it
        came back from), its session is sent them (pending)."""
        changed = back.identity != held_identity(moving)
        self._drop(moving.path)
        self._put(
            replace(
                moving,
                **project_fields(back),
                state="pending" if changed else "imported",
                queued_at=wall if changed else moving.queued_at,
                attempts=0,
                missing_since=None,
                **NOT_MOVED,
            )
        )
        if copy:
            self.enqueue(as_project(moving), wall)
        return moving.path

    def set_session_ids(self, ids: Mapping[str, str], only_original: Iterable[str] = ()) -> int:
        """Session ids the library told, by `project_path`; returns how many are new.

        A session is one project's: an id another record already holds is not taken
        (the listing names a session under its `projectOriginalPath` too, and a session
        relinked away from a path is still listed there, while the new project imported
        at that path has its own session, perhaps not listed yet). Nor is an id for a
        path in `only_original`: no session is there now (seed 270051224)."""
        held = self.session_holders()
        away = frozenset(only_original)
        count = 0
        for r in list(self._rows.values()):
            sid = None if r.project_path in away else ids.get(r.project_path)
            if sid is None or r.state != "imported" or r.session_id == sid:
                continue
            if held.get(sid, r.path) != r.path:
                continue
            held[sid] = r.path
            self._put(replace(r, session_id=sid))
            count += 1
        return count

    def session_holders(self) -> dict[str, str]:
        """Session id -> the path of the record holding it."""
        return {r.session_id: r.path for r in self._rows.values() if r.session_id is not None}

    def tags_done(self, path: str, session_id: str, tags: Iterable[str]) -> bool:
        """These folder tags are on the session now (or dropped): never added again."""
        old = self._rows.get(path)
        if old is None or old.session_id not in (None, session_id):
            return False
        done = old.tags_done if old.tags_session == session_id else ()
        have = {t.casefold() for t in done}
        more = tuple(t for t in tags if t.casefold() not in have)
        if not more and old.tags_session == session_id:
            return False
        self._put(replace(old, tags_done=(*done, *more), tags_session=session_id))
        return True


def _held(old: ProjectRecord | None) -> str | None:
    """The bytes a session has (or a request out or unanswered may give it) of a project
    changed now: its `moved_identity` while pending (`stale`, `RelinkRows.relinked`)."""
    if old is None or old.moved_identity is not None:
        return None if old is None else old.moved_identity
    carried = old.state in ("imported", "in_flight") or (old.state == "pending" and old.attempts)
    # Not a project a while (open in its DAW) since a crash left its request `unheard`:
    # the session that request may have made holds these bytes (seed 240085064).
    carried = carried or (old.state == "invalid" and old.attempts > 0 and unheard(old))
    return old.identity if carried else None
