"""Watches that lie and folders that refuse: links, nesting, virtual file systems,
duplicates and permissions (issue 10, items 7 and 8).

Everything is real: symlinks on disk, a proc file system mounted inside a watched
folder (where this machine lets root mount one), the daemon as a subprocess, and
`chmod` seen by a daemon that runs as an unprivileged user (root reads anything, so
the permission tests drop to `nobody` and skip where that is impossible).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import (
    REPO,
    TOKEN,
    ConfigWriter,
    DaemonFactory,
    DaemonProcess,
    clean_env,
    cli,
    wait_until,
    write_als,
)
from tests.emulator import Emulator
from watcher import scanner
from watcher.daws import Registry
from watcher.scanner import signature_of, walk

LINUX = sys.platform.startswith("linux")
NOBODY = 65534


def _inotify_watches(pid: int) -> int:
    count = 0
    for info in Path(f"/proc/{pid}/fdinfo").iterdir():
        with contextlib.suppress(OSError):
            count += info.read_text().count("inotify wd:")
    return count


def _logic_bundle(path: Path) -> Path:
    data = path / "Alternatives" / "000" / "ProjectData"
    data.parent.mkdir(parents=True)
    data.write_bytes(b"#\x00\x00\x00" + b"\x00" * 64)
    (path / "Resources").mkdir()
    return path


# --- a watched folder that is a link ----------------------------------------------------


@pytest.mark.daemon
def test_a_linked_watch_folder_gets_live_events_under_its_configured_path(
    tmp_path: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    """inotify does not follow a watched link (watchdog asks for IN_DONT_FOLLOW), so a
    save directly in `~/Music/Projects -> /Volumes/Studio` raised no event at all."""
    drive = tmp_path / "Volumes" / "Studio"
    drive.mkdir(parents=True)
    link = tmp_path / "Projects"
    link.symlink_to(drive, target_is_directory=True)
    proc = daemon(write_config([link], scan={"reconcile_interval_seconds": 3600}))
    proc.wait_watching()
    watched = proc.wait_for("folder_watched")[0]
    assert watched["real"] == str(drive)
    assert "a link to" in watched["why"]

    write_als(drive / "Top Level.als")
    write_als(drive / "Client" / "Nested.als")
    paths = emulator.wait_for_paths(2)
    # Sent and stored under the path the config names, not the link's target.
    assert sorted(paths) == [str(link / "Client" / "Nested.als"), str(link / "Top Level.als")]
    assert proc.stop() == 0


@pytest.mark.daemon
def test_a_link_pointed_at_another_drive_is_followed_there(
    tmp_path: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    old_drive, new_drive = tmp_path / "Old Drive", tmp_path / "New Drive"
    old_drive.mkdir()
    new_drive.mkdir()
    link = tmp_path / "Projects"
    link.symlink_to(old_drive, target_is_directory=True)
    proc = daemon(write_config([link], scan={"reconcile_interval_seconds": 3600}))
    proc.wait_watching()
    swap = tmp_path / "swap"
    swap.symlink_to(new_drive, target_is_directory=True)
    swap.replace(link)  # atomic, as `ln -sfn` does
    proc.wait_for("folder_relinked", folder=str(link))
    write_als(new_drive / "On The New Drive.als")
    assert emulator.wait_for_paths(1) == [str(link / "On The New Drive.als")]
    assert proc.stop() == 0


@pytest.mark.daemon
def test_a_read_error_stored_as_invalid_by_an_older_version_is_judged_again(
    tmp_path: Path,
    studio: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
) -> None:
    """Older versions stored "cannot read" as a verdict under a signature that `chmod`
    does not change; such a row must not keep a readable project out for good."""
    from watcher.scanner import signature_of as stat_of
    from watcher.state import State

    song = write_als(studio / "Song.als")
    config = write_config([studio])
    registry = Registry.configured({})
    candidate = next(iter(walk(_folder(studio), registry)))
    signature = stat_of(song, candidate.daw)  # type: ignore[union-attr]
    assert signature is not None
    from watcher.core.effects import Persist
    from watcher.core.records import ProjectRecord

    state = State(tmp_path / "state.sqlite3")
    old = ProjectRecord(  # as an older version stored a read error: a verdict
        path=str(song),
        root=str(studio),
        kind="Ableton",
        title=song.name,
        project_type="",
        project_path=str(song),
        preview_path=None,
        generate_previews=False,
        signature=signature,
        state="invalid",
        last_error="cannot read Song.als: Permission denied",
    )
    state.apply([Persist(upserts=(old,))])
    state.close()
    proc = daemon(config)
    assert emulator.wait_for_paths(1) == [str(song)]
    assert proc.stop() == 0


def test_check_says_a_watched_folder_is_a_link(
    tmp_path: Path, emulator: Emulator, write_config: ConfigWriter
) -> None:
    drive = tmp_path / "Studio"
    drive.mkdir()
    link = tmp_path / "Projects"
    link.symlink_to(drive, target_is_directory=True)
    result = cli("check", "--config", str(write_config([link])))
    assert f"folder {link} is a link to {drive}: native file events" in result.stdout, result.stdout


# --- bundles that are links, and bundles stuffed with files -----------------------------


def test_a_bundle_that_is_a_link_is_not_followed(tmp_path: Path, studio: Path) -> None:
    """`Song.logicx -> /` was walked in full, on the daemon's main loop."""
    elsewhere = _logic_bundle(tmp_path / "Elsewhere.logicx")
    for n in range(50):
        (elsewhere / "Media" / f"take {n}.wav").parent.mkdir(exist_ok=True)
        (elsewhere / "Media" / f"take {n}.wav").write_bytes(b"RIFF")
    linked = studio / "Song.logicx"
    linked.symlink_to(elsewhere, target_is_directory=True)
    real = _logic_bundle(studio / "Real.logicx")
    registry = Registry.configured({})
    found = list(walk(_folder(studio), registry, explain=True))
    verdicts = {Path(v.path).name: v for v in found}
    assert getattr(verdicts["Song.logicx"], "reason", None) == "link"
    candidate = verdicts["Real.logicx"]
    daw = candidate.daw  # type: ignore[union-attr]
    assert signature_of(linked, daw) is None
    assert signature_of(real, daw) is not None


