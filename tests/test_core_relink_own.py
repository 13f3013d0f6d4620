"""A project with two sessions by design keeps the one its own record names (simulator
seed 100022626; README "Moves and renames").

A project moved and saved before the daemon looked at it is imported as new, and its
first session is kept where it was; moved back there, it has two sessions, both
recorded with its bytes and its inode (one of them missing). A copy of it in another
watched folder, where an inode says nothing, is taken for the missing one (a guess),
its PATCH not sent yet. The project then renamed is found with the inode of its own
record, missing at the name it left: that session follows it, as any move. The copy's
relink is not taken back for it (that rule is for a project found after a copy was
taken for it while its own path was empty): it would move the other session onto the
project and leave the project's own at a path nothing is at.
"""

from __future__ import annotations

from dataclasses import replace

from tests.test_core import WALL0, settings, sig
from tests.test_core_relink_sweep import A, B, SlowProbes, sent_since
from tests.test_core_volumes import items_sent, relinked
from watcher.core import Core
from watcher.core.inputs import ProjectChanged, ProjectGone, Started
from watcher.core.settings import FolderSettings


def test_a_project_renamed_keeps_its_own_session_not_the_one_a_copy_was_given() -> None:
    d = SlowProbes(Core.restore(settings(folders=(FolderSettings(A), FolderSettings(B))), (), {}))
    home, split = f"{B}/Kite/song.als", f"{B}/Moved/song.als"
    here, renamed, dup = f"{A}/Kite/song.als", f"{A}/Kite/Renamed.als", f"{A}/Copy/song.als"
    d.disk[home], d.identity[home] = sig(1), "id-1"
    d.disk[f"{B}/other.als"], d.identity[f"{B}/other.als"] = sig(2), "id-o"  # B stays online
    d.disk[f"{A}/other.als"], d.identity[f"{A}/other.als"] = sig(3), "id-p"  # A too
    d.feed(Started(wall=WALL0))
    d.advance(10)
    assert home in items_sent(d)

    # Moved and saved before the core looked: new bytes, imported as new (a second session).
    d.disk[split], d.identity[split] = replace(d.disk.pop(home), size=500), "id-2"
    d.identity.pop(home)
    d.feed(ProjectGone(B, home, d.now))
    d.feed(ProjectChanged(B, split, False, d.now))
    d.advance(10)
    assert items_sent(d).count(split) == 1 and d.stored[home].missing_since is not None
    # Back at its first path: its change goes to the first session; both name its bytes.
    d.disk[home], d.identity[home] = d.disk.pop(split), "id-2"
    d.identity.pop(split)
    d.feed(ProjectGone(B, split, d.now))
    d.feed(ProjectChanged(B, home, False, d.now))
    d.advance(10)
    assert d.stored[home].state == "imported" and d.stored[home].identity == "id-2"
    assert d.stored[split].missing_since is not None and d.stored[split].identity == "id-2"
    # Moved to A (one volume: its inode, size and time kept): its own session follows.
    d.disk[here], d.identity[here] = d.disk.pop(home), "id-2"
    d.identity.pop(home)
    d.feed(ProjectGone(B, home, d.now))
    d.feed(ProjectChanged(A, here, False, d.now))
    d.advance(10)
    assert (home, here) in relinked(d) and d.stored[here].state == "imported"

    # SessionDock starting: relinks refused. A copy in A (another inode) is taken for
    # the missing one in B (a guess: on B an inode says nothing to A's files).
    d.refusing = True
    d.disk[dup], d.identity[dup] = replace(d.disk[here], inode=77), "id-2"
    d.feed(ProjectChanged(A, dup, False, d.now))
    d.advance(10)
    assert d.stored[dup].state == "relinking" and d.stored[dup].moved_from == split
    # The project renamed: found with the inode its own record, missing, had.
    d.disk[renamed], d.identity[renamed] = d.disk.pop(here), "id-2"
    d.identity.pop(here)
    d.feed(ProjectGone(A, here, d.now))
    d.feed(ProjectChanged(A, renamed, False, d.now))
    d.advance(10)
    assert not d.logs("project_relink_retaken"), "its own session is there to follow it"
    assert d.stored[renamed].moved_from == here, "its own session follows it"

    tried, d.refusing = len(d.relinks), False
    d.advance(600)
    assert sorted(sent_since(d, tried)) == [(here, renamed), (split, dup)]
    assert d.stored[renamed].state == "imported"
    assert d.stored[renamed].session_id == f"s:{here}"
    assert here not in d.stored, "no session is left at the name the project left"
    # The copy keeps the session it was given, and is sent its bytes once: a guess
    # (another inode), the session holds what SessionDock read of the original (118000211).
    assert items_sent(d).count(dup) == 1, "the copy keeps the session it was given"
