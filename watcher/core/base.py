"""The core's state, shared by its parts (`intake`, `sending`, `machine`).

Effects are collected in `_out` while one input is handled. `_emit` keeps the one
ordering rule the shell relies on: every change to the table is handed out as a
`Persist` before any effect that acts on it (`Send`, `Stop`), and whatever is left is
flushed when the input has been handled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from watcher.core.debounce import Debouncer
from watcher.core.effects import Effect, Log, LogLevel, ReportStatus, Send, Stop
from watcher.core.folders import Folders
from watcher.core.inputs import NotAProject
from watcher.core.outage import Outage
from watcher.core.policy import Gate, Jitter
from watcher.core.records import Project, ProjectRecord, Signature
from watcher.core.settings import Settings
from watcher.core.store import unheard
from watcher.core.table import Table
from watcher.core.unreadable import Unreadable

EXIT_OK = 0
EXIT_UNDELIVERED = 1
EXIT_UNAVAILABLE = 69
EXIT_NOPERM = 77


@dataclass
class Counters:
    queued: int = 0
    imported: int = 0
    rejected: int = 0
    requests: int = 0
    found: int = 0
    """Projects the walks found (changed or not); with `walked`, for scan's progress bar."""
    walked: int = 0
    relinked: int = 0
    tagged: int = 0


@dataclass
class Waiting:
    """A project unit waiting out its quiet period."""

    root: str
    bundle: bool


@dataclass
class Job:
    """The one request out: a batch being delivered (in parts, when a 400 is bisected),
    a health probe, or the library check of a recovery."""

    request: int
    what: str
    """`send`, `health`, `library`, `catalog`, `relink`, `ids` or `tag`."""
    kind: str = ""
    generate_previews: bool = False
    parts: list[tuple[str, ...]] = field(default_factory=list)
    """The parts of the batch still to send, after the one out."""
    current: tuple[str, ...] = ()
    recovering: tuple[str, ...] = ()
    """For `library`: the records that were in flight when the last process died (its
    `kind` "crash"), or left in flight since by a request whose answer was lost."""
    before: dict[str, tuple[int, str | None]] = field(default_factory=dict)
    """For `send`: each record's `attempts` and `moved_identity` before it went out,
    put back for those it never carried (`Table.unsent`)."""


