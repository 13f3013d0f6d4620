"""Everything that can happen to the core: the shell's observations and answers.

Each input is a frozen value. The shell classifies file events (it owns the DAW table
and may list folders), stats, probes, walks, talks to SessionDock and reads the token
file; the core only ever sees the results. Times are monotonic seconds passed to
`Core.handle`; the one wall-clock reading the core needs comes with `Started`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from watcher.core.records import Project, Signature
from watcher.core.settings import Settings

WatchMode = Literal["native", "polling"]

FailureKind = Literal["unreachable", "auth", "read_only", "bad_answer", "rejected", "server"]


@dataclass(frozen=True)
class Failure:
    """Why a request to SessionDock did not succeed, as the error policy needs it.

    `auth` covers a rejected token (401) and a missing one (`token_fingerprint` None);
    `read_only` is any 403; `rejected` a 400 (the core bisects the batch to find the
    items at fault); `server` any other error status; `bad_answer` a 2xx that is not
    the documented JSON; `unreachable` a refused, reset or timed-out connection.
    """

    kind: FailureKind
    message: str
    """One line for logs and `status`; for `rejected`, SessionDock's own message."""
    advice: str
    retry_after: float | None = None
    token_fingerprint: str | None = None
    """Which token the request carried (`fingerprint` of it), for a 401."""


# --- start, signals, config ---------------------------------------------------------


@dataclass(frozen=True)
class Started:
    """The first input of every process: the core begins recovery and attaches folders."""

    wall: float
    """Wall-clock seconds now; stored times (`queued_at`, `imported_at`) derive from it."""


@dataclass(frozen=True)
class Tick:
    """Time passed (a wakeup from `next_wakeup`, or any loop turn without input)."""


@dataclass(frozen=True)
class StopRequested:
    """SIGTERM or SIGINT: finish the request in flight (a short grace), then stop."""

    signal: str


@dataclass(frozen=True)
class ReloadRequested:
    """SIGHUP: the shell re-read the config; `settings` None when it could not."""

    settings: Settings | None
    error: str | None = None


@dataclass(frozen=True)
class PersistFailed:
    """A `Persist` could not be written (disk full, database locked).

    The shell then carries out none of the effects that followed it in the same list
    and hands them back in `dropped`; the core writes again later and replays them.
    """

    persist: object
    """The `Persist` that failed (typed `object`: effects import inputs, not back)."""
    message: str
    advice: str
    dropped: tuple[object, ...] = ()
    """The effects after it in the same list, not carried out."""


# --- the file system ----------------------------------------------------------------


@dataclass(frozen=True)
class ProjectChanged:
    """An event touched a project unit (a file, or anything inside a bundle)."""

    root: str
    path: str
    """The project unit the shell classified the event to (the file or bundle root)."""
    bundle: bool
    at: float
    """Monotonic time the event was seen (queueing delays do not skew debouncing)."""


@dataclass(frozen=True)
class ProjectGone:
    """The project unit itself was deleted or moved away."""

    root: str
    path: str
    at: float


@dataclass(frozen=True)
class DirectoryChanged:
    """A folder (not a project unit) was created or moved in below `root`."""

    root: str
    path: str
    at: float
    attrib: bool = False
    """Only its metadata changed (chmod, touch): news only for a folder known unreadable."""


@dataclass(frozen=True)
class DirectoryGone:
    """A folder (not a project unit) was deleted or moved away; `path` may be `root`."""

    root: str
    path: str
    at: float


@dataclass(frozen=True)
class Statted:
    """Answers `Stat`: the fresh signature, or None when the project no longer exists."""

    path: str
    signature: Signature | None


@dataclass(frozen=True)
class NotAProject:
    """A probe's verdict on bytes that are not an importable project (yet)."""

    reason: str
    """`open` (the DAW has it open), `bad-content`, ...: the `Skipped` reason."""
    detail: str
    kind: str = ""
    """The kind it would have had (shown by `status`)."""
    advice: str = ""
    """What the user can do, when the reason has a fix of its own (`bad-name`: rename)."""


@dataclass(frozen=True)
class Probed:
    """Answers `Probe`: the project to import, or why it is not one."""

    path: str
    outcome: Project | NotAProject


@dataclass(frozen=True)
class Found:
    """One project unit a walk found, with its signature at that time (None: vanished)."""

    path: str
    bundle: bool
    signature: Signature | None


@dataclass(frozen=True)
class WalkFound:
    """A chunk of what a `Walk` found (walks post chunks as they go)."""

    root: str
    under: str | None
    items: tuple[Found, ...]


@dataclass(frozen=True)
class WalkEnded:
    """Answers `Walk`, after its last `WalkFound`."""

    root: str
    under: str | None
    unreadable: tuple[tuple[str, str], ...] = ()
    """Folders the walk could not list, each with what to do about it."""


