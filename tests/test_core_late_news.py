"""News that reaches the core late: an event overtaken by the one after it, and a
`missing_since` written under another wall clock (issue 11's open seeds).

A complete project must end up in SessionDock with its last change whatever order its
events arrive in and whatever the wall clock did across a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TypeVar

from tests.test_core import ROOT, WALL0, Driver, settings, sig
from watcher.core import Core
from watcher.core.effects import Effect, Stat, Walk
from watcher.core.inputs import (
    DirectoryChanged,
    DirectoryGone,
    Found,
    ProjectChanged,
    ProjectGone,
    Started,
    Statted,
    WalkEnded,
    WalkFound,
)
from watcher.core.records import ProjectRecord

A = f"{ROOT}/a.als"
D = TypeVar("D", bound=Driver)


@dataclass
class HeldStats(Driver):
    """Stats are answered when the test says (`answer_stats`), as a busy worker would."""

    stats: list[Stat] = field(default_factory=list)

    def carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Stat):
            self.stats.append(effect)
        else:
            super().carry_out(effect)

    def answer_stats(self) -> None:
        stats, self.stats = self.stats, []
        for stat in stats:
            self.feed(Statted(stat.path, self.disk.get(stat.path)))


def _started(driver: D) -> D:
    driver.feed(Started(wall=WALL0))
    driver.advance(10)
    return driver


def test_a_gone_event_delivered_after_the_move_back_while_its_stat_is_out() -> None:
    """Simulator seeds 43256, 79413: moved out and straight back; the move back's event
    came first, its stat went out, then the move out's event forgot the stat, and
    nothing looked at the project again: a complete project never imported."""
    d = _started(HeldStats(Core.restore(settings(), (), {})))
    d.answer_stats()
    d.disk[A] = sig(1)
    back_at, gone_at = d.now - 0.01, d.now - 0.02
    d.feed(ProjectChanged(ROOT, A, False, back_at))  # the move back, delivered first
    d.feed(ProjectGone(ROOT, A, gone_at))  # the move out, delivered late
    d.answer_stats()
    for _ in range(5):
        d.advance(5)
        d.answer_stats()
    assert d.stored[A].state == "imported"
    assert [i.key for s in d.sends() for i in s.items] == [A]


def test_a_gone_event_delivered_after_the_move_back_while_it_waits_out_its_quiet() -> None:
    d = _started(Driver(Core.restore(settings(), (), {})))
    d.disk[A] = sig(1)
    d.feed(ProjectChanged(ROOT, A, False, d.now - 0.01))  # stat'ed at once: waiting
    d.feed(ProjectGone(ROOT, A, d.now - 0.02))
    d.advance(30)
    assert d.stored[A].state == "imported"


def test_a_gone_event_delivered_after_a_bundle_came_back() -> None:
    bundle = f"{ROOT}/b.logicx"
    d = _started(Driver(Core.restore(settings(), (), {})))
    d.disk[bundle] = sig(2)
    d.feed(ProjectChanged(ROOT, bundle, True, d.now - 0.01))
    d.feed(ProjectGone(ROOT, bundle, d.now - 0.02))
    d.advance(30)
    assert d.stored[bundle].state == "imported"


def test_a_gone_event_that_came_last_is_still_gone() -> None:
    """In order, the gone wins: a pending project is cancelled, nothing is sent."""
    d = _started(HeldStats(Core.restore(settings(), (), {})))
    d.disk[A] = sig(1)
    d.feed(ProjectChanged(ROOT, A, False, d.now - 0.02))
    del d.disk[A]
    d.feed(ProjectGone(ROOT, A, d.now - 0.01))
    d.answer_stats()
    d.advance(30)
    d.answer_stats()
    assert A not in d.stored and not d.sends()


@dataclass
class HeldWalks(Driver):
    """Walks of a folder below a root are answered when the test says."""

    walks: list[Walk] = field(default_factory=list)

    def carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Walk) and effect.under is not None:
            self.walks.append(effect)
        else:
            super().carry_out(effect)

    def answer_walks(self) -> None:
        walks, self.walks = self.walks, []
        for walk in walks:
            under = f"{walk.under}/"
            found = tuple(Found(p, False, s) for p, s in sorted(self.disk.items()) if under in p)
            self.feed(WalkFound(ROOT, walk.under, found))
            self.feed(WalkEnded(ROOT, walk.under))


FOLDER = f"{ROOT}/Song"
IN_FOLDER = f"{FOLDER}/a.als"


def test_a_folder_gone_event_delivered_after_its_move_back_leaves_its_project_present() -> None:
    """The folder's move back asked for a walk; the move out's event came next and
    marked the imported project missing; the walk, asked after the folder was back,
    was then taken for older than the loss and its listing ignored: missing for good
    though at its path (a relink candidate a copy could take)."""
    d = _started(HeldWalks(Core.restore(settings(), (), {}), disk={IN_FOLDER: sig(1)}))
    d.advance(30)
    assert d.stored[IN_FOLDER].state == "imported"
    d.feed(DirectoryChanged(ROOT, FOLDER, d.now - 0.01))  # moved back, delivered first
    d.feed(DirectoryGone(ROOT, FOLDER, d.now - 0.02))  # moved out, delivered late
    assert d.stored[IN_FOLDER].missing_since is not None
    d.answer_walks()
    d.advance(30)
    assert d.stored[IN_FOLDER].missing_since is None
    assert len(d.sends()) == 1, "recognised, not imported again"


def test_a_folder_gone_event_delivered_after_the_walk_of_its_move_back_was_answered() -> None:
    d = _started(HeldWalks(Core.restore(settings(), (), {})))
    d.disk[IN_FOLDER] = sig(1)
    d.feed(DirectoryChanged(ROOT, FOLDER, d.now - 0.01))
    d.answer_walks()  # the new project waits out its quiet period
    d.feed(DirectoryGone(ROOT, FOLDER, d.now - 0.02))
    d.advance(30)
    assert d.stored[IN_FOLDER].state == "imported"


def test_a_walk_asked_before_a_folder_went_does_not_bring_its_project_back() -> None:
    """The other way round (simulator seed 501562): listed before the folder moved
    away, the walk's findings say nothing of the project now."""
    d = _started(HeldWalks(Core.restore(settings(), (), {}), disk={IN_FOLDER: sig(1)}))
    d.advance(30)
    d.feed(DirectoryChanged(ROOT, FOLDER, d.now - 0.02))
    d.feed(DirectoryGone(ROOT, FOLDER, d.now - 0.01))  # moved away after the walk began
    d.answer_walks()  # its listing was taken before the move
    d.advance(30)
    assert d.stored[IN_FOLDER].missing_since is not None


