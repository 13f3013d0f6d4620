"""A reconciling walk and the projects that appear while it runs (issue 12's missing).

A walk lists folders one after another; a project saved into a folder it has listed
already is not among its findings. That says nothing about the project being gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.test_core import ROOT, WALL0, settings, sig
from tests.test_core_moves import MovingDriver, missing
from watcher.core import Core
from watcher.core.effects import Effect, Walk
from watcher.core.inputs import EventsLost, Found, ProjectChanged, Started, WalkEnded, WalkFound


@dataclass
class SlowWalks(MovingDriver):
    walks: list[Walk] = field(default_factory=list)
    hold_walks: bool = False

    def carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Walk) and self.hold_walks:
            self.walks.append(effect)
        else:
            super().carry_out(effect)


def test_a_project_imported_while_a_walk_runs_is_not_missing_when_the_walk_misses_it() -> None:
    """Simulator seed 141733 (before the world gained moves): a copy imported during a
    walk that had listed its folder already was marked missing at the walk's end, and
    the next move of a project with its content took the copy's session."""
    d = SlowWalks(Core.restore(settings(), (), {}))
    d.disk["/studio/a.als"], d.identity["/studio/a.als"] = sig(1), "id-a"
    d.feed(Started(wall=WALL0))
    d.advance(10)
    assert d.stored["/studio/a.als"].state == "imported"
    d.hold_walks = True
    d.feed(EventsLost("queue overflow"))  # a reconciling walk starts
    [walk] = d.walks
    listed = (Found("/studio/a.als", False, sig(1)),)  # its folder is listed now
    d.disk["/studio/b.als"], d.identity["/studio/b.als"] = sig(2), "id-b"
    d.feed(ProjectChanged(ROOT, "/studio/b.als", False, d.now))
    d.advance(10)
    assert d.stored["/studio/b.als"].state == "imported"
    d.feed(WalkFound(ROOT, walk.under, listed))
    d.feed(WalkEnded(ROOT, walk.under))
    assert d.stored["/studio/b.als"].missing_since is None
    assert d.stored["/studio/a.als"].missing_since is None


def test_a_project_back_while_a_walk_runs_is_not_missing_again_when_the_walk_misses_it() -> None:
    """Simulator seed 5000575: a project restored from the trash while the first walk
    after a restart ran was recognised (back, not imported again), then marked missing
    once more when that walk ended without it; a copy made later took its session."""
    from watcher.core.inputs import ProjectGone

    d = SlowWalks(Core.restore(settings(), (), {}))
    d.disk["/studio/a.als"], d.identity["/studio/a.als"] = sig(1), "id-a"
    d.feed(Started(wall=WALL0))
    d.advance(10)
    away = d.disk.pop("/studio/a.als")  # to the trash
    d.feed(ProjectGone(ROOT, "/studio/a.als", d.now))
    assert missing(d, "/studio/a.als")
    d.hold_walks = True
    d.feed(EventsLost("queue overflow"))  # a reconciling walk lists the folder now
    [walk] = d.walks
    d.disk["/studio/a.als"] = away  # restored
    d.feed(ProjectChanged(ROOT, "/studio/a.als", False, d.now))
    d.advance(10)
    assert not missing(d, "/studio/a.als")  # back
    d.feed(WalkFound(ROOT, walk.under, ()))
    d.feed(WalkEnded(ROOT, walk.under))
    assert not missing(d, "/studio/a.als")
    assert len(d.sends()) == 1
