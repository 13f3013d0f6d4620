"""The sim shell: drives the real core through one seed's world on a simulated clock.

It does what the real shell does (`watcher/daemon.py`, `executor.py`, `workers.py`,
`bridge.py`: classify events, stat, probe, walk, persist, talk to SessionDock, read the
token) against the simulated disk, SessionDock and token file, with answers arriving
late and in any order, following the driving rules of the core's API: a `Persist` is
written before anything after it in the same list, at most one request is out, answers
from a process that died never reach the next one. The clock jumps from one thing due to the
next, so hours of studio life take milliseconds. Crashes happen at effects (before or
after a persist or a send); a restart is `Core.restore` from exactly what was persisted.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from dataclasses import replace
from typing import Any

from tests.simulation import disk
from tests.simulation.faults import Control
from tests.simulation.fs import P, under
from tests.simulation.invariants import Checker
from tests.simulation.more import PINNED
from tests.simulation.server import answer_request
from tests.simulation.tags import Tagging, check_tags
from tests.simulation.trace import Outcome, Trace
from tests.simulation.world import ROOTS, World, random_settings
from watcher.core import Core
from watcher.core import effects as fx
from watcher.core import inputs as ins
from watcher.core.policy import fingerprint
from watcher.core.records import ProjectRecord
from watcher.core.sessions import tag_work
from watcher.daws import Registry

REGISTRY = Registry()
_ROUTINE = (
    fx.CheckFolder,
    fx.CheckWatches,
    fx.ReadToken,
    fx.Log,
    fx.ReportStatus,
    fx.Notify,
    fx.Unwatch,
)
MOVE_LOGS = frozenset(
    {"project_moved", "project_missing", "project_back", "project_relink_ambiguous"}
)
"""The core's words on moves: in the trace, and the checker's (ambiguous candidates)."""
MAX_STEPS = 60_000
WALK_CHUNK = 200


class Sim:
    """One seed: its settings, world, persisted state, the core's current life, and the
    queue of things due (answers and events on their way, tagged with the life that
    asked, so a restarted core never hears its predecessor's answers)."""

    def __init__(self, seed: int, trace_len: int = 40) -> None:
        self.seed = seed
        rng = self.rng = random.Random(seed)
        self.settings = random_settings(rng)
        self.folders = {f.root: f for f in self.settings.folders}
        self.world = World(
            random.Random(rng.random()),
            ROOTS,
            self.settings.quiet_seconds,
            self.settings.max_wait_seconds,
            more=seed not in PINNED,
        )
        self.server = self.world.server
        self.world.identify = self._identity
        self.server.timeout = 10.0
        self.tagging, self.settings = Tagging.for_seed(seed, self.settings, self.world)
        self.checker = Checker(self.world, self.settings, REGISTRY)
        self.records: dict[str, ProjectRecord] = {}
        self.meta: dict[str, Any] = {}
        self.crash_rate = rng.choice((0.0, 0.005, 0.02))
        self.now = 0.0
        self.core: Core | None = None
        self.life = 0
        self.watched: set[str] = set()
        self.requests: dict[int, fx.Send | fx.AskHealth | fx.AskLibrary | fx.Relink | fx.Tag] = {}
        self.restart_at: float | None = None
        self.stop_deadline: float | None = None
        self.queue: list[tuple[float, int, int, Any]] = []
        self._seq = 0
        self.trace = Trace(trace_len)
        self.quiet_at: float | None = None
        self.dirty = {f.root: False for f in self.settings.folders}
        self.last_work = 0.0
        self.steps = 0
        self.blind_until = -1.0
        self.root_paths = {r: P(r) for r in self.folders}
        self.network = {r for r in self.folders if rng.random() < 0.15}
        """Roots on a network share: the core should poll them."""
        self.persist_failure_rate = rng.choice((0.0, 0.0, 0.02))
        self._spins = 0
        self._spin_at = -1.0
        self.stats: Counter[str] = Counter()

    # --- plumbing ---------------------------------------------------------------------

    def _identity(self, project: Any) -> str | None:
        """What the probe records for the project's bytes, read even while its volume is
        offline: the world's truth (moved onto an offline drive, it is what the daemon
        finds there once the drive is back: seed 89420)."""
        daw = REGISTRY.format_for(project.unit.name)
        if daw is None:
            return None
        fs = self.world.fs
        hidden, fs.offline = fs.offline, set()
        try:
            return disk.identity(fs, project.unit, daw)
        finally:
            fs.offline = hidden

    def note(self, tag: str, what: object) -> None:
        self.trace.add(self.now, tag, what)

    def later(self, delay: float, event: Any) -> None:
        self._seq += 1
        heapq.heappush(self.queue, (self.now + delay, self._seq, self.life, event))

    def feed(self, event: Any) -> int:
        """Hand the core one input and carry out its effects; returns how many it asked."""
        core = self.core
        if core is None:
            return 0
        self.note("in", event)
        self.steps += 1
        self._observe(event)
        effects = core.handle(event, self.now)
        for index, effect in enumerate(effects):
            if self.core is not core or not self._carry_out(effect, effects[index + 1 :]):
                break
        return len(effects)

    def _observe(self, event: Any) -> None:
        """What the invariants need to know of the answers the core is handed."""
        checker = self.checker
        if isinstance(event, ins.SendAnswered):
            send = self.requests.pop(event.request)
            assert isinstance(send, fx.Send)
            checker.on_send_answer(send, event.outcome)
        elif isinstance(event, ins.HealthAnswered):
            self.requests.pop(event.request, None)
            checker.on_health_answer(event.outcome)
        elif isinstance(event, ins.LibraryAnswered):
            self.requests.pop(event.request, None)
            checker.on_library_answer(event.outcome, self.records)
        elif isinstance(event, ins.RelinkAnswered):
            self.requests.pop(event.request, None)
            checker.on_relink_answer(event)
        elif isinstance(event, ins.TagsAnswered):
            self.requests.pop(event.request, None)
            checker.on_tags_answer(event)
        elif isinstance(event, ins.TokenRead):
            checker.on_token(event.fingerprint)
        elif isinstance(event, ins.WatchStarted):
            self.watched.add(event.root)

    # --- lives: start, crash, stop, restart -------------------------------------------

    def start(self) -> None:
        self.life += 1
        self.watched.clear()
        self.requests.clear()
        self.checker.on_restart(self.records)
        self.core = Core.restore(self.settings, list(self.records.values()), dict(self.meta))
        self.note("life", f"start #{self.life} from {len(self.records)} records")
        self.feed(ins.Started(wall=self.world.wall(self.now)))

    def end_life(self, why: str) -> None:
        self.note("life", why)
        self.stats["crashes" if why.startswith("CRASH") else "clean stops"] += 1
        self.core = None
        self.life += 1
        self.stop_deadline = None
        self.restart_at = self.now + self.rng.uniform(0.5, 30.0)

    def _crash(self, where: str, effect: object) -> bool:
        """Die here, sometimes: only at effects that do something (not periodic checks)."""
        if not self.crash_rate or self.quiet_at is not None or isinstance(effect, _ROUTINE):
            return False
        if self.rng.random() < self.crash_rate:
            self.end_life(f"CRASH {where}")
            return True
        return False

    # --- effects ----------------------------------------------------------------------

    def _carry_out(self, effect: Any, rest: list[Any]) -> bool:
        """Carry out one effect; False when the process died doing it."""
        if not isinstance(effect, (fx.Log, fx.ReportStatus, fx.Notify)):
            self.note("fx", effect)
        elif isinstance(effect, fx.Log) and effect.event in MOVE_LOGS:
            self.note("log", f"{effect.event} {effect.fields}")
            self.checker.on_log(effect)
        if self._crash(f"before {type(effect).__name__}", effect):
            return False
        if isinstance(effect, fx.Persist):
            if self.quiet_at is None and self.rng.random() < self.persist_failure_rate:
                self.note("life", "disk full: Persist not written, the rest of the list dropped")
                self.stats["failed persists"] += 1
                self.later(0.0, ins.PersistFailed(effect, "disk full", "free space", tuple(rest)))
                return False
            self.checker.on_persist(effect, self.records)
            for record in effect.upserts:
                self.records[record.path] = record
            for path in effect.deletes:
                self.records.pop(path, None)
            self.meta.update(effect.meta)
            if effect.upserts or effect.deletes:
                self.last_work = self.now
            return not self._crash("after Persist", effect)
        if isinstance(effect, (fx.Send, fx.AskHealth, fx.AskLibrary, fx.Relink, fx.Tag)):
            self._request(effect)
            self.last_work = self.now
            return not self._crash(f"after {type(effect).__name__}", effect)
        self._disk(effect)
        if isinstance(effect, fx.Stop):
            self.end_life(f"stopped with exit code {effect.exit_code}")
            return False
        return True

    def _disk(self, effect: Any) -> None:
        fs, rng = self.world.fs, self.rng
        if isinstance(effect, fx.Stat):
            sig = disk.signature(fs, REGISTRY, effect.path, effect.bundle)
            self.checker.looked_at[effect.path] = self.now
            self.later(rng.uniform(0.0, 0.05), ins.Statted(effect.path, sig))
            self.last_work = self.now
        elif isinstance(effect, fx.Probe):
            folder = self.folders[effect.root]
            outcome = disk.probe(fs, REGISTRY, folder, effect.path, effect.signature)
            self.checker.last_probe_at[effect.path] = self.now
            self.later(rng.uniform(0.0, 0.5), ins.Probed(effect.path, outcome))
            self.last_work = self.now
        elif isinstance(effect, fx.Walk):
            found = disk.walk(fs, REGISTRY, self.folders[effect.root], effect.under)
            self.checker.looked_at[effect.under or effect.root] = self.now
            if effect.under is None and fs.visible(P(effect.root)):
                self.dirty[effect.root] = False
            delay = rng.uniform(0.01, 2.0)
            for i in range(0, len(found), WALK_CHUNK):
                chunk = tuple(found[i : i + WALK_CHUNK])
                self.later(delay, ins.WalkFound(effect.root, effect.under, chunk))
            self.later(delay, ins.WalkEnded(effect.root, effect.under))
            self.last_work = self.now
        elif isinstance(effect, fx.CheckFolder):
            info = fs.stat(self.root_paths[effect.root])
            exists = info is not None and info.is_dir
            self.later(0.0, ins.FolderChecked(effect.root, exists, effect.root in self.network))
        elif isinstance(effect, fx.Watch):
            if effect.mode == "native" and rng.random() < 0.05:
                self.later(0.0, ins.WatchFailed(effect.root, "native", "out of inotify watches"))
            else:
                self.later(0.0, ins.WatchStarted(effect.root, effect.mode))
        elif isinstance(effect, fx.Unwatch):
            self.watched.discard(effect.root)
        elif isinstance(effect, fx.CheckWatches):
            dead: tuple[str, ...] = ()
            if self.watched and rng.random() < 0.03:
                root = rng.choice(sorted(self.watched))
                self.watched.discard(root)  # its observer thread died: events are lost
                dead = (root,)
            self.later(0.0, ins.WatchesChecked(dead))
        elif isinstance(effect, fx.ReadToken):
            token = self.world.token_file
            self.later(0.0, ins.TokenRead(fingerprint(token) if token else None))

    def _request(self, effect: fx.Send | fx.AskHealth | fx.AskLibrary | fx.Relink | fx.Tag) -> None:
        self.requests[effect.request] = effect
        if isinstance(effect, fx.Send):
            self.checker.on_send(effect, self.now)
        if isinstance(effect, (fx.Relink, fx.Tag)):
            self.checker.on_relink(effect, self.now)
        if isinstance(effect, fx.AskLibrary):
            self.checker.on_library_request(effect.request)
        answered, answer = answer_request(self.server, effect, self.world.token_file, self.now)
        self.later(answer.delay if answer else 0.0, answered)
        if answer is not None:
            self.note("http", answer)

    # --- the world's events -----------------------------------------------------------

    def _world(self) -> None:
        offline = set(self.world.fs.offline)
        happenings = self.world.run_due(self.now)
        for back in offline - self.world.fs.offline:
            self.dirty[str(back)] = True  # changed unseen while offline: only a walk finds it
        for text in self.world.log:
            self.note("world", text)
        self.world.log.clear()
        for happening in happenings:
            if isinstance(happening, Control):
                if self.core is None:
                    continue
                if happening.what == "overflow":
                    # Events are dropped for a moment; the observer says so afterwards.
                    self.blind_until = self.now + self.rng.uniform(0.1, 5.0)
                    self.later(self.blind_until - self.now, ins.EventsLost("queue overflow"))
                elif happening.what == "sighup":
                    size = self.rng.choice((1, 2, 3, 5, 50))
                    self.settings = replace(self.settings, batch_size=size)
                    self.checker.settings = self.settings
                    self.feed(ins.ReloadRequested(self.settings))
                elif self.stop_deadline is None:
                    self.stop_deadline = self.now + 60.0
                    self.feed(ins.StopRequested("SIGTERM"))
                continue
            root = next((r for r, p in self.root_paths.items() if under(happening.path, p)), None)
            if root is None:
                continue
            if happening.gone:
                self.world.gone_event(happening.path)
            lost = self.core is None or root not in self.watched or self.now < self.blind_until
            if lost or self.rng.random() < self.world.lose_events:
                self.dirty[root] = True
                self.note("lost", happening)
                if not happening.gone:
                    self.checker.arrived_unseen[str(happening.path)] = self.now
                self.stats["events lost"] += 1
                continue
            fed = disk.classify_event(
                self.world.fs, REGISTRY, self.folders[root], happening, self.now
            )
            if fed is not None:
                delay = self.rng.uniform(0.0, 0.05)
                if not happening.gone:  # on its way: unseen until it is handed over
                    self.checker.arriving[str(happening.path)] = (self.now, self.now + delay)
                self.later(delay, fed)

    # --- the run ----------------------------------------------------------------------

    def _quiescent(self) -> bool:
        """Quiet, healthy and settled: nothing left that could still change the outcome.

        No work (stat, probe, walk, request, record change) for a while, no answer on
        its way, no folder that lost events since its last full walk, no record pending
        or in flight, and nothing waiting out its quiet period.
        """
        s, core = self.settings, self.core
        settle = 2 * s.quiet_seconds + s.batch_window_seconds + 10.0
        if self.now < max(self.last_work, self.quiet_at or 0.0) + settle:
            return False
        if core is None or self.requests or any(self.dirty.values()):
            return False
        if not self.watched.issuperset(self.folders):
            return False
        if len(getattr(core, "debouncer", ())) and self.now < self.last_work + s.max_wait_seconds:
            return False
        if any(e[2] == self.life for e in self.queue):
            return False
        busy = ("pending", "in_flight", "relinking")
        if any(r.state in busy for r in core.records.values()):
            return False
        return not any(tag_work(r, self.settings) for r in core.records.values())

    def run(self) -> Outcome:
        checker = self.checker
        self.start()
        hard_end: float | None = None
        while not checker.violations:
            if self.world.done and self.quiet_at is None:
                self.world.settle()
                self.quiet_at = self.now
                self.note("world", "quiet: SessionDock healthy, folders online, no faults")
                s = self.settings
                hard_end = self.now + 2 * s.reconcile_interval_seconds + 1000.0
            if self.quiet_at is not None and self._quiescent():
                break
            if hard_end is not None and self.now >= hard_end:
                self.note("world", "gave up waiting for quiescence")
                break
            if self.steps > MAX_STEPS:
                checker.fail(f"no quiescence after {MAX_STEPS} inputs (a busy loop?)")
                break
            if not self._step():
                break
        if not checker.violations:
            if self.stop_deadline is not None and self.core is not None:
                checker.fail("the core did not stop within 60s of SIGTERM")
            checker.at_end(self.records)
            checker.violations += check_tags(self.world, self.settings, self.records)
        stats = self.stats
        stats["projects"] += self.world.projects_made
        stats["sessions"] += len(self.server.sessions)
        stats.update(self.server.answered())
        return Outcome(self.seed, checker.violations, self.trace.lines(), self.steps, stats)

    def _step(self) -> bool:
        """Advance the clock to the next thing due and do it; False when nothing is left."""
        core = self.core
        if (edit_at := self.tagging.next_edit) is not None and edit_at <= self.now:
            done = self.tagging.edit(self.world, self.settings, self.now, self.quiet_at is not None)
            if done:
                self.note("world", done)
            return True
        times = [
            t
            for t in (
                self.tagging.next_edit,
                self.world.next_time(),
                self.queue[0][0] if self.queue else None,
                self.restart_at,
                core.next_wakeup() if core is not None else None,
                self.stop_deadline,
            )
            if t is not None
        ]
        if not times:
            return False
        self.now = max(self.now, min(times))
        if (t := self.world.next_time()) is not None and t <= self.now:
            self._world()
        elif self.queue and self.queue[0][0] <= self.now:
            _, _, life, event = heapq.heappop(self.queue)
            if life == self.life:
                self.feed(event)
        elif self.restart_at is not None and self.restart_at <= self.now:
            self.restart_at = None
            self.start()
        elif self.stop_deadline is not None and self.stop_deadline <= self.now:
            self.checker.fail("the core did not stop within 60s of SIGTERM")
        else:
            # A wakeup that finds nothing to do, again and again at the same time, is a
            # loop that would spin a CPU in the real shell.
            idle = not self.feed(ins.Tick())
            self._spins = self._spins + 1 if idle and self.now == self._spin_at else 0
            self._spin_at = self.now
            if self._spins > 100:
                self.checker.fail(f"busy loop: next_wakeup() stays at {self.now:.3f} after Ticks")
                return False
        return True


def run_seed(seed: int, trace_len: int = 40) -> Outcome:
    return Sim(seed, trace_len).run()
