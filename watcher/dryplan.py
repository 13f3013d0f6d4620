"""What a scan would relink, by the daemon's own rules, sending and writing nothing.

`scan --dry-run` must show moved projects as relinks, not as imports (issue 12). The
rules that tell a move from a copy live in the core (watcher/core/moves.py), and a
second copy of them here would drift; so the core itself is run over the folders, with
the state's records, in virtual time (its quiet periods pass at once). Walks, stats and
probes are real; every `Persist` is dropped, and `Send` and `Relink` are answered as
if SessionDock had taken them, after noting what they carried. Nothing reaches
SessionDock, the state database or the log.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from watcher.bridge import core_settings, daw_of
from watcher.config import Config
from watcher.core import Core
from watcher.core.effects import (
    AskHealth,
    AskLibrary,
    CheckFolder,
    Probe,
    ReadToken,
    Relink,
    RelinkItem,
    Send,
    Stat,
    Stop,
    Walk,
)
from watcher.core.inputs import (
    Accepted,
    Health,
    HealthAnswered,
    Input,
    Library,
    LibraryAnswered,
    RelinkAnswered,
    Relinked,
    SendAnswered,
    Started,
    Statted,
    Tick,
    TokenRead,
)
from watcher.core.records import ProjectRecord
from watcher.daws import Registry
from watcher.executor import check_folder
from watcher.scanner import signature_of
from watcher.workers import Disk

VIRTUAL_SECONDS = 24 * 3600.0
"""A scan that has not finished after this much virtual time is cut short (a guard)."""
FULL = Health("ok", "full-automation", "full-automation")


@dataclass
class Plan:
    relinks: list[RelinkItem] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    """`projectPath` of every item a `Send` carried."""


def plan(
    config: Config,
    registry: Registry,
    records: Iterable[ProjectRecord],
    meta: Mapping[str, Any],
) -> Plan:
    """Run a one-pass scan's core over the folders as they are now; what it sent.

    The shell's walker and prober log as they would in the daemon; a dry run's output
    is JSON lines only, so their log lines are dropped here."""
    structlog.configure(processors=[_drop])
    found = Plan()
    inbox: deque[Input] = deque()
    disk = Disk(config, registry, inbox.append)  # never started: walks and probes run here
    core = Core.restore(core_settings(config, once=True, watchdog_seconds=None), records, meta)
    now = 0.0
    inbox.append(Started(wall=time.time()))
    while not core.stopped and now < VIRTUAL_SECONDS:
        if not inbox:
            wake = core.next_wakeup()
            if wake is None:
                break
            now = max(now, wake)
            inbox.append(Tick())
        for effect in core.handle(inbox.popleft(), now):
            if isinstance(effect, CheckFolder):
                inbox.append(check_folder(effect.root))
            elif isinstance(effect, Walk):
                disk.walk_inline(effect)
            elif isinstance(effect, Probe):
                disk.probe(effect, inline=True)
            elif isinstance(effect, Stat):
                daw = daw_of(effect.path, config.watch, registry)
                signature = signature_of(Path(effect.path), daw) if daw is not None else None
                inbox.append(Statted(effect.path, signature))
            elif isinstance(effect, Send):
                found.imports.extend(item.project_path for item in effect.items)
                taken = Accepted(None, total=len(effect.items), completed=len(effect.items))
                inbox.append(SendAnswered(effect.request, taken))
            elif isinstance(effect, Relink):
                found.relinks.extend(effect.items)
                done = tuple((item.key, item.session_id or "") for item in effect.items)
                inbox.append(RelinkAnswered(effect.request, Relinked(done)))
            elif isinstance(effect, AskHealth):
                inbox.append(HealthAnswered(effect.request, FULL))
            elif isinstance(effect, AskLibrary):
                inbox.append(LibraryAnswered(effect.request, Library(frozenset())))
            elif isinstance(effect, ReadToken):
                inbox.append(TokenRead(None))
            elif isinstance(effect, Stop):
                break
            # Persist, Log, ReportStatus, Notify: nothing is written, logged or told
    return found


def _drop(*_: object) -> Any:
    raise structlog.DropEvent
