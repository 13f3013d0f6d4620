"""The change detector on real folders: what a pass reports, and what it never stats."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import ConfigWriter, DaemonFactory, cli, wait_until, write_als
from tests.daw_fixtures import logic_files, write
from tests.emulator import Emulator
from watcher.daws import Registry
from watcher.detector import Change, Detector, Rules, unreported
from watcher.observer import Unreported, Watchers
from watcher.poller import next_wait

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


def test_verification_passes_spread_the_stats_of_what_rarely_changes(library: Path) -> None:
    """With a share (verification), a folder's project files and empty bounce folders
    are stat'ed one pass in n: a pass costs fewer stats, and a rewrite in place or a
    save into a bounce folder still shows within n passes; a new project at once."""
    song = library / "Client A" / "Song Project" / "Song.als"
    bounces = library / "Client A" / "Song Project" / "Bounces"
    bounces.mkdir()
    settle(library)
    counting = CountingStat()
    found = detector(library, counting)
    found.poll(0.0)
    full = len(counting.paths)
    counting.paths.clear()
    found.poll(1.0, (0, 4))
    found.poll(2.0, (1, 4))
    found.poll(3.0, (2, 4))
    found.poll(4.0, (3, 4))
    assert len(counting.paths) < 4 * full  # some stats were left to another pass
    assert {str(song), str(bounces)} <= set(counting.paths)  # but each came round

    before = song.stat()
    with open(song, "r+b") as stream:  # in place: no folder changes
        stream.write(song.read_bytes())
    os.utime(song, ns=(before.st_atime_ns, before.st_mtime_ns + 1000))
    write_als(bounces / "Saved Here.als")
    os.utime(bounces, ns=(OLD + 10**9, OLD + 10**9))
    new = write_als(library / "Client B" / "New.als")
    os.utime(library / "Client B", ns=(OLD + 10**9, OLD + 10**9))
    first = found.poll(5.0, (0, 4))
    assert new in [c.path for c in first]  # its folder's stat moved
    seen = {c.path for k in range(1, 4) for c in found.poll(5.0 + k, (k, 4))}
    assert {song, bounces / "Saved Here.als"} <= seen | {c.path for c in first}


def test_a_folder_polled_without_its_subfolders_still_sees_its_bundles(tmp_path: Path) -> None:
    root = tmp_path / "Flat"
    write_als(root / "Sub" / "Deep.als")
    settle(root)
    found = Detector(root, Rules(Registry(), recursive=False))
    found.poll(0.0)
    for path, data in logic_files(root / "Score.logicx"):
        write(path, data)
    write_als(root / "Sub" / "Deeper.als")
    assert report(found.poll(1.0)) == {("Score.logicx", False, True)}


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
    assert not [p for p in stated if "/Resources" in p or "/Media" in p], stated
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


# --- verification on a real FUSE share ---------------------------------------------------


def _unmount(point: Path) -> None:
    for command in (["fusermount3", "-u"], ["fusermount", "-u"], ["umount", "-l"]):
        if shutil.which(command[0]):
            done = subprocess.run([*command, str(point)], capture_output=True, check=False)
            if done.returncode == 0:
                return


@pytest.fixture
def fuse_share(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(backing folder, bindfs mount of it): writes to the backing folder raise no
    inotify event on the mount, as on a share written by another machine."""
    if not sys.platform.startswith("linux"):
        pytest.skip("bindfs/FUSE share tests run on Linux")
    if shutil.which("bindfs") is None:
        pytest.skip("bindfs not installed (apt-get install bindfs); .ci/run installs it as root")
    if not Path("/dev/fuse").exists():
        pytest.skip("/dev/fuse is missing: FUSE is not available in this container")
    source, mount = tmp_path / "backing", tmp_path / "share"
    source.mkdir()
    mount.mkdir()
    done = subprocess.run(
        ["bindfs", "--no-allow-other", str(source), str(mount)],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"bindfs could not mount: {done.stderr.strip() or done.returncode}")
    try:
        yield source, mount
    finally:
        _unmount(mount)


def test_fuse_share_writes_raise_no_event_but_verification_reports_them(
    fuse_share: tuple[Path, Path],
) -> None:
    source, mount = fuse_share
    seen: list[object] = []
    watchers = Watchers(seen.append, polling_interval=0.3, verify_interval=0.3)
    try:
        watchers.watch(mount, recursive=True, mode="native")
        wait_until(lambda: watchers.ready(mount), what="the verification baseline")
        through_mount = write_als(mount / "Local.als")  # written here: inotify sees it
        wait_until(lambda: Change in {type(c) for c in seen}, what="a native event")
        write_als(source / "Remote.als")  # written "on another machine"
        missed = wait_until(
            lambda: [c for c in seen if isinstance(c, Unreported)], what="an Unreported"
        )
    finally:
        watchers.stop()
    native = {c.path for c in seen if isinstance(c, Change)}
    assert mount / "Remote.als" not in native
    assert through_mount in native
    assert missed[0].folder == mount
    assert [c.path for c in missed[0].changes] == [mount / "Remote.als"]


