"""World actions added after the first long runs, on a random stream of their own.

Issue 11 asks for projects moved (not only renamed) and copied, which issue 12's
relinks made the hard cases: a project or its folder moved into another folder
(`Done/`, another client, the other watched folder), a project duplicated beside
itself (Finder's "copy", the same bytes: the same identity), a move undone, and a
project dragged out of the watched folders (to the trash) and restored a while later.

These draw from `World.more`, seeded from the world's generator without taking a draw
from it, and about half the seeds get none: a seed without them builds exactly the
world it built before they existed, and the seeds of earlier findings get none.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from tests.simulation.fs import P, SimFS, below, under

if TYPE_CHECKING:
    from tests.simulation.faults import Control, Step
    from tests.simulation.fs import Event
    from tests.simulation.world import Project

TRASH = P("/sim/trash")
"""Outside every watched folder: what is here is not expected in SessionDock."""
SHARE = 0.5
"""The share of seeds that get these actions."""
PINNED = frozenset(
    {2409, 2519, 2590, 10058, 11159, 11217, 11539, 15850, 20611, 21375, 22967, 25003}
    | {28553, 54834, 93800, 141733}
)
"""Seeds of findings made before these actions existed (tests/test_simulation.py): they
get none, so each still builds the world that showed its bug."""


class More:
    rng: random.Random
    fs: SimFS
    roots: tuple[P, ...]
    projects: dict[int, Project]
    ever: set[P]
    last_at: dict[P, int]
    tempo: float
    _pids: int

    if TYPE_CHECKING:

        def note(self, now: float, text: str) -> None: ...
        def mtime(self, now: float) -> int: ...
        def _name(self, base: str) -> str: ...
        def _at(self, when: float, step: Step) -> None: ...
        def _idle(self, now: float) -> list[Project]: ...
        def _busy_under(self, folder: P) -> bool: ...
        def _relocate(self, now: float, src: P, dst: P) -> list[Event | Control]: ...
        def _onto_a_twin(self, project: Project) -> None: ...
        def _arrive(self, now: float, project: Project, excused: set[P]) -> None: ...

    def _start_more(self, enabled: bool) -> None:
        # A str seed is hashed with SHA-512: the same stream in every process.
        self.more = random.Random(f"more {self.rng.getstate()[1][:4]}")
        self.more_left = 0
        if self.more.random() < SHARE and enabled:
            self.more_left = self.more.randint(1, 8)
            self._at(self.more.uniform(0.5, 120.0), self._act_more)

    def _act_more(self, now: float) -> list[Event | Control]:
        if self.more_left <= 0:
            return []
        self.more_left -= 1
        self._at(now + self.more.expovariate(1.0 / self.tempo), self._act_more)
        choices: list[Callable[[float], list[Event | Control]]] = [
            self._move_into,
            self._move_into,
            self._duplicate,
            self._move_back,
            self._trash_and_restore,
        ]
        return self.more.choice(choices)(now)

    def watched(self, project: Project) -> bool:
        return any(below(project.unit, r) for r in self.roots)

    def _free(self, path: P) -> P:
        """`path`, or a name beside it that is free (`Song 2.als`)."""
        n = 2
        candidate = path
        while self.fs.exists(candidate):
            candidate = path.with_name(f"{path.stem} {n}{path.suffix}")
            n += 1
        return candidate

    def _folders(self) -> list[P]:
        """Folders a project may be moved into: under a root, not inside a project."""
        units = [p.unit for p in self.projects.values()]
        out = []
        for root in self.roots:
            for path in self.fs.subtree(root):
                if self.fs.is_dir(path) and not any(under(path, u) for u in units):
                    out.append(path)
        return out

    def _move_into(self, now: float) -> list[Event | Control]:
        """A project, or the folder holding it, moved into another folder (or `Done/`)."""
        idle = [p for p in self._idle(now) if self.watched(p)]
        if not idle:
            return []
        project = self.more.choice(idle)
        src = project.unit
        if self.more.random() < 0.4 and project.unit.parent not in self.roots:
            src = project.unit.parent
            if self._busy_under(src):
                src = project.unit
        folders = [f for f in self._folders() if not under(f, src) and f != src.parent]
        if self.more.random() < 0.3 or not folders:
            target = self.more.choice(self.roots) / "Done"
        else:
            target = self.more.choice(folders)
        dst = self._free(target / src.name)
        self.note(now, f"move {src} -> {dst}")
        return self._relocate(now, src, dst)

    def _duplicate(self, now: float) -> list[Event | Control]:
        """A project copied beside itself: the same bytes, a new project."""
        idle = [p for p in self._idle(now) if self.watched(p)]
        if not idle:
            return []
        original = self.more.choice(idle)
        unit = original.unit
        dst = self._free(unit.with_name(f"{unit.stem} copy{unit.suffix}"))
        self.note(now, f"duplicate #{original.pid} {unit} -> {dst.name}")
        events = self.fs.copy(unit, dst, self.mtime(now))
        if not events and not self.fs.exists(dst):
            return []
        from tests.simulation.world import Project

        self._pids += 1
        copy = Project(self._pids, original.fmt, dst, dict(original.final))
        copy.paths.append(dst)
        # Made at the path of a project gone (in the trash) whose record the daemon
        # still holds: the session there may be its own (seed 2604567).
        self._onto_a_twin(copy)
        copy.last_write_end = copy.burst_start = now
        self.projects[copy.pid] = copy
        self.ever.add(dst)
        self._arrive(now, copy, set(copy.left_behind))
        return list(events)

    def _move_back(self, now: float) -> list[Event | Control]:
        """A move undone: a project returns to where it was before its last move."""
        idle = [
            p
            for p in self._idle(now)
            if len(p.paths) >= 2 and not self.fs.exists(p.paths[-2]) and self.watched(p)
        ]
        idle = [p for p in idle if any(below(p.paths[-2], r) for r in self.roots)]
        if not idle:
            return self._move_into(now)
        project = self.more.choice(idle)
        back = project.paths[-2]
        self.note(now, f"move back #{project.pid} {project.unit} -> {back}")
        return self._relocate(now, project.unit, back)

    def _trash_and_restore(self, now: float) -> list[Event | Control]:
        """A project dragged to the trash (out of every watched folder), put back later."""
        idle = [p for p in self._idle(now) if self.watched(p)]
        if not idle:
            return []
        project = self.more.choice(idle)
        home = project.unit
        trashed = self._free(TRASH / f"{self._name('trashed')} {home.name}")
        self.note(now, f"trash #{project.pid} {home} -> {trashed}")
        events = self._relocate(now, home, trashed)

        def restore(t: float) -> list[Event | Control]:
            if project.pid not in self.projects or project.unit != trashed:
                return []
            if project.writing:  # saved in the trash: its writer's pieces go there
                self._at(t + self.more.uniform(1.0, 60.0), restore)
                return []
            dst = self._free(home)
            self.note(t, f"restore #{project.pid} {trashed} -> {dst}")
            return self._relocate(t, trashed, dst)

        self._at(now + self.more.uniform(1.0, 900.0), restore)
        return events
