"""The state database under real faults: damaged files, another program's lock, a full
disk, and a second writer; plus the pure retry decision with an injected clock.

Damage is done to real SQLite files (random bytes, a truncation mid-page, a page of
random bytes in a database of many rows); locks are held by a real second process; the
disk is a real 1 MiB tmpfs (root only; skipped where mount is not allowed); the second
writer is a real daemon, and a dead owner is a real `kill -9`.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import (
    REPO,
    ConfigWriter,
    DaemonFactory,
    clean_env,
    cli,
    wait_until,
    write_als,
)
from tests.emulator import Emulator
from tests.test_notify import Manager
from watcher.core.effects import Persist
from watcher.core.outage import Outage
from watcher.core.records import ProjectRecord, Signature
from watcher.owner import EXIT_LOCKED, LockHeld, Owner, owner_pid
from watcher.state import State, StateCorrupt, StateUnavailable, classify, move_aside

PAGE = 4096
ROWS = 3000

# --- damage done to real files ----------------------------------------------------------


def _real_database(path: Path, rows: int = ROWS) -> None:
    """A state database as the daemon leaves it, with many rows, checkpointed to disk."""
    state = State(path)
    now = time.time()
    with state.transaction():
        state.db.executemany(
            "INSERT INTO projects (path, root, kind, title, project_type, project_path, "
            "generate_previews, size, mtime_ns, inode, state, updated_at) "
            "VALUES (?, '/r', 'ableton', ?, 'ableton', ?, 1, 10, 1, 1, 'imported', ?)",
            [
                (f"/r/p{i:05}/Song {i}.als", f"Song {i}", f"/r/p{i:05}/Song {i}.als", now)
                for i in range(rows)
            ],
        )
    state.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    state.close()


def garbage(path: Path) -> None:
    path.write_bytes(os.urandom(64 * 1024))


def truncated(path: Path) -> None:
    _real_database(path)
    size = path.stat().st_size
    with open(path, "r+b") as file:
        file.truncate(size // 2 + PAGE // 3)  # mid-page, half the pages gone


def page_damaged(path: Path) -> None:
    _real_database(path)
    pages = path.stat().st_size // PAGE
    with open(path, "r+b") as file:
        file.seek((pages // 2) * PAGE)
        file.write(os.urandom(PAGE))


DAMAGE: dict[str, Callable[[Path], None]] = {
    "garbage": garbage,
    "truncated": truncated,
    "page_damaged": page_damaged,
}


@pytest.fixture(params=sorted(DAMAGE))
def damage(request: pytest.FixtureRequest) -> Callable[[Path], None]:
    return DAMAGE[request.param]


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    assert "Traceback" not in text
    return lines[0]


# --- the pure retry decision ------------------------------------------------------------


def test_outage_backs_off_to_a_cap_and_logs_once() -> None:
    outage = Outage(base=1.0, cap=8.0)
    assert outage.due(0.0) and not outage.active
    assert outage.failed(10.0, "disk full") is True  # begins: one log line
    assert [outage.failed(t, "disk full") for t in (11.0, 13.0, 17.0, 25.0)] == [False] * 4
    assert outage.retry_at == 25.0 + 8.0  # 1, 2, 4, 8, then capped at 8
    assert not outage.due(32.9) and outage.due(33.0)
    assert outage.succeeded(33.0) == 23.0
    assert not outage.active and outage.due(33.0)
    assert outage.succeeded(34.0) is None  # no outage: nothing to log


def test_errors_are_told_apart_by_sqlite_code(tmp_path: Path) -> None:
    path = tmp_path / "x.sqlite3"
    garbage(path)
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError) as caught:
        db.execute("SELECT * FROM sqlite_master").fetchall()
    db.close()
    assert isinstance(classify(path, caught.value), StateCorrupt)
    full = classify(path, OSError(28, "No space left on device"))
    assert isinstance(full, StateUnavailable) and full.reason == "full"
    assert "free space" in full.advice
    assert classify(path, sqlite3.ProgrammingError("a bug")) is None  # bugs stay loud


def test_damaged_file_is_found_at_open_and_moved_aside_kept(
    tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    path = tmp_path / "state.sqlite3"
    damage(path)
    before = path.read_bytes()
    with pytest.raises(StateCorrupt):
        State(path, readonly=True)
    with pytest.raises(StateCorrupt):
        State(path)
    moved = move_aside(path, now=0)
    assert moved.name == "state.sqlite3.corrupt-19700101T000000Z"
    assert moved.read_bytes() == before and not path.exists()
    path.write_bytes(before)
    assert move_aside(path, now=0).name.endswith("-2")  # an earlier copy is never replaced


# --- readers: status, check, scan --dry-run ---------------------------------------------


def test_status_on_a_damaged_state_is_one_line(
    tmp_path: Path, studio: Path, write_config: ConfigWriter, damage: Callable[[Path], None]
) -> None:
    config = write_config([studio])
    damage(tmp_path / "state.sqlite3")

    result = cli("status", "--config", str(config))
    assert result.returncode == 1
    line = _one_line(result.stdout + result.stderr)
    assert "is damaged" in line and "moves it aside" in line

    result = cli("status", "--json", "--config", str(config))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    report = json.loads(_one_line(result.stdout))
    assert "is damaged" in report["error"] and "rebuilds" in report["advice"]


def test_dry_run_on_a_damaged_state_is_one_line(
    tmp_path: Path, studio: Path, write_config: ConfigWriter
) -> None:
    write_als(studio / "Song.als")
    config = write_config([studio])
    page_damaged(tmp_path / "state.sqlite3")
    result = cli("scan", "--dry-run", "--config", str(config))
    assert result.returncode == 1
    assert "is damaged" in _one_line(result.stderr)


def test_check_fails_on_a_damaged_state(
    tmp_path: Path, studio: Path, write_config: ConfigWriter, damage: Callable[[Path], None]
) -> None:
    config = write_config([studio])
    damage(tmp_path / "state.sqlite3")
    result = cli("check", "--config", str(config))
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert "FAIL  state" in result.stdout and "damaged" in result.stdout
    assert "moves it aside" in result.stdout
    assert "not ready" in result.stdout


# --- the daemon: rebuild without resending ----------------------------------------------


def _seed_library(emulator: Emulator, paths: list[Path]) -> None:
    for path in paths:
        emulator.library.add(str(path))


@pytest.mark.daemon
def test_damaged_state_is_moved_aside_and_rebuilt_without_resending(
    tmp_path: Path,
    studio: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
) -> None:
    projects = [write_als(studio / f"Client/Song {i}.als") for i in range(6)]
    _seed_library(emulator, projects[:4])  # imported before the state was damaged
    database = tmp_path / "state.sqlite3"
    page_damaged(database)
    damaged = database.read_bytes()

    proc = daemon(write_config([studio]))
    event = proc.wait_for("state_corrupt")[0]
    moved = Path(event["moved_to"])
    assert moved.read_bytes() == damaged  # kept, never deleted
    proc.wait_for("library_adopted")
    emulator.wait_for_paths(2)
    assert sorted(emulator.imported_paths()) == sorted(str(p) for p in projects[4:])

    # Nothing is lost: a project saved now is imported as usual.
    later = write_als(studio / "Client/Later.als")
    emulator.wait_for_paths(3)
    assert emulator.imported_paths()[-1] == str(later)
    assert proc.stop() == 0
    status = cli("status", "--json", "--config", str(proc.config))
    assert json.loads(status.stdout)["counts"]["imported"] == 7


@pytest.mark.daemon
def test_first_run_adopts_the_existing_library(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    projects = [write_als(studio / f"Song {i}.als") for i in range(5)]
    _seed_library(emulator, projects[:3])
    config = write_config([studio])
    proc = daemon(config)
    proc.wait_for("library_adopted")
    emulator.wait_for_paths(2)
    assert proc.stop() == 0
    assert sorted(emulator.imported_paths()) == sorted(str(p) for p in projects[3:])
    status = json.loads(cli("status", "--json", "--config", str(config)).stdout)
    assert status["counts"]["imported"] == 5 and status["counts"]["pending"] == 0


def test_scan_rebuilds_a_damaged_state(
    tmp_path: Path, studio: Path, emulator: Emulator, write_config: ConfigWriter
) -> None:
    projects = [write_als(studio / f"Song {i}.als") for i in range(3)]
    _seed_library(emulator, projects[:1])
    database = tmp_path / "state.sqlite3"
    garbage(database)
    result = cli("scan", "--config", str(write_config([studio])))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert len(list(tmp_path.glob("state.sqlite3.corrupt-*"))) == 1
    assert sorted(emulator.imported_paths()) == sorted(str(p) for p in projects[1:])


# --- another program's lock -------------------------------------------------------------

_LOCKER = textwrap.dedent(
    """
    import sqlite3, sys
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    print("locked", flush=True)
    sys.stdin.readline()
    db.execute("ROLLBACK")
    """
)


class Locker:
    """A second process holding `BEGIN EXCLUSIVE` on the database until released."""

    def __init__(self, database: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _LOCKER, str(database)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        assert self.proc.stdin is not None
        if self.proc.poll() is None:
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            self.proc.wait(10)
        self.proc.stdin.close()
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture
def locker() -> Iterator[Callable[[Path], Locker]]:
    started: list[Locker] = []

    def start(database: Path) -> Locker:
        started.append(Locker(database))
        return started[-1]

    yield start
    for lock in started:
        lock.release()


@pytest.mark.daemon
def test_a_lock_held_by_another_process_is_waited_out(
    tmp_path: Path,
    studio: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
    locker: Callable[[Path], Locker],
) -> None:
    manager = Manager(os.path.join(tempfile.mkdtemp(prefix="sdn-"), "notify"))  # short path
    env = clean_env(NOTIFY_SOCKET=manager.address, WATCHDOG_USEC="400000")
    proc = daemon(write_config([studio]), env=env)
    proc.wait_watching()
    proc.wait_for("library_adopted")
    lock = locker(tmp_path / "state.sqlite3")
    project = write_als(studio / "While Locked.als")
    event = proc.wait_for("state_unavailable", timeout=30)[0]
    assert "locked" in event["error"] and "retries by itself" in event["advice"]
    pings = manager.fields().count("WATCHDOG=1")
    wait_until(
        lambda: manager.fields().count("WATCHDOG=1") >= pings + 3,
        timeout=30,
        what="watchdog pings while the state is locked",
    )
    assert emulator.imported_paths() == []  # its state could not be written: not sent
    assert proc.proc.poll() is None
    lock.release()
    proc.wait_for("state_available", timeout=60)
    emulator.wait_for_paths(1, timeout=30)
    assert emulator.imported_paths() == [str(project)]
    assert len(proc.events("state_unavailable")) == 1  # one line per outage, not per retry
    assert proc.stop() == 0
    manager.close()
    os.unlink(manager.address)
    os.rmdir(os.path.dirname(manager.address))


@pytest.mark.daemon
def test_a_lock_at_start_is_waited_out(
    tmp_path: Path,
    studio: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
    locker: Callable[[Path], Locker],
) -> None:
    config = write_config([studio])
    State(tmp_path / "state.sqlite3").close()
    lock = locker(tmp_path / "state.sqlite3")
    project = write_als(studio / "Song.als")
    proc = daemon(config)
    proc.wait_for("state_unavailable", timeout=30)
    lock.release()
    proc.wait_watching(timeout=60)
    emulator.wait_for_paths(1, timeout=30)
    assert emulator.imported_paths() == [str(project)]
    assert proc.stop() == 0


# --- a full disk --------------------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "tiny"
    folder.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("a tmpfs needs root")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"mount not allowed here: {mounted.stderr.strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


def test_the_write_ahead_log_does_not_fill_a_small_disk(tiny_disk: Path) -> None:
    """A turn's commit is small, but SQLite folds its write-ahead log back only every
    1,000 pages (4 MiB): on a nearly full disk the log alone used up the space and
    every retry failed, for ever, though the database itself was small (a daemon test
    saw it under load). Five hundred turns of one project each must fit in 1 MiB."""
    state = State(tiny_disk / "state.sqlite3")
    for i in range(500):
        record = ProjectRecord(
            path=f"/studio/Client {i:03}/Song {i:03}.als",
            root="/studio",
            kind="ableton",
            title=f"Song {i:03}",
            project_type="ableton",
            project_path=f"/studio/Client {i:03}/Song {i:03}.als",
            preview_path=None,
            generate_previews=True,
            signature=Signature(10, 1, 1),
            state="pending",
        )
        state.apply([Persist(upserts=(record,))])
    assert state.counts()["pending"] == 500
    state.close()


@pytest.mark.daemon
def test_a_full_disk_is_waited_out_and_nothing_is_lost(
    tmp_path: Path,
    studio: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
    tiny_disk: Path,
) -> None:
    proc = daemon(write_config([studio], state={"path": str(tiny_disk / "state.sqlite3")}))
    proc.wait_for("library_adopted")
    filler = _fill(tiny_disk)
    projects = [write_als(studio / f"Full/Song {i:03}.als", padding=64) for i in range(300)]
    event = proc.wait_for("state_unavailable", timeout=60)[0]
    assert "free space" in event["advice"]
    assert proc.proc.poll() is None
    filler.unlink()
    proc.wait_for("state_available", timeout=60)
    try:
        emulator.wait_for_paths(len(projects), timeout=90)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- daemon log ---\n{proc.log_path.read_text()}") from None
    assert sorted(emulator.imported_paths()) == sorted(str(p) for p in projects)  # once each
    assert proc.stop() == 0


# --- one owner per state database -------------------------------------------------------


@pytest.mark.daemon
def test_a_second_run_and_a_scan_are_refused_naming_the_owner(
    tmp_path: Path,
    studio: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
) -> None:
    projects = [write_als(studio / f"Song {i}.als") for i in range(20)]
    config = write_config([studio])
    first = daemon(config)
    first.wait_watching()
    emulator.wait_for_paths(len(projects))

    second = cli("run", "--config", str(config), timeout=30)
    assert second.returncode == EXIT_LOCKED
    line = _one_line(second.stderr)
    assert f"pid {first.proc.pid}" in line and "already owns the state database" in line

    scan = cli("scan", "--config", str(config), timeout=30)
    assert scan.returncode == EXIT_LOCKED
    assert f"pid {first.proc.pid}" in _one_line(scan.stderr)

    # Readers never take the lock.
    assert cli("status", "--config", str(config)).returncode == 0
    assert cli("scan", "--dry-run", "--config", str(config)).returncode == 0
    assert first.proc.poll() is None
    assert first.stop() == 0
    assert sorted(emulator.imported_paths()) == sorted(str(p) for p in projects)  # once each


@pytest.mark.daemon
def test_a_kill9d_owner_does_not_block_the_next_start(
    tmp_path: Path,
    studio: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
) -> None:
    config = write_config([studio])
    first = daemon(config)
    first.wait_watching()
    dead_pid = first.proc.pid
    first.kill9()
    assert owner_pid(tmp_path / "state.sqlite3") == dead_pid  # the file outlives it...
    second = daemon(config)
    second.wait_watching()  # ...but the lock went with the process
    project = write_als(studio / "After.als")
    emulator.wait_for_paths(1)
    assert emulator.imported_paths() == [str(project)]
    assert second.stop() == 0


_HOLDER = (
    "import sys, time; from pathlib import Path; from watcher.owner import Owner; "
    "o = Owner(Path(sys.argv[1])).acquire(); print('held', flush=True); time.sleep(60)"
)


def test_the_lock_is_held_by_another_process(tmp_path: Path) -> None:
    database = tmp_path / "state.sqlite3"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _HOLDER,
            str(database),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=clean_env(),
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld) as caught:
            Owner(database).acquire()
        assert caught.value.pid == holder.pid
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        owner = wait_until(lambda: _try_acquire(database), what="the lock after kill -9")
        owner.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()


def _try_acquire(database: Path) -> Owner | None:
    try:
        return Owner(database).acquire()
    except LockHeld:
        return None
