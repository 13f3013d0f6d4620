"""Choosing native events or polling per folder, from the real mount table format."""

from __future__ import annotations

import contextlib
import errno
import sys
from pathlib import Path

import pytest

from tests.conftest import ConfigWriter, DaemonFactory, wait_until, write_als
from tests.emulator import Emulator
from watcher.daws import never_holds_projects
from watcher.inotify_watches import inotify_advice
from watcher.mounts import is_network_fstype, mount_type
from watcher.observer import Watchers

MOUNTS = r"""
/dev/sda1 / ext4 rw,relatime 0 0
//nas/studio /mnt/nas cifs rw,vers=3.0,addr=192.0.2.10 0 0
nas:/export/audio /mnt/nfs nfs4 rw,relatime 0 0
user@host:/music /home/me/remote fuse.sshfs rw,nosuid 0 0
/dev/sdb1 /media/me/Session\040Drive exfat rw 0 0
/dev/sdc1 /mnt/nas/local-cache ext4 rw 0 0
""".strip().splitlines()


@pytest.mark.parametrize(
    ("path", "fstype", "network"),
    [
        ("/home/me/Music/Projects", "ext4", False),
        ("/mnt/nas/Projects", "cifs", True),
        ("/mnt/nas", "cifs", True),
        ("/mnt/nasty", "ext4", False),
        ("/mnt/nfs/a/b", "nfs4", True),
        ("/home/me/remote/Live", "fuse.sshfs", True),
        ("/media/me/Session Drive/Projects", "exfat", False),
        ("/mnt/nas/local-cache/x", "ext4", False),
    ],
)
def test_deepest_mount_decides(path: str, fstype: str, network: bool) -> None:
    assert mount_type(Path(path), MOUNTS) == fstype
    assert is_network_fstype(fstype) is network


@pytest.mark.parametrize(
    ("code", "sysctl"),
    [
        (errno.ENOSPC, "fs.inotify.max_user_watches"),
        (errno.EMFILE, "fs.inotify.max_user_instances"),
    ],
)
def test_inotify_limits_name_the_sysctl_to_raise(code: int, sysctl: str) -> None:
    assert sysctl in inotify_advice(OSError(code, "limit"))


def _inotify_watches(pid: int) -> int:
    """Kernel inotify watches held by a process, as /proc reports them."""
    count = 0
    for info in Path(f"/proc/{pid}/fdinfo").iterdir():
        with contextlib.suppress(OSError):
            count += info.read_text().count("inotify wd:")
    return count