def _imported_missing(missing_since: float) -> ProjectRecord:
    return ProjectRecord(
        path=A,
        root=ROOT,
        kind="Ableton",
        title="a",
        project_type="als",
        project_path=A,
        preview_path=None,
        generate_previews=True,
        signature=sig(1),
        state="imported",
        import_id="imp-0",
        imported_at=WALL0 - 600,
        missing_since=missing_since,
    )


def test_missing_in_an_earlier_life_whose_clock_was_ahead_is_found_by_the_first_walk() -> None:
    """Simulator seed 34977: found missing while its folder was offline, then saved
    there; the wall clock stepped back across the restart, so every walk of the new
    life seemed to start before the project went missing and passed it over: its
    last change was never sent."""
    record = _imported_missing(WALL0 + 500)  # the earlier life's clock was ahead
    d = Driver(Core.restore(settings(), [record], {}), disk={A: replace(sig(1), size=999)})
    d.stored[A] = record
    _started(d)
    d.advance(30)
    assert d.stored[A].missing_since is None
    assert d.stored[A].state == "imported" and d.stored[A].signature.size == 999
    assert [i.key for s in d.sends() for i in s.items] == [A]


def test_missing_in_an_earlier_life_and_back_unchanged_is_back_not_sent() -> None:
    record = _imported_missing(WALL0 + 500)
    d = Driver(Core.restore(settings(), [record], {}), disk={A: sig(1)}, stored={A: record})
    _started(d)
    d.advance(30)
    assert d.stored[A].missing_since is None and d.stored[A].state == "imported"
    assert not d.sends()
