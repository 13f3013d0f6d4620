"""What goes wrong around the daemon, as world actions: drives, SessionDock, signals.

A mixin of `World` (tests/simulation/world.py): interrupted copies and junk files,
watched folders going offline and coming back, SessionDock down, answering 401
(a regenerated token, or one that clears by itself), read-only, observer overflows,
SIGTERM from the service manager, and the wall clock stepping.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tests.simulation.content import APPLEDOUBLE, FORMATS, Format
from tests.simulation.fs import Event, P, SimFS
from tests.simulation.server import FULL, READ_ONLY, SimSessionDock

if TYPE_CHECKING:
    from tests.simulation.world import Project


@dataclass
class Control:
    """Something other than a file event for the driver: a signal or lost events."""

    what: str  # "sigterm" | "sighup" | "overflow"


Step = Callable[[float], "list[Event | Control]"]


class Faults:
    rng: random.Random
    fs: SimFS
    server: SimSessionDock
    roots: tuple[P, ...]
    token_file: str | None
    wall_offset: float
    projects: dict[int, Project]
    _heap: list[tuple[float, int, Step]]
    _seq: int

    if TYPE_CHECKING:

        def note(self, now: float, text: str) -> None: ...
        def mtime(self, now: float) -> int: ...
        def _name(self, base: str) -> str: ...
        def _new(self, now: float, root: P, fmt: Format) -> Project: ...
        def edited(self, project: Project) -> None: ...

    def _at(self, when: float, step: Step) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, step))

    def _broken_copy(self, now: float) -> list[Event | Control]:
        """An interrupted copy: a prefix of a project that proves completeness, for good."""
        fmt = self.rng.choice([f for f in FORMATS if f.proves_complete and not f.bundle])
        project = self._new(now, self.rng.choice(self.roots), fmt)
        project.broken = True
        data = fmt.build(f"p{project.pid}r0")[""]
        self.note(now, f"interrupted copy #{project.pid} {project.unit}")
        return list(self.fs.write(project.unit, data[: len(data) // 2], self.mtime(now)))

    def _junk(self, now: float) -> list[Event | Control]:
        root = self.rng.choice(self.roots)
        name = self.rng.choice(("._Song.als", "Song.als.tmp", "Song (conflicted copy).als"))
        self.note(now, f"junk {root / name}")
        return list(self.fs.write(root / name, APPLEDOUBLE, self.mtime(now)))

    def _offline(self, now: float) -> list[Event | Control]:
        root = self.rng.choice(self.roots)
        if root in self.fs.offline:
            return []
        events: list[Event | Control] = [Event(root, True, True)] if self.rng.random() < 0.5 else []
        self.fs.offline.add(root)
        back = self.rng.uniform(1.0, 900.0)
        self.note(now, f"{root} offline for {back:.0f}s")

        def online(t: float) -> list[Event | Control]:
            self.fs.offline.discard(root)
            self.note(t, f"{root} back online")
            return []

        self._at(now + back, online)
        return events

    def _episode(
        self, now: float, what: str, start: Callable[[], None], end: Callable[[], None]
    ) -> None:
        """Something true of SessionDock for a while (episodes may overlap)."""
        length = self.rng.choice((0.5, 5.0, 60.0, 900.0)) * self.rng.random()
        self.note(now, f"SessionDock {what} for {length:.1f}s")
        start()

        def finish(t: float) -> list[Event | Control]:
            end()
            self.note(t, f"SessionDock {what}: over")
            return []

        self._at(now + length, finish)

    def _server_down(self, now: float) -> list[Event | Control]:
        s = self.server
        self._episode(
            now, "down", lambda: setattr(s, "down", True), lambda: setattr(s, "down", False)
        )
        return []

    def _flaky_401(self, now: float) -> list[Event | Control]:
        s = self.server
        self._episode(
            now,
            "answers 401",
            lambda: setattr(s, "flaky_401", True),
            lambda: setattr(s, "flaky_401", False),
        )
        return []

    def _read_only(self, now: float) -> list[Event | Control]:
        s = self.server
        self._episode(
            now,
            "read-only",
            lambda: setattr(s, "mode", READ_ONLY),
            lambda: setattr(s, "mode", FULL),
        )
        return []

    def _regenerate_token(self, now: float) -> list[Event | Control]:
        s = self.server
        s.token = f"token-{self._name('t').split()[-1]}"
        self._episode(
            now,
            "token regenerated, the token file still holds the old one",
            lambda: None,
            lambda: setattr(self, "token_file", s.token),
        )
        return []

    def _overflow(self, now: float) -> list[Event | Control]:
        self.note(now, "observer queue overflow")
        return [Control("overflow")]

    def _sigterm(self, now: float) -> list[Event | Control]:
        self.note(now, "SIGTERM (the service manager restarts the daemon)")
        return [Control("sigterm")]

    def _sighup(self, now: float) -> list[Event | Control]:
        self.note(now, "SIGHUP: the config is reloaded (batch_size may change)")
        return [Control("sighup")]

    def _wall_step(self, now: float) -> list[Event | Control]:
        step = self.rng.uniform(-600.0, 3600.0)
        self.wall_offset += step
        self.note(now, f"wall clock steps {step:+.0f}s")
        return []

    def _token_missing(self, now: float) -> list[Event | Control]:
        """The token file deleted or emptied for a while (a reinstall, a sync client)."""
        self.token_file = None
        length = self.rng.uniform(0.5, 300.0)
        self.note(now, f"token file missing for {length:.0f}s")

        def back(t: float) -> list[Event | Control]:
            self.token_file = self.server.token
            self.note(t, "token file back")
            return []

        self._at(now + length, back)
        return []

    def _open_in_daw(self, now: float) -> list[Event | Control]:
        """Audacity opens a project: `X.aup3-wal` exists (and grows) until it closes it."""
        fmt = next(f for f in FORMATS if f.ext == ".aup3")
        idle = [
            p for p in self.projects.values() if p.fmt is fmt and not p.writing and not p.broken
        ]
        project = self.rng.choice(idle) if idle else None
        events: list[Event | Control] = []
        if project is None:
            project = self._new(now, self.rng.choice(self.roots), fmt)
            project.final = fmt.build(f"p{project.pid}r0")
            events += self.fs.write(project.unit, project.final[""], self.mtime(now))
        project.writing, project.write_started = True, now
        wal = project.unit.with_name(project.unit.name + "-wal")
        length = self.rng.uniform(1.0, 300.0)
        self.note(now, f"open #{project.pid} {project.unit} in Audacity for {length:.0f}s")
        events += self.fs.write(wal, b"W" * 64, self.mtime(now))
        for i in range(self.rng.randint(0, 3)):

            def grow(t: float) -> list[Event | Control]:
                if project.pid not in self.projects or not self.fs.exists(wal):
                    return []
                return list(self.fs.write(wal, b"W" * 32, self.mtime(t), append=True))

            self._at(now + length * (i + 1) / 5, grow)

        def close(t: float) -> list[Event | Control]:
            project.writing = False
            project.revision += 1
            project.last_write_end = project.burst_start = t
            if project.pid not in self.projects:
                return []
            self.note(t, f"close #{project.pid} {project.unit}")
            self.edited(project)
            project.final = fmt.build(f"p{project.pid}r{project.revision}")
            out: list[Event | Control] = []
            out += self.fs.replace(project.unit, project.final[""], self.mtime(t))
            return out + self.fs.delete(wal, self.mtime(t))

        self._at(now + length, close)
        return events
