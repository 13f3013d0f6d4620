"""The daemon: one loop that owns the state and turns file changes into imports.

Threads are few and named: watchdog's observers and the `walker` (folder walks) only
post messages; the `importer` talks to SessionDock; this loop, on the main thread,
decides everything and is the only writer of the state. Signal handlers only post a
message (supervisor's rule), so stopping and reloading happen between loop turns.

Pipeline: change -> `Registry.classify` -> `Debouncer` -> fresh stat -> `Prober`
(`probe` on its threads) -> `State.enqueue` (committed) -> `next_batch` ->
`State.mark_in_flight` (committed) -> `Importer` -> `State.mark_imported` /
`mark_rejected` / `requeue`.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import queue
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from watcher import notify
from watcher.core.batching import Batch, next_batch
from watcher.client import ImportItem, ReadOnly, SessionDockClient
from watcher.config import Config, ConfigError, load_config
from watcher.daws import Candidate, Registry, Skipped, never_holds_projects
from watcher.core.debounce import Debouncer, Decision
from watcher.folders import Folder, Folders
from watcher.importer import (
    CatalogJob,
    CatalogResult,
    HealthJob,
    HealthResult,
    Importer,
    LibraryJob,
    LibraryResult,
    Result,
    SendJob,
    SendResult,
)
from watcher.logging import get_logger, register_secret
from watcher.names import BAD_NAME, BAD_NAME_ACTION
from watcher.observer import Change, DetectorFailed, ObserverTrouble, Unreported, Watchers
from watcher.outage import Outage
from watcher.owner import Owner
from watcher.policy import Gate, Pause
from watcher.prober import Probed, ProbeJob, Prober
from watcher.scanner import (
    Signature,
    cached_names_in,
    content_limits,
    is_read_error,
    signature_of,
    unreadable_folder_advice,
    walk,
)
from watcher.state import State, StateError, StateUnavailable, open_repairing

log = get_logger("watcher.daemon")

HEALTH_POLL_SECONDS = 5.0
TOKEN_POLL_SECONDS = 2.0
HEARTBEAT_SECONDS = 30.0
SUMMARY_SECONDS = 3600.0
SUPERVISE_SECONDS = 10.0
SHUTDOWN_GRACE_SECONDS = 3.0
ONCE_ATTEMPTS = 3
WALK_CHUNK = 200
MAX_WAIT = 1.0

EXIT_OK = 0
EXIT_UNDELIVERED = 1
EXIT_UNAVAILABLE = 69
EXIT_NOPERM = 77

_RESULTS = (SendResult, HealthResult, LibraryResult, CatalogResult)
_HELD = (*_RESULTS, Probed)
"""Kept through a state outage and handled after it: each answers a job still marked
as out (an importer request, a path in `_probing`), so dropping one strands its work."""


@dataclass(frozen=True)
class Found:
    """A chunk of projects a walk found, with the signature taken at the time."""

    root: Path
    items: list[tuple[Candidate, Signature | None]]


@dataclass(frozen=True)
class WalkDone:
    root: Path
    unreadable: tuple[tuple[Path, str], ...] = ()
    """Folders the walk could not list, with the advice to log."""


@dataclass(frozen=True)
class SignalReceived:
    signum: int


@dataclass
class Counters:
    queued: int = 0
    imported: int = 0
    rejected: int = 0
    requests: int = 0
    found: int = 0
    """Projects the walks found (changed or not); with `walked`, for scan's progress bar."""
    walked: int = 0


@dataclass
class _Timers:
    """Named monotonic deadlines for the loop's periodic work."""

    due: dict[str, float] = field(default_factory=dict)

    def set(self, name: str, at: float) -> None:
        self.due[name] = at

    def clear(self, name: str) -> None:
        self.due.pop(name, None)

    def fire(self, name: str, now: float) -> bool:
        at = self.due.get(name)
        if at is not None and now >= at:
            del self.due[name]
            return True
        return False

    def earliest(self) -> float | None:
        return min(self.due.values(), default=None)


