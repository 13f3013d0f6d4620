"""The studio around the daemon: its projects (the truth the invariants judge by) and
a clock-driven script of what producers, drives and SessionDock do, from one seed.

The world keeps, per project, an identity (`pid`: it follows moves and renames; a copy
is a new identity), the path it is at, and whether its bytes are complete. Its writers
keep the daemon's documented contract: a save pauses less than `quiet_seconds` between
pieces and a burst of saves lasts less than `max_wait_seconds`; past that, releasing a
project still being written is the debouncer's design, not a bug.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.simulation.content import FORMATS, Files, Format
from tests.simulation.faults import Control, Faults, Step
from tests.simulation.fs import Event, P, SimFS, below, under
from tests.simulation.more import TRASH, More
from tests.simulation.server import FULL, SimSessionDock
from watcher.core.settings import FolderSettings, Settings

CLIENTS = ("Acme Records", "Blue Room", "Nova", "Kite Music", "Studio 9")
TITLES = ("Night Drive", "Intro", "Hook", "Verse Idea", "Mixdown Final", "Jam", "Ballad")
WALL_START = 1_750_000_000.0
ROOTS = (P("/sim/studio-a"), P("/sim/studio-b"))


def random_settings(rng: random.Random) -> Settings:
    quiet = rng.choice((0.5, 2.0, 5.0, 10.0))
    folders = tuple(
        FolderSettings(
            root=str(root),
            polling=rng.random() < 0.2,
            kind="Custom" if rng.random() < 0.1 else None,
            generate_previews=rng.random() < 0.8,
        )
        for root in ROOTS
    )
    return Settings(
        folders=folders,
        quiet_seconds=quiet,
        max_wait_seconds=max(rng.choice((60.0, 120.0, 300.0)), 8 * quiet),
        batch_size=rng.choice((1, 2, 3, 5, 50)),
        batch_window_seconds=rng.choice((0.0, 0.5, 2.0, 10.0)),
        retry_max_seconds=rng.choice((10.0, 60.0)),
        reconcile_interval_seconds=rng.choice((120.0, 300.0, 900.0)),
        offline_check_seconds=rng.choice((5.0, 30.0)),
    )


@dataclass
class Project:
    pid: int
    fmt: Format
    unit: P
    final: Files
    writing: bool = False
    broken: bool = False
    """Left truncated for good (an interrupted copy): never complete."""
    write_started: float = -1.0
    """When the current (or last) write began: a probe before it saw complete bytes."""
    burst_start: float = -1.0
    last_write_end: float = -1.0e9
    revision: int = 0
    paths: list[P] = field(default_factory=list)
    """Every path this identity has had, oldest first."""
    left_behind: set[P] = field(default_factory=set)
    """Earlier paths whose sessions may stay behind: the project was saved at a path the
    daemon had not recorded yet (moved, then saved before the daemon looked at it, or
    moved and saved unseen), so the daemon sees new content there, a new identity:
    imported as new, the old session kept, missing (README, by design)."""
    took: dict[str, P] = field(default_factory=dict)
    """Session id -> the path where the project took that session by design, moved onto
    another one's path (`World._onto_a_twin`). Moved on from there, the daemon matches
    it by its inode and bytes: its own session (left behind when it took that one) may
    follow it, and the one it took stays at that path, the other project's there
    again if it comes back (seed 72954; `Checker.at_end`)."""
    arrival: Arrival | None = None
    """How it came to `unit`, to be undone if it leaves unseen (`World._left_unseen`)."""
    split: bool = False
    """Imported anew while the folder of its session was offline (`Checker._offline_original`):
    two sessions from then on. Moved out of a folder offline, whether it is still there
    cannot be checked either, and the move may relink the other one: the session at the
    path it leaves may stay there (seed 42000121). Both paths missing, the daemon can
    tell which it left (seed 101095): no excuse."""


@dataclass
class Arrival:
    """What coming to a path changed in the world's expectations, and what the daemon's
    state held for that path then."""

    path: P
    at: float
    persisted: int
    """How many writes of the daemon's state had touched the path by then."""
    before: int | None
    """The project that had been there last."""
    excused: set[P]
    """Paths the arrival added to `Project.left_behind`."""
    left_behind: frozenset[P]
    """`Project.left_behind` just after: grown since, the excuse may have other grounds."""
    kept: bool = False
    """The excuse has other grounds: saved there unseen, new content to the daemon
    wherever it finds it (seed 29000155), or saved unseen at its own recorded path and
    moved on (`_leaving`, seed 41001173): its earlier sessions stay behind whatever the
    arrival added."""