@pytest.mark.daemon
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")
def test_payload_folders_cost_no_inotify_watches(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    for n in range(40):
        (studio / "Live Project" / "Samples" / "Recorded" / f"take {n}").mkdir(parents=True)
        (studio / "Pro Tools Session" / "Audio Files" / f"disk {n}").mkdir(parents=True)
    (studio / ".git" / "objects").mkdir(parents=True)
    proc = daemon(write_config([studio]))
    proc.wait_watching()
    # studio, the two project folders: not the 80+ payload folders nor .git.
    watches = wait_until(lambda: _inotify_watches(proc.proc.pid), what="inotify watches")
    assert watches == 3

    (studio / "New Folder" / "Samples" / "Imported").mkdir(parents=True)
    project = write_als(studio / "New Folder" / "Song.als")
    emulator.wait_for_paths(1)
    assert _inotify_watches(proc.proc.pid) == 4  # "New Folder" only
    assert proc.stop() == 0
    assert emulator.imported_paths() == [str(project)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")
def test_folders_created_in_a_hurry_are_each_watched_once(tmp_path: Path) -> None:
    """`mkdir -p` races watchdog's own walk of a new folder, which then adds the same
    folder twice and warns with a message Python keeps forever (a leak in a daemon that
    runs for months). pytest's filterwarnings=error turns such a warning into a failure."""
    changes: list[object] = []
    watchers = Watchers(changes.append, polling_interval=1.0, prune=never_holds_projects)
    try:
        watchers.watch(tmp_path, recursive=True, mode="native")
        for n in range(60):
            (tmp_path / f"Client {n}" / "Song Project" / "Backup" / "Old").mkdir(parents=True)
        last = tmp_path / "Client 59" / "Song Project" / "Backup" / "Old" / "marker.txt"
        last.write_bytes(b"")
        wait_until(lambda: any(getattr(c, "path", None) == last for c in changes))
    finally:
        watchers.stop()


def test_polling_does_not_look_inside_payload_folders(tmp_path: Path) -> None:
    samples = tmp_path / "Song Project" / "Samples" / "Recorded"
    samples.mkdir(parents=True)
    changes: list[object] = []
    watchers = Watchers(changes.append, polling_interval=0.2, prune=never_holds_projects)
    try:
        watchers.watch(tmp_path, recursive=True, mode="polling")
        wait_until(lambda: watchers.ready(tmp_path))
        # The detector reports project candidates and folders, not every file.
        time_to_first_snapshot = write_als(tmp_path / "Ready.als")
        wait_until(lambda: any(getattr(c, "path", None) == time_to_first_snapshot for c in changes))
        (samples / "take 1.wav").write_bytes(b"RIFF")  # first: seen by the same pass or earlier
        project = write_als(tmp_path / "Song Project" / "Song.als")
        wait_until(lambda: any(getattr(c, "path", None) == project for c in changes))
    finally:
        watchers.stop()
    seen = {getattr(c, "path", None) for c in changes}
    assert not any(p is not None and "Samples" in p.parts for p in seen), seen


def test_after_a_reload_with_another_daw_table_passes_use_it(tmp_path: Path) -> None:
    """`kinds:` changed: the detector goes on with the new table, so the next walk may
    take its listings again (before, every reconciliation listed every folder)."""
    from watcher.config import KindOverride
    from watcher.daws import Registry

    write_als(tmp_path / "Song Project" / "Song.als")
    changes: list[object] = []
    old = Registry()
    watchers = Watchers(changes.append, polling_interval=0.2, registry=old)
    try:
        watchers.watch(tmp_path, recursive=True, mode="polling")
        wait_until(lambda: watchers.snapshot(tmp_path, old) is not None)
        new = Registry.configured({"Ableton": KindOverride(extensions=[".alx"])})
        watchers.configure(new, polling_interval=0.2, verify_interval=None)
        wait_until(lambda: watchers.snapshot(tmp_path, new) is not None)
        snapshot = watchers.snapshot(tmp_path, new)
        assert (
            snapshot is not None and str(tmp_path / "Song Project" / "Song.als") in snapshot.stats
        )
        project = tmp_path / "Other Project" / "Other.alx"  # the new extension is polled
        project.parent.mkdir()
        project.write_bytes(b"\x1f\x8b" + bytes(64))
        wait_until(lambda: any(getattr(c, "path", None) == project.parent for c in changes))
    finally:
        watchers.stop()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")
def test_inotify_watches_are_kept_slim_and_still_report(tmp_path: Path) -> None:
    """watchdog's per-watch bookkeeping is replaced by a slotted one (issue 13's
    memory target): watchdog must still create its watches by that name, and events
    must still arrive through it."""
    from watchdog.observers import inotify_c

    from watcher.inotify_watches import _SlimWatch

    (tmp_path / "Client" / "Song Project").mkdir(parents=True)
    changes: list[object] = []
    watchers = Watchers(changes.append, polling_interval=1.0, prune=never_holds_projects)
    try:
        watchers.watch(tmp_path, recursive=True, mode="native")
        assert getattr(inotify_c, "Watch") is _SlimWatch  # noqa: B009 - patched at run time
        observer = watchers._native_observer()
        watches = list(observer._inotify_fd._watch_for_wd.values())  # type: ignore[attr-defined]
        assert len(watches) == 3 and all(type(w) is _SlimWatch for w in watches)
        project = write_als(tmp_path / "Client" / "Song Project" / "Song.als")
        wait_until(lambda: any(getattr(c, "path", None) == project for c in changes))
    finally:
        watchers.stop()


def test_slim_callbacks_behave_as_a_dict() -> None:
    from watcher.inotify_watches import _Callbacks

    callbacks = _Callbacks()
    assert not callbacks and "a" not in callbacks and callbacks.values() == []
    callbacks["a"] = 1
    callbacks["a"] = 2
    callbacks["b"] = 3
    assert callbacks and "a" in callbacks and "b" in callbacks
    assert sorted(callbacks.values()) == [2, 3]
    assert callbacks.pop("a") == 2 and callbacks.pop("a") is None
    assert callbacks.values() == [3] and callbacks
    assert callbacks.pop("b") == 3 and not callbacks
    assert callbacks.pop("zz", "d") == "d"