class Daemon:
    """`run` watches until stopped; with `once=True` it is `scan`: one pass, then exit."""

    def __init__(
        self,
        config: Config,
        *,
        once: bool = False,
        clock: Callable[[], float] = time.monotonic,
        config_path: Path | None = None,
        progress: Callable[[Counters], None] | None = None,
    ) -> None:
        self.config = config
        self.progress = progress
        self.config_path = config_path or config.source
        self.once = once
        self.clock = clock
        self.inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.registry = Registry.configured(
            config.kinds, unsuffixed_bundles=config.scan.unsuffixed_bundles
        )
        self.debouncer: Debouncer[Path, Signature] = Debouncer(
            config.debounce.quiet_seconds, config.debounce.max_wait_seconds
        )
        self.gate = Gate(cap=config.import_.retry_max_seconds)
        self.counters = Counters()
        self.timers = _Timers()
        self._waiting: dict[Path, tuple[Candidate, Folder]] = {}
        self._probing: set[Path] = set()
        self.prober = Prober(self.inbox.put)
        self._walks: queue.SimpleQueue[Path | None] = queue.SimpleQueue()
        self._walking: set[Path] = set()
        self.unreadable = Unreadable()
        self._stopping = False
        self._replan = True
        self._batch_due: float | None = None
        self._in_flight: SendJob | None = None
        self._started_wall = time.time()
        self._exit_code = EXIT_OK
        self.outage = Outage()
        self._held: list[object] = []
        """Results the state could not record yet (an outage): handled again after it."""
        self._reconcile_after = False
        self._adopting = False
        """An empty state (first run, or rebuilt): adopt SessionDock's library first."""
        self._library: frozenset[str] | None = None
        self.state: State
        self.importer: Importer
        self.watchers: Watchers | None = None
        self.folders = Folders(
            config.watch,
            clock,
            config.scan.offline_check_seconds,
            on_attached=self._reconcile,
            on_mode_change=self._write_status,
        )

    # --- start and stop ---------------------------------------------------------------

    def run(self) -> int:
        token = self.config.sessiondock.resolve_token()
        register_secret(token)
        database = self.config.state.database()
        try:
            owner = Owner(database).acquire()  # LockHeld: the CLI exits 75 naming the owner
        except OSError as exc:
            raise StateError(f"cannot create the lock file beside {database}: {exc}") from None
        previous = self._install_signals()
        try:
            if not self._open_state(database):
                return EXIT_OK
            return self._run_owned()
        finally:
            self._restore_signals(previous)
            owner.release()

    def _run_owned(self) -> int:
        client = SessionDockClient(
            self.config.sessiondock.base_url,
            self._token,
            self.config.sessiondock.timeout_seconds,
            deadline=self.config.sessiondock.request_deadline_seconds,
        )
        self.importer = Importer(client, self.inbox.put)
        walker = threading.Thread(target=self._walker, name="walker", daemon=True)
        try:
            self.importer.start()
            self.prober.start()
            walker.start()
            self._recover()
            if not self.once:
                self.watchers = Watchers(
                    self.inbox.put,
                    self.config.scan.polling_interval_seconds,
                    prune=never_holds_projects,
                    registry=self.registry,
                    verify_interval=self.config.scan.verify_interval_seconds,
                )
            self.folders.watchers = self.watchers
            self.folders.attach_all()
            if self.once and any(f.mode == "offline" for f in self.folders):
                self._exit_code = EXIT_UNDELIVERED
            now = self.clock()
            if not self.once:
                self.timers.set("reconcile", now + self.config.scan.reconcile_interval_seconds)
                self.timers.set("heartbeat", now)
                self.timers.set("summary", now + SUMMARY_SECONDS)
                self.timers.set("supervise", now + SUPERVISE_SECONDS)
                self.timers.set("offline", now + self.config.scan.offline_check_seconds)
                self._ping_watchdog(now)
                notify.notify("READY=1", f"STATUS={self._status_line()}")
                log.info("watching", folders=self.folders.modes(), state=str(self.state.path))
            self._loop()
        finally:
            self._shutdown(walker)
        return self._exit_code

    def _open_state(self, database: Path) -> bool:
        """Open the state (moving a damaged file aside), waiting out locks and full disks.

        False when a signal asked to stop while waiting.
        """
        while True:
            try:
                state, moved, damage = open_repairing(database)
                try:
                    state.retry_now()  # the first write: proves the file can be written
                except StateError:
                    state.close()
                    raise
                break
            except StateUnavailable as exc:
                if self.outage.failed(self.clock(), str(exc)):
                    log.warning(
                        "state_unavailable", error=str(exc), advice=exc.advice, action="retrying"
                    )
                if not self._sleep_until(self.outage.retry_at):
                    return False
        self.state = state
        if damage is not None:
            log.warning(
                "state_corrupt",
                error=str(damage),
                moved_to=str(moved),
                action="kept under that name; rebuilding the state from a walk plus "
                "SessionDock's library, so nothing already imported is sent again",
            )
        lasted = self.outage.succeeded(self.clock())
        if lasted is not None:
            log.info("state_available", after_seconds=round(lasted, 1))
        self._adopting = state.is_empty()
        return True

    def _sleep_until(self, deadline: float) -> bool:
        """Wait before the service is up, answering signals; False when told to stop."""
        while (left := deadline - self.clock()) > 0:
            try:
                message = self.inbox.get(timeout=min(left, MAX_WAIT))
            except queue.Empty:
                continue
            if isinstance(message, SignalReceived) and message.signum != getattr(
                signal, "SIGHUP", None
            ):
                log.info("stopping", signal=signal.Signals(message.signum).name)
                return False
        return True

    def _token(self) -> str:
        token = self.config.sessiondock.resolve_token()
        register_secret(token)
        return token

    def _install_signals(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        wanted = [signal.SIGTERM, signal.SIGINT]
        if hasattr(signal, "SIGHUP"):
            wanted.append(signal.SIGHUP)
        previous: dict[int, Any] = {}
        for signum in wanted:
            previous[signum] = signal.signal(signum, self._on_signal)
        return previous

    def _restore_signals(self, previous: dict[int, Any]) -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.inbox.put(SignalReceived(signum))  # SimpleQueue.put is reentrant-safe

    def _recover(self) -> None:
        """Projects in flight when the last run died: ask SessionDock before resending."""
        in_flight = self.state.in_flight_paths()
        if not in_flight:
            self._submit(HealthJob())
            return
        rows = self.state.rows(in_flight)
        log.info("recovering_in_flight", projects=len(rows))
        self._submit(LibraryJob(tuple((r.path, r.project_path) for r in rows)))

    def _shutdown(self, walker: threading.Thread) -> None:
        notify.notify("STOPPING=1")
        if self.watchers is not None:
            self.watchers.stop()
        self._walks.put(None)
        self.prober.stop(SHUTDOWN_GRACE_SECONDS)
        if self._in_flight is not None:
            self._await_in_flight()
        finished = self.importer.stop(SHUTDOWN_GRACE_SECONDS)
        if not finished:
            log.warning("request_abandoned", advice="it is sent again at the next start")
        walker.join(timeout=SHUTDOWN_GRACE_SECONDS)
        try:
            self._write_status(running=False)
        except (StateError, sqlite3.Error) as exc:
            log.debug("status_not_written", error=str(exc))
        self.state.close()
        if not self.once:
            log.info("stopped", pending=len(self.debouncer))

    def _await_in_flight(self) -> None:
        deadline = self.clock() + SHUTDOWN_GRACE_SECONDS
        while self._in_flight is not None and (left := deadline - self.clock()) > 0:
            try:
                message = self.inbox.get(timeout=left)
            except queue.Empty:
                return
            if isinstance(message, _RESULTS):
                try:
                    with self.state.transaction():
                        self._on_result(message)
                except (StateError, sqlite3.Error) as exc:
                    log.warning("answer_not_recorded", error=str(exc), action="resent at start")
                    return

    # --- the loop ---------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping:
            message = self._wait()
            if not self.outage.due(self.clock()):
                self._hold(message)
                continue
            taken = [*self._held, *([] if message is None else [message])]
            self._held = []
            if not self._turn(taken):
                continue
            if self.progress is not None:
                self.progress(self.counters)
            if self.once and self._once_finished():
                return

    def _turn(self, taken: list[object]) -> bool:
        """One loop turn, all or nothing: False when the state could not be written.

        The turn's writes are one transaction; when it fails (a lock, a full disk) it is
        rolled back, the loop's counters, gate and timers are put back as they were, and
        SessionDock's answers are held to be handled again; file changes are not held
        (that could grow without bound) but found again by walking every folder once
        the state works. Nothing is sent whose state was not written first: `_send`
        marks a batch in flight before handing it over.
        """
        saved = (dataclasses.replace(self.counters), copy.copy(self.gate), dict(self.timers.due))
        try:
            with self.state.transaction():
                for message in taken:
                    self._handle(message)
                self._drain(taken)
                now = self.clock()
                self._release_ready(now)
                self._timers(now)
        except (StateError, sqlite3.Error) as exc:
            self.counters, self.gate, self.timers.due = saved
            self._state_failed(exc, taken)
            return False
        try:
            self._dispatch()
        except (StateError, sqlite3.Error) as exc:
            self._replan = True
            self._state_failed(exc, [])
            return False
        if self.outage.active:
            lasted = self.outage.succeeded(self.clock()) or 0.0
            log.info("state_available", after_seconds=round(lasted, 1), action="reconciling")
            if self._reconcile_after:
                self._reconcile_after = False
                self._reconcile_all()
        return True

    def _state_failed(self, exc: Exception, taken: list[object]) -> None:
        error = exc if isinstance(exc, StateError) else self.state.error(exc)
        if error is None:
            raise exc  # not a fault of the file: a bug, which must stay loud
        self._held = [m for m in taken if isinstance(m, _HELD)]
        self._reconcile_after = True
        now = self.clock()
        if self.outage.failed(now, str(error)):
            log.warning(
                "state_unavailable",
                error=str(error),
                advice=error.advice,
                action="holding what is not written; nothing is sent until it is",
            )
        else:
            log.debug("state_retry_failed", error=str(error), retry_at=self.outage.retry_at)

    def _hold(self, message: object | None) -> None:
        """In a state outage: keep the watchdog fed, answer signals, hold answers."""
        now = self.clock()
        if self.timers.fire("watchdog", now):
            self._ping_watchdog(now)
        if message is None:
            return
        if isinstance(message, SignalReceived):
            if message.signum == getattr(signal, "SIGHUP", None):
                if message not in self._held:
                    self._held.append(message)
            else:
                self._on_signal_received(message.signum)
        elif isinstance(message, WalkDone):
            self._walking.discard(message.root)
            self.counters.walked += 1
        elif isinstance(message, _HELD):
            self._held.append(message)
        else:
            self._reconcile_after = True

    def _wait(self) -> object | None:
        if self.outage.active:
            return self._wait_outage()
        deadlines = [
            d
            for d in (
                self.debouncer.next_deadline(),
                self.timers.earliest(),
                self._batch_due_mono(),
            )
            if d is not None
        ]
        if self.gate.pause is Pause.BACKOFF and not self.importer.busy:
            deadlines.append(self.gate.not_before)
        now = self.clock()
        timeout = min([MAX_WAIT, *(d - now for d in deadlines)])
        try:
            return self.inbox.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None

    def _wait_outage(self) -> object | None:
        wake = [self.outage.retry_at, self.timers.due.get("watchdog", self.outage.retry_at)]
        timeout = min(MAX_WAIT, min(wake) - self.clock())
        try:
            return self.inbox.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None

    def _batch_due_mono(self) -> float | None:
        if self._batch_due is None:
            return None
        return self.clock() + max(0.0, self._batch_due - time.time())

    def _drain(self, taken: list[object], limit: int = 5000) -> None:
        for _ in range(limit):
            try:
                message = self.inbox.get_nowait()
            except queue.Empty:
                return
            taken.append(message)
            self._handle(message)

    def _handle(self, message: object) -> None:
        if isinstance(message, Change):
            self._on_change(message)
        elif isinstance(message, Found):
            self._on_found(message)
        elif isinstance(message, WalkDone):
            self._walking.discard(message.root)
            self.counters.walked += 1
            self._on_unreadable_folders(message.root, message.unreadable)
        elif isinstance(message, _RESULTS):
            self._on_result(message)
        elif isinstance(message, Probed):
            self._on_probed(message)
        elif isinstance(message, SignalReceived):
            self._on_signal_received(message.signum)
        elif isinstance(message, Unreported):
            self.folders.note_missed(message.folder, message.changes[0].path, self.clock())
            for change in message.changes:
                self._on_change(change)
        elif isinstance(message, DetectorFailed):
            log.warning(
                "change_check_failed",
                folder=str(message.folder),
                error=message.detail,
                action="reconciling all folders; the check is tried again next interval",
            )
            self._reconcile_all()
        elif isinstance(message, ObserverTrouble):
            log.warning("events_lost", detail=message.detail, action="reconciling all folders")
            self._reconcile_all()

    def _on_signal_received(self, signum: int) -> None:
        if signum == getattr(signal, "SIGHUP", None):
            if self._stopping:
                log.info("reload_ignored", reason="stopping")
            else:
                self._reload()
            return
        log.info("stopping", signal=signal.Signals(signum).name)
        self._stopping = True

    # --- changes, walks and debouncing ------------------------------------------------

    def _on_change(self, change: Change) -> None:
        folder = self.folders.containing(change.path)
        if folder is None or folder.mode == "offline":
            return
        if change.path == folder.path:
            if change.gone:
                self.folders.check_online(folder)
            return
        verdict = self.registry.classify(
            change.path, folder.config.path, cached_names_in(), folder.config.exclude
        )
        if isinstance(verdict, Candidate):
            if change.gone and verdict.path == change.path:
                self._forget(change.path)
                return
            self._touch_changed(verdict, folder, change.at)
            return
        if change.is_directory and verdict is None:
            if change.attrib and not self.unreadable.has_folder(change.path):
                return  # a chmod or touch of a folder that was readable: nothing new inside
            if change.gone:
                self._forget_under(change.path)
            elif folder.config.recursive:
                self._walk_now(folder, change.path, change.at)

    def _touch(
        self, candidate: Candidate, folder: Folder, at: float, signature: Signature | None
    ) -> None:
        path = Path(candidate.path)
        self._waiting[path] = (candidate, folder)
        self.debouncer.touch(path, at, signature)

    def _touch_changed(self, candidate: Candidate, folder: Folder, at: float) -> None:
        """A file is stat'ed at each event; a bundle only once it has gone quiet."""
        if candidate.daw.bundle:
            self._touch(candidate, folder, at, None)
            return
        signature = signature_of(Path(candidate.path), candidate.daw)
        if signature is not None:
            self._touch(candidate, folder, at, signature)

    def _forget(self, path: Path) -> None:
        self.unreadable.project_read(path)
        self.debouncer.forget(path)
        self._waiting.pop(path, None)
        if self.state.cancel(path):
            log.info("project_removed", path=str(path), action="pending import cancelled")

    def _forget_under(self, directory: Path) -> None:
        for path in [p for p in self._waiting if directory in p.parents]:
            self._forget(path)

    def _walk_now(self, folder: Folder, directory: Path, at: float) -> None:
        """A folder moved or copied in: every project inside it is new."""
        sub = folder.config.model_copy(update={"path": directory})
        skip = self.folders.inner(folder.config.path)

        def unreadable(path: Path, exc: OSError) -> None:
            self._on_unreadable_folders(None, ((path, unreadable_folder_advice(path, exc)),))

        for verdict in walk(sub, self.registry, skip=skip, on_unreadable=unreadable):
            if isinstance(verdict, Candidate):
                rooted = self.registry.classify(
                    Path(verdict.path),
                    folder.config.path,
                    cached_names_in(),
                    folder.config.exclude,
                )
                if isinstance(rooted, Candidate):
                    self._touch_changed(rooted, folder, at)

    def _walker(self) -> None:
        """The walker thread: walks folders on request, posts what it finds."""
        while (root := self._walks.get()) is not None:
            folder = self.folders.get(root)
            failed: list[tuple[Path, str]] = []

            def unreadable(path: Path, exc: OSError, into: list[tuple[Path, str]] = failed) -> None:
                into.append((path, unreadable_folder_advice(path, exc)))

            if folder is not None:
                chunk: list[tuple[Candidate, Signature | None]] = []
                for verdict in walk(
                    folder.config,
                    self.registry,
                    skip=self.folders.inner(root),
                    on_unreadable=unreadable,
                ):
                    if isinstance(verdict, Candidate):
                        chunk.append((verdict, signature_of(Path(verdict.path), verdict.daw)))
                        if len(chunk) >= WALK_CHUNK:
                            self.inbox.put(Found(root, chunk))
                            chunk = []
                if chunk:
                    self.inbox.put(Found(root, chunk))
            self.inbox.put(WalkDone(root, tuple(failed)))

    def _on_unreadable_folders(
        self, root: Path | None, failed: tuple[tuple[Path, str], ...]
    ) -> None:
        """Log each unreadable folder once; a later walk that reads it logs it readable."""
        news = False
        for path, advice in failed:
            if self.unreadable.folder_failed(path, advice):
                news = True
                log.warning("folder_unreadable", folder=str(path), advice=advice)
        if news:
            self._write_status()
        if root is not None:
            for path in self.unreadable.walked(root, (p for p, _ in failed)):
                if path.is_dir():
                    log.info("folder_readable", folder=str(path), action="its projects are found")

    def _reconcile(self, folder: Folder) -> None:
        if folder.config.path not in self._walking:
            self._walking.add(folder.config.path)
            self._walks.put(folder.config.path)

    def _reconcile_all(self) -> None:
        for folder in self.folders:
            if folder.mode != "offline":
                self._reconcile(folder)

    def _on_found(self, found: Found) -> None:
        folder = self.folders.get(found.root)
        if folder is None or folder.mode == "offline":
            return
        now, wall = self.clock(), time.time()
        self.counters.found += len(found.items)
        for candidate, signature in found.items:
            if signature is None:
                continue
            known = self.state.known(Path(candidate.path))
            if (
                known is not None
                and known.signature == signature
                and not is_read_error(known.state, known.last_error)
            ):
                continue  # unchanged since it was queued, imported, rejected or judged
            age = max(0.0, wall - signature.mtime_ns / 1e9)
            self._touch(candidate, folder, now - age, signature)

    def _release_ready(self, now: float) -> None:
        for path in self.debouncer.due(now):
            entry = self._waiting.get(path)
            if entry is None:
                self.debouncer.forget(path)
                continue
            candidate, folder = entry
            decision = self.debouncer.confirm(path, now, signature_of(path, candidate.daw))
            if decision is Decision.WAIT:
                continue
            del self._waiting[path]
            if decision is Decision.READY:
                self._ready(candidate, folder)

    def _ready(self, candidate: Candidate, folder: Folder) -> None:
        path = Path(candidate.path)
        signature = signature_of(path, candidate.daw)
        if signature is None:
            return
        known = self.state.known(path)
        if (
            known is not None
            and known.signature == signature
            and not is_read_error(known.state, known.last_error)
        ):
            return
        if path in self._probing:
            return  # its result is judged against a fresh stat, which sees this change
        self._probing.add(path)
        limits = content_limits(self.config.scan)
        job = ProbeJob(candidate, folder.config, self.config.import_, signature, limits)
        self.prober.submit(job)
        log.debug("content_check_started", path=str(path))

    def _on_probed(self, probed: Probed) -> None:
        """A content check came back: act on it only if the project is as it was."""
        job, result = probed.job, probed.result
        candidate, signature = job.candidate, job.signature
        path = Path(candidate.path)
        self._probing.discard(path)
        folder = self.folders.get(job.folder.path)
        if folder is None or folder.mode == "offline":
            return
        now_signature = signature_of(path, candidate.daw)
        if now_signature != signature:
            if now_signature is not None:  # changed while checked: wait for quiet again
                self._touch(candidate, folder, self.clock(), now_signature)
            return
        if isinstance(result, Skipped) and result.reason == "unreadable":
            # Not a verdict on the bytes: nothing is stored, so the next change (a
            # chmod included) and each reconciliation try again.
            if self.unreadable.project_failed(path, result.detail):
                self._write_status()
                log.warning(
                    "project_unreadable",
                    path=str(path),
                    advice=result.detail,
                    action="tried again when it changes and at each reconciliation",
                )
            return
        if self.unreadable.project_read(path):
            log.info("project_readable", path=str(path))
        if isinstance(result, Skipped):
            kind = folder.config.kind or candidate.daw.kind
            if self.state.mark_invalid(path, folder.config.path, kind, signature, result.detail):
                log.warning(
                    "project_skipped",
                    path=str(path),
                    reason=result.reason,
                    detail=result.detail,
                    action=BAD_NAME_ACTION
                    if result.reason == BAD_NAME
                    else "tried again when the file changes",
                )
            return
        known = self.state.known(path)
        if self.state.enqueue(result):
            if known is None and self._library and str(result.project_path) in self._library:
                self.state.mark_adopted([str(path)])  # first walk: SessionDock has it
                log.debug("project_adopted", path=str(path))
                return
            self.counters.queued += 1
            self._replan = True
            log.info("project_queued", path=str(path), kind=result.kind, title=result.title)

    # --- sending ----------------------------------------------------------------------

    def _submit(self, job: SendJob | HealthJob | LibraryJob | CatalogJob) -> None:
        if isinstance(job, SendJob):
            self._in_flight = job
        self.importer.submit(job)
        if "heartbeat" in self.timers.due:  # status shows a request still open after 1 s
            soon = self.clock() + 1.0
            self.timers.set("heartbeat", min(self.timers.due["heartbeat"], soon))

    def _dispatch(self) -> None:
        if self.importer.busy or self._stopping:
            return
        now = self.clock()
        if not self.gate.can_send(now):
            return
        if self._adopting and not self._adopt():
            return
        if (
            self._library is not None
            and not self._walking
            and not len(self.debouncer)
            and not self._probing
        ):
            self._library = None  # the first walk is over: what appears from now on is new
        if not self._replan and (self._batch_due is None or time.time() < self._batch_due):
            return
        self._replan = False
        self._batch_due = None
        wall = time.time()
        # The window lets projects about to be ready join a batch. With none waiting out
        # its quiet period or its content check and no walk running, nothing can join:
        # holding a lone save back would only add the window to its latency
        # (bench/latency.py).
        window = self.config.import_.batch_window_seconds
        if not len(self.debouncer) and not self._walking and not self._probing:
            window = 0.0
        plan = next_batch(self.state.sendable(wall), wall, self.config.import_.batch_size, window)
        if isinstance(plan, Batch):
            self._send(plan)
        elif plan is not None:
            self._batch_due = plan
        elif self.gate.pause is Pause.BACKOFF:
            self._submit(HealthJob())  # nothing to send: probe, so a recovery shows at once

    def _adopt(self) -> bool:
        """An empty state (first run, or rebuilt): learn what SessionDock already has.

        Nothing is sent until the library is known and the first walks are done; then
        pending projects the library already lists are recorded as imported (with their
        current signature) instead of being sent. Projects of that walk still settling
        in the debouncer are checked against the library as they become ready, until
        it is empty. True once the sending may start.
        """
        if self._library is None:
            self._submit(CatalogJob())
            return False
        if self._walking:
            return False
        adopted = self.state.adopt(self._library)
        log.info(
            "library_adopted",
            already_in_library=adopted,
            sessions=len(self._library),
            to_send=self.state.counts()["pending"],
        )
        self._adopting = False
        return True

    def _send(self, batch: Batch[str]) -> None:
        rows = self.state.rows(batch.keys)
        with self.state.transaction():
            self.state.mark_in_flight([r.path for r in rows])
        items = tuple(
            (
                r.path,
                ImportItem(
                    project_path=r.project_path,
                    title=r.title,
                    project_type=r.project_type,
                    preview_audio_path=r.preview_path,
                ),
            )
            for r in rows
        )
        self.counters.requests += 1
        self._submit(SendJob(batch.kind, batch.generate_previews, items))

    def _on_result(self, result: Result) -> None:
        self.importer.done()
        self._replan = True
        if isinstance(result, SendResult):
            self._in_flight = None
            self._on_send_result(result)
        elif isinstance(result, HealthResult):
            self._on_health(result)
        elif isinstance(result, CatalogResult):
            self._on_catalog(result)
        else:
            self._on_library(result)

    def _on_catalog(self, result: CatalogResult) -> None:
        if result.error is not None:
            changed = self.gate.failed(result.error, self.clock(), self._safe_token())
            self._note_error(result.error, changed)
            return
        if self.gate.pause is Pause.BACKOFF and self.gate.succeeded():
            log.info("sending_resumed", pending=self.state.counts()["pending"])
        self._resolve_error()
        self._library = result.paths

    def _on_send_result(self, result: SendResult) -> None:
        for delivered in result.delivered:
            self.state.mark_imported(list(delivered.keys), delivered.answer.import_id)
            self.counters.imported += len(delivered.keys)
        for key, message in result.rejected:
            self.state.mark_rejected(key, message)
            self.counters.rejected += 1
            self._exit_code = EXIT_UNDELIVERED if self.once else self._exit_code
            log.warning(
                "project_rejected",
                path=key,
                message=message,
                action="fix the project; it is tried again when it changes",
            )
        if result.error is None:
            if self.gate.succeeded():
                log.info("sending_resumed", pending=self.state.counts()["pending"])
            self._resolve_error()
            self._write_status()
            return
        error = result.error
        changed = self.gate.failed(error, self.clock(), self._safe_token())
        not_before = time.time() + max(0.0, self.gate.not_before - self.clock())
        self.state.requeue(result.unsent, str(error), not_before)
        self._note_error(error, changed, projects=len(result.unsent))

    def _safe_token(self) -> str | None:
        try:
            return self._token()
        except ConfigError:
            return None

    def _note_error(self, error: Exception, changed: bool, **details: Any) -> None:
        advice = self._advice(error)
        self.state.set_meta(
            "last_error", {"at": time.time(), "message": str(error), "advice": advice}
        )
        if changed:
            log.warning(
                "sending_paused",
                reason=self.gate.pause.value,
                error=str(error),
                advice=advice,
                **details,
            )
            if self.gate.pause is Pause.AUTH:
                self.timers.set("token", self.clock() + TOKEN_POLL_SECONDS)
            if self.gate.pause is Pause.READ_ONLY:
                self.timers.set("health", self.clock() + HEALTH_POLL_SECONDS)
        else:
            log.debug("send_failed", error=str(error), retry_in=self.gate.not_before - self.clock())
        self._write_status()

    def _resolve_error(self) -> None:
        """SessionDock answered: the last error is history (status shows it as resolved)."""
        error = self.state.get_meta("last_error")
        if isinstance(error, dict) and not error.get("resolved_at"):
            self.state.set_meta("last_error", {**error, "resolved_at": time.time()})

    def _advice(self, error: object) -> str:
        """A rejected token's advice names where it came from ($SESSIONDOCK_TOKEN or file)."""
        if isinstance(error, Unauthorized):
            return self.config.sessiondock.rejected_advice()
        return str(getattr(error, "advice", ""))

    def _on_health(self, result: HealthResult) -> None:
        if result.error is not None:
            changed = self.gate.failed(result.error, self.clock(), self._safe_token())
            self._note_error(result.error, changed)
            return
        health = result.health
        assert health is not None
        if health.can_import:
            resumed = self.gate.succeeded()
            log.info(
                "sessiondock_connected" if not resumed else "sending_resumed",
                effective_mode=health.effective_mode,
                configured_mode=health.configured_mode,
            )
            self.timers.clear("health")
            self._resolve_error()
        else:
            error = ReadOnly(403, "read_only", f"effective mode is {health.effective_mode}")
            changed = self.gate.failed(error, self.clock())
            self._note_error(error, changed, effective_mode=health.effective_mode)
            self.timers.set("health", self.clock() + HEALTH_POLL_SECONDS)
        self._write_status()

    def _on_library(self, result: LibraryResult) -> None:
        if result.known:
            self.state.mark_imported(result.known, None)
        self.state.requeue(result.unknown, None)
        log.info(
            "in_flight_recovered",
            already_in_library=len(result.known),
            to_resend=len(result.unknown),
            checked=result.error is None,
        )
        if result.error is not None:
            changed = self.gate.failed(result.error, self.clock(), self._safe_token())
            self._note_error(result.error, changed)

    # --- periodic work ----------------------------------------------------------------

    def _timers(self, now: float) -> None:
        scan = self.config.scan
        if self.timers.fire("reconcile", now):
            log.debug("reconciling", folders=len(self.folders))
            self._reconcile_all()
            self.timers.set("reconcile", now + scan.reconcile_interval_seconds)
        if self.timers.fire("offline", now):
            self.folders.check_all_online()
            self.timers.set("offline", now + scan.offline_check_seconds)
        if self.timers.fire("supervise", now):
            self.folders.supervise(now)
            self.timers.set("supervise", now + SUPERVISE_SECONDS)
        if self.timers.fire("token", now) and self.gate.pause is Pause.AUTH:
            token = self._safe_token()
            if token is not None and self.gate.token_changed(token):
                log.info("token_changed", action="retrying")
                self.gate.pause = Pause.BACKOFF
                self.gate.not_before = now
                self._replan = True
            else:
                if not self.importer.busy and self.gate.take_probe(now):
                    self._submit(HealthJob())  # the same token again: SessionDock restarted?
                self.timers.set("token", now + TOKEN_POLL_SECONDS)
        if self.timers.fire("health", now) and self.gate.pause is Pause.READ_ONLY:
            if self.importer.busy:
                self.timers.set("health", now + HEALTH_POLL_SECONDS)
            else:
                self._submit(HealthJob())
        if self.timers.fire("watchdog", now):
            self._ping_watchdog(now)
        if self.timers.fire("heartbeat", now):
            self._write_status()
            notify.notify(f"STATUS={self._status_line()}")
            self.timers.set("heartbeat", now + HEARTBEAT_SECONDS)
        if self.timers.fire("summary", now):
            counts = self.state.counts()
            log.info("summary", **counts, folders=self.folders.modes())
            self.timers.set("summary", now + SUMMARY_SECONDS)

    def _ping_watchdog(self, now: float) -> None:
        period = notify.watchdog_period()
        if period:
            notify.notify("WATCHDOG=1")
            self.timers.set("watchdog", now + period)

    # --- reload -----------------------------------------------------------------------

    def _reload(self) -> None:
        if self.config_path is None:
            return
        try:
            config = load_config(self.config_path)
            registry = Registry.configured(
                config.kinds, unsuffixed_bundles=config.scan.unsuffixed_bundles
            )
        except (ConfigError, ValueError) as exc:
            log.error("reload_failed", error=str(exc), action="keeping the running config")
            return
        self.config, self.registry = config, registry
        self.debouncer.quiet = config.debounce.quiet_seconds
        self.debouncer.max_wait = config.debounce.max_wait_seconds
        self.gate.cap = config.import_.retry_max_seconds
        self.folders.offline_check_seconds = config.scan.offline_check_seconds
        if self.watchers is not None:
            scan = config.scan
            self.watchers.configure(
                registry, scan.polling_interval_seconds, scan.verify_interval_seconds
            )
        for removed in self.folders.reconfigure(config.watch):
            self._forget_waiting_under(removed)
        if self.gate.pause is Pause.AUTH:
            self.timers.set("token", self.clock())
        log.info("config_reloaded", folders=self.folders.modes())
        self._write_status()

    def _forget_waiting_under(self, root: Path) -> None:
        for path in [p for p in self._waiting if root in p.parents]:
            self.debouncer.forget(path)
            del self._waiting[path]

    # --- scan mode --------------------------------------------------------------------

    def _once_finished(self) -> bool:
        if self._walking or len(self.debouncer) or self.importer.busy or self._probing:
            return False
        if self.gate.pause in (Pause.AUTH, Pause.READ_ONLY):
            error = self.gate.error
            log.error("scan_stopped", error=str(error), advice=self._advice(error))
            self._exit_code = EXIT_NOPERM
            return True
        pending = self.state.counts()["pending"]
        if self.gate.pause is Pause.BACKOFF:
            if self.gate.failures >= ONCE_ATTEMPTS:
                error = self.gate.error
                log.error(
                    "scan_incomplete",
                    pending=pending,
                    error=str(error),
                    advice=self._advice(error),
                )
                self._exit_code = EXIT_UNAVAILABLE
                return True
            return False
        if pending and (self._replan or self._batch_due is not None):
            return False
        log.info(
            "scan_finished",
            queued=self.counters.queued,
            imported=self.counters.imported,
            rejected=self.counters.rejected,
            requests=self.counters.requests,
            pending=pending,
        )
        if pending:
            self._exit_code = EXIT_UNDELIVERED
        return True

    # --- status -----------------------------------------------------------------------

    def _status_line(self) -> str:
        counts = self.state.counts()
        return (
            f"{len(self.folders)} folders, {counts['pending']} pending, "
            f"{counts['imported']} imported, {self.gate.pause.value}"
        )

    def _write_status(self, running: bool = True) -> None:
        self.state.set_meta(
            "daemon",
            {
                "pid": os.getpid(),
                "running": running and not self.once,
                "started_at": self._started_wall,
                "updated_at": time.time(),
                "sending": self.gate.pause.value,
                "request": self.importer.request_status(),
                "folders": self.folders.report(),
                "unreadable": self.unreadable.report(),
                "python": sys.version.split()[0],
            },
        )