def test_a_bundle_walk_is_bounded(
    tmp_path: Path, studio: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = _logic_bundle(studio / "Huge.logicx")
    stuffed = bundle / "Stuffed"
    stuffed.mkdir()
    for n in range(300):
        (stuffed / f"f{n:03}").write_bytes(b"x" * 10)
    registry = Registry.configured({})
    candidate = next(v for v in walk(_folder(studio), registry) if Path(v.path) == bundle)
    full = signature_of(bundle, candidate.daw)  # type: ignore[union-attr]
    monkeypatch.setattr(scanner, "BUNDLE_WALK_LIMIT", 50)
    bounded = signature_of(bundle, candidate.daw)  # type: ignore[union-attr]
    assert full is not None and bounded is not None
    assert full.size > 300 * 10
    assert bounded.size < 60 * 11  # stopped after about 50 entries


def _folder(path: Path, **settings: Any) -> Any:
    from watcher.config import WatchFolder

    return WatchFolder(path=path, **settings)


# --- /, /proc and virtual file systems --------------------------------------------------


def test_check_warns_about_watching_everything(
    tmp_path: Path, emulator: Emulator, write_config: ConfigWriter
) -> None:
    config = write_config(["/", {"path": "/proc"}, {"path": str(Path.home())}])
    result = cli("check", "--config", str(config), timeout=120)
    lines = result.stdout.splitlines()
    assert any(line.startswith("warn  folder /: the whole file system") for line in lines), (
        result.stdout
    )
    assert any(line.startswith("warn  folder /proc: a virtual file system") for line in lines), (
        result.stdout
    )
    assert any(
        line.startswith(f"warn  folder {Path.home()}: your whole home folder") for line in lines
    ), result.stdout


@pytest.mark.daemon
@pytest.mark.skipif(not LINUX, reason="/proc and inotify are Linux's")
def test_a_watched_proc_gets_no_watches(
    emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory, studio: Path
) -> None:
    proc = daemon(write_config([studio, {"path": "/proc"}]))
    proc.wait_watching()
    proc.wait_for("folder_not_watched", folder="/proc")
    assert _inotify_watches(proc.proc.pid) == 1  # the studio only
    assert proc.stop() == 0


@pytest.fixture
def proc_inside(studio: Path) -> Iterator[Path]:
    """A real proc file system mounted inside the watched folder (root, Linux)."""
    point = studio / "Mounted" / "proc"
    point.mkdir(parents=True)
    if not LINUX or os.geteuid() != 0:
        pytest.skip("mounting a proc file system needs root on Linux")
    mounted = subprocess.run(["mount", "-t", "proc", "proc", str(point)], check=False)
    if mounted.returncode != 0:
        pytest.skip("this machine does not allow mounting a proc file system")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


@pytest.mark.daemon
def test_walks_and_watches_never_enter_a_virtual_file_system(
    proc_inside: Path,
    studio: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
) -> None:
    """A proc mount below a watched folder cost thousands of inotify watches."""
    project = write_als(studio / "Mounted" / "Song.als")
    config = write_config([studio])
    dry = cli("scan", "--config", str(config), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert [yaml.safe_load(line)["projectPath"] for line in dry.stdout.splitlines()] == [
        str(project)
    ]
    proc = daemon(config)
    proc.wait_watching()
    emulator.wait_for_paths(1)
    assert _inotify_watches(proc.proc.pid) == 2  # the studio and Mounted, not /proc
    assert proc.stop() == 0


# --- the same folder twice, and nested folders ------------------------------------------


def test_the_same_folder_twice_is_a_config_error_naming_both(
    tmp_path: Path, studio: Path, emulator: Emulator, write_config: ConfigWriter
) -> None:
    twice = write_config(
        [{"path": str(studio), "kind": "Ableton"}, {"path": str(studio) + "/", "kind": "Logic"}]
    )
    for command in ("check", "scan", "run"):
        result = cli(command, "--config", str(twice))
        assert result.returncode == 78, (command, result.stderr)
        assert "watch[0]" in result.stderr and "watch[1]" in result.stderr
        assert "same folder" in result.stderr
    link = tmp_path / "Link to Projects"
    link.symlink_to(studio, target_is_directory=True)
    result = cli("check", "--config", str(write_config([studio, link])))
    assert result.returncode == 78
    assert f"watch[0] ({studio}) and watch[1] ({link}) are the same folder" in result.stderr


def test_nested_folders_are_listed_once_by_their_own_entry(
    tmp_path: Path, emulator: Emulator, write_config: ConfigWriter
) -> None:
    music = tmp_path / "Music"
    inner = music / "Projects"
    outer_song = write_als(music / "Sketch.als")
    inner_song = write_als(inner / "Client" / "Song.als")
    elsewhere = tmp_path / "Elsewhere"
    linked_inner_real = write_als(elsewhere / "Linked.als")
    (music / "Linked").symlink_to(elsewhere, target_is_directory=True)
    config = write_config(
        [
            {"path": str(music), "kind": "Sketches"},
            {"path": str(inner), "kind": "Clients"},
            {"path": str(elsewhere), "kind": "Elsewhere"},
        ]
    )
    dry = cli("scan", "--config", str(config), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    items = [yaml.safe_load(line) for line in dry.stdout.splitlines()]
    assert sorted((i["projectPath"], i["kind"]) for i in items) == sorted(
        [
            (str(outer_song), "Sketches"),
            (str(inner_song), "Clients"),
            (str(linked_inner_real), "Elsewhere"),
        ]
    ), items

    check = cli("check", "--config", str(config))
    overlap = [line for line in check.stdout.splitlines() if "is inside" in line]
    expected = (
        f"ok    folder {inner} is inside {music}: its own entry's settings apply there, "
        f"and {music} is walked and watched around it"
    )
    assert overlap == [expected], check.stdout


@pytest.mark.daemon
def test_nested_folders_import_each_project_once_with_the_inner_settings(
    tmp_path: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    music = tmp_path / "Music"
    inner = music / "Projects"
    (inner / "Client").mkdir(parents=True)
    config = write_config(  # inner first: the outer walk, coming last, claimed it too
        [{"path": str(inner), "kind": "Clients"}, {"path": str(music), "kind": "Sketches"}],
        scan={"reconcile_interval_seconds": 3600},
    )
    old_song = write_als(inner / "Client" / "Old.als")
    old_sketch = write_als(music / "Old Sketch.als")
    proc = daemon(config)
    proc.wait_watching()
    song = write_als(inner / "Client" / "Song.als")
    sketch = write_als(music / "Sketch.als")
    emulator.wait_for_paths(4)
    last = write_als(inner / "Last.als")  # saved after the rest: a duplicate came first
    emulator.wait_for(lambda: str(last) in emulator.imported_paths())
    kinds = [(i["projectPath"], r.kind) for r in emulator.accepted() for i in r.items]
    assert sorted(kinds) == sorted(
        [
            (str(old_song), "Clients"),
            (str(old_sketch), "Sketches"),
            (str(song), "Clients"),
            (str(sketch), "Sketches"),
            (str(last), "Clients"),
        ]
    )
    if LINUX:  # Music, Projects, Client: each watched once
        assert _inotify_watches(proc.proc.pid) == 3
    assert proc.stop() == 0


# --- permissions: a daemon that cannot read everything ----------------------------------


def _drop_to_nobody() -> None:
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def _drop_file_capabilities() -> None:
    """Stay root but lose CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (from the bounding
    set, so the exec'd interpreter never gets them): file modes then apply to root as
    to anyone. For machines where nobody cannot run the interpreter (it lives in
    /root, mode 0700)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for cap in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@dataclass(frozen=True)
class Unprivileged:
    """How to start a process that `chmod 000` stops, and who must own its files."""

    preexec: Callable[[], None]
    uid: int


def _denied(preexec: Callable[[], None], locked: Path) -> bool:
    """Whether a process started this way runs this checkout and cannot read `locked`."""
    try:
        result = subprocess.run(
            [sys.executable, "-c", f"import watcher.daemon; open({str(locked)!r}, 'rb')"],
            preexec_fn=preexec,
            cwd=REPO,
            capture_output=True,
            check=False,
            timeout=60,
        )
    except OSError:
        return False
    return result.returncode != 0 and b"PermissionError" in result.stderr


@pytest.fixture
def nobody_home() -> Iterator[Path]:
    """A folder the unprivileged daemon owns (pytest's own tmp folder is root's, 0700)."""
    if os.name != "posix" or not LINUX:
        pytest.skip("permissions are tested on Linux")
    if os.geteuid() != 0:
        pytest.skip("needs root to start an unprivileged daemon (as root, chmod 000 reads fine)")
    home = Path(tempfile.mkdtemp(prefix="watch-hostile-", dir="/tmp"))
    home.chmod(0o755)
    try:
        yield home
    finally:
        for dirpath, dirnames, filenames in os.walk(home):
            for name in dirnames + filenames:
                with contextlib.suppress(OSError):
                    os.chmod(os.path.join(dirpath, name), 0o755, follow_symlinks=False)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def unprivileged(nobody_home: Path) -> Unprivileged:
    locked = nobody_home / "probe"
    locked.write_bytes(b"x")
    locked.chmod(0o000)
    os.chown(nobody_home, NOBODY, NOBODY)
    try:
        if _denied(_drop_to_nobody, locked):
            return Unprivileged(_drop_to_nobody, NOBODY)
        os.chown(nobody_home, 0, 0)
        if _denied(_drop_file_capabilities, locked):
            return Unprivileged(_drop_file_capabilities, 0)
    finally:
        locked.unlink()
    pytest.skip(
        "cannot start a process here that file permissions stop (no user nobody "
        "able to run this checkout, no capabilities to drop)"
    )


def _own(path: Path, uid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(path):
        os.chown(dirpath, uid, uid)
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, uid, follow_symlinks=False)


class NobodyDaemon(DaemonProcess):
    """`run` unprivileged (see `unprivileged`), with HOME in its own folder."""

    def __init__(self, config: Path, log_path: Path, home: Path, how: Unprivileged) -> None:
        self.config = config
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "watcher", "run", "--config", str(config)],
            stdout=self._log,
            stderr=self._log,
            env=clean_env(HOME=str(home)),
            cwd=REPO,
            preexec_fn=how.preexec,  # noqa: PLW1509 - the test starts no threads of its own
        )


def _nobody_config(
    home: Path, how: Unprivileged, emulator: Emulator, studio: Path, **sections: Any
) -> Path:
    token = home / "token"
    token.write_text(TOKEN + "\n")
    token.chmod(0o600)
    config: dict[str, Any] = {
        "sessiondock": {"base_url": emulator.base_url, "token_file": str(token)},
        "watch": [{"path": str(studio), **sections.pop("folder", {})}],
        "debounce": {"quiet_seconds": 0.5, "max_wait_seconds": 10},
        "import": {"batch_size": 50, "batch_window_seconds": 0.3, "retry_max_seconds": 1},
        "scan": {"offline_check_seconds": 0.5, "polling_interval_seconds": 0.3},
        "state": {"path": str(home / "state.sqlite3")},
        "log": {"level": "debug", "format": "json"},
    }
    for key, value in sections.items():
        config[key] = {**config.get(key, {}), **value}
    path = home / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    _own(home, how.uid)
    return path


@pytest.fixture
def nobody_daemon(nobody_home: Path, unprivileged: Unprivileged) -> Iterator[Any]:
    started: list[NobodyDaemon] = []

    def start(config: Path) -> NobodyDaemon:
        proc = NobodyDaemon(
            config, nobody_home / f"daemon-{len(started)}.log", nobody_home, unprivileged
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.proc.poll() is None:
            proc.stop()
        log = proc.log_path.read_text(errors="replace")
        assert TOKEN not in log
        assert "Traceback" not in log, log[-4000:]


@pytest.mark.daemon
def test_an_unreadable_project_is_retried_after_chmod_even_across_a_restart(
    nobody_home: Path, nobody_daemon: Any, emulator: Emulator, unprivileged: Unprivileged
) -> None:
    """It was stored as invalid under a signature `chmod` does not change: never again."""
    studio = nobody_home / "Projects"
    song = write_als(studio / "Song.als")
    config = _nobody_config(
        nobody_home, unprivileged, emulator, studio, scan={"reconcile_interval_seconds": 3600}
    )
    song.chmod(0o000)
    proc = nobody_daemon(config)
    proc.wait_watching()
    hit = proc.wait_for("project_unreadable", path=str(song))[0]
    assert "chmod" in hit["advice"] and str(song) in hit["advice"]
    assert proc.stop() == 0
    assert not proc.events("project_skipped")

    proc = nobody_daemon(config)  # a restart tries again, and logs it again once
    proc.wait_for("project_unreadable", path=str(song))
    song.chmod(0o644)  # a change: the chmod itself
    emulator.wait_for_paths(1)
    proc.wait_for("project_readable", path=str(song))
    assert emulator.imported_paths() == [str(song)]
    assert len(proc.events("project_unreadable")) == 1
    assert proc.stop() == 0


@pytest.mark.daemon
def test_an_unreadable_project_is_retried_by_reconciliation(
    nobody_home: Path, nobody_daemon: Any, emulator: Emulator, unprivileged: Unprivileged
) -> None:
    """A chmod no event reports (here: a polled folder between two polls) is seen by
    the periodic pass, which tries the project again."""
    studio = nobody_home / "Projects"
    song = write_als(studio / "Song.als")
    config = _nobody_config(
        nobody_home,
        unprivileged,
        emulator,
        studio,
        folder={"polling": True},
        # No second polling pass within the test: only reconciliation can see it.
        scan={"reconcile_interval_seconds": 1, "polling_interval_seconds": 3600},
    )
    song.chmod(0o000)
    proc = nobody_daemon(config)
    proc.wait_for("project_unreadable", path=str(song))
    seen = len(proc.events("reconciling"))
    proc.wait_for("reconciling", count=seen + 3)  # tried at each pass, logged once
    song.chmod(0o644)
    emulator.wait_for_paths(1, timeout=30)
    assert len(proc.events("project_unreadable")) == 1  # once, not at every pass
    assert proc.stop() == 0


@pytest.mark.daemon
def test_an_unreadable_folder_is_logged_once_and_retried(
    nobody_home: Path, nobody_daemon: Any, emulator: Emulator, unprivileged: Unprivileged
) -> None:
    studio = nobody_home / "Projects"
    locked = studio / "Locked Client"
    song = write_als(locked / "Song.als")
    config = _nobody_config(
        nobody_home, unprivileged, emulator, studio, scan={"reconcile_interval_seconds": 1}
    )
    locked.chmod(0o000)
    proc = nobody_daemon(config)
    proc.wait_watching()
    hit = proc.wait_for("folder_unreadable", folder=str(locked))[0]
    assert str(locked) in hit["advice"] and "chmod" in hit["advice"]

    def shown_by_status() -> bool:
        result = cli("status", "--json", "--config", str(config))
        report = json.loads(result.stdout) if result.stdout.startswith("{") else {}
        return any(e["path"] == str(locked) for e in report.get("unreadable", []))

    wait_until(shown_by_status, what="status --json listing the unreadable folder")
    text = cli("status", "--config", str(config)).stdout
    assert f"unreadable: {locked}\n           -> cannot read folder" in text, text
    seen = len(proc.events("reconciling"))
    proc.wait_for("reconciling", count=seen + 3)  # walked again at each pass, logged once
    locked.chmod(0o755)
    assert emulator.wait_for_paths(1, timeout=30) == [str(song)]
    proc.wait_for("folder_readable", folder=str(locked))
    assert len(proc.events("folder_unreadable")) == 1
    assert proc.stop() == 0


@pytest.mark.daemon
@pytest.mark.skipif(not LINUX, reason="inotify is Linux's")
def test_a_folder_made_readable_is_watched_live(
    nobody_home: Path, nobody_daemon: Any, emulator: Emulator, unprivileged: Unprivileged
) -> None:
    """inotify refuses a watch on a folder it cannot read; after `chmod` the folder is
    walked at once (the chmod is its change) and watched, so a later save arrives live."""
    studio = nobody_home / "Projects"
    locked = studio / "Locked Client"
    first = write_als(locked / "First.als")
    config = _nobody_config(
        nobody_home, unprivileged, emulator, studio, scan={"reconcile_interval_seconds": 3600}
    )
    locked.chmod(0o000)
    proc = nobody_daemon(config)
    proc.wait_for("folder_unreadable", folder=str(locked))
    locked.chmod(0o755)
    emulator.wait_for_paths(1)
    second = write_als(locked / "Second.als")
    os.chown(second, unprivileged.uid, unprivileged.uid)
    emulator.wait_for_paths(2)
    assert sorted(emulator.imported_paths()) == sorted([str(first), str(second)])
    assert proc.stop() == 0


# --- a user whose inotify instances are all in use ----------------------------------------

ISOLATED_UID = 64_999  # no passwd entry needed: a uid of its own, shared with no one


def _as_isolated_user() -> None:
    """Become ISOLATED_UID but keep root's right to read any file (ambient
    CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH survive the exec), so the interpreter
    runs wherever it is installed: only the uid, which inotify counts by, changes."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_keepcaps, pr_cap_ambient, pr_cap_ambient_raise = 8, 47, 2
    dac_caps = (1 << 1) | (1 << 2)
    if libc.prctl(pr_set_keepcaps, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_KEEPCAPS)")
    os.setgroups([])
    os.setgid(ISOLATED_UID)
    os.setuid(ISOLATED_UID)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this pid
    data = (ctypes.c_uint32 * 6)(dac_caps, dac_caps, dac_caps, 0, 0, 0)
    if libc.capset(header, data) != 0:
        raise OSError(ctypes.get_errno(), "capset")
    for cap in (1, 2):
        if libc.prctl(pr_cap_ambient, pr_cap_ambient_raise, cap, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAP_AMBIENT_RAISE)")


# Opens inotify instances until the kernel refuses, says how many and why, and holds
# them until its stdin closes.
_HOLDER = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
held = 0
while held < 10_000 and libc.inotify_init1(0) >= 0:
    held += 1
print(held, ctypes.get_errno(), flush=True)
sys.stdin.read()
"""


@pytest.mark.daemon
@pytest.mark.skipif(not LINUX, reason="inotify is Linux's")
def test_no_inotify_instances_left_falls_back_to_polling(
    nobody_home: Path, emulator: Emulator
) -> None:
    """Use up a user's inotify instances for real, as other watchers on a busy machine
    do; the daemon must poll instead, say which sysctl to raise, and import. The user is
    one of its own, so no other process here (another test suite) loses its instances."""
    how = Unprivileged(_as_isolated_user, ISOLATED_UID)
    try:
        probe = subprocess.run(
            [sys.executable, "-c", "import watcher.daemon"],
            preexec_fn=how.preexec,
            cwd=REPO,
            capture_output=True,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot start a process as a user of its own here: {exc}")
    if probe.returncode != 0:
        pytest.skip(f"a user of its own cannot run this checkout: {probe.stderr[-200:]!r}")
    studio = nobody_home / "Projects"
    studio.mkdir()
    config = _nobody_config(nobody_home, how, emulator, studio)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER],
        preexec_fn=how.preexec,  # noqa: PLW1509 - the test starts no threads of its own
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        held, why = map(int, holder.stdout.readline().split())
        if why != errno.EMFILE:
            pytest.skip(f"inotify_init1 failed with errno {why} after {held}, not EMFILE")
        proc = NobodyDaemon(config, nobody_home / "daemon.log", nobody_home, how)
        failed = proc.wait_for("native_watch_failed")[0]
    finally:
        holder.communicate(timeout=30)  # closes its stdin: it lets go of its instances
    assert "fs.inotify.max_user_instances" in failed["advice"]
    proc.wait_for("folder_watched", mode="polling")
    project = write_als(studio / "Polled.als")
    emulator.wait_for_paths(1)
    assert proc.stop() == 0
    assert emulator.imported_paths() == [str(project)]
    assert "Traceback" not in proc.log_text()