class World(Faults, More):
    def __init__(
        self,
        rng: random.Random,
        roots: tuple[P, ...],
        quiet: float,
        max_wait: float,
        more: bool = True,
    ):
        self.rng = rng
        self.roots = roots
        self.quiet = quiet
        self.max_wait = max_wait
        self.fs = SimFS()
        self.server = SimSessionDock(random.Random(rng.random()))
        self.projects: dict[int, Project] = {}
        self.ever: set[P] = set()
        self.last_at: dict[P, int] = {}
        """Path -> the project that came to it last: a session there is that one's."""
        self.recorded: dict[str, str | None] = {}
        """Path -> the identity of the live record the daemon last persisted for it
        (pending, in flight, imported or relinking; filled by the checker)."""
        self.recorded_inode: dict[str, int] = {}
        """Path -> the inode of that record's file: another than the file there now, of
        the same content, is a twin's record (the daemon has not looked at this one)."""
        self.missing: set[str] = set()
        """Paths whose record the daemon last persisted as missing (filled by the checker)."""
        self.persisted: dict[str, int] = {}
        """Path -> how many writes of the daemon's state touched it (filled by the checker)."""
        self.looked_at: dict[str, float] = {}
        """Path (stat'ed) or folder (walked) -> when the core last looked there (filled
        by the shell)."""
        self.vacated: dict[str, int | None] = {}
        """Recorded path -> the project that was last at it when a gone event for it (or
        a folder above it) came (filled by the sim shell): either the daemon never gets
        it (stopped, not watching, lost), and its record there stays live, or it gets it
        and marks that record missing, perhaps only after the next project came there."""
        self.identify: Callable[[Project], str | None] = lambda project: None
        """The identity the daemon's probe would record for a project now (the shell's,
        reading its bytes even while its drive is offline)."""
        """Every path that ever held a project unit (anything else sent is not a project)."""
        self.token_file: str | None = self.server.token
        self.wall_offset = WALL_START
        self._heap: list[tuple[float, int, Step]] = []
        self._seq = 0
        self._names = 0
        self._pids = 0
        self.actions_left = rng.randint(6, 30)
        self.tempo = rng.choice((0.5, 3.0, 20.0, 120.0))
        self.lose_events = rng.choice((0.0, 0.0, 0.05, 0.3))
        self.log: list[str] = []
        for root in roots:
            self.fs.makedirs(root, 0)
        self.server.fault_rate = rng.choice((0.0, 0.05, 0.2))
        self.server.not_done_rate = rng.choice((0.0, 0.3))
        self._at(rng.uniform(0.0, 2.0), self._act)
        self._start_more(more)

    # --- time -------------------------------------------------------------------------

    def wall(self, now: float) -> float:
        return self.wall_offset + now

    def mtime(self, now: float) -> int:
        return int(self.wall(now) * 1e9)

    def next_time(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def run_due(self, now: float) -> list[Event | Control]:
        out: list[Event | Control] = []
        while self._heap and self._heap[0][0] <= now:
            _, _, step = heapq.heappop(self._heap)
            out += step(now)
        return out

    @property
    def done(self) -> bool:
        """The script is over and every writer, drive and fault has settled."""
        return not self._heap

    def settle(self) -> None:
        """The world goes quiet: SessionDock healthy from here on."""
        server = self.server
        server.fault_rate = 0.0
        server.not_done_rate = 0.0
        server.down = server.flaky_401 = False
        server.mode = FULL
        self.token_file = server.token
        self.lose_events = 0.0

    def note(self, now: float, text: str) -> None:
        self.log.append(text)

    # --- truth ------------------------------------------------------------------------

    @property
    def projects_made(self) -> int:
        return self._pids

    def complete(self, project: Project) -> bool:
        return not project.writing and not project.broken

    def project_at(self, path: P) -> Project | None:
        for project in self.projects.values():
            if project.unit == path:
                return project
        return None

    def root_of(self, path: P) -> P:
        return next(r for r in self.roots if below(path, r))

    # --- the script -------------------------------------------------------------------

    def _act(self, now: float) -> list[Event | Control]:
        if self.actions_left <= 0:
            return []
        self.actions_left -= 1
        self._at(now + self.rng.expovariate(1.0 / self.tempo), self._act)
        choices: list[tuple[int, Callable[[float], list[Event | Control]]]] = [
            (20, self._create),
            (12, self._save),
            (6, self._move_unit),
            (5, self._rename_folder),
            (3, self._rename_client),
            (3, self._move_to_other_root),
            (4, self._copy),
            (4, self._delete),
            (2, self._broken_copy),
            (2, self._junk),
            (3, self._offline),
            (3, self._server_down),
            (2, self._regenerate_token),
            (1, self._flaky_401),
            (2, self._read_only),
            (1, self._overflow),
            (2, self._sigterm),
            (1, self._wall_step),
            (1, self._token_missing),
            (1, self._sighup),
            (2, self._open_in_daw),
        ]
        total = sum(w for w, _ in choices)
        pick = self.rng.uniform(0, total)
        for weight, action in choices:
            pick -= weight
            if pick <= 0:
                return action(now)
        return []

    def _name(self, base: str) -> str:
        self._names += 1
        return f"{base} {self._names}"

    def _idle(self, now: float) -> list[Project]:
        """Projects no writer (or open DAW) is busy with, and not broken: the ones a move,
        copy, delete or save may pick. `_save` also keeps the burst contract."""
        return [p for p in self.projects.values() if not p.writing and not p.broken]

    def _busy_under(self, folder: P) -> bool:
        return any(p.writing and below(p.unit, folder) for p in self.projects.values())

    def edited(self, project: Project) -> None:
        """The project's content changes where the daemon has no record of it yet (moved
        and not looked at since): see `Project.left_behind`."""
        unseen = self._unseen_here(project)
        if str(project.unit) not in self.recorded or unseen:
            project.left_behind.update(p for p in project.paths if p != project.unit)
        if unseen and project.arrival is not None:
            project.arrival.kept = True

    def _leaving(self, project: Project) -> bool:
        """The project moves while the daemon's record of its path holds other content
        (saved, and moved before the daemon checked the save): see `left_behind`.

        Or while that record is a twin's, of its content but another file (inode): it
        came onto a deleted twin's path (`_onto_a_twin`) and leaves before the daemon
        looked at it there. To the daemon the session there is the twin's, missing, and
        it relinks the project's own, found by the inode a move keeps (seed 6606857)."""
        unit = str(project.unit)
        if self.recorded.get(unit) != self.identify(project):
            project.left_behind.update(project.paths)
            return True
        if unit in self.recorded_inode and self.recorded_inode[unit] != self.fs.inode(project.unit):
            project.left_behind.add(project.unit)
        return False

    def _onto_a_twin(self, project: Project) -> None:
        """Moved onto the path of another project of its content that the daemon's
        record there still names (missing: in the trash), or onto the path of a project
        in the trash whose own content that record names (seed 700439: the content says
        nothing of the dilemma). The session there is taken (the daemon never puts two
        sessions on one path), and its own may stay behind: whether the other one comes
        back there cannot be known then (seed 5761).

        The same holds wherever the session at that path stays there whatever the
        other one does: it was deleted (the daemon cannot tell that from the trash;
        seeds 42803, 96491), or it left that session behind by design and has another
        (seed 99404). Relinking its own there would put two sessions on that path.

        And onto the path of one that moved on unseen (its events lost): the daemon holds
        its record there, missing and naming it, and has not found it where it is now,
        so to the daemon it is one in the trash (seed 2601685). So too when that record
        is not missing yet: the daemon never gets the event of its leaving (stopped, seed
        6608478), so to the daemon the file there is that project, saved; or it gets it
        after this move (seed 6629916), and marks that record missing before it looks at
        the file there. Once found (a record at its new path) or relinked away from that
        path, the daemon can know: no excuse."""
        before = self.last_at.get(project.unit)
        if before in (None, project.pid):
            return
        unit = str(project.unit)
        held = self.recorded.get(unit)
        named = held == self.identify(project)
        other = self.projects.get(before)
        trashed = (
            other is not None
            and below(other.unit, TRASH)
            and held is not None
            and held == self.identify(other)
        )
        stays = held is not None and (other is None or project.unit in other.left_behind)
        unseen = (
            other is not None
            and other.unit != project.unit
            and (unit in self.missing or self.vacated.get(unit) == before)
            and held is not None
            and held == self.identify(other)
            and str(other.unit) not in self.recorded
        )
        if named or trashed or stays or unseen:
            project.left_behind.update(project.paths)
            there = str(project.unit)
            project.took.update(
                (s.id, project.unit)
                for s in self.server.sessions.values()
                if s.project_path == there
            )

    def gone_event(self, path: P) -> None:
        """A gone event for `path`, delivered to the daemon or not: see `vacated`."""
        for recorded in self.recorded:
            if under(P(recorded), path):
                self.vacated[recorded] = self.last_at.get(P(recorded))

    def _write_files(
        self, now: float, project: Project, files: Files, slow: bool
    ) -> list[Event | Control]:
        """Write a project's files at once, or in pieces with pauses shorter than quiet."""
        unit = project.unit
        self.edited(project)
        project.final = files
        if project.burst_start < 0 or now - project.last_write_end > 2 * self.quiet:
            project.burst_start = now
        project.write_started = now
        if not slow:
            events: list[Event | Control] = []
            for rel, data in files.items():
                path = unit / rel if rel else unit
                if not project.fmt.bundle and self.rng.random() < 0.5:
                    events += self.fs.replace(path, data, self.mtime(now))
                else:
                    events += self.fs.write(path, data, self.mtime(now))
            project.last_write_end = now
            return events
        pieces: list[tuple[P, bytes, bool]] = []
        for rel, data in files.items():
            path = unit / rel if rel else unit
            cuts = sorted(
                self.rng.sample(range(1, len(data)), k=min(len(data) - 1, self.rng.randint(1, 3)))
            )
            bounds = [0, *cuts, len(data)]
            for i in range(len(bounds) - 1):
                pieces.append((path, data[bounds[i] : bounds[i + 1]], i > 0))
        budget = 0.7 * self.max_wait - (now - project.burst_start)
        gap = min(0.8 * self.quiet, max(budget, 0.0) / max(len(pieces), 1))
        project.writing = True
        when = now
        for index, (path, chunk, append) in enumerate(pieces):
            last = index == len(pieces) - 1

            def step(
                t: float,
                path: P = path,
                chunk: bytes = chunk,
                append: bool = append,
                last: bool = last,
            ) -> list[Event | Control]:
                if project.pid not in self.projects:
                    return []
                events = self.fs.write(path, chunk, self.mtime(t), append=append)
                if last:
                    project.writing = False
                    project.last_write_end = t
                return list(events)

            self._at(when, step)
            when += self.rng.uniform(0.05, 1.0) * gap
        return []

    def _new(self, now: float, root: P, fmt: Format) -> Project:
        title = self._name(self.rng.choice(TITLES))
        parent = root
        if self.rng.random() < 0.8:
            parent = parent / self.rng.choice(CLIENTS)
        if self.rng.random() < 0.8:
            parent = parent / (f"{title} Project" if fmt.ext == ".als" else title)
        self._pids += 1
        project = Project(self._pids, fmt, parent / f"{title}{fmt.ext}", {})
        project.paths.append(project.unit)
        self.projects[project.pid] = project
        self.ever.add(project.unit)
        self.last_at[project.unit] = project.pid
        return project

    def _create(self, now: float) -> list[Event | Control]:
        fmt = self.rng.choice(FORMATS)
        project = self._new(now, self.rng.choice(self.roots), fmt)
        slow = self.rng.random() < 0.4
        self.note(now, f"create #{project.pid} {project.unit}{' slowly' if slow else ''}")
        events = self._write_files(now, project, fmt.build(f"p{project.pid}r0"), slow)
        if fmt.ext == ".als" and self.rng.random() < 0.5:
            events += self.fs.makedirs(
                project.unit.parent / "Ableton Project Info", self.mtime(now)
            )
        if self.rng.random() < 0.05 and not self.server.poisoned:
            self.server.poisoned.add(str(project.unit))
            self.note(now, f"  SessionDock will refuse {project.unit}")
        return events

    def _save(self, now: float) -> list[Event | Control]:
        fresh = [
            p
            for p in self._idle(now)
            if now - p.last_write_end > 2 * self.quiet or now - p.burst_start < 0.3 * self.max_wait
        ]
        if not fresh:
            return self._create(now)
        project = self.rng.choice(fresh)
        project.revision += 1
        slow = self.rng.random() < 0.4
        self.note(
            now,
            f"save #{project.pid} {project.unit} r{project.revision}{' slowly' if slow else ''}",
        )
        files = project.fmt.build(f"p{project.pid}r{project.revision}")
        if project.fmt.bundle and self.rng.random() < 0.5:
            key = "Alternatives/000/ProjectData"
            files = {**project.final, key: files[key]}
        return self._write_files(now, project, files, slow)

    def _pick_folder(self, depth_from_unit: int) -> tuple[Project, P] | None:
        """A folder `depth_from_unit` levels above some idle project's unit (not a root)."""
        candidates = []
        for project in self._idle(0.0):
            folder = project.unit
            for _ in range(depth_from_unit):
                folder = folder.parent
            inside = folder not in self.roots and any(below(folder, r) for r in self.roots)
            if inside and not self._busy_under(folder):
                candidates.append((project, folder))
        return self.rng.choice(candidates) if candidates else None

    def _relocate(self, now: float, src: P, dst: P) -> list[Event | Control]:
        moving = [p for p in self.projects.values() if under(p.unit, src)]
        unseen = [p for p in moving if self._unseen_here(p)]
        for project in moving:
            arrival = project.arrival
            if project not in unseen:
                self._leaving(project)
            elif arrival is not None and arrival.before == project.pid and self._leaving(project):
                # Back unseen at its own path (the record there its own), saved there
                # unseen and moved on: that record holds other content (seed 41001173).
                arrival.kept = True
        events = self.fs.rename(src, dst, self.mtime(now))
        if not events and not self.fs.exists(dst):
            return []
        for project in moving:
            if project in unseen:
                self._left_unseen(project)
            if project.split and any(below(project.unit, r) for r in self.fs.offline):
                project.left_behind.add(project.unit)
            project.unit = dst / project.unit.relative_to(src) if project.unit != src else dst
            had = set(project.left_behind)
            self._onto_a_twin(project)
            if project.unit in project.left_behind:
                # Back where a session was left behind by design: that session is its
                # own there again, and the one made meanwhile is left behind in turn.
                project.left_behind.update(p for p in project.paths if p != project.unit)
            project.paths.append(project.unit)
            self.ever.add(project.unit)
            self._arrive(now, project, project.left_behind - had)
        return list(events)

    def _arrive(self, now: float, project: Project, excused: set[P]) -> None:
        unit = project.unit
        persisted = self.persisted.get(str(unit), 0)
        left = frozenset(project.left_behind)
        before = self.last_at.get(unit)
        project.arrival = Arrival(unit, now, persisted, before, excused, left)
        self.last_at[unit] = project.pid

    def _unseen_here(self, project: Project) -> bool:
        """Since it came to its path the core has not looked there (no stat of it, no walk
        over it: its event lost, or it leaves before its stat) and no write of the
        daemon's state touched that path: to the daemon it never was there (seed
        13000887). Looked at and not recorded yet, it was seen: what the core does with
        that comes later (seed 25001795)."""
        arrival = project.arrival
        if arrival is None or arrival.path != project.unit:
            return False
        if self.persisted.get(str(arrival.path), 0) != arrival.persisted:
            return False
        chain = (arrival.path, *arrival.path.parents)
        return all(self.looked_at.get(str(p), -1.0) < arrival.at for p in chain)

    def _left_unseen(self, project: Project) -> None:
        """It left a path the daemon never saw it at: the session there is still the one of
        the project there before it, and the dilemma of a move onto a twin's path never
        arose, so its own session must follow it. (Nor does the daemon's record there,
        another project's, say anything of its content: `_leaving` applies only back at
        a path it was the last project at.)"""
        arrival = project.arrival
        assert arrival is not None
        if self.last_at.get(arrival.path) == project.pid:
            if arrival.before is None:
                del self.last_at[arrival.path]
            else:
                self.last_at[arrival.path] = arrival.before
        if project.left_behind == arrival.left_behind and not arrival.kept:
            project.left_behind -= arrival.excused
        for taken in [s for s, p in project.took.items() if p == arrival.path]:
            del project.took[taken]  # never there to the daemon: it took nothing there

    def _move_unit(self, now: float) -> list[Event | Control]:
        idle = self._idle(now)
        if not idle:
            return self._create(now)
        project = self.rng.choice(idle)
        dst = project.unit.with_name(f"{self._name('Renamed')}{project.fmt.ext}")
        self.note(now, f"rename #{project.pid} {project.unit} -> {dst.name}")
        return self._relocate(now, project.unit, dst)

    def _rename_folder(self, now: float, depth: int = 1) -> list[Event | Control]:
        picked = self._pick_folder(depth)
        if picked is None:
            return self._move_unit(now)
        _, folder = picked
        dst = folder.with_name(self._name("Moved"))
        self.note(now, f"rename folder {folder} -> {dst.name}")
        return self._relocate(now, folder, dst)

    def _rename_client(self, now: float) -> list[Event | Control]:
        return self._rename_folder(now, depth=2)

    def _move_to_other_root(self, now: float) -> list[Event | Control]:
        picked = self._pick_folder(1)
        if picked is None or len(self.roots) < 2:
            return self._move_unit(now)
        _, folder = picked
        root = self.root_of(folder)
        other = self.rng.choice([r for r in self.roots if r != root])
        dst = other / self._name("Imported")
        self.note(now, f"move folder {folder} -> {dst}")
        return self._relocate(now, folder, dst)

    def _copy(self, now: float) -> list[Event | Control]:
        picked = self._pick_folder(1)
        if picked is None:
            return self._create(now)
        _, folder = picked
        dst = folder.with_name(self._name("Copy of"))
        self.note(now, f"copy folder {folder} -> {dst.name}")
        copies = [p for p in self.projects.values() if below(p.unit, folder)]
        events = self.fs.copy(folder, dst, self.mtime(now))
        for original in copies:
            unit = dst / original.unit.relative_to(folder)
            self._pids += 1
            copy = Project(self._pids, original.fmt, unit, dict(original.final))
            copy.paths.append(unit)
            self.last_at[unit] = copy.pid
            copy.last_write_end, copy.burst_start = now, now
            copy.broken = original.broken
            self.projects[copy.pid] = copy
            self.ever.add(unit)
        return list(events)

    def _delete(self, now: float) -> list[Event | Control]:
        idle = self._idle(now)
        if not idle:
            return []
        project = self.rng.choice(idle)
        target = project.unit
        if self.rng.random() < 0.4 and project.unit.parent not in self.roots:
            target = project.unit.parent
            if self._busy_under(target):
                return []
        self.note(now, f"delete {target}")
        for gone in [p for p in self.projects.values() if under(p.unit, target)]:
            del self.projects[gone.pid]
        return list(self.fs.delete(target, self.mtime(now)))
