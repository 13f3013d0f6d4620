"""Carrying out the core's effects: the only place where its decisions touch the world.

Quick effects (a stat, whether a folder is there, a watch, reading the token) are
done here and answered at once; slow ones go to a worker (walks, content checks) or to
the importer (SessionDock). Every `Persist` of a turn is written, in one transaction,
before any other effect of that turn is carried out: so what the core decided is on
disk before anything acts on it. If it cannot be written, nothing else of the turn is
done and the core is told (`PersistFailed`).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watcher import notify
from watcher.bridge import daw_of
from watcher.config import Config, ConfigError
from watcher.core.effects import (
    AskHealth,
    AskLibrary,
    CheckFolder,
    CheckWatches,
    Effect,
    Log,
    Notify,
    Persist,
    Probe,
    ReadToken,
    Relink,
    ReportStatus,
    Send,
    Stat,
    Stop,
    Tag,
    Unwatch,
    Walk,
    Watch,
)
from watcher.core.inputs import (
    FolderChecked,
    Input,
    PersistFailed,
    Statted,
    TokenRead,
    WatchesChecked,
    WatchFailed,
    WatchStarted,
)
from watcher.core.policy import fingerprint
from watcher.daws import Registry
from watcher.importer import Importer
from watcher.logging import get_logger, register_secret
from watcher.mounts import is_network_share, is_virtual_root, real_path
from watcher.observer import WatchError, Watchers
from watcher.scanner import signature_of
from watcher.state import State, StateError
from watcher.volumes import case_insensitive
from watcher.workers import Disk

log = get_logger("watcher.core")
shell_log = get_logger("watcher.executor")


@dataclass
class Executor:
    config: Config
    registry: Registry
    state: State
    importer: Importer
    disk: Disk
    watchers: Watchers | None
    answer: Callable[[Input], None]
    """Where the answers of quick effects go (the loop feeds them to the core next)."""
    stop_code: int | None = None

    def token(self) -> str:
        token = self.config.sessiondock.resolve_token()
        register_secret(token)
        return token

    def run(self, effects: list[Effect]) -> None:
        persists = [e for e in effects if isinstance(e, Persist)]
        others = [e for e in effects if not isinstance(e, Persist)]
        if persists:
            try:
                self.state.apply(persists)
            except (StateError, sqlite3.Error, OSError) as exc:
                error = exc if isinstance(exc, StateError) else self.state.error(exc)
                if error is None:
                    raise  # not a fault of the file: a bug, which must stay loud
                merged = Persist(
                    upserts=tuple(r for p in persists for r in p.upserts),
                    deletes=tuple(d for p in persists for d in p.deletes),
                    meta=tuple(m for p in persists for m in p.meta),
                )
                self.answer(PersistFailed(merged, str(error), error.advice, tuple(others)))
                for effect in others:  # stopping needs no state: it still happens
                    if isinstance(effect, Stop):
                        self.stop_code = effect.exit_code
                return
        for effect in others:
            self.carry_out(effect)

    def carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Log):
            getattr(log, effect.level)(effect.event, **effect.fields)
        elif isinstance(effect, Stat):
            self._stat(effect)
        elif isinstance(effect, Probe):
            self.disk.probe(effect)
        elif isinstance(effect, Walk):
            self.disk.walk(effect)
        elif isinstance(effect, (Send, AskHealth, AskLibrary, Relink, Tag)):
            self.importer.submit(effect)
        elif isinstance(effect, CheckFolder):
            self.answer(self._check_folder(effect.root))
        elif isinstance(effect, Watch):
            self._watch(effect)
        elif isinstance(effect, Unwatch):
            if self.watchers is not None:
                self.watchers.unwatch(Path(effect.root))
        elif isinstance(effect, CheckWatches):
            dead = self.watchers.dead() if self.watchers is not None else []
            self.answer(WatchesChecked(tuple(str(p) for p in dead)))
        elif isinstance(effect, ReadToken):
            try:
                self.answer(TokenRead(fingerprint(self.token())))
            except ConfigError:
                self.answer(TokenRead(None))
        elif isinstance(effect, ReportStatus):
            self._report(effect.snapshot)
        elif isinstance(effect, Notify):
            notify.notify(*effect.lines)
        elif isinstance(effect, Stop):
            self.stop_code = effect.exit_code

    def _check_folder(self, root: str) -> FolderChecked:
        return check_folder(root)

    def _stat(self, effect: Stat) -> None:
        daw = daw_of(effect.path, self.config.watch, self.registry)
        signature = signature_of(Path(effect.path), daw) if daw is not None else None
        self.answer(Statted(effect.path, signature))

    def _watch(self, effect: Watch) -> None:
        if self.watchers is None:
            self.answer(WatchStarted(effect.root, effect.mode))
            return
        try:
            folder = next((f for f in self.config.watch if str(f.path) == effect.root), None)
            interval = folder.polling_interval_seconds if folder is not None else None
            self.watchers.watch(Path(effect.root), effect.recursive, effect.mode, interval)
        except WatchError as exc:
            self.answer(WatchFailed(effect.root, effect.mode, str(exc)))
        else:
            self.answer(WatchStarted(effect.root, effect.mode))

    def _report(self, snapshot: Any) -> None:
        value = {
            **snapshot,
            "request": self.importer.request_status(),
            "pid": os.getpid(),
            "updated_at": time.time(),
            "python": sys.version.split()[0],
        }
        try:
            self.state.set_meta("daemon", value)
        except (StateError, sqlite3.Error, OSError) as exc:
            shell_log.debug("status_not_written", error=str(exc))


def check_folder(root: str) -> FolderChecked:
    """Answers `CheckFolder` (the daemon, and `scan --dry-run`'s plan)."""
    path = Path(root)
    if not path.is_dir():
        return FolderChecked(root, False)
    real = real_path(path)
    return FolderChecked(
        root,
        True,
        network=is_network_share(real),
        virtual=is_virtual_root(real),
        real=None if real == path else str(real),
        case_insensitive=case_insensitive(real),
    )
