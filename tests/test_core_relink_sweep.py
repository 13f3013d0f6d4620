"""Relink classes of the issue 12 sweep (simulator seeds 12126, 12153, 15200, 15176,
1001778 and 501562).

A copy of a project still there, with the bytes of a missing twin of it, is a copy, not
the twin moved (a move keeps the inode). A project queued in a folder the core believes
offline, moved out of it: the stat that finds its old path empty cannot tell a move
from the drive being away, so the moved one is queued as new; the old record is held
until the folder's walk looks, and cancelled when it does not find it, never sent from
a path where nothing is. A copy never takes the session of a project moved (its PATCH
not answered) while a file at the path the session still points at is being looked at:
the project may be back there. A project saved while its import was out, queued again
for its new bytes, has the session that request made: gone before its new bytes go out,
it is kept (missing, or in flight until the answer), never dropped as never imported. A
stat that finds nothing at a project's path while its folder is offline to the core
says nothing: the folder is checked, and once it is watched again the path is stat'ed
again. A walk's listing may be older than a project found missing since it began: it
says nothing of that project (never back on it, nor a file being looked at there).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from tests.test_core import ROOT, WALL0, settings, sig
from tests.test_core_moves import start
from tests.test_core_volumes import VolumeDriver, items_sent, relinked
from watcher.core import Core
from watcher.core.effects import CheckFolder, Effect, Probe, Relink, Send, Walk
from watcher.core.inputs import (
    Accepted,
    DirectoryGone,
    EventsLost,
    Failure,
    FolderChecked,
    Found,
    ProjectChanged,
    ProjectGone,
    RelinkAnswered,
    Relinked,
    SendAnswered,
    Started,
    WalkEnded,
    WalkFound,
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


@pytest.mark.parametrize("answered_first", [False, True])
def test_a_project_saved_while_its_import_is_out_then_moved_keeps_that_session(
    answered_first: bool,
) -> None:
    """Seed 15176: imported, saved while the request was out (queued again for the new
    bytes), then its folder renamed. That request made a session: the project keeps it
    (relinked), whether the answer comes before the move or after."""
    d = start()
    song, moved = f"{ROOT}/Kite/song.als", f"{ROOT}/Moved/Kite/song.als"
    d.hold = True
    d.disk[song], d.identity[song] = sig(1), "id-1"
    d.feed(ProjectChanged(ROOT, song, False, d.now))
    d.advance(10)
    assert d.stored[song].state == "in_flight"
    d.disk[song], d.identity[song] = replace(sig(1), size=500), "id-2"  # saved meanwhile
    d.feed(ProjectChanged(ROOT, song, False, d.now))
    d.advance(10)
    assert d.stored[song].state == "pending", "queued again for its new bytes"

    def answer() -> None:
        held, d.held = d.held, []
        for send in held:
            assert isinstance(send, Send)
            d.feed(SendAnswered(send.request, Accepted(f"imp-{send.request}", len(send.items))))

    if answered_first:
        answer()  # its new bytes go out next (held)
        assert d.stored[song].imported_at is not None, "it has a session"
    d.disk[moved], d.identity[moved] = d.disk.pop(song), "id-2"
    d.feed(DirectoryGone(ROOT, f"{ROOT}/Kite", d.now))
    assert song in d.stored, "the session its request made is not forgotten"
    d.hold = False
    answer()
    d.feed(ProjectChanged(ROOT, moved, False, d.now))
    d.advance(10)
    assert relinked(d) == [(song, moved)]
    assert moved not in items_sent(d), "never imported again at its new path"


def test_a_project_moved_out_of_a_folder_back_unseen_is_relinked() -> None:
    """Seed 1001778: B's drive away (the core knows), back with nothing seen, and an
    imported project moved from it to A with B's events lost. The stat of its path
    found nothing while B was offline to the core: that says nothing, so B is checked,
    and once watched again the path is stat'ed again: gone, so the project moved."""
    folders = (FolderSettings(A), FolderSettings(B))
    d = Unplugging(Core.restore(settings(folders=folders, offline_check_seconds=600.0), (), {}))
    home, away = f"{B}/Studio/Jam/jam.mmp", f"{A}/Done/Jam/jam.mmp"
    d.disk[f"{A}/other.als"], d.identity[f"{A}/other.als"] = sig(2), "id-o"
    d.disk[home], d.identity[home] = sig(1), "id-j"
    d.feed(Started(wall=WALL0))
    d.advance(10)
    assert home in items_sent(d)
    d.unplugged.add(B)
    d.feed(DirectoryGone(B, B, d.now))  # the drive goes away
    d.advance(1)
    d.unplugged.clear()  # back, unseen
    d.disk[away], d.identity[away] = d.disk.pop(home), "id-j"
    d.feed(ProjectChanged(A, away, False, d.now))
    d.advance(10)
    assert relinked(d) == [(home, away)]
    assert away not in items_sent(d), "never imported again at its new path"


@dataclass
class StaleWalks(VolumeDriver):
    """Full walks list the disk as it is when asked, and answer on `let_go`."""

    walks: list[tuple[Walk, tuple[Found, ...]]] = field(default_factory=list)
    holding: bool = False

    def carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Walk) and effect.under is None and self.holding:
            found = tuple(Found(p, False, s) for p, s in sorted(self.disk.items()))
            self.walks.append((effect, found))
        else:
            super().carry_out(effect)

    def let_go(self) -> None:
        self.holding = False
        for walk, found in self.walks:
            self.feed(WalkFound(walk.root, walk.under, found))
            self.feed(WalkEnded(walk.root, walk.under))
        self.walks.clear()


def test_a_walk_listing_older_than_a_move_does_not_bring_the_project_back() -> None:
    """Seed 501562: a full walk lists a project, its folder is moved away before the
    listing arrives (found missing then): the listing is older than that and says
    nothing of it, so the project is not taken for back; the moved one is relinked."""
    d = StaleWalks(Core.restore(settings(), (), {}))
    intro, moved = f"{ROOT}/Blue/Intro/intro.als", f"{ROOT}/Imported/intro.als"
    d.disk[intro], d.identity[intro] = sig(1), "id-i"
    d.feed(Started(wall=WALL0))
    d.advance(10)
    d.holding = True
    d.feed(EventsLost("overflow"))  # every folder walked again
    assert d.walks
    d.disk[moved], d.identity[moved] = d.disk.pop(intro), "id-i"
    d.feed(DirectoryGone(ROOT, f"{ROOT}/Blue/Intro", d.now))
    d.let_go()  # it still lists the project where it was
    assert d.stored[intro].missing_since is not None, "not back on an old listing"
    assert not d.logs("project_back")
    d.feed(ProjectChanged(ROOT, moved, False, d.now))
    d.advance(10)
    assert relinked(d) == [(intro, moved)]
    assert items_sent(d) == [intro]
