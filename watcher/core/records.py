"""What the core remembers, and what survives a restart: one record per project.

The shell stores these records (and a few meta values) in SQLite and hands them back to
`Core.restore` at the next start; nothing else about a project outlives the process.
Paths are plain strings, exactly as the shell reported them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

StateName = Literal["pending", "in_flight", "imported", "rejected", "invalid", "relinking"]
STATES: tuple[StateName, ...] = (
    "pending",
    "in_flight",
    "imported",
    "rejected",
    "invalid",
    "relinking",
)


@dataclass(frozen=True, slots=True)
class Signature:
    """What a fresh stat says about a project; equal signatures mean "not changed".

    For a bundle it sums sizes and takes the newest mtime over its files, leaving out
    backup and `.nosync` folders so an autosave does not count as a change. Those two
    alone miss a bundle rewritten after the wall clock stepped back, its files the same
    sizes and older times (simulator seed 84394), so a bundle also has a `digest` of
    each file's name, size and mtime: any file that changes changes it. A file has none
    (its own stat is exact); nor has a record written before digests were kept
    (schema 3), see `agrees`.
    """

    size: int
    mtime_ns: int
    inode: int
    digest: int | None = None

    def agrees(self, fresh: Signature) -> bool:
        """This recorded signature says `fresh` is unchanged. A record that never knew
        its bundle's digest (written by schema 3) agrees on size, time and inode alone:
        an upgrade must not send every bundle again."""
        if self.digest is None and fresh.digest is not None:
            return replace(fresh, digest=None) == self
        return self == fresh


@dataclass(frozen=True)
class Project:
    """A project ready to import (a probe's verdict): what SessionDock is sent."""

    path: str
    root: str
    kind: str
    title: str
    project_type: str
    project_path: str
    preview_path: str | None
    generate_previews: bool
    signature: Signature
    identity: str | None = None
    """`size:sha256` of the content (watcher.identity): the same project elsewhere."""


@dataclass(frozen=True, slots=True)
class ProjectRecord:
    """One project as persisted: where it stands, and what was (or will be) sent.

    `queued_at` and `imported_at` are wall-clock seconds (for `status`); `attempts`
    counts requests that carried it; `import_id` is SessionDock's id of the import
    that delivered it. An `invalid` record (bytes that are not a project) keeps its
    signature so an unchanged file is not probed again.

    For relinking (issue 12): `identity` is recorded when the project is probed;
    `session_id` once SessionDock's library told it; `missing_since` (wall) when an
    imported project vanished from a folder that is online (its session is kept);
    `moved_from` is the old `project_path` of a `relinking` record (a move found, the
    PATCH not yet answered), so a restart sends the PATCH again rather than an import.
    """

    path: str
    root: str
    kind: str
    title: str
    project_type: str
    project_path: str
    preview_path: str | None
    generate_previews: bool
    signature: Signature
    state: StateName
    attempts: int = 0
    queued_at: float | None = None
    last_error: str | None = None
    import_id: str | None = None
    imported_at: float | None = None
    identity: str | None = None
    session_id: str | None = None
    missing_since: float | None = None
    moved_from: str | None = None
    moved_title: str | None = None
    """The title derived for the old path (the session's title follows only if equal)."""
    tags_done: tuple[str, ...] = ()
    """Folder tags already added to the session `tags_session` (or found on it): never
    added to it again, so a tag the user removed in SessionDock stays removed. The tag
    work left is the folder's tags minus these (watcher/core/sessions.py)."""
    tags_session: str | None = None
    """The session `tags_done` are on: another session (the user deleted the first and
    a later import made a new one) starts from none."""
    moved_identity: str | None = None
    """The identity of the bytes its session holds when that may not be `identity`: of
    the project at `moved_from` when the move was found (a save at the new path before
    the PATCH went out changes `identity`; a project back at `moved_from` with this one
    is the project the relink was taken for: simulator seed 300817), kept through moves
    as a PATCH sends no bytes; and of an imported project's session while a change of
    it is queued or gone unsent (`relinks.NOT_HELD` when unknown; `relinks.GUESSED` marks
    one a guessed relink gave another file). Differing, the change
    is sent once relinked or back (`relinks.stale`)."""
    moved_inode: int | None = None
    """The inode of the project at `moved_from` when the move was found: another than
    the record's own when a copy was taken for a twin that was gone (in the trash). A
    file back at `moved_from` with it is that twin, whatever its bytes (saved in the
    trash: simulator seed 15869), and the session stays with it."""
    unheard_at: float | None = None
    """Wall time of a request that carried it and may have made its session although
    its answer was lost (a reset, a timeout, a crash while in flight). SessionDock
    lists a new session only once its background import is done, so for
    `Settings.listing_lag_seconds` "not listed" is "not yet": gone meanwhile,
    the record is kept (in flight, looked up) rather than forgotten (seeds 52131,
    55472, 17229). Cleared once SessionDock is heard about it (a 2xx, a 400, listed)."""
    moved_also: tuple[str, ...] = ()
    """Other paths SessionDock may list a `relinking` record's session at, besides
    `moved_from`: paths it moved on from while a PATCH that may have acted (its answer
    lost, `attempts`) was unsettled, that PATCH may have put the session there. Its
    next PATCH looks for the session at each (`RelinkItem.also_paths`), and a file back
    at one is the session's project, as at `moved_from` (simulator seed 87666: moved
    away, back, then away again, it forgot the first path, where the session still was)."""
    arrived_with: int = 0
    """The `attempts` a `relinking` record counted when it came to its path from the
    path of its session's project's own file (that inode): those PATCHes may have put
    the session there (`moved_also`), never at this path. A copy taken for that project
    (another inode) may then give the relink back to the project found with it
    (`Spellings._relink_retaken`) unless a PATCH counted since may have acted (simulator
    seeds 75330, 64194); on disk so that a restart knows it too (schema 9)."""
    queued_order: int = 0
    """When `queued_at` was last set, as a count that never goes back (`Rows._put`),
    unlike the wall clock: which of two records of one file was recorded last is told
    by it (`Moves._moved`; simulator seed 141000366, the clock stepped back 569 s).
    0 (written before schema 10) falls back to `queued_at`."""
