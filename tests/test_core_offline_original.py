"""A move out of a drive that is away, when the file's older session is missing.

Seed 226300306: one file recorded at two paths of one drive (the older path missing,
its session left behind by design; the file recorded since at the newer one), then
moved off that drive while it is away. The path it left is the newer one, which cannot
be looked at: imported as new (README "Moves and renames": a project that appears while
the folder of its original is offline), never the older session taken along.
"""

from __future__ import annotations

from tests.test_core import WALL0, settings, sig
from tests.test_core_volumes import VolumeDriver, items_sent, relinked
from watcher.core import Core
from watcher.core.inputs import DirectoryGone, ProjectChanged, ProjectGone, Started
from watcher.core.settings import FolderSettings


def test_a_move_off_a_drive_away_does_not_take_the_session_the_file_left_before() -> None:
    a, b = "/Volumes/A", "/Volumes/B"
    folders = (FolderSettings(a), FolderSettings(b))
    d = VolumeDriver(Core.restore(settings(folders=folders), (), {}))
    first, second, later = f"{a}/Song/s.als", f"{b}/s.als", f"{a}/Imported/Song/s.als"
    d.disk[first], d.identity[first] = sig(1), "id-s"
    d.disk[f"{b}/other.als"], d.identity[f"{b}/other.als"] = sig(2), "id-o"
    d.feed(Started(wall=WALL0))
    d.advance(10)
    # Seed 101095's story: off the drive as it went away (imported anew), the drive
    # back (the first path missing), then back onto the drive: the second session
    # follows it there, the first stays behind, missing.
    d.disk[second], d.identity[second] = d.disk.pop(first), "id-s"
    d.feed(DirectoryGone(a, a, d.now))
    d.feed(ProjectChanged(b, second, False, d.now))
    d.advance(30)
    d.disk[f"{a}/x.als"], d.identity[f"{a}/x.als"] = sig(3), "id-x"
    d.advance(120)
    d.disk[later], d.identity[later] = d.disk.pop(second), "id-s"
    d.feed(ProjectGone(b, second, d.now))
    d.feed(ProjectChanged(a, later, False, d.now))
    d.advance(30)
    assert relinked(d) == [(second, later)]
    assert d.stored[first].missing_since is not None
    sent = len(items_sent(d))
    # Now off the drive again as it goes away: the file left `later`, which cannot be
    # looked at; the session it left at `first` long ago is not its to take.
    again = f"{b}/Again/s.als"
    away = {p: d.disk.pop(p) for p in list(d.disk) if p.startswith(a + "/")}
    d.disk[again], d.identity[again] = away.pop(later), "id-s"
    d.feed(DirectoryGone(a, a, d.now))
    d.feed(ProjectChanged(b, again, False, d.now))
    d.advance(30)
    assert relinked(d) == [(second, later)], "no session taken from the drive away"
    assert items_sent(d)[sent:] == [again] and d.stored[again].state == "imported"
    assert d.stored[first].missing_since is not None, "the old session stays behind"
    assert d.stored[later].missing_since is None, "offline, not missing"
