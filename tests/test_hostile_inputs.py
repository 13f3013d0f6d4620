"""Hostile inputs from disk: file names that are not UTF-8, token files from real editors,
and configs built to hurt (alias bombs, deep nesting, duplicate keys, huge files).

Each is one line and the right exit code, never a traceback, and never a daemon that
stops for good.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import (
    REPO,
    ConfigWriter,
    DaemonFactory,
    clean_env,
    cli,
    write_als,
)
from tests.daw_fixtures import rpp_bytes
from tests.emulator import Emulator
from watcher.names import is_valid, path_key, printable

LATIN1_NAME = b"caf\xe9.rpp"


def write_bytes_name(directory: Path, name: bytes, data: bytes) -> Path:
    """A file whose name is raw bytes, as an old NAS or a Windows SMB client leaves it."""
    raw = os.fsencode(directory) + b"/" + name
    with open(raw, "wb") as stream:
        stream.write(data)
    return Path(os.fsdecode(raw))


# --- file names that are not valid UTF-8 ----------------------------------------------


def test_names_are_escaped_readably_and_keyed_one_to_one() -> None:
    bad = os.fsdecode(b"/studio/caf\xe9.rpp")
    assert not is_valid(bad)
    assert printable(bad) == "/studio/caf\\xe9.rpp"
    assert printable(bad).encode("utf-8")
    assert path_key("/studio/café.rpp") == "/studio/café.rpp", "valid paths keep their key"
    literal = "/studio/caf\\xe9.rpp"  # a valid name holding a backslash, x, e, 9
    assert path_key(bad) != path_key(literal)
    assert path_key(bad) != literal
    assert path_key(os.fsdecode(b"/s/a\\xe9\xe9")) != path_key(os.fsdecode(b"/s/a\xe9\\xe9"))


@pytest.mark.daemon
def test_daemon_survives_a_non_utf8_name_and_logs_it_once(
    studio: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
    tmp_path: Path,
) -> None:
    config = write_config([studio])
    bad_at_start = write_bytes_name(studio, LATIN1_NAME, rpp_bytes())
    folder = studio / os.fsdecode(b"M\xfcller")
    folder.mkdir()
    proc = daemon(config)
    proc.wait_watching()
    skipped = proc.wait_for("project_skipped", reason="bad-name")
    assert skipped[0]["path"] == printable(bad_at_start)
    assert "\\xe9" in skipped[0]["path"]
    assert "rename" in skipped[0]["action"]
    # A live save of a badly named project into a badly named folder, then a normal one.
    bad_live = write_bytes_name(folder, b"Mix \xfc.rpp", rpp_bytes())
    good = write_als(studio / "After.als")
    emulator.wait_for_paths(1, timeout=30)
    proc.wait_for("project_skipped", count=2, reason="bad-name")
    assert emulator.imported_paths() == [str(good)]
    # Every later pass finds the same files again: nothing more is logged.
    proc.send(signal.SIGHUP)
    proc.wait_for("config_reloaded")
    write_als(studio / "Second.als")
    emulator.wait_for_paths(2, timeout=30)
    assert proc.proc.poll() is None, "the daemon must keep running"
    # Renaming the file to valid UTF-8 imports it.
    renamed = studio / "café.rpp"
    os.rename(os.fsencode(bad_at_start), os.fsencode(renamed))
    emulator.wait_for_paths(3, timeout=30)
    assert str(renamed) in emulator.imported_paths()
    assert proc.stop() == 0
    skips = [e for e in proc.events("project_skipped") if e.get("reason") == "bad-name"]
    assert sorted(e["path"] for e in skips) == sorted(
        [printable(bad_at_start), printable(bad_live)]
    )
    raw = proc.log_path.read_bytes()
    raw.decode("utf-8")  # the log is valid UTF-8 throughout
    assert b"config error" not in raw
    # A restart walks the same folder: the skip is remembered, not logged again.
    again = daemon(config)
    again.wait_watching()
    write_als(studio / "Third.als")
    emulator.wait_for_paths(4, timeout=30)
    assert again.stop() == 0
    assert [e for e in again.events("project_skipped") if e.get("reason") == "bad-name"] == []
    status = cli("status", "--config", str(config))
    assert status.returncode == 3, status.stderr
    assert "Traceback" not in status.stderr
    status_json = cli("status", "--json", "--config", str(config))
    json.loads(status_json.stdout)


def test_dry_run_prints_only_utf8_and_explains_the_bad_name(
    studio: Path, write_config: ConfigWriter
) -> None:
    config = write_config([studio])
    bad = write_bytes_name(studio, LATIN1_NAME, rpp_bytes())
    good = write_als(studio / "Good.als")
    plain = subprocess.run(
        [sys.executable, "-m", "watcher", "scan", "--dry-run", "--config", str(config)],
        capture_output=True,
        env=clean_env(),
        cwd=REPO,
        check=False,
    )
    assert plain.returncode == 0, plain.stderr
    lines = [json.loads(line) for line in plain.stdout.decode("utf-8").splitlines()]
    assert [line["projectPath"] for line in lines] == [str(good)]
    explained = subprocess.run(
        [
            sys.executable,
            "-m",
            "watcher",
            "scan",
            "--dry-run",
            "--explain",
            "--config",
            str(config),
        ],
        capture_output=True,
        env=clean_env(),
        cwd=REPO,
        check=False,
    )
    assert explained.returncode == 0, explained.stderr
    rows = [json.loads(line) for line in explained.stdout.decode("utf-8").splitlines()]
    skipped = [r for r in rows if r.get("skipped") == "bad-name"]
    assert [r["path"] for r in skipped] == [printable(bad)]
    assert "\\xe9" in skipped[0]["why"]


def test_state_stores_a_bad_name_under_a_safe_key(tmp_path: Path) -> None:
    from watcher.scanner import Signature
    from watcher.state import State

    bad = Path(os.fsdecode(b"/studio/caf\xe9.rpp"))
    state = State(tmp_path / "state.sqlite3")
    signature = Signature(1, 2, 3)
    assert state.mark_invalid(bad, Path("/studio"), "Reaper", signature, "bad name")
    assert not state.mark_invalid(bad, Path("/studio"), "Reaper", signature, "bad name")
    known = state.known(bad)
    assert known is not None and known.state == "invalid"
    assert state.cancel(bad)
    state.close()
    with sqlite3.connect(tmp_path / "state.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM projects").fetchone()[0] == 0


def test_log_lines_with_a_non_utf8_path_stay_valid_utf8(tmp_path: Path) -> None:
    """A UTF-8 log file and a strict stderr: the renderer escapes, nothing crashes."""
    import io

    from watcher import logging as watcher_logging

    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    log_file = tmp_path / "watcher.log"
    watcher_logging.configure("info", "json", log_file, stream=stream)
    bad = os.fsdecode(b"/studio/M\xfcller/caf\xe9.rpp")
    watcher_logging.get_logger("test").warning("project_skipped", path=bad, folders={bad: "x"})
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    written = buffer.getvalue().decode("utf-8")
    line = json.loads(written)
    assert line["path"] == "/studio/M\\xfcller/caf\\xe9.rpp"
    assert "Logging error" not in written
    filed = json.loads(log_file.read_bytes().decode("utf-8"))
    assert filed["path"] == line["path"]
