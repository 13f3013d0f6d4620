"""A record's rules while its project moves: found elsewhere, it is `relinking` until
SessionDock's answer to the PATCH that points its session at the new path (moves.py
decides when; table.py holds the rest of a record's rules)."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from watcher.core.records import Project, ProjectRecord
from watcher.core.store import Rows


class RelinkRows(Rows):
    def relink(self, project: Project, old: ProjectRecord, wall: float, here: bool = True) -> None:
        """The project at `old.path` moved to `project.path`: one record, `relinking`
        until SessionDock's session points at the new path. Moved again while relinking,
        it keeps `attempts` and every path its session may be at: a PATCH that may have
        acted may have put the session at `old.path` already (simulator seed 20878), or
        not, leaving it at `moved_from` (seed 87666). Back at one of those paths, the
        others are where its session may be (`Spellings._relink_undone`). Without
        `here`, the PATCHes counted were all sent before it came to `old.path`. Those
        counted at its session's project's own file are `arrived_with` at the new path."""
        was = session_places(old) or (old.project_path,)
        own = old.moved_inode == old.signature.inode is not None  # at its project's file
        counted = old.attempts if old.state == "relinking" and own else 0
        if old.state == "relinking" and old.attempts and here:
            # Back at one of them, the relink goes from where it just was first (as
            # ever, seed 200742); moving on, from where it was when the move was found.
            back = project.project_path in was
            was = (old.project_path, *was) if back else (*was, old.project_path)
        places = [p for p in dict.fromkeys(was) if p != project.project_path]
        moved_from = places[0] if places else old.moved_from or old.project_path
        same = moved_from == old.moved_from
        # Back to the file its session was taken for (a copy's relink undone or retaken,
        # `_held_by_session`): that file's own relink, never a guess (read as one at a
        # restart, the copy queued at its old path took the session back: seed 300059191).
        taken_for = old.state == "relinking" and project.signature.inode == old.moved_inode
        inode = old.moved_inode if same or taken_for else old.signature.inode
        self._drop(old.path)
        self._put(
            replace(
                old,
                **project_fields(project),
                state="relinking",
                attempts=old.attempts if old.state == "relinking" else 0,
                queued_at=wall,
                missing_since=None,
                moved_from=moved_from,
                moved_title=(old.moved_title if same else None) or old.title,
                # What its session holds: a PATCH moves a session, it sends no bytes.
                moved_identity=_held_by_session(project, old),
                moved_inode=inode,
                moved_also=tuple(places[1:])[-MAX_ALSO:],
                arrived_with=counted,
            )
        )

    def relinking_from(self, project: Project) -> ProjectRecord | None:
        """A record, on disk, whose session SessionDock still lists at `project.path`
        (moved from there, its PATCH not answered yet), taken for `project`: with the
        inode it had there (back, whatever its bytes: saved in the trash, simulator seed
        15869), or any file there unless the record kept that inode, moving: then
        `project` is a twin moved onto the path it left, and the relink stands (seed
        1542). A relink that did not keep it was a guess (a copy taken for a project
        gone from there), and a file at the session's path before its PATCH goes out is
        the session's project there, whatever its bytes and inode (saved unseen, then
        restored: seeds 87675, 88718), as for a trashed project's path (seed 700439),
        but another missing project moved there (`Spellings._moved_onto_guess`).
        The record may be missing (the copy gone too: seed 29746); its relink is undone
        all the same. At a path in its `moved_also` (one it moved on from, a PATCH that
        may have acted unsettled), only its own file back there is taken (seed 87666)."""
        if project.identity is None:
            return None
        inode = project.signature.inode
        for r in self.moving_from(project.project_path):
            if r.path == project.path:
                continue
            if r.moved_from != project.project_path:
                # A path it moved on from (`moved_also`): its own file back there (the
                # twin a copy was taken for is `Spellings._relink_retaken`'s).
                if inode == r.signature.inode:
                    return r
                continue
            kept = r.moved_inode is not None and r.moved_inode == r.signature.inode
            if inode == r.moved_inode or not kept:
                return r
        return None

    def relinked(self, path: str, session_id: str, wall: float) -> ProjectRecord | None:
        """Its session points at its path now. Bytes other than those the session holds
        (`moved_identity`: saved since, or the project taken back at a path its session
        may be at with new bytes) are sent to it next, as any change (pending): a PATCH
        moves a session, it sends none. Gone meanwhile, it is imported (missing) and
        keeps `moved_identity`: back, or found moved, its bytes are sent then
        (`Table.seen_again`, `Table.returned`, `relink`)."""
        old = self._rows.get(path)
        if old is None or old.state != "relinking":
            return None
        changed = holds_other(old)
        send = changed and old.missing_since is None
        record = replace(old, session_id=session_id, **NOT_MOVED)
        if send:
            record = replace(record, state="pending", attempts=0, queued_at=wall)
        else:
            held = old.moved_identity if changed else None
            record = replace(record, state="imported", moved_identity=held)
        self._put(record)
        return old

    def relink_session(self, path: str, session_id: str | None) -> None:
        """The session id an earlier PATCH of this (since moved again) project found."""
        old = self._rows.get(path)
        if old is not None and old.state == "relinking" and session_id is not None:
            self._put(replace(old, session_id=session_id))

    def relink_lost(self, path: str, wall: float) -> bool:
        """The session is gone (404): the project is imported as new."""
        old = self._rows.get(path)
        if old is None or old.state != "relinking":
            return False
        if old.missing_since is not None:
            self._drop(path)  # gone again too: nothing left to import
            return False
        self._put(
            replace(
                old,
                state="pending",
                queued_at=wall,
                session_id=None,
                **NOT_MOVED,
                import_id=None,
                imported_at=None,
            )
        )
        return True


GUESSED = "~"
"""Before a `moved_identity`: the relink was a guess (a file with another inode than
the one its session was taken for: a copy, or a move across volumes), so the session
holds what SessionDock read of that other file. The recorded identity need not be it (a
save, its event lost, read by the import after the probe: simulator seed 118000211),
and nothing says this file's bytes reached it: they are sent once relinked (`stale`)."""


