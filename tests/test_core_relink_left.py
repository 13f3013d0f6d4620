"""Relink classes of the issue 12 sweep that left a project's earlier session behind
(simulator seeds 15176, 1001778, 501562, 700439, 4001036, 74434 and 8008535).

A project saved while its import was out, queued again for its new bytes, has the
session that request made: gone before its new bytes go out, it is kept (missing, or in
flight until the answer), never dropped as never imported. A stat that finds nothing at
a project's path while its folder is offline to the core says nothing: the folder is
checked, and once it is watched again the path is stat'ed again. A walk's listing may be
older than a project found missing since it began: it says nothing of that project
(never back on it, nor a file being looked at there). A project moved onto the path of
a trashed one of other bytes takes the session there, as onto a trashed twin, and its
own stays behind, by design: its own relinked there would leave two sessions on one path.
Of more identical projects than are stat'ed, the one with a new file's inode is, since a
move keeps it: moved unseen, it is relinked, not imported as new.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from tests.test_core import ROOT, WALL0, settings, sig
from tests.test_core_moves import MovingDriver, move, start
from tests.test_core_volumes import VolumeDriver, items_sent, relinked, sent_to_its_session
from watcher.core import Core
from watcher.core.effects import Effect, Send, Walk
from watcher.core.inputs import (
    Accepted,
    DirectoryGone,
    EventsLost,
    Found,
    ProjectChanged,
    ProjectGone,
    SendAnswered,
    Started,
    WalkEnded,
    WalkFound,
)
from watcher.core.moves import MAX_ORIGINAL_STATS
from watcher.core.settings import FolderSettings

A, B = "/Volumes/A", "/Volumes/B"
from tests.test_core_relink_sweep import Unplugging


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
    if answered_first:  # its new bytes were delivered before the move
        assert moved not in items_sent(d), "never imported again at its new path"
    else:  # its session holds the old bytes: the new ones go to it after the PATCH
        assert sent_to_its_session(d, moved), "never imported beside its session"


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


def test_a_project_with_a_change_queued_moved_out_of_a_folder_back_unseen_is_relinked() -> None:
    """Seed 20932: as above, but a change of the imported project was queued (not sent
    yet) when it moved. That record is the imported project all the same: the stat
    finding nothing while B was offline to the core says nothing, so the new file waits
    for B to be checked and its path stat'ed again, then takes the session (the change
    is sent to it once relinked: a PATCH sends no bytes); never imported as new beside it."""
    folders = (FolderSettings(A), FolderSettings(B))
    d = Unplugging(Core.restore(settings(folders=folders, offline_check_seconds=600.0), (), {}))
    home, away = f"{B}/Studio/Jam/jam.mmp", f"{A}/Done/Jam/jam.mmp"
    d.disk[f"{A}/other.als"], d.identity[f"{A}/other.als"] = sig(2), "id-o"
    d.disk[home], d.identity[home] = sig(1), "id-j"
    d.feed(Started(wall=WALL0))
    d.advance(10)
    assert home in items_sent(d)
    d.hold = True  # SessionDock slow: the library lookup stays out, the change queued
    d.advance(2)
    d.disk[home], d.identity[home] = replace(sig(1), size=500), "id-j2"  # saved
    d.feed(ProjectChanged(B, home, False, d.now))
    d.advance(10)
    assert d.stored[home].state == "pending" and d.stored[home].imported_at is not None
    d.unplugged.add(B)
    d.feed(DirectoryGone(B, B, d.now))  # the drive goes away
    d.advance(1)
    d.unplugged.clear()  # back, unseen
    d.disk[away], d.identity[away] = d.disk.pop(home), "id-j2"
    d.feed(ProjectChanged(A, away, False, d.now))
    d.advance(10)
    d.hold = False
    for effect in d.held:  # it answers now
        d.carry_out(effect)
    d.advance(120)
    assert relinked(d) == [(home, away)]
    assert sent_to_its_session(d, away), "its change, never an import beside it"
    assert items_sent(d).count(home) == 1, "nor sent from the path it left"


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


def test_a_project_moved_onto_the_path_of_a_trashed_project_takes_the_session_there() -> None:
    """Seed 700439 (by design, as seed 5761 with other bytes): b trashed, a moved onto
    b's path (with the inode a move keeps). a's own session relinked there would put two
    sessions on one path for good unless b comes back to that very path, which cannot be
    known then; so the session at the path is sent a's bytes, and a's stays behind."""
    d = start(a="id-a", b="id-b")
    a, b = f"{ROOT}/a.als", f"{ROOT}/b.als"
    d.disk.pop(b)
    d.feed(ProjectGone(ROOT, b, d.now))  # trashed
    d.advance(10)
    move(d, a, b)
    d.advance(30)
    assert not relinked(d), "no PATCH of a's session onto a path that has one"
    assert sorted(items_sent(d)) == [a, b, b], "a's bytes go to the session at b's path"
    assert d.stored[b].state == "imported" and d.stored[b].identity == "id-a"
    assert d.stored[a].missing_since is not None, "a's own session is kept, missing"


def test_one_of_many_identical_projects_moved_unseen_is_relinked_by_its_inode() -> None:
    """Seed 4001036: more identical projects than are stat'ed (a folder of copies), one
    moved with its gone event lost. Which one moved is told by the inode a move keeps:
    that one alone is stat'ed, found gone, and its session relinked."""
    d = start(**{f"take{n}": "id-t" for n in range(MAX_ORIGINAL_STATS + 2)})
    old, new = f"{ROOT}/take3.als", f"{ROOT}/Moved/take3.als"
    d.disk[new], d.identity[new] = d.disk.pop(old), "id-t"
    d.feed(ProjectChanged(ROOT, new, False, d.now))  # its gone event is lost
    d.advance(10)
    assert relinked(d) == [(old, new)]
    assert new not in items_sent(d), "never imported again at its new path"