@dataclass(frozen=True)
class FolderChecked:
    """Answers `CheckFolder`: is the watched folder there, and on a network share?"""

    root: str
    exists: bool
    network: bool = False
    virtual: bool = False
    """/proc, /sys, /dev, /run: never watched (thousands of watches, no projects)."""
    case_insensitive: bool | None = None
    """The folder's volume finds a name in any letter case (APFS, NTFS by default);
    None: the shell could not tell (no name with letters to try)."""
    real: str | None = None
    """Where a linked root leads (its real path), when that differs from `root`."""


@dataclass(frozen=True)
class WatchStarted:
    """Answers `Watch`: the observer now watches `root` in `mode`."""

    root: str
    mode: WatchMode


@dataclass(frozen=True)
class WatchFailed:
    """Answers `Watch` when it could not be set up; `advice` names the limit to raise."""

    root: str
    mode: WatchMode
    advice: str


@dataclass(frozen=True)
class WatchesChecked:
    """Answers `CheckWatches`: the watched folders whose observer thread has died."""

    dead: tuple[str, ...]


@dataclass(frozen=True)
class EventsLost:
    """The observer dropped events (queue overflow): everything is reconciled."""

    detail: str


@dataclass(frozen=True)
class EventsMissed:
    """The change detector found changes in a natively watched folder that no event
    reported (the changes themselves come as their own inputs)."""

    root: str
    example: str


@dataclass(frozen=True)
class ChangeCheckFailed:
    """The change detector could not check a folder: everything is reconciled."""

    root: str
    detail: str


@dataclass(frozen=True)
class TokenRead:
    """Answers `ReadToken`: the token's fingerprint now, None when there is none."""

    fingerprint: str | None


# --- SessionDock --------------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    """A 2xx to `POST /import`: SessionDock took every item of the request."""

    import_id: str | None
    total: int | None
    completed: int | None = 0
    failed: int | None = 0
    skipped: int | None = 0
    done: bool | None = False
    odd: tuple[str, ...] = ()
    """Fields SessionDock sent in an undocumented form (reported as None)."""


@dataclass(frozen=True)
class SendAnswered:
    """Answers `Send` (one HTTP request)."""

    request: int
    outcome: Accepted | Failure


@dataclass(frozen=True)
class Health:
    status: str
    configured_mode: str
    effective_mode: str

    @property
    def can_import(self) -> bool:
        return self.effective_mode == "full-automation"


@dataclass(frozen=True)
class HealthAnswered:
    """Answers `AskHealth`."""

    request: int
    outcome: Health | Failure


@dataclass(frozen=True)
class Library:
    """Every `projectPath` and `projectOriginalPath` SessionDock's library holds."""

    paths: frozenset[str]
    ids: Mapping[str, str] = field(default_factory=dict, hash=False)
    """path -> the id of the session listed under it (as `projectPath` first, else
    as `projectOriginalPath`); only the paths asked about when `AskLibrary.among`."""
    only_original: frozenset[str] = frozenset()
    """Of `paths`, those no session's `projectPath` is (only a session relinked away
    from them lists them): no session is there now (simulator seed 200060278)."""


@dataclass(frozen=True)
class LibraryAnswered:
    """Answers `AskLibrary`."""

    request: int
    outcome: Library | Failure


@dataclass(frozen=True)
class Relinked:
    """What became of each item of a `Relink`: the session id it was patched on, or
    None when SessionDock has no such session (deleted by the user: import as new)."""

    done: tuple[tuple[str, str | None], ...]
    """(key, session id or None) for each item dealt with, in order."""
    sent: bool = True
    """With a failure, False when the next item's PATCH never went out: it did not act."""


@dataclass(frozen=True)
class RelinkAnswered:
    """Answers `Relink`; with a `Failure`, the items after `done` were not patched."""

    request: int
    outcome: Relinked
    failure: Failure | None = None


@dataclass(frozen=True)
class TagDone:
    """What became of one item of a `Tag`."""

    key: str
    session_id: str
    added: tuple[str, ...] = ()
    """The tags the PATCH added (empty: the session had them all already)."""
    gone: bool = False
    """404: the user deleted the session; its tag work is dropped."""
    refused: str | None = None
    """SessionDock refused this session's tag list (a 400): its message."""


@dataclass(frozen=True)
class TagsAnswered:
    """Answers `Tag`; with a `Failure`, the items after `done` were not dealt with."""

    request: int
    done: tuple[TagDone, ...]
    failure: Failure | None = None


Input = (
    Started
    | Tick
    | StopRequested
    | ReloadRequested
    | PersistFailed
    | ProjectChanged
    | ProjectGone
    | DirectoryChanged
    | DirectoryGone
    | Statted
    | Probed
    | WalkFound
    | WalkEnded
    | FolderChecked
    | WatchStarted
    | WatchFailed
    | WatchesChecked
    | EventsLost
    | EventsMissed
    | ChangeCheckFailed
    | TokenRead
    | SendAnswered
    | HealthAnswered
    | LibraryAnswered
    | RelinkAnswered
    | TagsAnswered
)