@pytest.mark.daemon
def test_a_fuse_share_is_imported_and_then_polled_after_missed_events(
    fuse_share: tuple[Path, Path],
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
) -> None:
    source, mount = fuse_share
    config = write_config([mount], scan={"verify_interval_seconds": 0.5})
    proc = daemon(config)
    proc.wait_watching()
    proc.wait_for("folder_watched", mode="native")
    saved: list[Path] = []
    for n in range(8):  # the first may land before the detector's baseline pass
        if len(proc.events("native_events_missed")) >= 2:
            break
        (source / f"Song {n} Project").mkdir()
        saved.append(mount / f"Song {n} Project" / f"Song {n}.als")
        write_als(source / f"Song {n} Project" / f"Song {n}.als")
        emulator.wait_for_paths(len(saved), timeout=30)
    missed = proc.wait_for("native_events_missed", count=2, timeout=30)
    assert missed[0]["folder"] == str(mount)
    assert missed[-1]["action"] == "polling this folder from now on"
    proc.wait_for("folder_watched", mode="polling")

    later = write_als(source / "After Switch.als")
    emulator.wait_for_paths(len(saved) + 1, timeout=30)
    assert sorted(emulator.imported_paths()) == sorted(map(str, [*saved, mount / later.name]))

    status = cli("status", "--json", "--config", str(config))
    folder = json.loads(status.stdout)["folders"][str(mount)]
    assert folder["mode"] == "polling"
    assert "native events missed" in folder["note"]
    checked = cli("check", "--config", str(config))
    assert f"folder {mount}: polled by the running daemon (native events missed" in (
        checked.stdout + checked.stderr
    )
    assert proc.stop() == 0


# --- polling with the detector, per-folder intervals --------------------------------------


def test_each_polled_folder_keeps_its_own_interval(tmp_path: Path) -> None:
    fast, slow = tmp_path / "Fast", tmp_path / "Slow"
    fast.mkdir()
    slow.mkdir()
    seen: list[object] = []
    watchers = Watchers(seen.append, polling_interval=3600.0)
    try:
        watchers.watch(fast, recursive=True, mode="polling", interval=0.2)
        watchers.watch(slow, recursive=True, mode="polling")  # the default: an hour
        wait_until(lambda: watchers.ready(fast) and watchers.ready(slow))
        write_als(slow / "Slow.als")
        for n in range(3):  # several passes of the fast folder
            project = write_als(fast / f"Fast {n}.als")
            wait_until(lambda: project in {getattr(c, "path", None) for c in seen})  # noqa: B023
    finally:
        watchers.stop()
    assert slow / "Slow.als" not in {getattr(c, "path", None) for c in seen}


@pytest.mark.daemon
def test_a_polled_folder_with_its_own_interval_imports_a_new_save(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    folder = {"path": str(studio), "polling": True, "polling_interval_seconds": 0.3}
    proc = daemon(write_config([folder], scan={"polling_interval_seconds": 3600}))
    proc.wait_for("folder_watched", mode="polling")
    # The first save may be found by the walk at start; by the time it is imported the
    # detector's first pass is long done, so the second is found by polling (at the
    # scan default of an hour, it would not be).
    first = write_als(studio / "First.als")
    emulator.wait_for_paths(1)
    (studio / "New Song Project").mkdir()
    second = write_als(studio / "New Song Project" / "New Song.als")
    emulator.wait_for_paths(2)
    assert emulator.imported_paths() == [str(first), str(second)]
    assert proc.stop() == 0


def test_polling_a_huge_folder_is_spaced_to_stay_within_its_cpu_budget() -> None:
    assert next_wait(2.0, pass_cpu=0.03) == 2.0  # 10,000 folders: 1.5 % of a core
    assert next_wait(2.0, pass_cpu=0.4) == pytest.approx(8.0)  # a million files: 5 %


# --- a reload (SIGHUP) retimes the folders it keeps ----------------------------------------


def _rescan(config: Path, **scan: float) -> None:
    data = yaml.safe_load(config.read_text())
    data["scan"].update(scan)
    config.write_text(yaml.safe_dump(data))


@pytest.mark.daemon
def test_a_reload_gives_a_kept_polled_folder_the_new_default_interval(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    """The folder's own settings do not change, so the core keeps it; before the fix
    its poller kept the old hour until a restart."""
    config = write_config([{"path": str(studio), "polling": True}])
    _rescan(config, polling_interval_seconds=3600)
    first = write_als(studio / "First.als")  # found by the walk at start
    proc = daemon(config)
    proc.wait_for("folder_watched", mode="polling")
    emulator.wait_for_paths(1)
    _rescan(config, polling_interval_seconds=0.3)
    proc.send(signal.SIGHUP)
    proc.wait_for("config_reloaded")
    assert len(proc.events("folder_watched")) == 1  # kept, not watched again
    (studio / "New Song Project").mkdir()
    second = write_als(studio / "New Song Project" / "New Song.als")
    emulator.wait_for_paths(2, timeout=30)
    assert emulator.imported_paths() == [str(first), str(second)]
    assert proc.stop() == 0


@pytest.mark.daemon
def test_a_reload_turns_verification_on_at_its_new_interval(
    fuse_share: tuple[Path, Path],
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
) -> None:
    """Verification was off; after the reload a write no event reports is found."""
    source, mount = fuse_share
    config = write_config([mount], scan={"verify_interval_seconds": None})
    proc = daemon(config)
    proc.wait_for("folder_watched", mode="native")
    _rescan(config, verify_interval_seconds=0.5)
    proc.send(signal.SIGHUP)
    proc.wait_for("config_reloaded")
    for n in range(10):  # the first may land before the new job's baseline pass
        write_als(source / f"Remote {n}.als")  # no event: another machine wrote it
        try:
            wait_until(lambda: proc.events("native_events_missed"), timeout=3)
            break
        except AssertionError:
            continue
    missed = proc.wait_for("native_events_missed")
    assert missed[0]["folder"] == str(mount)
    assert proc.stop() == 0
