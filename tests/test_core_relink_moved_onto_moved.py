"""A project moved onto the path of another that moved away first, both unseen
(simulator seed 360002751: the folder offline meanwhile, found by the walk when back).

The file at the recorded path is not that record's file but a missing project's (its
inode, size and time), and the record's own file is found at another path: both moved.
The one renamed away keeps its session (relinked first, off the path), and the missing
one's session follows it onto that path; nothing is imported or sent again.
"""

from __future__ import annotations

import pytest

from tests.test_core import ROOT, WALL0, settings, sig
from tests.test_core_moves import MovingDriver
from watcher.core import Core
from watcher.core.inputs import EventsLost, ProjectGone, Started

HOOK, MOVED = f"{ROOT}/Copy/Hook.als", f"{ROOT}/Moved/Hook.als"


def two_imported() -> MovingDriver:
    d = MovingDriver(Core.restore(settings(), (), {}))
    d.disk[HOOK], d.identity[HOOK] = sig(1), "id-copy"
    d.disk[MOVED], d.identity[MOVED] = sig(2), "id-original"
    d.feed(Started(wall=WALL0))
    d.advance(10)
    assert {d.stored[p].state for p in (HOOK, MOVED)} == {"imported"}
    return d


@pytest.mark.parametrize("renamed", [f"{ROOT}/Copy/Renamed.als", f"{ROOT}/Copy/A renamed.als"])
def test_a_project_moved_onto_a_path_its_project_left_unseen_takes_its_own_session(
    renamed: str,
) -> None:
    """Found by one walk, the file at `HOOK` probed before the one renamed away (the
    seed's order) or after it (queued as new by then, its import not sent yet)."""
    d = two_imported()
    sends = len(d.sends())
    # The original moved away (its gone event heard: missing), then, unseen, the copy
    # renamed and the original moved onto the path the copy left, keeping its inode.
    d.disk.pop(MOVED)
    d.feed(ProjectGone(ROOT, MOVED, d.now))
    d.advance(10)
    assert d.stored[MOVED].missing_since is not None
    d.disk[renamed], d.identity[renamed] = d.disk[HOOK], d.identity[HOOK]
    d.disk[HOOK], d.identity[HOOK] = sig(2), "id-original"
    d.feed(EventsLost("queue overflow"))
    d.advance(60)
    moves = {(i.old_path, i.new_path) for r in d.relinks for i in r.items}
    assert moves == {(HOOK, renamed), (MOVED, HOOK)}, "each session follows its own file"
    assert len(d.sends()) == sends, "nothing imported anew, nor sent as a change"
    assert set(d.stored) == {HOOK, renamed}
    assert d.stored[renamed].session_id == f"s:{HOOK}"
    assert d.stored[HOOK].session_id == f"s:{MOVED}"
    assert {d.stored[p].state for p in (HOOK, renamed)} == {"imported"}
    [first] = [r for r in d.relinks if any(i.new_path == HOOK for i in r.items)]
    order = [i.new_path for i in first.items]
    assert renamed not in order or order.index(renamed) < order.index(HOOK), (
        "the path's own session is moved off it first"
    )


def test_a_restart_once_the_path_left_is_missing_finishes_both_relinks() -> None:
    """The process dies once the record at `HOOK` is written missing (the file renamed
    away, queued as new first, looked at again): what is on disk finishes the story."""
    renamed = f"{ROOT}/Copy/A renamed.als"
    d = two_imported()
    sends = len(d.sends())
    d.disk.pop(MOVED)
    d.feed(ProjectGone(ROOT, MOVED, d.now))
    d.advance(10)
    d.disk[renamed], d.identity[renamed] = d.disk[HOOK], d.identity[HOOK]
    d.disk[HOOK], d.identity[HOOK] = sig(2), "id-original"
    d.feed(EventsLost("queue overflow"))
    d.advance(6)  # the walk's quiet period over, the file at HOOK probed
    assert d.stored[HOOK].missing_since is not None and renamed not in d.stored
    assert not d.relinks
    core = Core.restore(settings(), list(d.stored.values()), dict(d.meta))
    again = MovingDriver(core, now=d.now, disk=d.disk, identity=d.identity)
    again.feed(Started(wall=WALL0 + d.now))
    again.advance(60)
    moves = {(i.old_path, i.new_path) for r in again.relinks for i in r.items}
    assert moves == {(HOOK, renamed), (MOVED, HOOK)}
    assert len(again.sends()) == 0 and len(d.sends()) == sends
    assert {again.stored[p].state for p in (HOOK, renamed)} == {"imported"}
    assert set(again.stored) == {HOOK, renamed}
