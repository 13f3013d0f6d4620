"""Reconciliation through the change detector (watcher/walkmemo.py): a walk that takes
unchanged folders from the detector's last pass and unchanged bundles' signatures from
memory finds exactly what a full walk finds, whatever changed since that pass, while
listing only the folders that changed."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ConfigWriter, DaemonFactory, write_als
from tests.daw_fixtures import logic_files, write
from tests.emulator import Emulator
from tests.test_detector import OLD, fuse_share, settle
from watcher.config import WatchFolder
from watcher.daws import Candidate, Registry
from watcher.detector import Detector, Rules
from watcher.scanner import remembered_signature, walk
from watcher.walkmemo import WalkMemo

__all__ = ["fuse_share"]  # the fixture, for the daemon test below

Found = list[tuple[str, object]]


def _walk(root: Path, memo: WalkMemo | None, detector: Detector | None) -> Found:
    registry = Registry()
    if memo is not None:
        memo.begin(detector.snapshot if detector else None, registry, whole=True)
    found: Found = []
    for verdict in walk(WatchFolder(path=root), registry, memo=memo):
        if isinstance(verdict, Candidate):
            path = Path(verdict.path)
            found.append((str(path), remembered_signature(path, verdict.daw, memo)))
    if memo is not None:
        memo.end()
    return found


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "Sessions"
    for client in ("Client A", "Client B"):
        for song in range(3):
            write_als(root / client / f"Song {song} Project" / f"Song {song}.als")
            write(root / client / f"Song {song} Project" / "Samples" / "kick.wav", b"RIFF")
            (root / client / f"Song {song} Project" / "Bounces").mkdir()
    for path, data in logic_files(root / "Client B" / "Score.logicx"):
        write(path, data)
    write_als(root / "Client A" / "Song 0 Project" / "Ableton Project Info" / "Hidden.als")
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            os.utime(os.path.join(dirpath, name), ns=(OLD, OLD))
    settle(root)
    return root


def _age(*paths: Path) -> None:
    """Written long ago but after the pass: the change is in the stat, not in its age."""
    for path in paths:
        os.utime(path, ns=(OLD + 10**9, OLD + 10**9))


def _nothing(root: Path) -> None:
    del root


def _folder_added(root: Path) -> None:
    write_als(root / "Client C" / "New Project" / "New.als")
    _age(root / "Client C" / "New Project", root / "Client C", root)


def _folder_removed(root: Path) -> None:
    shutil.rmtree(root / "Client A" / "Song 1 Project")
    _age(root / "Client A")


def _folder_renamed(root: Path) -> None:
    (root / "Client A").rename(root / "Client Z")
    _age(root)


def _project_added(root: Path) -> None:
    write_als(root / "Client B" / "Song 2 Project" / "Song 2 v2.als")
    _age(root / "Client B" / "Song 2 Project")


def _saved_into_bounces(root: Path) -> None:
    write_als(root / "Client A" / "Song 2 Project" / "Bounces" / "Saved.als")
    _age(root / "Client A" / "Song 2 Project" / "Bounces")


def _project_rewritten(root: Path) -> None:
    _rewrite(root / "Client A" / "Song 0 Project" / "Song 0.als")


def _bundle_rewritten(root: Path) -> None:
    _rewrite(root / "Client B" / "Score.logicx" / "Alternatives" / "000" / "ProjectData")


def _where_polls_do_not_look(root: Path) -> None:
    info = root / "Client B" / "Song 0 Project" / "Ableton Project Info"
    write_als(info / "In.als")
    _age(info, info.parent)


CHANGES: dict[str, Callable[[Path], None]] = {
    "nothing": _nothing,
    "folder added": _folder_added,
    "folder removed": _folder_removed,
    "folder renamed": _folder_renamed,
    "project added beside another": _project_added,
    "project saved into a bounce folder": _saved_into_bounces,
    "project rewritten in place, same size": _project_rewritten,
    "bundle data rewritten in place, same size": _bundle_rewritten,
    "project in a folder polls skip": _where_polls_do_not_look,
}


def _rewrite(path: Path) -> None:
    before = path.stat()
    with open(path, "r+b") as stream:  # same inode, same size, its folder unchanged
        stream.write(path.read_bytes())
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1000))


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_reconciliation_from_the_detector_finds_what_a_full_walk_finds(
    library: Path, change: str
) -> None:
    detector = Detector(library, Rules(Registry()))
    detector.poll(0.0)
    memo = WalkMemo()
    assert _walk(library, memo, detector) == _walk(library, None, None)  # bundles noted
    before = _walk(library, None, None)
    CHANGES[change](library)  # after the detector's pass: its listings are stale now
    expected = _walk(library, None, None)
    assert _walk(library, memo, detector) == expected
    assert (expected == before) == (change == "nothing")
    # a folder the detector leaves out (`Ableton Project Info`) is still walked
    assert any("Hidden.als" in path for path, _ in expected)


def test_a_reconciliation_of_an_unchanged_library_lists_almost_nothing(library: Path) -> None:
    detector = Detector(library, Rules(Registry()))
    detector.poll(0.0)
    memo = WalkMemo()
    _walk(library, memo, detector)
    calls: list[Path] = []
    real = os.walk

    def counting(top: str, topdown: bool = True) -> object:
        calls.append(Path(top))
        return real(top, topdown)

    os.walk = counting  # type: ignore[assignment]
    try:
        _walk(library, memo, detector)
    finally:
        os.walk = real
    assert calls == []  # no bundle walked again
    # only the project folders holding a folder the detector leaves out are listed
    assert memo.listed == 2
    assert memo.recalled > 10


@pytest.mark.daemon
def test_reconciliation_finds_a_save_no_event_reported(
    fuse_share: tuple[Path, Path],
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
) -> None:
    """Verification is slow here, so the reconciliation (through the detector's
    listings) is what finds the save on the share."""
    source, mount = fuse_share
    for n in range(5):
        write_als(source / f"Client {n}" / f"Song {n}.als")
    settle(source)  # folders written seconds ago are listed again, whatever the detector saw
    config = write_config(
        [mount], scan={"verify_interval_seconds": 3600, "reconcile_interval_seconds": 2}
    )
    proc = daemon(config)
    emulator.wait_for_paths(5)
    write_als(source / "Client 3" / "Remote.als")  # another machine: no event
    emulator.wait_for_paths(6, timeout=30)
    walks = [e for e in proc.events("walked") if e.get("recalled")]
    assert walks, json.dumps(proc.events("walked"))
    assert proc.stop() == 0