def test_a_copy_back_on_a_trashed_twins_path_takes_that_session_on_when_it_moves() -> None:
    """Seed 74434: a copy of a (same bytes, imported later) moved onto a's path while a
    is in the trash takes the session there (by design, seed 5761), recorded there now.
    Moved on, both paths are missing with its inode: it left a's, recorded last, so a's
    session follows it, not the copy's older one (which stays behind, missing)."""
    d = start(a="same")
    a, copy, done = f"{ROOT}/a.als", f"{ROOT}/Copy/a.als", f"{ROOT}/Done/a.als"
    d.disk[copy], d.identity[copy] = sig(5), "same"
    d.feed(ProjectChanged(ROOT, copy, False, d.now))
    d.advance(10)
    assert items_sent(d) == [a, copy]
    d.disk.pop(a)
    d.feed(ProjectGone(ROOT, a, d.now))  # trashed
    d.advance(10)
    move(d, copy, a)
    d.advance(30)
    assert d.logs("project_back") and not d.relinks
    move(d, a, done)
    d.advance(30)
    assert relinked(d) == [(a, done)], "the session it took follows it"
    assert d.stored[copy].missing_since is not None, "the copy's own is kept, missing"
    assert items_sent(d) == [a, copy]


def test_one_of_many_identical_projects_moved_to_another_folder_unseen_is_relinked() -> None:
    """Seed 8008535: as seed 4001036, but moved into another watched folder on the same
    volume (its gone event lost): the inode alone says nothing across folders, but with
    the size and time the record has too it is the same file, so that one is stat'ed,
    found gone, and its session relinked, not imported as new."""
    folders = (FolderSettings(A), FolderSettings(B))
    d = VolumeDriver(Core.restore(settings(folders=folders), (), {}))
    for n in range(MAX_ORIGINAL_STATS + 2):
        d.disk[f"{B}/take{n}.als"], d.identity[f"{B}/take{n}.als"] = sig(n), "id-t"
    d.disk[f"{A}/other.als"], d.identity[f"{A}/other.als"] = sig(50), "id-o"
    d.feed(Started(wall=WALL0))
    d.advance(10)
    old, new = f"{B}/take3.als", f"{A}/Done/take3.als"
    d.disk[new], d.identity[new] = d.disk.pop(old), "id-t"
    d.feed(ProjectChanged(A, new, False, d.now))  # its gone event is lost
    d.advance(10)
    assert relinked(d) == [(old, new)]
    assert new not in items_sent(d), "never imported again at its new path"


def test_a_queued_change_of_a_project_gone_while_the_daemon_was_down_is_kept_missing() -> None:
    """Seed 20932 too: a change of an imported project was queued when the daemon
    stopped, and the project was deleted before it started again. The first walk does
    not find it: it is the imported project gone, kept missing with its session (found
    moved later, it is relinked), never sent from the path it left."""
    d = start(song="id-1")
    song = f"{ROOT}/song.als"
    assert song in items_sent(d)
    d.hold = True  # SessionDock slow: the library lookup stays out, the change queued
    d.advance(2)
    d.disk[song], d.identity[song] = replace(sig(0), size=500), "id-2"  # saved
    d.feed(ProjectChanged(ROOT, song, False, d.now))
    d.advance(10)
    assert d.stored[song].state == "pending" and d.stored[song].imported_at is not None
    del d.disk[song]  # deleted while the daemon was down
    core = Core.restore(settings(), d.stored.values(), dict(d.meta))
    after = MovingDriver(core, now=d.now + 5, disk=d.disk, stored=dict(d.stored))
    after.feed(Started(wall=WALL0 + 60))
    after.advance(30)
    assert song not in items_sent(after), "never sent from the path it left"
    assert after.stored[song].state == "imported"
    assert after.stored[song].missing_since is not None
