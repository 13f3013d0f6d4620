"""A project moved (its file, its inode), gone from its new path before the PATCH
went, may be back where its session still is (simulator seed 153002999).

The relink of a file that moved itself needs no look at the path it left while the
file is at its new path: nothing else can be the project. Once that file is gone from
there too, the project may have moved back, unseen (the daemon stopping, its events
lost): the PATCH then waits for the walk after a start and a stat of the session's
path, as a relink taken for a copy does, and a project found back there undoes it.
"""

from __future__ import annotations

from tests.test_core import ROOT
from tests.test_core_relink_sweep import SlowProbes, refusing, sent_since, started_again
from tests.test_core_volumes import items_sent
from watcher.core.inputs import ProjectChanged, ProjectGone

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
