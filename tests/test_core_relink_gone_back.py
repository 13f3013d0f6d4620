"""A project moved (its file, its inode), gone from its new path before the PATCH
went, may be back where its session still is (simulator seed 153002999).

The relink of a file that moved itself needs no look at the path it left while the
file is at its new path: nothing else can be the project. Once that file is gone from
there too, the project may have moved back, unseen (the daemon stopping, its events
lost): the PATCH then waits for the walk after a start and a stat of the session's
path, as a relink taken for a copy does, and a project found back there undoes it.
So it does while the file at its new path is not known to be the one that moved: at a
start, before the walk of its folder, and while another file (another inode) found
there is looked at (a copy moved onto that path: simulator seed 270094505).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from tests.test_core import ROOT, WALL0, settings, sig
from tests.test_core_relink_sweep import (
    A,
    B,
    SlowProbes,
    Unplugging,
    refusing,
    sent_since,
    started_again,
)
from tests.test_core_volumes import items_sent
from watcher.core import Core
from watcher.core.effects import Effect, Walk
from watcher.core.inputs import ProjectChanged, ProjectGone, Started
from watcher.core.settings import FolderSettings

HOME, AWAY = f"{ROOT}/a.als", f"{ROOT}/Done/a.als"


def moved_then_gone() -> SlowProbes:
    """a imported, moved to Done/ (its PATCH refused: SessionDock starting), then
    moved back: the core hears it gone from Done/, not back at its path."""
    d = refusing({HOME: "id-a", f"{ROOT}/other.als": "id-o"})
    d.disk[AWAY], d.identity[AWAY] = d.disk.pop(HOME), "id-a"
    d.feed(ProjectGone(ROOT, HOME, d.now))
    d.feed(ProjectChanged(ROOT, AWAY, False, d.now))
    d.advance(10)
    moving = d.stored[AWAY]
    assert moving.state == "relinking" and moving.moved_from == HOME
    assert moving.moved_inode == moving.signature.inode, "the file itself moved"
    d.disk[HOME] = d.disk.pop(AWAY)  # moved back
    d.feed(ProjectGone(ROOT, AWAY, d.now))
    assert d.stored[AWAY].missing_since is not None
    return d


def test_a_moved_project_back_while_the_daemon_was_stopped_keeps_its_session() -> None:
    """Seed 153002999: the daemon stops before it looks at a back at its path. At the
    start, the relink restored from disk does not go before the walk finds a there."""
    d = moved_then_gone()
    again = started_again(d)
    assert all(new != AWAY for _, new in sent_since(again, 0)), "the session stays at a's path"
    assert again.stored[HOME].state == "imported" and AWAY not in again.stored
    assert HOME not in items_sent(again), "a is never imported again"


def test_a_moved_project_back_unseen_keeps_its_session() -> None:
    """The same, the daemon running: its event back at its path lost, a's path is
    stat'ed before the PATCH goes, and a found there undoes the relink."""
    d = moved_then_gone()
    tried, d.refusing = len(d.relinks), False
    d.advance(600)
    assert all(new != AWAY for _, new in sent_since(d, tried)), "the session stays at a's path"
    assert d.stored[HOME].state == "imported" and AWAY not in d.stored
    assert items_sent(d).count(HOME) == 1, "a is never imported again"


@dataclass
class Stopped(Unplugging, SlowProbes):
    """Folders in `unplugged` are away; walks of `slow_walks` are not answered yet."""

    slow_walks: set[str] = field(default_factory=set)
    walks: list[Walk] = field(default_factory=list)

    def carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Walk) and effect.root in self.slow_walks:
            self.walks.append(effect)
        else:
            super().carry_out(effect)


OLD, NEW = f"{B}/Acme/song.als", f"{A}/song.als"


def moved_across_then_swapped(slow_walks: set[str]) -> Stopped:
    """Seed 270094505: a moved from B to A (its PATCH refused: SessionDock starting),
    the daemon stops; a moves back to B and a copy of it (another inode, its bytes)
    is moved onto a's new path, all unseen. The daemon starts with B away."""
    two = settings(folders=(FolderSettings(A), FolderSettings(B)))
    d = Stopped(Core.restore(two, (), {}))
    d.disk[OLD], d.identity[OLD] = sig(1), "id-a"
    d.disk[f"{A}/other.als"], d.identity[f"{A}/other.als"] = sig(2), "id-o"
    d.feed(Started(wall=WALL0))
    d.advance(10)
    d.refusing = True
    d.disk[NEW], d.identity[NEW] = d.disk.pop(OLD), "id-a"
    d.feed(ProjectGone(B, OLD, d.now))
    d.feed(ProjectChanged(A, NEW, False, d.now))
    d.advance(10)
    moving = d.stored[NEW]
    assert moving.state == "relinking" and moving.moved_inode == moving.signature.inode
    disk = dict(d.disk)
    disk[OLD] = disk.pop(NEW)  # moved back, unseen
    disk[NEW] = replace(disk[OLD], inode=77)  # a copy moved onto its path, unseen
    again = Stopped(Core.restore(two, d.stored.values(), d.meta), disk=disk)
    again.identity = {**d.identity, OLD: "id-a"}
    again.unplugged, again.slow_walks = {B}, slow_walks
    again.feed(Started(wall=WALL0 + 60))
    again.advance(5)
    return again


def test_a_copy_found_at_a_moved_files_path_after_a_start_waits_for_its_old_path() -> None:
    """The walk at the start finds another file (inode) at a's new path, and a's old
    path cannot be looked at (B away): the relink is a guess until that path is looked
    at, never sent meanwhile; B back, a is found there and keeps its session."""
    d = moved_across_then_swapped(set())
    assert not d.relinks, "held while B is away: a may be back there"
    d.advance(600)
    assert all(new != NEW for _, new in sent_since(d, 0)), "a's session stays at its path"
    d.unplugged.clear()
    d.advance(600)
    assert all(new != NEW for _, new in sent_since(d, 0)), "a's session stays at its path"
    assert d.stored[OLD].state == "imported", "a keeps its session, back at its path"
    assert items_sent(d) == [NEW], "the copy is imported as new, a never again"


def test_a_moved_files_relink_waits_for_the_walk_of_its_folder_at_a_start() -> None:
    """The same, the walk of A not answered yet: what is at a's new path is not known,
    so its relink does not go before that walk (and the look it asks for) is done."""
    d = moved_across_then_swapped({A})
    d.advance(600)
    assert not d.relinks, "not sent before A's walk says what is at a's new path"
