"""Volumes as macOS and Windows have them, in the core alone (issue 12, item 7).

A driver whose disk finds a name the way such a volume does: in NFC or NFD form
(macOS), in any letter case (APFS and NTFS by default), and a drive that comes back
under another mount point. Listings hand back the spelling the disk stores.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace

from tests.test_core import WALL0, project, settings, sig
from tests.test_core_moves import MovingDriver
from watcher.core import Core
from watcher.core.effects import CheckFolder, Effect, Probe, Send, Stat, Walk
from watcher.core.inputs import (
    Accepted,
    DirectoryChanged,
    DirectoryGone,
    Failure,
    FolderChecked,
    Found,
    Probed,
    ProjectChanged,
    ProjectGone,
    SendAnswered,
    Started,
    Statted,
    WalkEnded,
    WalkFound,
)
from watcher.core.paths import closest, path_key
from watcher.core.settings import FolderSettings

ROOT = "/studio"
NFC = unicodedata.normalize("NFC", "/studio/Caf\u00e9.als")
NFD = unicodedata.normalize("NFD", NFC)


@dataclass
class VolumeDriver(MovingDriver):
    """`disk` keys are the spellings the volume stores; a stat or a probe of any
    spelling of one finds it (NFC/NFD always, case when `case_insensitive`)."""

    case_insensitive: bool = False
    detected: bool | None = None
    """What `FolderChecked` reports (None: the shell could not tell)."""

    def stored_as(self, path: str) -> str | None:
        key = path_key(path, self.case_insensitive)
        return next((p for p in self.disk if path_key(p, self.case_insensitive) == key), None)

    def carry_out(self, effect: Effect) -> None:
        if isinstance(effect, CheckFolder):
            exists = any(p == effect.root or p.startswith(effect.root + "/") for p in self.disk)
            self.feed(FolderChecked(effect.root, exists, case_insensitive=self.detected))
        elif isinstance(effect, Stat):
            on_disk = self.stored_as(effect.path)
            self.feed(Statted(effect.path, self.disk[on_disk] if on_disk else None))
        elif isinstance(effect, Probe):
            on_disk = self.stored_as(effect.path)
            assert on_disk is not None, effect
            found = project(effect.path, effect.signature)
            found = replace(found, root=effect.root, identity=self.identity[on_disk])
            self.feed(Probed(effect.path, found))
        elif isinstance(effect, Walk):
            mine = sorted((p, s) for p, s in self.disk.items() if p.startswith(effect.root + "/"))
            self.feed(
                WalkFound(effect.root, effect.under, tuple(Found(p, False, s) for p, s in mine))
            )
            self.feed(WalkEnded(effect.root, effect.under))
        else:
            super().carry_out(effect)


def volume(
    files: dict[str, str],
    case_insensitive: bool = False,
    detected: bool | None = None,
    case_sensitive: bool | None = None,
    root: str = ROOT,
) -> VolumeDriver:
    folders = (FolderSettings(root, case_sensitive=case_sensitive),)
    d = VolumeDriver(Core.restore(settings(folders=folders), (), {}))
    d.case_insensitive, d.detected = case_insensitive, detected
    for n, (path, ident) in enumerate(sorted(files.items())):
        d.disk[path], d.identity[path] = sig(n), ident
    d.feed(Started(wall=WALL0))
    d.advance(10)
    return d


def sent_to_its_session(d: MovingDriver, path: str) -> bool:
    """`path` was sent once, a change, after a relink pointed its session there: a
    PATCH moves a session and sends no bytes (never an import beside the session)."""
    relinks = [r.request for r in d.relinks if any(i.new_path == path for i in r.items)]
    sends = [s.request for s in d.sends() if any(i.project_path == path for i in s.items)]
    return len(sends) == 1 and bool(relinks) and min(relinks) < sends[0]


def items_sent(d: MovingDriver) -> list[str]:
    return [i.project_path for s in d.sends() for i in s.items]


def relinked(d: MovingDriver) -> list[tuple[str, str]]:
    return [(i.old_path, i.new_path) for r in d.relinks for i in r.items]


def rename_on_disk(d: VolumeDriver, old: str, new: str) -> None:
    d.disk[new] = d.disk.pop(old)
    d.identity[new] = d.identity.pop(old)


# --- NFC and NFD ------------------------------------------------------------------------


def test_an_event_spelled_in_nfd_is_the_project_recorded_in_nfc() -> None:
    d = volume({NFC: "id-cafe"})
    assert items_sent(d) == [NFC]
    d.disk[NFC] = sig(9)  # saved; the event names it in the other form
    d.feed(ProjectChanged(ROOT, NFD, False, d.now))
    d.advance(10)
    assert list(d.stored) == [NFC], "one record, under the spelling seen first"
    assert items_sent(d) == [NFC, NFC], "the save is sent again, as the same project"
    d.feed(ProjectGone(ROOT, NFD, d.now))
    assert d.stored[NFC].missing_since is not None, "gone in either form is gone"


def test_a_listing_in_the_other_form_neither_imports_again_nor_calls_it_missing() -> None:
    """HFS+ lists names in NFD; the project was recorded from an event in NFC."""
    d = volume({NFC: "id-cafe"})
    rename_on_disk(d, NFC, NFD)  # what the volume stores and lists from now on
    d.advance(3700)  # an hourly reconciliation walk
    assert d.logs("summary")
    assert list(d.stored) == [NFC] and d.stored[NFC].missing_since is None
    assert items_sent(d) == [NFC] and not d.relinks


def test_both_forms_seen_before_anything_was_recorded_make_one_project() -> None:
    d = volume({})
    d.disk[NFD], d.identity[NFD] = sig(3), "id-cafe"
    d.feed(ProjectChanged(ROOT, NFC, False, d.now))
    d.feed(ProjectChanged(ROOT, NFD, False, d.now))
    d.advance(20)
    assert len(d.stored) == 1 and len(items_sent(d)) == 1


def test_identical_projects_are_told_apart_by_paths_in_either_form() -> None:
    nfd_dir, nfc_dir = unicodedata.normalize("NFD", "Ren\u00e9e"), "Ren\u00e9e"
    old = [f"/studio/{nfc_dir}/Song/s.als", f"/studio/{nfc_dir}/Copy/s.als"]
    assert closest(f"/studio/Moved/{nfd_dir}/Song/s.als", old) == old[0]


# --- letter case --------------------------------------------------------------------------


def test_a_case_only_rename_on_a_case_insensitive_volume_is_relinked() -> None:
    """`song.als` -> `Song.als`: a stat of the old name still finds the file there, so
    the copy rule alone would import it as new."""
    for events_lost in (False, True):
        d = volume({"/studio/song.als": "id-s"}, case_insensitive=True, detected=True)
        rename_on_disk(d, "/studio/song.als", "/studio/Song.als")
        if not events_lost:
            d.feed(ProjectGone(ROOT, "/studio/song.als", d.now))
            d.feed(ProjectChanged(ROOT, "/studio/Song.als", False, d.now))
            d.advance(10)
        else:
            d.advance(3700)  # found by the hourly walk
        assert relinked(d) == [("/studio/song.als", "/studio/Song.als")], events_lost
        [item] = d.relinks[0].items
        assert (item.old_title, item.new_title) == ("song", "Song")
        assert items_sent(d) == ["/studio/song.als"], "not imported again"
        assert list(d.stored) == ["/studio/Song.als"]
        assert d.stored["/studio/Song.als"].state == "imported"
        assert d.core.table.missing_count() == 0


def test_a_case_only_rename_of_a_client_folder_relinks_every_project() -> None:
    files = {f"/studio/client/s{n}.als": f"id-{n}" for n in range(20)}
    d = volume(files, case_insensitive=True, detected=True)
    for n in range(20):
        rename_on_disk(d, f"/studio/client/s{n}.als", f"/studio/Client/s{n}.als")
    d.feed(DirectoryGone(ROOT, "/studio/client", d.now))
    d.feed(DirectoryChanged(ROOT, "/studio/Client", d.now))
    d.advance(30)
    assert len(relinked(d)) == 20 and len(items_sent(d)) == 20
    assert all(p.startswith("/studio/Client/") for p in d.stored)


def test_a_rename_saved_at_once_on_a_case_insensitive_volume_keeps_its_session() -> None:
    """The same file under its new name, with new bytes: the identity differs, the
    path does not; its session follows, and the new bytes are sent to it there."""
    d = volume({"/studio/song.als": "id-s"}, case_insensitive=True, detected=True)
    rename_on_disk(d, "/studio/song.als", "/studio/Song.als")
    d.disk["/studio/Song.als"], d.identity["/studio/Song.als"] = sig(8), "id-s2"
    d.feed(ProjectChanged(ROOT, "/studio/Song.als", False, d.now))
    d.advance(10)
    assert relinked(d) == [("/studio/song.als", "/studio/Song.als")]
    assert items_sent(d) == ["/studio/song.als", "/studio/Song.als"]
    assert sent_to_its_session(d, "/studio/Song.als")


def test_on_a_case_sensitive_volume_another_case_is_another_project() -> None:
    d = volume({"/studio/song.als": "id-s"}, detected=False)
    d.disk["/studio/Song.als"], d.identity["/studio/Song.als"] = sig(8), "id-s"
    d.feed(ProjectChanged(ROOT, "/studio/Song.als", False, d.now))
    d.advance(10)
    assert not d.relinks, "a copy beside its original"
    assert items_sent(d) == ["/studio/song.als", "/studio/Song.als"]


def test_the_config_decides_case_over_what_the_shell_found() -> None:
    for case_sensitive, detected, relinks in ((False, False, 1), (True, True, 0), (None, None, 0)):
        d = volume(
            {"/studio/song.als": "id-s"},
            case_insensitive=True,
            detected=detected,
            case_sensitive=case_sensitive,
        )
        rename_on_disk(d, "/studio/song.als", "/studio/Song.als")
        d.feed(ProjectChanged(ROOT, "/studio/Song.als", False, d.now))
        d.advance(10)
        assert len(d.relinks) == relinks, (case_sensitive, detected)
        assert len(items_sent(d)) == 2 - relinks


def test_a_project_renamed_in_case_before_it_was_sent_is_sent_once_under_its_new_name() -> None:
    d = volume({}, case_insensitive=True, detected=True)
    d.disk["/studio/song.als"], d.identity["/studio/song.als"] = sig(1), "id-s"
    d.hold = True
    d.feed(ProjectChanged(ROOT, "/studio/song.als", False, d.now))
    d.advance(10)
    [send] = d.held
    assert isinstance(send, Send)
    d.feed(SendAnswered(send.request, Failure("server", "503", "later", retry_after=60)))
    d.held.clear()
    d.hold = False
    assert d.stored["/studio/song.als"].state == "pending"
    rename_on_disk(d, "/studio/song.als", "/studio/Song.als")
    d.feed(ProjectChanged(ROOT, "/studio/Song.als", False, d.now))
    d.advance(120)
    assert items_sent(d) == ["/studio/song.als", "/studio/Song.als"] and not d.relinks
    assert d.stored["/studio/Song.als"].state == "imported"
    assert list(d.stored) == ["/studio/Song.als"]


def test_a_project_renamed_in_case_while_its_import_is_out_waits_for_the_answer() -> None:
    for answer_ok in (True, False):
        d = volume({}, case_insensitive=True, detected=True)
        d.hold = True
        d.disk["/studio/song.als"], d.identity["/studio/song.als"] = sig(1), "id-s"
        d.feed(ProjectChanged(ROOT, "/studio/song.als", False, d.now))
        d.advance(10)
        [send] = d.held
        assert isinstance(send, Send)
        rename_on_disk(d, "/studio/song.als", "/studio/Song.als")
        d.feed(ProjectChanged(ROOT, "/studio/Song.als", False, d.now))
        d.advance(10)
        assert not d.relinks
        d.held.clear()
        d.hold = False
        if answer_ok:
            d.feed(SendAnswered(send.request, Accepted("imp-1", total=1)))
        else:
            d.feed(SendAnswered(send.request, Failure("server", "500", "later")))
        d.advance(120)
        assert list(d.stored) == ["/studio/Song.als"], answer_ok
        assert d.stored["/studio/Song.als"].state == "imported"
        if answer_ok:
            assert relinked(d) == [("/studio/song.als", "/studio/Song.als")]
            assert items_sent(d) == ["/studio/song.als"]
        else:
            assert not d.relinks and items_sent(d) == ["/studio/song.als", "/studio/Song.als"]


# --- a drive back under another mount point ---------------------------------------------


def test_a_drive_back_under_another_mount_point_is_relinked_once_the_config_names_it() -> None:
    old_root, new_root = "/Volumes/Studio", "/Volumes/Studio 1"
    files = {f"{old_root}/Client/s{n}.als": f"id-{n}" for n in range(10)}
    files[f"{old_root}/Client/Copy/s0.als"] = "id-0"  # a set and its copy: one identity
    d = volume(files, root=old_root)
    assert len(items_sent(d)) == 11
    moved = {p.replace(old_root, new_root): p for p in d.disk}
    # the drive is unplugged and comes back as "Studio 1"; the user edits the config
    after = settings(folders=(FolderSettings(new_root),))
    e = VolumeDriver(Core.restore(after, d.stored.values(), d.meta))
    for new, old in moved.items():
        e.disk[new], e.identity[new] = d.disk[old], d.identity[old]
    e.feed(Started(wall=WALL0 + 600))
    e.advance(30)
    assert sorted(relinked(e)) == sorted((old, new) for new, old in moved.items())
    assert not e.sends(), "0 imports"
    assert sorted(e.stored) == sorted(moved)
    ids = {r.path: r.session_id for r in e.stored.values()}
    assert all(ids[new] == f"s:{old}" for new, old in moved.items()), "same sessions"


def test_a_drive_back_elsewhere_while_its_old_path_is_still_watched_is_new() -> None:
    """Both paths in the config: the old folder is offline, whether its projects are
    still on it cannot be told, and a copy must never take the original's session
    (`check` says to point the entry at the new mount point instead)."""
    old_root, new_root = "/Volumes/Studio", "/Volumes/Studio 1"
    d = volume({f"{old_root}/s.als": "id-s"}, root=old_root)
    both = settings(folders=(FolderSettings(old_root), FolderSettings(new_root)))
    e = VolumeDriver(Core.restore(both, d.stored.values(), d.meta))
    e.disk[f"{new_root}/s.als"], e.identity[f"{new_root}/s.als"] = sig(0), "id-s"
    e.feed(Started(wall=WALL0 + 600))
    e.advance(30)
    assert not e.relinks and items_sent(e) == [f"{new_root}/s.als"]
    assert e.core.records[f"{old_root}/s.als"].missing_since is None, "offline, not missing"


def test_a_copy_of_a_missing_project_whose_drive_is_away_is_new() -> None:
    """Seed 1001081: trashed, its drive then unplugged (the project restored there
    meanwhile, unseen); a copy with its bytes (another inode) appears on another drive.
    The missing project's path cannot be looked at, and a copy must never take its
    session: the copy is imported as new, and the project is found back with its drive."""
    a, b = "/Volumes/A", "/Volumes/B"
    folders = (FolderSettings(a), FolderSettings(b))
    d = VolumeDriver(Core.restore(settings(folders=folders), (), {}))
    song, copy = f"{a}/Song/song.als", f"{b}/Copy/song.als"
    d.disk[song], d.identity[song] = sig(1), "id-s"
    d.disk[f"{b}/other.als"], d.identity[f"{b}/other.als"] = sig(2), "id-o"
    d.feed(Started(wall=WALL0))
    d.advance(10)
    assert sorted(items_sent(d)) == sorted([f"{b}/other.als", song])
    trashed = d.disk.pop(song)
    d.feed(ProjectGone(a, song, d.now))
    d.advance(10)
    assert d.stored[song].missing_since is not None
    d.feed(DirectoryGone(a, a, d.now))  # unplugged (the project restored there unseen)
    d.advance(10)
    d.disk[copy], d.identity[copy] = replace(trashed, inode=90), "id-s"
    d.feed(ProjectChanged(b, copy, False, d.now))
    d.advance(30)
    assert not d.relinks, "the copy never takes the session of a project on a drive away"
    assert items_sent(d)[-1] == copy and d.stored[copy].state == "imported"
    d.disk[song] = trashed  # the drive is back, the project on it
    d.feed(DirectoryChanged(a, a, d.now, attrib=False))
    d.advance(60)
    assert not d.relinks and d.stored[song].missing_since is None


def test_one_file_recorded_at_two_missing_paths_takes_the_session_it_left_last() -> None:
    """Seed 101095: moved out of a drive that was away, so imported anew (its first
    session kept, by design); the drive back, its first path is missing. Moved on, the
    file (one inode at both paths) is where it was seen last: that session follows it,
    not the older one, however alike the paths."""
    moved_off_a_drive_and_on(restarted_at=None)


A, B = "/Volumes/A", "/Volumes/B"
FIRST, SECOND, LATER = f"{A}/Song/s.als", f"{B}/s.als", f"{A}/Imported/Song/s.als"


def off_drive_a_as_it_went(restarted_at: float | None = None) -> VolumeDriver:
    """Seed 101095's start: a file imported on drive A moves to B as A goes away
    (imported anew there: its first session kept, by design); A back, its first path is
    missing. `restarted_at`: the daemon restarts after the first import with its wall
    clock at this time (set back: the second record's `queued_at` is then the earlier)."""
    folders = settings(folders=(FolderSettings(A), FolderSettings(B)))
    d = VolumeDriver(Core.restore(folders, (), {}))
    d.disk[FIRST], d.identity[FIRST] = sig(1), "id-s"
    d.disk[f"{B}/other.als"], d.identity[f"{B}/other.als"] = sig(2), "id-o"
    d.feed(Started(wall=WALL0))
    d.advance(10)
    if restarted_at is not None:
        e = VolumeDriver(Core.restore(folders, d.stored.values(), d.meta), stored=dict(d.stored))
        e.disk, e.identity, e.meta = d.disk, d.identity, d.meta
        e.feed(Started(wall=restarted_at))
        e.advance(10)
        d = e
    d.disk[SECOND], d.identity[SECOND] = d.disk.pop(FIRST), "id-s"
    d.feed(DirectoryGone(A, A, d.now))
    d.feed(ProjectChanged(B, SECOND, False, d.now))
    d.advance(30)
    assert not d.relinks and items_sent(d)[-1] == SECOND
    if restarted_at is not None and restarted_at < WALL0:
        assert (d.stored[SECOND].queued_at or 0) < (d.stored[FIRST].queued_at or 0)
    d.disk[f"{A}/x.als"], d.identity[f"{A}/x.als"] = sig(3), "id-x"  # the drive back
    d.advance(120)
    assert d.stored[FIRST].missing_since is not None
    return d


def moved_off_a_drive_and_on(restarted_at: float | None) -> VolumeDriver:
    """Seed 101095's story: then the file moves on, back onto A."""
    d = off_drive_a_as_it_went(restarted_at)
    d.disk[LATER], d.identity[LATER] = d.disk.pop(SECOND), "id-s"
    d.feed(ProjectGone(B, SECOND, d.now))
    d.feed(ProjectChanged(A, LATER, False, d.now))
    d.advance(30)
    assert relinked(d) == [(SECOND, LATER)]
    assert d.stored[FIRST].missing_since is not None, "the older session is kept, missing"
    return d


def test_a_move_off_a_drive_away_does_not_take_the_session_the_file_left_before() -> None:
    """Seed 226300306: seed 101095's story (one file recorded at two paths of drive A,
    the older missing, its session left behind by design), then the file moves off A
    again as A goes away. The path it left is the newer one, which cannot be looked at:
    imported as new (README: a project that appears while the folder of its original
    is offline), never the older session taken along."""
    d = moved_off_a_drive_and_on(restarted_at=None)
    sent, again = len(items_sent(d)), f"{B}/Again/s.als"
    away = {p: d.disk.pop(p) for p in list(d.disk) if p.startswith(A + "/")}
    d.disk[again], d.identity[again] = away.pop(LATER), "id-s"
    d.feed(DirectoryGone(A, A, d.now))
    d.feed(ProjectChanged(B, again, False, d.now))
    d.advance(30)
    assert len(relinked(d)) == 1, "no session taken from the drive away"
    assert items_sent(d)[sent:] == [again] and d.stored[again].state == "imported"
    assert d.stored[FIRST].missing_since is not None, "the old session stays behind"
    assert d.stored[LATER].missing_since is None, "offline, not missing"


def test_a_move_off_a_drive_away_onto_another_does_not_take_the_session_left_there() -> None:
    """Seed 240070006: as seed 226300306, but the newer record is on the other drive
    (B) and the older, missing, on the drive the file comes to (A): the file (its
    inode, its size and time) was recorded last on B, which is away, so the path it
    left cannot be looked at. Imported as new; the session left behind on A stays."""
    d = off_drive_a_as_it_went()
    later = f"{A}/Imported/s.als"
    sent = len(items_sent(d))
    away = {p: d.disk.pop(p) for p in list(d.disk) if p.startswith(B + "/")}
    d.disk[later], d.identity[later] = away.pop(SECOND), "id-s"  # off B as it goes
    d.feed(DirectoryGone(B, B, d.now))
    d.feed(ProjectChanged(A, later, False, d.now))
    d.advance(30)
    assert not d.relinks, "no session taken: the file left B, which cannot be looked at"
    assert items_sent(d)[sent:] == [later] and d.stored[later].state == "imported"
    assert d.stored[FIRST].missing_since is not None, "the old session stays behind"
    assert d.stored[SECOND].missing_since is None, "offline, not missing"


def test_one_file_at_two_missing_paths_is_where_it_was_recorded_last_not_missed_last() -> None:
    """Seed 13201: as above, but the file moves back onto the drive while it is away:
    its first path is found missing only when the drive is back, after the second was.
    The path it was recorded at last (the second) is the one it left."""
    a, b = "/Volumes/A", "/Volumes/B"
    folders = (FolderSettings(a), FolderSettings(b))
    d = VolumeDriver(Core.restore(settings(folders=folders), (), {}))
    first, second, later = f"{a}/Song/s.als", f"{b}/s.als", f"{a}/Imported/Song/s.als"
    d.disk[first], d.identity[first] = sig(1), "id-s"
    d.disk[f"{a}/x.als"], d.identity[f"{a}/x.als"] = sig(3), "id-x"
    d.disk[f"{b}/other.als"], d.identity[f"{b}/other.als"] = sig(2), "id-o"
    d.feed(Started(wall=WALL0))
    d.advance(10)
    away = {p: d.disk.pop(p) for p in list(d.disk) if p.startswith(a + "/")}
    d.disk[second], d.identity[second] = away.pop(first), "id-s"  # moved off as it went
    d.feed(DirectoryGone(a, a, d.now))
    d.feed(ProjectChanged(b, second, False, d.now))
    d.advance(30)
    assert not d.relinks and items_sent(d)[-1] == second
    away[later] = d.disk.pop(second)  # back onto the drive while it is away
    d.identity[later] = "id-s"
    d.feed(ProjectGone(b, second, d.now))
    d.advance(10)
    d.disk.update(away)  # the drive back
    d.advance(120)
    assert relinked(d) == [(second, later)]
    assert d.stored[first].missing_since is not None, "the older session is kept, missing"


def test_one_file_at_two_missing_paths_back_at_the_first_left_the_first() -> None:
    """As seed 101095, but the file goes back, unchanged, to the path it was recorded at
    first (seen again there), then moves on: it left the first path, recorded there
    last, so that session follows it, not the one imported anew meanwhile."""
    d = off_drive_a_as_it_went()
    d.disk[FIRST] = d.disk.pop(SECOND)  # back where it was first, unchanged
    d.feed(ProjectGone(B, SECOND, d.now))
    d.feed(ProjectChanged(A, FIRST, False, d.now))
    d.advance(30)
    assert d.stored[FIRST].missing_since is None and d.stored[SECOND].missing_since is not None
    d.disk[LATER], d.identity[LATER] = d.disk.pop(FIRST), "id-s"
    d.feed(ProjectGone(A, FIRST, d.now))
    d.feed(ProjectChanged(A, LATER, False, d.now))
    d.advance(30)
    assert relinked(d) == [(FIRST, LATER)]
    assert d.stored[SECOND].missing_since is not None, "the newer session is kept, missing"


def test_one_file_at_two_missing_paths_left_the_one_recorded_last_though_the_clock_went_back() -> (
    None
):
    """Seed 141000366: as seed 101095, but the wall clock steps back ten minutes (and
    the daemon restarts) between the two recordings, so the later one has the earlier
    `queued_at`. Its `queued_order`, which no clock step changes and which a restart
    keeps, still tells that the file left the second path: that session follows it."""
    moved_off_a_drive_and_on(restarted_at=WALL0 - 600)
