"""A copy taken for a project that moved unseen, itself moved on unseen before the
project is found (simulator seed 200009208).

The copy's record is missing then (its new path not looked at yet), but the project
found has the inode its session's project had: the relink is the project's, taken back
as when the copy is still there (seed 201694), and the copy, found where it went, is
imported as new. Queued as new instead, the project left a session at its path once
it moved on, beside the one it took back later.
"""

from __future__ import annotations

from dataclasses import replace

from tests.test_core import ROOT
from tests.test_core_relink_sweep import refusing, sent_since
from tests.test_core_volumes import items_sent
from watcher.core.inputs import ProjectChanged, ProjectGone


def test_the_project_takes_back_the_relink_of_a_copy_that_moved_on_unseen() -> None:
    a, moved = f"{ROOT}/a.als", f"{ROOT}/Moved/a.als"
    dup, renamed = f"{ROOT}/Copy/a.als", f"{ROOT}/Copy/b.als"
    d = refusing({a: "id-a", f"{ROOT}/other.als": "id-o"})
    d.disk[moved] = d.disk.pop(a)  # its events lost
    d.disk[dup], d.identity[dup] = replace(d.disk[moved], inode=77), "id-a"
    d.feed(ProjectChanged(ROOT, dup, False, d.now))
    d.advance(10)
    assert d.stored[dup].state == "relinking", "taken for a moved: a's path is empty"
    # The copy renamed (its new name's event lost), then a and the copy found at once:
    # the copy's new path still being probed when a is looked at.
    d.disk[renamed], d.identity[renamed] = d.disk.pop(dup), "id-a"
    d.identity[moved] = "id-a"
    d.slow.add(renamed)
    d.feed(ProjectGone(ROOT, dup, d.now))
    d.feed(ProjectChanged(ROOT, renamed, False, d.now))
    d.feed(ProjectChanged(ROOT, moved, False, d.now))
    d.advance(10)
    assert d.stored[moved].state == "relinking", "a takes its session back"
    assert d.logs("project_relink_retaken")
    d.let_go()
    tried, d.refusing = len(d.relinks), False
    d.advance(600)
    assert sent_since(d, tried) == [(a, moved)], "the session follows a, never the copy"
    assert d.stored[moved].state == "imported" and moved not in items_sent(d)
    assert items_sent(d).count(renamed) == 1, "the copy is imported as new"
    assert dup not in items_sent(d) and dup not in d.stored