def held_identity(record: ProjectRecord) -> str | None:
    """The identity its session holds as recorded, a guess's mark aside."""
    held = record.moved_identity
    return held[len(GUESSED) :] if held is not None and held.startswith(GUESSED) else held


def _held_by_session(project: Project, old: ProjectRecord) -> str | None:
    """`moved_identity` of `old` moved to `project`: carried (a PATCH sends no bytes),
    marked `GUESSED` when a recorded project's session goes to a file that is not its
    own, and unmarked when a relink comes back to the file its session was taken for
    (`Spellings._relink_undone`, `_relink_retaken`)."""
    held = old.moved_identity or old.identity
    if held is None:
        return None
    if old.state != "relinking":
        guessed = project.signature.inode != old.signature.inode
        return GUESSED + held if guessed and not held.startswith(GUESSED) else held
    if project.signature.inode == old.moved_inode:
        return held_identity(old)
    return held


def project_fields(project: Project | ProjectRecord) -> dict[str, Any]:
    """What a probed project sets in its record, whether new, re-queued or moved (the
    fields of `Project`, which a record has too)."""
    return {name: getattr(project, name) for name in _PROJECT_FIELDS}


def as_project(record: ProjectRecord) -> Project:
    """The project a record was made from, as recorded: a copy queued as new."""
    return Project(**project_fields(record))


_PROJECT_FIELDS = tuple(f.name for f in fields(Project))
NOT_MOVED: dict[str, Any] = {
    **dict.fromkeys(("moved_from", "moved_title", "moved_identity", "moved_inode")),
    "moved_also": (),
    "arrived_with": 0,
}
"""The fields of a move found, cleared once it is answered, undone or lost."""

MAX_ALSO = 8
"""At most this many paths in `moved_also` (the latest kept): one per move while a
PATCH that may have acted is unsettled, a handful at most in any studio; a bound all
the same, as a record is kept in memory for months."""


def session_places(record: ProjectRecord) -> tuple[str, ...]:
    """The paths a relinking record's session may be listed at: `moved_from` first
    (where it was when the move was found), then `moved_also`."""
    if record.moved_from is None:
        return ()
    return (record.moved_from, *record.moved_also)


NOT_HELD = "?"
"""`moved_identity` of a record whose session holds other bytes than its own, which
ones unknown (a change not sent when it went missing); never a real identity."""


def stale(record: ProjectRecord) -> bool:
    """An imported record whose session holds other bytes than its own: relinked while
    gone, a change riding with it (`RelinkRows.relinked`); sent once it is back."""
    return record.state == "imported" and holds_other(record)


def holds_other(record: ProjectRecord) -> bool:
    """Its session holds other bytes than its own (`moved_identity`), whatever its state."""
    return record.moved_identity is not None and record.moved_identity != record.identity
