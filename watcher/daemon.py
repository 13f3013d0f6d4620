"""The daemon: a loop that feeds what happens to the core and carries out its answers.

The core (`watcher.core`) decides everything and touches nothing; this loop owns the
threads and the I/O. Threads are few and named: watchdog's observers, the `walker`,
the `prober-N` content checks, the `importer` (SessionDock). They and the signal
handlers only post inputs to one inbox. Each turn takes what is there (or waits for
the core's next wakeup), feeds it to the core, and carries out the effects
(`watcher.executor`): state first, then the rest, in order.

Pipeline: watchdog `Change` -> `bridge.classify_change` -> core (debounce, `Stat`,
`Probe` on a prober, `Persist` pending) -> `Send` on the importer -> `SendAnswered`
-> core (`Persist` imported / rejected / pending again).
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from watcher import notify
from watcher.bridge import classify_change, core_settings
from watcher.client import SessionDockClient
from watcher.config import Config, ConfigError, load_config
from watcher.core import Core
from watcher.core.base import Counters
from watcher.core.inputs import (
    ChangeCheckFailed,
    EventsLost,
    EventsMissed,
    Input,
    ReloadRequested,
    Started,
    StopRequested,
    Tick,
)
from watcher.core.outage import Outage
from watcher.daws import Registry, never_holds_projects
from watcher.executor import Executor
from watcher.importer import Importer
from watcher.logging import get_logger, register_secret
from watcher.memory import Trimmer, limit_arenas
from watcher.observer import Change, DetectorFailed, ObserverTrouble, Unreported, Watchers
from watcher.owner import Owner
from watcher.state import State, StateError, StateUnavailable, open_repairing
from watcher.workers import Disk

__all__ = ["Counters", "Daemon"]

log = get_logger("watcher.daemon")

MAX_WAIT = 1.0
DRAIN = 5000
"""Inputs fed per turn at most: their effects share one state transaction."""
THREAD_GRACE_SECONDS = 1.0


class _Reload:
    """SIGHUP arrived: the config is read on the loop, not in the signal handler."""


def registry_for(config: Config) -> Registry:
    return Registry.configured(
        config.kinds, config.source, unsuffixed_bundles=config.scan.unsuffixed_bundles
    )


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
        self.once = once
        self.clock = clock
        self.config_path = config_path or config.source
        self.progress = progress
        self.inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._answers: deque[Input] = deque()
        self.trimmer = Trimmer()
        limit_arenas()  # before the workers' threads start
        self.registry = registry_for(config)
        self.core: Core
        self.counters = Counters()
        """The core's counters once it runs (scan's progress bar reads them)."""

    # --- start and stop ---------------------------------------------------------------

    def run(self) -> int:
        register_secret(self.config.sessiondock.resolve_token())
        database = self.config.state.database()
        try:
            owner = Owner(database).acquire()  # LockHeld: the CLI exits 75 naming the owner
        except OSError as exc:
            raise StateError(f"cannot create the lock file beside {database}: {exc}") from None
        previous = self._install_signals()
        try:
            state = self._open_state(database)
            if state is None:
                return 0
            return self._run_owned(state)
        finally:
            self._restore_signals(previous)
            owner.release()

    def _open_state(self, database: Path) -> State | None:
        """Open the state (moving a damaged file aside), waiting out locks and full disks.

        None when a signal asked to stop while waiting.
        """
        outage = Outage()
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
                if outage.failed(self.clock(), str(exc)):
                    log.warning(
                        "state_unavailable", error=str(exc), advice=exc.advice, action="retrying"
                    )
                if not self._sleep_until(outage.retry_at):
                    return None
        if damage is not None:
            log.warning(
                "state_corrupt",
                error=str(damage),
                moved_to=str(moved),
                action="kept under that name; rebuilding the state from a walk plus "
                "SessionDock's library, so nothing already imported is sent again",
            )
        lasted = outage.succeeded(self.clock())
        if lasted is not None:
            log.info("state_available", after_seconds=round(lasted, 1))
        return state

    def _sleep_until(self, deadline: float) -> bool:
        """Wait before the service is up, answering signals; False when told to stop."""
        while (left := deadline - self.clock()) > 0:
            try:
                message = self.inbox.get(timeout=min(left, MAX_WAIT))
            except queue.Empty:
                continue
            if isinstance(message, StopRequested):
                log.info("stopping", signal=message.signal)
                return False
        return True

    def _run_owned(self, state: State) -> int:
        records, meta = state.load()
        settings = core_settings(self.config, self.once, notify.watchdog_period())
        self.core = Core.restore(settings, records, meta)
        self.counters = self.core.counters
        importer = Importer(self._client(), self.inbox.put, self._auth_advice)
        disk = Disk(self.config, self.registry, self.inbox.put)
        self.executor = executor = Executor(
            config=self.config,
            registry=self.registry,
            state=state,
            importer=importer,
            disk=disk,
            watchers=None,
            answer=self._answers.append,
        )
        try:
            importer.start()
            disk.start()
            if not self.once:
                executor.watchers = Watchers(
                    self.inbox.put,
                    self.config.scan.polling_interval_seconds,
                    prune=never_holds_projects,
                    registry=self.registry,
                    verify_interval=self.config.scan.verify_interval_seconds,
                )
                executor.watchers.claim(f.path for f in self.config.watch)
                disk.snapshot = executor.watchers.snapshot  # reconciliations cost what changed
            self._loop(Started(wall=time.time()))
        finally:
            if executor.watchers is not None:
                executor.watchers.stop()
            disk.stop(THREAD_GRACE_SECONDS)
            importer.stop(THREAD_GRACE_SECONDS)
            state.close()
        return self.core.exit_code

    def _client(self) -> SessionDockClient:
        return SessionDockClient(
            self.config.sessiondock.base_url,
            self._token,
            self.config.sessiondock.timeout_seconds,
            deadline=self.config.sessiondock.request_deadline_seconds,
        )

    def _token(self) -> str:
        token = self.config.sessiondock.resolve_token()
        register_secret(token)
        return token

    def _auth_advice(self) -> str:
        """A rejected token's advice names where it came from ($SESSIONDOCK_TOKEN or file)."""
        return self.config.sessiondock.rejected_advice()

    def _install_signals(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        wanted = [signal.SIGTERM, signal.SIGINT]
        if hasattr(signal, "SIGHUP"):
            wanted.append(signal.SIGHUP)
        return {signum: signal.signal(signum, self._on_signal) for signum in wanted}

    def _restore_signals(self, previous: dict[int, Any]) -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        # SimpleQueue.put is reentrant-safe; nothing else happens in a handler.
        if signum == getattr(signal, "SIGHUP", None):
            self.inbox.put(_Reload())
        else:
            self.inbox.put(StopRequested(signal.Signals(signum).name))

    # --- the loop ---------------------------------------------------------------------

    def _loop(self, first: Input) -> None:
        batch: list[object] = [first]
        while self.executor.stop_code is None:
            effects = []
            for message in batch:
                for event in self._inputs(message):
                    effects.extend(self.core.handle(event, self.clock()))
            if not isinstance(batch[0], Tick):
                self.trimmer.worked(len(batch))
            self.executor.run(effects)
            if self.progress is not None:
                self.progress(self.core.counters)
            batch = self._next()

    def _next(self) -> list[object]:
        """The inputs for the next turn: answers of quick effects first, else the inbox."""
        if self._answers:
            answers: list[object] = list(self._answers)
            self._answers.clear()
            return answers
        wake = self.core.next_wakeup()
        timeout = MAX_WAIT if wake is None else min(MAX_WAIT, wake - self.clock())
        try:
            batch = [self.inbox.get(timeout=max(timeout, 0.0))]
        except queue.Empty:
            self.trimmer.idle()  # nothing to do: a burst's freed memory goes back
            return [Tick()]
        for _ in range(DRAIN):
            try:
                batch.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _inputs(self, message: object) -> list[Input]:
        """What the core is told of one message (watchdog's, a signal's, a worker's)."""
        if isinstance(message, Change):
            event = classify_change(message, self.config.watch, self.registry)
            return [] if event is None else [event]
        if isinstance(message, Unreported):
            changes = (
                classify_change(c, self.config.watch, self.registry) for c in message.changes
            )
            missed = EventsMissed(str(message.folder), str(message.changes[0].path))
            return [missed, *(c for c in changes if c is not None)]
        if isinstance(message, DetectorFailed):
            return [ChangeCheckFailed(str(message.folder), message.detail)]
        if isinstance(message, ObserverTrouble):
            return [EventsLost(message.detail)]
        if isinstance(message, _Reload):
            return [self._reload()]
        return [message]  # type: ignore[list-item]

    def _reload(self) -> ReloadRequested:
        if self.config_path is None:
            return ReloadRequested(None, "no config file to read again")
        try:
            config = load_config(self.config_path)
            registry = registry_for(config)
        except (ConfigError, ValueError) as exc:
            return ReloadRequested(None, str(exc))
        self.config = self.executor.config = self.executor.disk.config = config
        self.registry = self.executor.registry = self.executor.disk.registry = registry
        watchers = self.executor.watchers
        if watchers is not None:
            watchers.claim(f.path for f in config.watch)
            scan = config.scan
            watchers.configure(
                registry, scan.polling_interval_seconds, scan.verify_interval_seconds
            )
        return ReloadRequested(core_settings(config, self.once, notify.watchdog_period()))
