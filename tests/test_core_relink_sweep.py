"""Relink classes of the issue 12 sweep (simulator seeds 12126, 12153, 15200, 200349,
200853, 15869, 201694, 201468, 1542, 200742, 701493, 2001702, 4201447, 1104500 and
3405077;
tests/test_core_relink_left.py has the classes that left a session behind).

A copy of a project still there, with the bytes of a missing twin of it, is a copy, not
the twin moved (a move keeps the inode). A project queued in a folder the core believes
offline, moved out of it: the stat that finds its old path empty cannot tell a move
from the drive being away, so the moved one is queued as new; the old record is held
until the folder's walk looks, and cancelled when it does not find it, never sent from
a path where nothing is. A copy never takes the session of a project moved (its PATCH
not answered) while a file at the path the session still points at is being looked at:
the project may be back there. Nor while the project may be back there unseen (moved
back, its events lost): that path is stat'ed with the originals. A copy never takes the
session of a missing twin restored unseen either: the twin's path is stat'ed too, even
when the copy is on another volume. A twin restored at its session's path with the inode
its session's project had there keeps the session before the PATCH is sent, whatever its
bytes (saved in the trash). A project moved unseen, found after a copy was taken for it,
with the inode its session's project had: the relink is its own, the copy is new. A
relink decided waits to be sent while a file at its session's path is being looked at.
A twin moved onto the path a project left keeping its inode is not that project back.
A project back at its session's path after a PATCH whose answer was lost (it may have
acted) has its session pointed back at it, never left where that PATCH may have put it.
A copy is not taken for a missing project whose file, moved to another watched folder
(on the same volume), waits to be looked at there with the inode, size and time it had;
found there after the copy was taken for it, it takes the relink back. A PATCH by path
that found no session did not act: a project moved back after it keeps its session.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from tests.test_core import ROOT, WALL0, settings, sig
from tests.test_core_moves import MovingDriver, start
from tests.test_core_volumes import VolumeDriver, items_sent, relinked
from watcher.core import Core
from watcher.core.effects import CheckFolder, Effect, Probe, Relink
from watcher.core.inputs import (
    DirectoryGone,
    Failure,
    FolderChecked,
    ProjectChanged,
    ProjectGone,
    RelinkAnswered,
    Relinked,
    Started,
)
from watcher.core.settings import FolderSettings

A, B = "/Volumes/A", "/Volumes/B"


@dataclass
class Unplugging(VolumeDriver):
    """Folders in `unplugged` are not there when checked."""

    unplugged: set[str] = field(default_factory=set)

    def carry_out(self, effect: Effect) -> None:
        if isinstance(effect, CheckFolder):
            self.feed(FolderChecked(effect.root, effect.root not in self.unplugged))
        else:
            super().carry_out(effect)


def test_a_queued_project_moved_out_of_a_folder_back_unseen_is_sent_once() -> None:
    d = Unplugging(Core.restore(settings(folders=(FolderSettings(A), FolderSettings(B))), (), {}))
    other, song, moved = f"{B}/other.als", f"{A}/Song/song.als", f"{B}/Kite/song.als"
    d.disk[other], d.identity[other] = sig(1), "id-o"
    d.hold = True  # SessionDock does not answer yet: what is found stays queued
    d.feed(Started(wall=WALL0))
    d.advance(10)
    d.disk[song], d.identity[song] = sig(2), "id-s"
    d.feed(ProjectChanged(A, song, False, d.now))
    d.advance(10)
    assert d.stored[song].state == "pending"
    d.unplugged.add(A)
    d.feed(DirectoryGone(A, A, d.now))  # the drive goes away
    d.advance(1)
    d.disk[moved], d.identity[moved] = d.disk.pop(song), "id-s"  # its event lost
    d.feed(ProjectChanged(B, moved, False, d.now))
    d.advance(10)  # its old path stat'ed: nothing, its folder still offline to the core
    assert d.stored[moved].state == "pending", "new: its old folder could not be looked at"
    d.unplugged.clear()
    d.hold = False
    for effect in d.held:  # it answers now
        d.carry_out(effect)
    d.advance(120)  # the folder is found back and walked
    assert song not in items_sent(d), "never sent from the path it left"
    assert song not in d.stored
    assert items_sent(d).count(moved) == 1


def test_a_copy_of_a_project_still_there_is_not_its_missing_twin_moved() -> None:
    """Seed 12126: b, a copy of a, trashed; then a copied (another inode). The new file
    has b's bytes, but a's too, and a is still there: it is a's copy, imported as new;
    b's session stays at b's path (b may be restored there, saved meanwhile)."""
    d = start(a="same", b="same")
    a, b, dup = f"{ROOT}/a.als", f"{ROOT}/b.als", f"{ROOT}/Copy/a.als"
    d.disk.pop(b)
    d.feed(ProjectGone(ROOT, b, d.now))
    d.disk[dup], d.identity[dup] = replace(d.disk[a], inode=77), "same"
    d.feed(ProjectChanged(ROOT, dup, False, d.now))
    d.advance(10)
    assert not d.relinks, "b's session is never moved to a copy of a"
    assert d.stored[b].missing_since is not None and d.stored[b].state == "imported"
    assert items_sent(d)[-1] == dup, "imported as new"
    assert d.logs("project_copy")


@dataclass
class SlowProbes(VolumeDriver):
    """Probes of paths in `slow` wait until `let_go`; relinks fail while `refusing`."""

    slow: set[str] = field(default_factory=set)
    probes: list[Probe] = field(default_factory=list)
    refusing: bool = False

    def carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Probe) and effect.path in self.slow:
            self.probes.append(effect)
        elif isinstance(effect, Relink) and self.refusing:
            self.relinks.append(effect)
            down = Failure("server", "HTTP 503 unavailable: starting", "check SessionDock")
            self.feed(RelinkAnswered(effect.request, Relinked(()), failure=down))
        else:
            super().carry_out(effect)

    def let_go(self) -> None:
        self.slow.clear()
        for probe in self.probes:
            self.carry_out(probe)
        self.probes.clear()


def started_again(d: MovingDriver) -> SlowProbes:
    """A new life 60 s after the start, from what `d` stored (the daemon stopped or
    died), run for 10 minutes with SessionDock answering."""
    again = SlowProbes(Core.restore(settings(), d.stored.values(), d.meta), disk=dict(d.disk))
    again.identity = dict(d.identity)
    again.feed(Started(wall=WALL0 + 60))
    again.advance(600)
    return again


def test_a_copy_never_takes_the_session_of_a_project_back_where_it_is() -> None:
    """Seed 15200: a folder moved from B to A (its PATCH failing: SessionDock starting),
    the project in it copied, then moved back to B. The copy's check of the path the
    project left finds nothing, while the file back at the session's path is still
    being probed (on B: its inode says nothing to A's file): the copy is imported as
    new, and the session stays with the project, back at its path."""
    d = SlowProbes(Core.restore(settings(folders=(FolderSettings(A), FolderSettings(B))), (), {}))
    home, away, dup = f"{B}/Kite/song.als", f"{A}/Moved/song.als", f"{A}/Moved/song copy.als"
    d.disk[home], d.identity[home] = sig(1), "id-s"
    d.disk[f"{B}/other.als"], d.identity[f"{B}/other.als"] = sig(2), "id-o"  # B stays online
    d.feed(Started(wall=WALL0))
    d.advance(10)
    assert home in items_sent(d)
    d.refusing = True
    d.disk[away], d.identity[away] = d.disk.pop(home), "id-s"
    d.feed(ProjectGone(B, home, d.now))
    d.feed(ProjectChanged(A, away, False, d.now))
    d.advance(10)
    assert d.stored[away].state == "relinking" and d.stored[away].moved_from == home
    d.disk[dup], d.identity[dup] = replace(d.disk[away], inode=77), "id-s"
    d.feed(ProjectChanged(A, dup, False, d.now))
    d.disk[home], d.identity[home] = d.disk.pop(away), "id-s"  # moved back
    d.slow.add(home)
    d.feed(ProjectGone(A, away, d.now))
    d.feed(ProjectChanged(B, home, False, d.now))
    d.advance(10)
    assert d.probes, "the file back at the session's path is being looked at"
    assert (home, dup) not in relinked(d)
    assert d.stored[dup].state != "relinking", "the copy does not take the session"
    d.let_go()
    d.refusing = False
    d.advance(600)
    assert (home, dup) not in relinked(d), "the session never moves to the copy"
    assert items_sent(d).count(dup) == 1, "the copy is imported as new"
    assert items_sent(d).count(home) == 1, "the project is never imported again"


def refusing(files: dict[str, str], roots: tuple[str, ...] = (ROOT,)) -> SlowProbes:
    """Projects imported, then SessionDock refusing relinks (starting: 503)."""
    folders = tuple(FolderSettings(root) for root in roots)
    d = SlowProbes(Core.restore(settings(folders=folders), (), {}))
    for n, (path, ident) in enumerate(sorted(files.items()), 1):
        d.disk[path], d.identity[path] = sig(n), ident
    d.feed(Started(wall=WALL0))
    d.advance(10)
    assert sorted(items_sent(d)) == sorted(files)
    d.refusing = True
    return d


def sent_since(d: SlowProbes, tried: int) -> list[tuple[str, str]]:
    """The relinks sent once SessionDock stopped refusing them: (old, new) paths."""
    return [(i.old_path, i.new_path) for r in d.relinks[tried:] for i in r.items]


def test_a_copy_never_takes_a_session_whose_project_moved_back_unseen() -> None:
    """Seed 200349: a moved (its PATCH refused), then moved back with its events lost;
    a copy of it (another inode) is found. The path a's record has is empty, but the
    session still points at a's first path, which is stat'ed too: a is there."""
    home, away, dup = f"{ROOT}/a.als", f"{ROOT}/Done/a.als", f"{ROOT}/b.als"
    d = refusing({home: "id-a", f"{ROOT}/other.als": "id-o"})
    d.disk[away], d.identity[away] = d.disk.pop(home), "id-a"
    d.feed(ProjectGone(ROOT, home, d.now))
    d.feed(ProjectChanged(ROOT, away, False, d.now))
    d.advance(10)
    assert d.stored[away].state == "relinking" and d.stored[away].moved_from == home
    d.disk[home] = d.disk.pop(away)  # moved back: no event
    d.disk[dup], d.identity[dup] = replace(d.disk[home], inode=77), "id-a"
    d.feed(ProjectChanged(ROOT, dup, False, d.now))
    d.advance(10)
    assert d.stored[dup].state != "relinking", "the copy does not take the session"
    tried, d.refusing = len(d.relinks), False
    d.advance(600)
    assert all(new != dup for _, new in sent_since(d, tried)), "the session stays off the copy"
    assert items_sent(d).count(dup) == 1, "the copy is imported as new"
    assert d.stored[home].state in ("imported", "relinking"), "a's session is at a's path"


def test_a_copy_never_takes_the_session_of_a_twin_restored_unseen() -> None:
    """Seed 200853: b (a's twin) trashed, then restored with its event lost; a copy
    of them is found on another volume, where inodes say nothing. a is looked at, as
    before, and so is b's path, where b is: the copy is imported as new."""
    a, b, dup = f"{B}/a.als", f"{B}/b.als", f"{A}/c.als"
    d = refusing({a: "same", b: "same", f"{A}/other.als": "id-o"}, roots=(A, B))
    trashed = d.disk.pop(b)
    d.feed(ProjectGone(B, b, d.now))
    d.advance(10)
    assert d.stored[b].missing_since is not None
    d.disk[b] = trashed  # restored: no event
    d.disk[dup], d.identity[dup] = replace(trashed, inode=77), "same"
    d.feed(ProjectChanged(A, dup, False, d.now))
    d.refusing = False
    d.advance(600)
    assert not d.relinks, "b's session never moves to the copy"
    assert items_sent(d).count(dup) == 1, "the copy is imported as new"
    assert d.stored[b].missing_since is None, "b is found back"


def test_a_twin_restored_after_a_save_in_the_trash_keeps_its_session() -> None:
    """Seed 15869: a trashed; a duplicate (another inode) taken for it, its PATCH
    refused; a saved in the trash (new bytes) and restored at its path. a has the
    inode its session's project had there: the relink is undone, the duplicate is
    imported as new, and a's new bytes are sent to its session."""
    a, dup = f"{ROOT}/a.als", f"{ROOT}/a 2.als"
    d = refusing({a: "id-a", f"{ROOT}/other.als": "id-o"})
    trashed = d.disk.pop(a)
    d.feed(ProjectGone(ROOT, a, d.now))
    d.disk[dup], d.identity[dup] = replace(trashed, inode=77), "id-a"
    d.feed(ProjectChanged(ROOT, dup, False, d.now))
    d.advance(10)
    assert d.stored[dup].state == "relinking" and d.stored[dup].moved_inode == trashed.inode
    d.disk[a], d.identity[a] = replace(trashed, size=999), "id-a saved"  # restored
    d.feed(ProjectChanged(ROOT, a, False, d.now))
    d.advance(10)
    assert d.stored[a].moved_from is None and d.logs("project_relink_undone")
    tried, d.refusing = len(d.relinks), False
    d.advance(600)
    assert all(new != dup for _, new in sent_since(d, tried)), "the session stays off the copy"
    assert items_sent(d).count(dup) == 1, "the duplicate is imported as new"
    assert items_sent(d).count(a) == 2, "a's new bytes are sent to its session"


def test_the_project_moved_unseen_takes_back_the_relink_a_copy_was_given() -> None:
    """Seed 201694: a moved with its events lost, then copied (another inode). The
    copy is found first: a's path is empty, so it is taken for a moved. Then a is
    found, with the inode a's session's project had: the PATCH (refused so far) is
    a's, and the copy is imported as new."""
    a, moved, dup = f"{ROOT}/a.als", f"{ROOT}/Done/a.als", f"{ROOT}/Done 2/a.als"
    d = refusing({a: "id-a", f"{ROOT}/other.als": "id-o"})
    d.disk[moved] = d.disk.pop(a)  # no event
    d.disk[dup], d.identity[dup] = replace(d.disk[moved], inode=77), "id-a"
    d.feed(ProjectChanged(ROOT, dup, False, d.now))
    d.advance(10)
    assert d.stored[dup].state == "relinking", "taken for a moved: a's path is empty"
    d.identity[moved] = "id-a"
    d.feed(ProjectChanged(ROOT, moved, False, d.now))
    d.advance(10)
    assert d.stored[moved].state == "relinking" and d.logs("project_relink_retaken")
    tried, d.refusing = len(d.relinks), False
    d.advance(600)
    assert sent_since(d, tried) == [(a, moved)], "the session follows a, not the copy"
    assert d.stored[moved].state == "imported" and d.stored[moved].moved_from is None
    assert items_sent(d).count(dup) == 1, "the copy is imported as new"


def test_a_relink_waits_while_a_file_at_its_sessions_path_is_looked_at() -> None:
    """Seed 201468: a moved to another volume, copied (another inode) on its first one;
    the copy taken for it is relinking (PATCH refused) when a moves back: while that
    file waits out its quiet period, the PATCH is not sent (SessionDock back); once it
    is probed, the relink is undone and the copy imported as new."""
    a, away, dup = f"{A}/a.als", f"{B}/a.als", f"{A}/Copy/a.als"
    d = refusing({a: "id-a", f"{B}/other.als": "id-o"}, roots=(A, B))
    d.disk[dup], d.identity[dup] = replace(d.disk[a], inode=77), "id-a"
    d.disk[away], d.identity[away] = d.disk.pop(a), "id-a"
    d.feed(ProjectGone(A, a, d.now))
    d.feed(ProjectChanged(A, dup, False, d.now))
    d.advance(10)
    assert d.stored[dup].state == "relinking", "a's path is empty: the copy is taken for a"
    d.disk[a] = d.disk.pop(away)  # back, its event seen; the other volume's events lost
    d.feed(ProjectChanged(A, a, False, d.now))
    tried, d.refusing = len(d.relinks), False
    d.advance(1)
    assert not sent_since(d, tried), "no PATCH while a's file waits to be looked at"
    d.advance(600)
    assert d.logs("project_relink_undone") and d.stored[a].state == "imported"
    assert all(new != dup for _, new in sent_since(d, tried)), "the session stays off the copy"
    assert items_sent(d).count(dup) == 1, "the copy is imported as new"


def test_a_twin_moved_onto_the_path_a_project_left_does_not_undo_its_move() -> None:
    """Seed 1542 (once the relink above waited): b moved, keeping its inode (its PATCH
    refused), then a, b's twin, moved onto the path b left. a is not b back (another
    inode, though the same bytes): b's relink goes out, and a's session follows a."""
    a, b, moved = f"{ROOT}/a.als", f"{ROOT}/b.als", f"{ROOT}/Done/b.als"
    d = refusing({a: "same", b: "same"})
    d.disk[moved], d.identity[moved] = d.disk.pop(b), "same"
    d.feed(ProjectGone(ROOT, b, d.now))
    d.feed(ProjectChanged(ROOT, moved, False, d.now))
    d.advance(10)
    assert d.stored[moved].state == "relinking"
    d.disk[b] = d.disk.pop(a)
    d.feed(ProjectGone(ROOT, a, d.now))
    d.feed(ProjectChanged(ROOT, b, False, d.now))
    tried, d.refusing = len(d.relinks), False
    d.advance(600)
    assert not d.logs("project_relink_undone"), "a is not b back"
    assert sent_since(d, tried) == [(b, moved), (a, b)]
    assert not items_sent(d)[2:], "nothing is imported again"


def test_a_project_back_after_a_patch_whose_answer_was_lost_is_relinked_back() -> None:
    """Seed 200742: a moved; its PATCH timed out (SessionDock may have acted); a moved
    back, its gone event lost. The session may be at either path: it is pointed back
    at a's path (by id, or by either path), never left where the lost PATCH put it."""
    home, away = f"{ROOT}/a.als", f"{ROOT}/Done/a.als"
    d = refusing({home: "id-a", f"{ROOT}/other.als": "id-o"})
    d.refusing = False
    d.hold_relinks = True  # the PATCH goes out; its answer is lost
    d.disk[away], d.identity[away] = d.disk.pop(home), "id-a"
    d.feed(ProjectGone(ROOT, home, d.now))
    d.feed(ProjectChanged(ROOT, away, False, d.now))
    d.advance(10)
    [lost] = d.relinks
    timeout = Failure("unreachable", "cannot reach SessionDock (timeout)", "retrying")
    d.feed(RelinkAnswered(lost.request, Relinked(()), failure=timeout))
    assert d.stored[away].attempts == 1
    d.disk[home] = d.disk.pop(away)  # moved back: only its new path is reported
    d.feed(ProjectChanged(ROOT, home, False, d.now))
    d.hold_relinks = False
    d.advance(600)
    assert sent_since(d, 1)[-1:] == [(away, home)], "the session is pointed back at a"
    assert d.stored[home].state == "imported" and d.stored[home].moved_from is None


def test_a_copy_is_not_taken_for_a_project_moved_to_another_watched_folder() -> None:
    """Seeds 2001702, 701493: a moved from B to A (another watched folder, same volume)
    while a copy of it (another inode) turns up in B. The copy is looked at first, a
    waits out its quiet period in A with the inode, size and time it had in B: that
    file is a moved, the copy is imported as new, and a's session follows a."""
    home, away, dup = f"{B}/Song/a.als", f"{A}/a.als", f"{B}/Copy/a.als"
    d = refusing({home: "id-a", f"{A}/other.als": "id-o"}, roots=(A, B))
    d.refusing = False
    d.disk[dup], d.identity[dup] = replace(d.disk[home], inode=77), "id-a"
    d.feed(ProjectChanged(B, dup, False, d.now))
    d.advance(3)
    d.disk[away], d.identity[away] = d.disk.pop(home), "id-a"
    d.feed(ProjectGone(B, home, d.now))
    d.feed(ProjectChanged(A, away, False, d.now))
    d.advance(600)
    assert relinked(d) == [(home, away)], "a's session follows a, never the copy"
    assert items_sent(d).count(dup) == 1, "the copy is imported as new"
    assert away not in items_sent(d)


def test_the_original_moved_to_another_folder_takes_the_relink_a_copy_was_given() -> None:
    """Seed 4201447: a's folder copied (another inode, the same size and time), then a
    moved into another watched folder on its volume. The copy is found first, a's path
    empty: taken for a moved. Its PATCHes by path find no session (SessionDock does not
    list it yet): they did not act. Then a is found, with the inode, size and time a's
    session's project had: the relink is a's, and the copy is imported as new."""
    d = SlowProbes(Core.restore(settings(folders=(FolderSettings(A), FolderSettings(B))), (), {}))
    home, dup, away = f"{A}/Song/a.als", f"{A}/Copy/a.als", f"{B}/Imported/a.als"
    d.disk[home], d.identity[home] = sig(1), "id-a"
    d.disk[f"{B}/other.als"], d.identity[f"{B}/other.als"] = sig(2), "id-o"
    d.feed(Started(wall=WALL0))
    d.advance(10)
    assert home in items_sent(d)
    d.deleted_sessions.add(home)  # not listed yet: a PATCH by path finds none
    d.disk[dup], d.identity[dup] = replace(d.disk[home], inode=77), "id-a"
    d.feed(ProjectChanged(A, dup, False, d.now))
    d.disk[away], d.identity[away] = d.disk.pop(home), "id-a"
    d.feed(ProjectGone(A, home, d.now))
    d.advance(10)
    assert d.stored[dup].state == "relinking" and (home, dup) in relinked(d)
    d.feed(ProjectChanged(B, away, False, d.now))
    d.advance(10)
    assert d.stored[away].state == "relinking" and d.logs("project_relink_retaken")
    tried = len(d.relinks)
    d.deleted_sessions.clear()  # listed now
    d.advance(600)
    assert sent_since(d, tried) == [(home, away)], "the session follows a, not the copy"
    assert d.stored[away].state == "imported" and d.stored[away].moved_from is None
    assert items_sent(d).count(dup) == 1, "the copy is imported as new"
    assert away not in items_sent(d), "a is never imported again"


def test_a_project_moved_back_after_patches_that_found_no_session_keeps_it() -> None:
    """Seeds 1104500, 3405077: a moved; its PATCHes by path find no session (SessionDock
    does not list it yet), so none acted. Moved back before one does: the session is
    where it always was, nothing is sent for it (never looked for at the path a moved
    to, not found there, and a imported anew beside it)."""
    home, away = f"{ROOT}/Intro/a.als", f"{ROOT}/Done/a.als"
    d = refusing({home: "id-a", f"{ROOT}/other.als": "id-o"})
    d.refusing = False
    d.deleted_sessions.add(home)  # not listed yet: a PATCH by path finds none
    d.disk[away], d.identity[away] = d.disk.pop(home), "id-a"
    d.feed(ProjectGone(ROOT, home, d.now))
    d.feed(ProjectChanged(ROOT, away, False, d.now))
    d.advance(10)
    assert (home, away) in relinked(d) and d.stored[away].state == "relinking"
    assert d.stored[away].attempts == 0, "a PATCH that found no session did not act"
    d.disk[home], d.identity[home] = d.disk.pop(away), "id-a"  # moved back
    d.feed(ProjectGone(ROOT, away, d.now))
    d.feed(ProjectChanged(ROOT, home, False, d.now))
    d.advance(10)
    tried = len(d.relinks)
    d.deleted_sessions.clear()  # listed now
    d.advance(600)
    assert d.logs("project_relink_undone")
    assert not sent_since(d, tried), "the session never left a's path"
    assert d.stored[home].state == "imported" and d.stored[home].moved_from is None
    assert items_sent(d).count(home) == 1, "never imported again"
