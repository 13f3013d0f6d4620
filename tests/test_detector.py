"""The change detector on real folders: what a pass reports, and what it never stats."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import write_als
from tests.daw_fixtures import logic_files, write
from watcher.daws import Registry
from watcher.detector import Change, Detector, MissedEvents, Rules, unreported

OLD = time.time_ns() - 3600 * 10**9


class CountingStat:
    """os.stat, counting every path it is asked about."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(self, path: str) -> os.stat_result:
        self.paths.append(path)
        return os.stat(path)


def settle(root: Path) -> None:
    """Folders written in the last seconds are re-listed on every pass (a change may
    land in the same timestamp tick); age them so the tests see the steady state."""
    for dirpath, _dirs, _files in os.walk(root):
        os.utime(dirpath, ns=(OLD, OLD))


def detector(root: Path, stat: CountingStat | None = None) -> Detector:
    rules = Rules(Registry())
    return Detector(root, rules, stat=stat or os.stat)


def report(changes: list[Change]) -> set[tuple[str, bool, bool]]:
    return {(c.path.name, c.gone, c.is_directory) for c in changes}


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "Sessions"
    write_als(root / "Client A" / "Song Project" / "Song.als")
    write(root / "Client A" / "Song Project" / "Samples" / "Recorded" / "take 1.wav", b"RIFF")
    write(root / "Client A" / "Song Project" / "Song.wav", b"RIFF")
    for path, data in logic_files(root / "Client B" / "Score.logicx"):
        write(path, data)
    write(root / "Client B" / "Notes.txt", b"notes")
    settle(root)
    return root


def test_first_pass_is_the_baseline_and_a_quiet_tree_reports_nothing(library: Path) -> None:
    found = detector(library)
    assert found.poll(0.0) == []
    assert found.poll(1.0) == []


def test_folder_added_removed_and_renamed(library: Path) -> None:
    found = detector(library)
    found.poll(0.0)
    (library / "Client C" / "Deep" / "Deeper").mkdir(parents=True)
    assert report(found.poll(1.0)) == {("Client C", False, True)}  # the topmost new folder

    shutil.rmtree(library / "Client A")
    assert report(found.poll(2.0)) == {("Client A", True, True)}

    (library / "Client C").rename(library / "Client D")
    assert report(found.poll(3.0)) == {("Client C", True, True), ("Client D", False, True)}


def test_file_rewritten_in_place_with_the_same_size(library: Path) -> None:
    song = library / "Client A" / "Song Project" / "Song.als"
    found = detector(library)
    found.poll(0.0)
    before = song.stat()
    data = song.read_bytes()
    with open(song, "r+b") as stream:  # in place: same inode, same size, no folder change
        stream.write(data)
    os.utime(song, ns=(before.st_atime_ns, before.st_mtime_ns + 1000))
    assert song.stat().st_size == before.st_size
    assert song.stat().st_ino == before.st_ino
    assert [c.path for c in found.poll(1.0)] == [song]


def test_a_bundles_project_data_rewritten(library: Path) -> None:
    data = library / "Client B" / "Score.logicx" / "Alternatives" / "000" / "ProjectData"
    found = detector(library)
    found.poll(0.0)
    before = data.stat()
    data.write_bytes(data.read_bytes())
    os.utime(data, ns=(before.st_atime_ns, before.st_mtime_ns + 1000))
    assert found.poll(1.0) == [Change(data, gone=False, is_directory=False, at=1.0)]


def test_a_new_project_in_an_existing_deep_folder(library: Path) -> None:
    deep = library / "Client A" / "2024" / "March" / "Mix"
    deep.mkdir(parents=True)
    settle(library)
    found = detector(library)
    found.poll(0.0)
    project = write_als(deep / "Mix.als")
    assert [c.path for c in found.poll(1.0)] == [project]
    project.unlink()
    assert found.poll(2.0) == [Change(project, gone=True, is_directory=False, at=2.0)]


def test_a_change_in_the_same_timestamp_tick_as_the_listing_is_not_lost(tmp_path: Path) -> None:
    """A folder listed while it is still being written may change again without its
    mtime moving (coarse timestamps): it is listed again until it has settled."""
    root = tmp_path / "Sessions"
    root.mkdir()
    found = detector(root)
    found.poll(0.0)
    stamp = root.stat().st_mtime_ns
    project = write_als(root / "Song.als")
    os.utime(root, ns=(stamp, stamp))  # as if in the same tick as the last listing
    assert [c.path for c in found.poll(1.0)] == [project]


def test_payload_backups_and_bounces_are_never_stated(library: Path) -> None:
    project = library / "Client A" / "Song Project"
    for n in range(50):
        write(project / "Samples" / "Imported" / f"loop {n}.wav", b"RIFF")
        write(project / f"Bounce {n}.wav", b"RIFF")
    write_als(project / "Backup" / "Song [2024-01-01 120000].als")
    write(library / ".git" / "objects" / "ab" / "cdef", b"x")
    settle(library)
    stat = CountingStat()
    found = detector(library, stat)
    found.poll(0.0)
    found.poll(1.0)
    stated = {Path(p).relative_to(library).as_posix() for p in stat.paths}
    assert not [p for p in stated if "Samples" in p or ".git" in p or "Backup/" in p], stated
    assert not [p for p in stated if p.endswith((".wav", ".txt", ".plist", ".jpg"))], stated
    assert "Client A/Song Project/Song.als" in stated
    assert "Client B/Score.logicx/Alternatives/000/ProjectData" in stated
    assert "Client B/Score.logicx/Alternatives/000/Autosave/ProjectData" not in stated
    # Cost per pass: a stat per folder kept plus one per candidate, not per file.
    folders, candidates = found.size
    assert len(stat.paths) == 2 * (folders + candidates)


def test_a_recording_in_a_project_folder_reports_nothing(library: Path) -> None:
    found = detector(library)
    found.poll(0.0)
    write(library / "Client A" / "Song Project" / "Samples" / "Recorded" / "take 2.wav", b"RIFF")
    write(library / "Client A" / "Song Project" / "Song (mix).wav", b"RIFF")
    assert found.poll(1.0) == []


def test_a_vanished_root_is_reported_gone(library: Path) -> None:
    found = detector(library)
    found.poll(0.0)
    shutil.rmtree(library)
    assert found.poll(1.0) == [Change(library, gone=True, is_directory=True, at=1.0)]


def test_only_the_changes_no_event_accounts_for_are_unreported() -> None:
    root = Path("/studio")
    new_folder = Change(root / "New", gone=False, is_directory=True, at=5.0)
    saved = Change(root / "A" / "Song.als", gone=False, is_directory=False, at=5.0)
    other = Change(root / "B" / "Mix.als", gone=False, is_directory=False, at=5.0)
    events = {root / "New" / "Song.als": 4.0, root / "A" / "Song.als": 3.0, root / "B": 0.5}
    # The new folder's file event accounts for it, the save's own event for it; the
    # event on B is older than the previous pass, so Mix.als was never reported.
    assert unreported([new_folder, saved, other], events, since=1.0) == [other]


def test_missed_events_twice_switch_a_folder_to_polling() -> None:
    policy = MissedEvents(limit=2, window=3600.0)
    share, disk = Path("/mnt/share"), Path("/home/me/Music")
    assert policy.observe(share, True, now=0.0) == "missed"
    assert policy.observe(disk, False, now=10.0) == "ok"
    assert policy.observe(share, True, now=100.0) == "poll"
    # Misses far apart (an overflow a month) do not add up.
    assert policy.observe(disk, True, now=0.0) == "missed"
    assert policy.observe(disk, True, now=7200.0) == "missed"
