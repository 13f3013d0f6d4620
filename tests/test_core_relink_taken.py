"""A relink never moves the session of a project still at its path (issue 12's "never
relink a project whose original is still there"; simulator seeds 87675, 88718).

A copy taken for a project gone from its path (its session's path found empty) is a
guess: the relink it makes waits for its PATCH, and whatever file turns up at the path
the session still points at before that PATCH goes out is the session's project there,
whatever its bytes and inode (saved where the daemon could not see it, then restored):
the relink is undone, the file keeps the session (its bytes sent to it), and the copy
is imported as new.
"""

from __future__ import annotations

from dataclasses import replace

from tests.test_core import ROOT
from tests.test_core_relink_sweep import refusing, sent_since
from tests.test_core_volumes import items_sent
from watcher.core.inputs import ProjectChanged, ProjectGone


def test_a_project_back_at_its_sessions_path_with_other_bytes_keeps_its_session() -> None:
    """Seeds 87675, 88718: a trashed; a copy of it (another inode) taken for it, its
    PATCH refused; a was saved unseen (new bytes, a new inode: an atomic save) and is
    restored at its path. Neither its bytes nor its inode are the ones recorded, but
    the session is still at that path: the relink is undone, a's new bytes are sent
    to its session, and the copy is imported as new."""
    a, dup = f"{ROOT}/a.als", f"{ROOT}/Copy/a.als"
    d = refusing({a: "id-a", f"{ROOT}/other.als": "id-o"})
    trashed = d.disk.pop(a)
    d.feed(ProjectGone(ROOT, a, d.now))
    d.disk[dup], d.identity[dup] = replace(trashed, inode=77), "id-a"
    d.feed(ProjectChanged(ROOT, dup, False, d.now))
    d.advance(10)
    assert d.stored[dup].state == "relinking", "a's path is empty: the copy is taken for a"
    d.disk[a], d.identity[a] = replace(trashed, size=999, inode=78), "id-a saved"  # restored
    d.feed(ProjectChanged(ROOT, a, False, d.now))
    d.advance(10)
    assert d.stored[a].moved_from is None and d.logs("project_relink_undone")
    tried, d.refusing = len(d.relinks), False
    d.advance(600)
    assert all(new != dup for _, new in sent_since(d, tried)), "the session stays off the copy"
    assert items_sent(d).count(dup) == 1, "the copy is imported as new"
    assert items_sent(d).count(a) == 2, "a's new bytes are sent to its session"
    assert d.stored[a].state == "imported"
