"""Everything the core asks the shell to do, as frozen values, carried out in order.

Effects that ask a question are answered by an input (see `CORE-API` in the README's
development section): `Stat` by `Statted`, `Probe` by `Probed`, `Walk` by `WalkFound`
chunks then `WalkEnded`, `CheckFolder` by `FolderChecked`, `Watch` by `WatchStarted`
or `WatchFailed`, `CheckWatches` by `WatchesChecked`, `ReadToken` by `TokenRead`,
`Send`/`AskHealth`/`AskLibrary` by `SendAnswered`/`HealthAnswered`/`LibraryAnswered`,
`Relink` by `RelinkAnswered`, `Tag` by `TagsAnswered`.
A `Persist` must be written before any later effect of the same list is carried out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from watcher.core.inputs import WatchMode
from watcher.core.records import ProjectRecord, Signature

LogLevel = Literal["debug", "info", "warning", "error"]


@dataclass(frozen=True)
class Stat:
    """Take a fresh signature of a project unit (walks a bundle: cheap, but not free)."""

    path: str
    bundle: bool


@dataclass(frozen=True)
class Probe:
    """Content-check a quiet project and build what would be sent (slow: off the loop)."""

    root: str
    path: str
    bundle: bool
    signature: Signature


@dataclass(frozen=True)
class Walk:
    """Find every project unit below `root` (or only below `under`, a folder moved in)."""

    root: str
    under: str | None = None


@dataclass(frozen=True)
class CheckFolder:
    """Is the watched folder there (and on a network share)?"""

    root: str


@dataclass(frozen=True)
class Watch:
    root: str
    recursive: bool
    mode: WatchMode


@dataclass(frozen=True)
class Unwatch:
    root: str


@dataclass(frozen=True)
class CheckWatches:
    """Which watched folders' observer threads have died?"""


@dataclass(frozen=True)
class ReadToken:
    """Read the token (file) and answer with its fingerprint."""


@dataclass(frozen=True)
class Persist:
    """Write these records and meta values in one transaction, then go on."""

    upserts: tuple[ProjectRecord, ...] = ()
    deletes: tuple[str, ...] = ()
    meta: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class SendItem:
    key: str
    """The record's path; SessionDock is sent the other fields."""
    project_path: str
    title: str
    project_type: str
    preview_path: str | None


@dataclass(frozen=True)
class Send:
    """One `POST /import`: one kind, one previews flag, at most `batch_size` items."""

    request: int
    kind: str
    generate_previews: bool
    items: tuple[SendItem, ...]


@dataclass(frozen=True)
class AskHealth:
    """`GET /health`."""

    request: int


@dataclass(frozen=True)
class AskLibrary:
    """List the library (`GET /sessions`, every page): which paths does it hold?"""

    request: int
    among: frozenset[str] | None = None
    """Only these paths matter (a recovery): the answer may leave the others out."""


@dataclass(frozen=True)
class RelinkItem:
    key: str
    session_id: str | None
    """None: the shell finds it by `old_path` in the library (one listing per request)."""
    old_path: str
    new_path: str
    old_title: str
    """The title we derived for the old path; the session's title follows the new
    name only while it still equals this (watcher.relink.relinked_title)."""
    new_title: str
    taken: frozenset[str] = frozenset()
    """With no `session_id`: the sessions other projects hold (a copy relinked away from
    `old_path` or `new_path` is still listed under it as `projectOriginalPath`, and
    its content may differ since: simulator seed 7301083); the lookup by path never
    takes one of them."""
    also_paths: tuple[str, ...] = ()
    """With no `session_id`: other paths the session may be at, looked up after
    `old_path` (`ProjectRecord.moved_also`: a PATCH that may have acted unsettled)."""
    by_new_path: bool = True
    """With no `session_id`: the session may be at `new_path` already (an earlier PATCH
    of this relink may have acted, its answer lost), so the lookup tries it after
    `old_path`. Else a session there is another project's, whose own relink away from
    that path has not acted yet (simulator seed 6647325), and is never taken."""


@dataclass(frozen=True)
class Relink:
    """Point existing sessions at their projects' new paths (`PATCH /sessions/{id}`).

    Answered by `RelinkAnswered`; never a `DELETE`, never an import."""

    request: int
    items: tuple[RelinkItem, ...]


@dataclass(frozen=True)
class TagItem:
    key: str
    session_id: str
    tags: tuple[str, ...]
    """The folder tags still to add; the shell merges them into the session's own."""


@dataclass(frozen=True)
class Tag:
    """Add folder tags to sessions: per item `GET /sessions/{id}` for its tags now,
    then one `PATCH` with those plus the missing folder tags (none when it has them).

    Answered by `TagsAnswered`; never removes a tag, never deletes."""

    request: int
    items: tuple[TagItem, ...]


@dataclass(frozen=True)
class Log:
    """One structlog line: `event` plus its fields."""

    event: str
    level: LogLevel = "info"
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportStatus:
    """The snapshot `status` shows (the shell adds pid, python and the time written)."""

    snapshot: Mapping[str, Any]


@dataclass(frozen=True)
class Notify:
    """Tell the service manager (sd_notify lines such as `READY=1`, `WATCHDOG=1`)."""

    lines: tuple[str, ...]


@dataclass(frozen=True)
class Stop:
    """The last effect: stop every thread and exit with `exit_code`."""

    exit_code: int


Effect = (
    Stat
    | Probe
    | Walk
    | CheckFolder
    | Watch
    | Unwatch
    | CheckWatches
    | ReadToken
    | Persist
    | Send
    | AskHealth
    | AskLibrary
    | Relink
    | Tag
    | Log
    | ReportStatus
    | Notify
    | Stop
)
