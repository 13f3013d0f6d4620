"""A copy taken for a project gone (a guessed relink: not the inode its session's
project had) never moves that session away from a file at the session's path
(simulator seeds 6612826, 5511109; README "Moves and renames": never relink a project
whose original is still there).

A project moved back to its session's path and saved there (a new inode) before it was
probed is taken for a twin moved onto the path it left, queued as new, while the relink
kept its inode; once that relink would be a copy's, the file there keeps the session. A
project restored at its session's path while a copy's PATCH is out is queued as new
(the answer decides); that answer lost, the project keeps its session and the copy is
imported as new, never sent again.
"""

from __future__ import annotations

from dataclasses import replace

from tests.test_core import ROOT
from tests.test_core_relink_sweep import refusing, sent_since
from tests.test_core_volumes import items_sent
from watcher.core.inputs import Failure, ProjectChanged, ProjectGone, RelinkAnswered, Relinked


def test_a_copy_never_takes_the_session_of_a_project_back_and_saved_at_its_path() -> None:
    """Seed 6612826: a moved (its PATCH refused), then moved back and saved (a new
    inode, new bytes) before it was looked at: a twin to the core, queued as new. Its
    gone event at the path it had left lost, that path is then found empty, and a copy
    of a's old bytes (another inode) is found. The session stays at a's path."""
    home, away, dup = f"{ROOT}/a.als", f"{ROOT}/Done/a.als", f"{ROOT}/Done/a copy.als"
    d = refusing({home: "id-a", f"{ROOT}/other.als": "id-o"})
    first = d.disk[home]
    d.disk[away] = d.disk.pop(home)
    d.identity[away] = "id-a"
    d.feed(ProjectGone(ROOT, home, d.now))
    d.feed(ProjectChanged(ROOT, away, False, d.now))
    d.advance(10)
    assert d.stored[away].state == "relinking" and d.stored[away].moved_from == home
    d.disk[home], d.identity[home] = replace(d.disk.pop(away), inode=99, size=999), "id-a 2"
    d.feed(ProjectChanged(ROOT, home, False, d.now))  # back and saved; away's event lost
    d.advance(10)
    assert d.stored[home].state == "pending", "taken for a twin: the relink kept its inode"
    d.feed(ProjectGone(ROOT, away, d.now))
    d.advance(1)
    d.disk[dup], d.identity[dup] = replace(first, inode=77), "id-a"
    d.feed(ProjectChanged(ROOT, dup, False, d.now))
    d.advance(10)
    assert d.stored[dup].state != "relinking", "the copy does not take the session"
    tried, d.refusing = len(d.relinks), False
    d.advance(600)
    assert all(new != dup for _, new in sent_since(d, tried)), "the session stays off the copy"
    assert items_sent(d).count(dup) == 1, "the copy is imported as new"


def test_a_project_restored_while_a_copys_patch_is_out_keeps_its_session() -> None:
    """Seed 5511109: a trashed; a copy of it (another inode) taken for it, its PATCH
    out when a is restored at its path with its inode: queued as new meanwhile. The
    PATCH's answer is lost (it may have acted): the session is pointed back at a, the
    copy imported as new; the copy's PATCH is never sent again."""
    home, dup = f"{ROOT}/a.als", f"{ROOT}/Done/a copy.als"
    d = refusing({home: "id-a", f"{ROOT}/other.als": "id-o"})
    d.refusing, d.hold_relinks = False, True
    trashed = d.disk.pop(home)
    d.feed(ProjectGone(ROOT, home, d.now))
    d.disk[dup], d.identity[dup] = replace(trashed, inode=77), "id-a"
    d.feed(ProjectChanged(ROOT, dup, False, d.now))
    d.advance(10)
    assert d.stored[dup].state == "relinking" and d.relinks, "a's path empty: a guess, sent"
    out = d.relinks[-1]
    assert [(i.old_path, i.new_path) for i in out.items] == [(home, dup)]
    d.disk[home] = trashed  # restored, with its inode
    d.feed(ProjectChanged(ROOT, home, False, d.now))
    d.advance(10)
    assert d.stored[home].state == "pending", "the PATCH is out: the answer decides"
    d.hold_relinks = False
    lost = Failure("unreachable", "cannot reach SessionDock (timeout)", "retrying")
    d.feed(RelinkAnswered(out.request, Relinked((), sent=True), failure=lost))
    tried = len(d.relinks)
    d.advance(600)
    again = sent_since(d, tried)
    assert (home, dup) not in again, "the copy's PATCH is never sent again"
    assert (dup, home) in again, "the session is pointed back at a (the PATCH may have acted)"
    assert items_sent(d).count(dup) == 1, "the copy is imported as new"
    assert items_sent(d).count(home) == 1, "a is never imported again"
