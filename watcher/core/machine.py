"""The daemon's decisions as one state machine: inputs in, effects out, nothing else.

No threads, no clock, no disk, no network (after h11 and wsproto: "sans-I/O"). The
shell (`watcher.shell`) feeds every observation and answer to `Core.handle` with the
monotonic time, and carries out the effects it returns, in order. A restart is a new
core built from what was persisted (`Core.restore`), so recovery after `kill -9` is
the same code path as every start.

Each turn: handle the input, release projects whose quiet period ended, fire due
timers, plan a batch, decide whether `scan` is finished, flush the table's changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from watcher.core.base import EXIT_NOPERM, EXIT_UNAVAILABLE, EXIT_UNDELIVERED
from watcher.core.effects import CheckWatches, Effect, Log, Notify, Stop
from watcher.core.inputs import (
    ChangeCheckFailed,
    DirectoryChanged,
    DirectoryGone,
    EventsLost,
    EventsMissed,
    FolderChecked,
    HealthAnswered,
    Input,
    LibraryAnswered,
    PersistFailed,
    Probed,
    ProjectChanged,
    ProjectGone,
    RelinkAnswered,
    ReloadRequested,
    SendAnswered,
    Started,
    Statted,
    StopRequested,
    TagsAnswered,
    Tick,
    TokenRead,
    WalkEnded,
    WalkFound,
    WatchesChecked,
    WatchFailed,
    WatchStarted,
)
from watcher.core.moves import Moves
from watcher.core.persisting import Persisting
from watcher.core.policy import Pause
from watcher.core.records import ProjectRecord
from watcher.core.sending import HEALTH_POLL_SECONDS
from watcher.core.sessions import Sessions
from watcher.core.settings import Settings
from watcher.core.table import Table
from watcher.core.watching import Watching

HEARTBEAT_SECONDS = 30.0
SUMMARY_SECONDS = 3600.0
SUPERVISE_SECONDS = 10.0
SHUTDOWN_GRACE_SECONDS = 3.0
ONCE_ATTEMPTS = 3


class Core(Watching, Moves, Sessions, Persisting):
    """See the module docstring; build with `Core.restore`, then feed `Started` first."""

    @classmethod
    def restore(
        cls,
        settings: Settings,
        records: Iterable[ProjectRecord],
        meta: Mapping[str, Any],
    ) -> Core:
        """A core that carries on from what an earlier process persisted.

        `records` are every `ProjectRecord` the `Persist` effects wrote (upserts minus
        deletes); `meta` the meta values. Nothing else survives a restart: waiting
        debounces, walks and requests in flight are gone, and the `Started` input that
        must come next asks SessionDock about records left `in_flight`.
        """
        core = cls(settings, Table(records), dict(meta))
        core._adopting = not core.table  # an empty state: adopt what SessionDock has first
        core._back_while_out_on_disk()
        return core

    @property
    def records(self) -> Mapping[str, ProjectRecord]:
        """What the core believes, path -> record (read-only; for status and tests)."""
        return self.table

    def handle(self, event: Input, now: float) -> list[Effect]:
        """Feed one input at monotonic time `now`; returns the effects to carry out in order.

        `now` must never go backwards between calls. Every effect that asks a question
        is answered by a later input (see CORE-API); `Persist` effects must be written
        before any effect after them in the list is carried out.
        """
        if self.stopped:  # only the last write can still fail: stop all the same
            return [Stop(self.exit_code)] if isinstance(event, PersistFailed) else []
        self._now = max(self._now, now)
        self._out = []
        if self._persist_retrying and not isinstance(event, PersistFailed):
            self._persist_worked()
        self._dispatch_input(event)
        if self._started:
            self._turn()
        self._flush()
        out, self._out = self._out, []
        return out

    def next_wakeup(self) -> float | None:
        """The monotonic time at which `handle(Tick(), t)` has work to do; None: none."""
        if self.stopped or not self._started:
            return None
        times = [*self.timers.values()]
        deadline = self.debouncer.next_deadline()
        if deadline is not None and not self._stopping:
            times.append(deadline)
        if self._batch_due is not None:
            times.append(self._batch_due - self._wall_offset)
        if self.gate.pause is Pause.BACKOFF and self._job is None:
            times.append(self.gate.not_before)
        # What was due by now was done in the last turn, or waits for an input (an
        # answer, a write): a time in the past would only make the shell spin.
        return min((t for t in times if t > self._now), default=None)

    # --- one turn ---------------------------------------------------------------------

    def _dispatch_input(self, event: Input) -> None:
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def _turn(self) -> None:
        if self._parked:
            self._release_parked()
        if not self._stopping:
            self._release_ready()
        self._fire_timers()
        self._dispatch()
        if self._stopping:
            if self._job is None or self._grace_over:
                self._finish()
        elif self.settings.once and self._once_finished():
            self._finish()

    # --- start and stop ---------------------------------------------------------------

    def _on_started(self, started: Started) -> None:
        if self._started:
            return
        self._started = True
        self._wall_offset = started.wall - self._now
        self._started_wall = started.wall
        self._recover()
        for folder in self.folders:
            self._attaching.add(folder.root)
            self._emit(*self.folders.check(folder))
        if not self.settings.once:
            now, scan = self._now, self.settings
            self.timers.update(
                reconcile=now + scan.reconcile_interval_seconds,
                offline=now + scan.offline_check_seconds,
                supervise=now + SUPERVISE_SECONDS,
                heartbeat=now,
                summary=now + SUMMARY_SECONDS,
            )
            if scan.watchdog_seconds:
                self.timers["watchdog"] = now
        self._attached(None)

    def _on_stop_requested(self, event: StopRequested) -> None:
        if self._stopping:
            return
        self._log("stopping", signal=event.signal)
        self._stopping = True
        self.timers = {"stop": self._now + SHUTDOWN_GRACE_SECONDS}

    def _finish(self) -> None:
        if self._job is not None:
            self._log("request_abandoned", "warning", advice="it is sent again at the next start")
        self._emit(Notify(("STOPPING=1",)))
        self._status(running=False)
        if not self.settings.once:
            self._log("stopped", pending=len(self.debouncer))
        self._flush(force=True)  # the last write, even in a state outage
        self._emit(Stop(self.exit_code))
        self.stopped = True
        self.timers.clear()

    def _once_finished(self) -> bool:
        if self._attaching or self._busy_finding() or self._job is not None:
            return False
        if self.gate.pause in (Pause.AUTH, Pause.READ_ONLY):
            error = self.gate.error
            self._log(
                "scan_stopped",
                "error",
                error=error.message if error else "",
                advice=error.advice if error else "",
            )
            self.exit_code = EXIT_NOPERM
            return True
        pending = self.table.counts()["pending"]
        if self.gate.pause is Pause.BACKOFF:
            if self.gate.failures < ONCE_ATTEMPTS:
                return False
            error = self.gate.error
            self._log(
                "scan_incomplete",
                "error",
                pending=pending,
                error=error.message if error else "",
                advice=error.advice if error else "",
            )
            self.exit_code = EXIT_UNAVAILABLE
            return True
        if pending and (
            self._replan or self._replan_soft or self._batch_due is not None or self._unsaved
        ):
            return False
        self._log(
            "scan_finished",
            queued=self.counters.queued,
            imported=self.counters.imported,
            rejected=self.counters.rejected,
            requests=self.counters.requests,
            pending=pending,
        )
        if pending:
            self.exit_code = EXIT_UNDELIVERED
        return True

    # --- reload -----------------------------------------------------------------------

    def _on_reload(self, reload: ReloadRequested) -> None:
        if self._stopping:
            self._log("reload_ignored", reason="stopping")
            return
        if reload.settings is None:
            self._log(
                "reload_failed", "error", error=reload.error, action="keeping the running config"
            )
            return
        settings = self.settings = reload.settings
        self._replan = True  # new folder tags may have work to do at once
        self.debouncer.quiet = settings.quiet_seconds
        self.debouncer.max_wait = settings.max_wait_seconds
        self.gate.cap = settings.retry_max_seconds
        self.folders.offline_check_seconds = settings.offline_check_seconds
        effects, removed = self.folders.reconfigure(settings.folders)
        self._emit(*effects)
        for root in removed:
            self._forget_waiting_under(root)
            self._forget_moves_under(root)
        if self.gate.pause is Pause.AUTH:
            self.timers["token"] = self._now
        self._log("config_reloaded", folders=self.folders.modes())
        self._status()

    # --- timers -----------------------------------------------------------------------

    def _fire_timers(self) -> None:
        for _ in range(8):  # a timer set for now by another one fires in this turn too
            due = sorted((at, name) for name, at in self.timers.items() if at <= self._now)
            if not due:
                return
            for at, name in due:
                if self.timers.get(name) == at:
                    del self.timers[name]
                    self._timer(name)

    def _timer(self, name: str) -> None:
        now, settings = self._now, self.settings
        if name == "reconcile":
            self._log("reconciling", "debug", folders=len(self.folders))
            self._reconcile_all()
            self._refresh_sessions()
            self.timers[name] = now + settings.reconcile_interval_seconds
        elif name == "offline":
            self._emit(*self.folders.check_all())
            self.timers[name] = now + settings.offline_check_seconds
        elif name == "supervise":
            self._emit(CheckWatches())
            self.timers[name] = now + SUPERVISE_SECONDS
        elif name == "token" and self.gate.pause is Pause.AUTH:
            self._poll_token()
        elif name == "health" and self.gate.pause in (Pause.READ_ONLY, Pause.AUTH):
            if self._job is not None:
                self.timers[name] = now + HEALTH_POLL_SECONDS
            elif self.gate.pause is Pause.READ_ONLY or self.gate.take_probe(now):
                self._ask_health()
            else:
                self._schedule_probe()
        elif name == "watchdog" and settings.watchdog_seconds:
            self._emit(Notify(("WATCHDOG=1",)))
            self.timers[name] = now + settings.watchdog_seconds
        elif name == "heartbeat":
            self._status()
            self._emit(Notify((f"STATUS={self._status_line()}",)))
            self.timers[name] = now + HEARTBEAT_SECONDS
        elif name == "summary":
            fields = {**self.table.counts(), "folders": self.folders.modes()}
            # Relinks this hour, and projects gone from disk (their sessions kept).
            fields["relinked"] = self.counters.relinked - self._summary_relinked
            fields["missing"] = self.table.missing_count()
            self._summary_relinked = self.counters.relinked
            self._emit(Log("summary", "info", fields))
            self.timers[name] = now + SUMMARY_SECONDS
        elif name == "sessions":
            self._sessions_timer()
        elif name == "persist":
            self._retry_persist()
        elif name == "stop":
            self._grace_over = True


_HANDLERS: dict[type, Any] = {
    Started: Core._on_started,
    Tick: lambda core, event: None,
    StopRequested: Core._on_stop_requested,
    ReloadRequested: Core._on_reload,
    PersistFailed: Core._on_persist_failed,
    ProjectChanged: Core._on_project_changed,
    ProjectGone: Core._on_project_gone,
    DirectoryChanged: Core._on_directory_changed,
    DirectoryGone: Core._on_directory_gone,
    Statted: Core._on_statted,
    Probed: Core._on_probed,
    WalkFound: Core._on_walk_found,
    WalkEnded: Core._on_walk_ended,
    FolderChecked: Core._on_folder_checked,
    WatchStarted: Core._on_watch_started,
    WatchFailed: Core._on_watch_failed,
    WatchesChecked: Core._on_watches_checked,
    EventsLost: Core._on_events_lost,
    EventsMissed: Core._on_events_missed,
    ChangeCheckFailed: Core._on_check_failed,
    TokenRead: Core._on_token,
    SendAnswered: Core._on_send_answered,
    HealthAnswered: Core._on_health,
    LibraryAnswered: Core._on_library,
    RelinkAnswered: Core._on_relink_answered,
    TagsAnswered: Core._on_tags_answered,
}