class CoreBase:
    def __init__(self, settings: Settings, table: Table, meta: dict[str, Any]) -> None:
        self.settings = settings
        self.table = table
        self.meta = meta
        self.counters = Counters()
        self.debouncer: Debouncer[str, Signature] = Debouncer(
            settings.quiet_seconds, settings.max_wait_seconds
        )
        self.gate = Gate(cap=settings.retry_max_seconds, jitter=Jitter())
        self.folders = Folders(settings.folders, not settings.once, settings.offline_check_seconds)
        self.timers: dict[str, float] = {}
        self.exit_code = EXIT_OK
        self.stopped = False
        self._out: list[Effect] = []
        self._meta_changes: dict[str, Any] = {}
        self._now = 0.0
        self._wall_offset = 0.0
        self._started_wall = 0.0
        self._started = False
        self._stopping = False
        self._grace_over = False
        self._waiting: dict[str, Waiting] = {}
        self._touch_stats: dict[str, tuple[str, float]] = {}
        """Files stat'ed for an event: path -> (root, time of the event)."""
        self._confirm_stats: dict[str, str] = {}
        """Projects stat'ed at the end of their quiet period: path -> root."""
        self._probing: dict[str, tuple[str, Signature, bool]] = {}
        """Probes out: path -> (root, signature checked, bundle)."""
        self._verifying: dict[str, tuple[str, Signature, Project | NotAProject, bool]] = {}
        """Probes answered, waiting for the stat that says the bytes are still those."""
        self.unreadable = Unreadable()
        self._unconfirmed: set[str] = {
            r.path for r in table.values() if r.state in ("pending", "in_flight", "relinking")
        }
        """Records queued, in flight or relinking in an earlier life: not sent until a
        walk has seen the same bytes again (the file may have been opened or rewritten
        since; a relinked record sends the bytes its move found: seed 100042098)."""
        self._missing_before: dict[str, float] = {
            r.path: r.missing_since for r in table.values() if r.missing_since is not None
        }
        """`missing_since` of records found missing in an earlier life: a wall time of
        another clock (it may have stepped back since), and before any walk of this one."""
        self._gone_at: dict[str, tuple[float, float]] = {}
        """Records an event made missing in this life: path -> (`missing_since`, the
        event's monotonic time), for the walks asked before that event came (late.py)."""
        self._look_up: set[str] = set()
        """Records kept in flight, gone, after a request SessionDock may have acted on
        failed: the library is asked about them (`Adoption._look_up_gone`)."""
        self._look_up_at = 0.0
        self._look_up_delay = 1.0
        """Not listed yet (a background import): asked again from then, on a backoff."""
        self._relink_later: dict[str, float] = {}
        """Relinks by path that found no session, not listed yet: sent again from then."""
        self._unlisted: dict[str, float] = {}
        """Unheard records gone, by path: when a listing first lacked them (monotonic)."""
        self._superseded: dict[str, tuple[str, NotAProject, Signature]] = {}
        """In-flight projects found open or broken since they were sent: if their request
        fails they become `invalid` instead of pending again."""
        self._walking: dict[tuple[str, str | None], float] = {}
        self._move_stats: dict[str, list[tuple[Project, bool]]] = {}
        """Imported projects stat'ed because a new project has their identity: is the
        original still there (a copy) or gone (a move whose event was lost)?"""
        self._parked: dict[str, list[tuple[Project, bool]]] = {}
        """New projects with the identity of one gone while in flight, by its path:
        relinked or imported once its request is answered."""
        self._gone_if_online: dict[str, dict[str, list[tuple[Project, bool]]]] = {}
        """Root -> originals a stat did not find, with the new projects of their
        identity: gone if a check finds the folder online (see `_move_checked`)."""
        self._gone_if_back: dict[str, dict[str, list[tuple[Project, bool]]]] = {}
        """Root -> originals a stat did not find while their folder was offline to the
        core, with the new projects of their identity: stat'ed again once it is back."""
        self._session_looks: dict[str, bool] = {}
        """Paths a guessed relink's session points at, stat'ed before its PATCH goes
        out: False while the stat is out, True once it found nothing there."""
        self._retargeted: dict[str, str] = {}
        """A relinking project moved again while its PATCH was out: old path -> new."""
        self._back_while_out: dict[str, str] = {}
        """A relinking record whose PATCH was out when a project came back to its
        session's path: its path -> that path (`Relinking._undo_guesses_back`). Read
        back from disk at a restart (`Relinking._back_while_out_on_disk`)."""
        self._summary_relinked = 0
        """`counters.relinked` at the last hourly summary."""
        self._walk_paths: dict[str, set[str]] = {}
        """What each reconciling walk out has found so far (the rest is missing)."""
        self._job: Job | None = None
        self._requests = 0
        self._replan = True
        """Plan a batch at the next turn (something may have made one due earlier)."""
        self._replan_soft = False
        """Projects were queued or stopped changing: plan again only if that can matter
        (nothing planned yet, a group filled up, or nothing else is on its way)."""
        self._batch_due: float | None = None
        """Wall time the next batch is due (the batch planner works in wall time)."""
        self._adopting = False
        """An empty state (first run, or rebuilt): adopt SessionDock's library first."""
        self._library: frozenset[str] | None = None
        self._library_ids: Mapping[str, str] = {}
        """Session ids by path, from the same listing as `_library` (adoption)."""
        self._attaching: set[str] = set()
        """Folders not yet answered at start (READY waits for them)."""
        self._unsaved: set[str] = set()
        self._replay: list[Effect] = []
        self.outage = Outage()
        self._persist_retrying = False

    # --- time -------------------------------------------------------------------------

    def _wall(self) -> float:
        return self._now + self._wall_offset

    def _busy_finding(self) -> bool:
        """Something may still join a batch: a quiet period, a stat, a probe or a walk."""
        return bool(
            len(self.debouncer)
            or self._walking
            or self._probing
            or self._verifying
            or self._confirm_stats
            or self._touch_stats
            or self._move_stats
            or self._gone_if_online
            or self._gone_if_back
        )

    def _adopted(self, project: Project, new: bool) -> bool:
        """A new project SessionDock already has (`Adoption`)."""
        raise NotImplementedError

    def _reconcile_all(self) -> None:
        """Walk every online folder (`Intake`)."""
        raise NotImplementedError

    # --- moves (`Moves`) --------------------------------------------------------------

    def _vanish(self, path: str) -> None:
        raise NotImplementedError

    def _vanish_under(self, directory: str) -> None:
        raise NotImplementedError

    def _seen(self, path: str) -> None:
        raise NotImplementedError

    def _walk_seen(self, root: str, paths: list[str]) -> None:
        raise NotImplementedError

    def _walk_done(self, root: str, unreadable: tuple[str, ...]) -> None:
        raise NotImplementedError

    def _moved(self, project: Project, new: bool, bundle: bool, checked: bool) -> bool:
        raise NotImplementedError

    def _move_checked(self, path: str, signature: Signature | None) -> None:
        raise NotImplementedError

    def _moved_onto_rejected(self, record: ProjectRecord) -> bool:
        raise NotImplementedError

    def _touch(
        self, root: str, path: str, bundle: bool, at: float, signature: Signature | None
    ) -> None:
        """Wait out a quiet period for `path` (`Intake`)."""
        raise NotImplementedError

    def _enqueue(self, project: Project, bundle: bool = False, checked: bool = False) -> None:
        """A checked project becomes pending (`Intake`)."""
        raise NotImplementedError

    def _relink_due(self) -> bool:
        raise NotImplementedError

    def _folder_answered(self, root: str) -> None:
        raise NotImplementedError

    def _move_resolved(self, waiting: list[tuple[Project, bool]]) -> None:
        raise NotImplementedError

    def _stat_when_back(self, root: str, path: str, waiting: list[tuple[Project, bool]]) -> None:
        raise NotImplementedError

    def _release_parked(self) -> None:
        raise NotImplementedError

    def _unpark(self, path: str) -> None:
        raise NotImplementedError

    def _sessions_due(self) -> bool:
        """Tag sessions or learn their ids, when nothing else is to be sent (`Sessions`)."""
        return False

    def _send_part(self, job: Job, keys: tuple[str, ...]) -> None:
        """Send one part of a batch (`Sending`)."""
        raise NotImplementedError

    # --- the one request out -------------------------------------------------------------

    def _job_answered(self, what: str, request: int) -> Job | None:
        """The request out, when `request` answers it: an answer to a request given up,
        or from before a restart, finds another job or none, and is ignored."""
        job = self._job
        return job if job is not None and job.what == what and job.request == request else None

    def _carried(self, path: str) -> bool:
        """The send out carries this project's older bytes (changed since, queued again),
        or a request that carried it went unheard (`unheard`): SessionDock may
        make (or have made) a session for it, so it is never simply forgotten."""
        record = self.table.get(path, None)
        if record is not None and unheard(record):
            return True
        return self._out_with("send", path)

    def _out_with(self, what: str, path: str) -> bool:
        """The request out, of kind `what`, carries `path`: its answer decides."""
        job = self._job
        return job is not None and job.what == what and path in job.current

    def _job_done(self) -> None:
        """The request out is dealt with: the next one may be planned at once."""
        self._job = None
        self._replan = True

    # --- effects ----------------------------------------------------------------------

    def _emit(self, *effects: Effect) -> None:
        for effect in effects:
            if isinstance(effect, (Send, Stop)):
                self._flush()
            self._out.append(effect)

    def _log(self, event: str, level: LogLevel = "info", **fields: Any) -> None:
        self._out.append(Log(event, level, fields))

    def _set_meta(self, key: str, value: Any) -> None:
        self.meta[key] = value
        self._meta_changes[key] = value

    def _flush(self, force: bool = False) -> None:
        """Hand out the table's changes as one `Persist`; in a state outage they are
        kept until the retry (or the last write before stopping), so a full disk costs
        one failed write per retry, not one per turn."""
        if self.outage.active and not force:
            return
        persist = self.table.take_changes(self._meta_changes.items())
        self._meta_changes = {}
        if persist is not None:
            self._out.append(persist)

    def _status(self, running: bool = True) -> None:
        self._emit(
            ReportStatus(
                {
                    "running": running and not self.settings.once,
                    "started_at": self._started_wall,
                    "sending": self.gate.pause.value,
                    "folders": self.folders.report(),
                    "unreadable": self.unreadable.report(),
                    "counts": self.table.counts(),
                    "missing": self.table.missing_count(),
                    "relinked": int(self.meta.get("relinked", 0) or 0),
                }
            )
        )

    def _status_line(self) -> str:
        counts = self.table.counts()
        return (
            f"{len(self.folders)} folders, {counts['pending']} pending, "
            f"{counts['imported']} imported, {self.gate.pause.value}"
        )
