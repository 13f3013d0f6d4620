"""Hostile inputs from disk: file names that are not UTF-8, token files from real editors,
and configs built to hurt (alias bombs, deep nesting, duplicate keys, huge files).

Each is one line and the right exit code, never a traceback, and never a daemon that
stops for good.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import (
    REPO,
    TOKEN,
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
    from watcher.core.records import Signature
    from watcher.core.table import Table
    from watcher.state import State

    bad = os.fsdecode(b"/studio/caf\xe9.rpp")
    state = State(tmp_path / "state.sqlite3")
    signature = Signature(1, 2, 3)
    table = Table()  # the core's table decides; the state stores what it hands out
    assert table.mark_invalid(bad, "/studio", "Reaper", signature, "bad name")
    assert not table.mark_invalid(bad, "/studio", "Reaper", signature, "bad name")
    persist = table.take_changes()
    assert persist is not None
    state.apply([persist])
    known = state.known(Path(bad))
    assert known is not None and known.state == "invalid"
    assert table.cancel(bad)
    persist = table.take_changes()
    assert persist is not None
    state.apply([persist])
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


# --- token files from real editors ----------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"\xef\xbb\xbf" + TOKEN.encode() + b"\r\n",  # Notepad, PowerShell 5 -Encoding utf8
        b"  " + TOKEN.encode() + b"\n\n",
        TOKEN.encode("utf-16"),  # Notepad's "Unicode": UTF-16 with a BOM
    ],
    ids=["utf8-bom-crlf", "whitespace", "utf16"],
)
def test_token_file_from_an_editor_works(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, token_file: Path, raw: bytes
) -> None:
    token_file.write_bytes(raw)
    result = cli("check", "--config", str(write_config([studio])))
    assert "token accepted" in result.stdout, result.stdout + result.stderr
    assert result.returncode == 0, result.stdout
    assert TOKEN not in result.stdout + result.stderr


@pytest.mark.daemon
def test_bom_token_imports_end_to_end(
    studio: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
    token_file: Path,
) -> None:
    token_file.write_bytes(b"\xef\xbb\xbf" + TOKEN.encode() + b"\r\n")
    proc = daemon(write_config([studio]))
    proc.wait_watching()
    project = write_als(studio / "Notepad Song.als")
    assert emulator.wait_for_paths(1) == [str(project)]
    assert proc.stop() == 0


@pytest.mark.parametrize(
    ("inner", "named"),
    [(b"\n", "line break"), (b"\x00", "NUL"), (b"\x1b", "U+001B"), ("\u2013".encode(), "ASCII")],
    ids=["newline", "nul", "escape", "non-ascii"],
)
def test_token_with_an_inner_control_character_is_a_config_error(
    studio: Path, write_config: ConfigWriter, token_file: Path, inner: bytes, named: str
) -> None:
    token_file.write_bytes(TOKEN[:10].encode() + inner + TOKEN[10:].encode() + b"\n")
    config = write_config([studio])
    result = cli("check", "--config", str(config))
    assert result.returncode == 78, result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1 and str(token_file) in failed[0] and named in failed[0]
    assert TOKEN[:10] not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    run = cli("run", "--config", str(config), timeout=30)
    assert run.returncode == 78
    assert run.stderr.count("\n") == 1 and str(token_file) in run.stderr


def test_token_variable_is_cleaned_and_checked(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, tmp_path: Path
) -> None:
    config = write_config([studio])
    (tmp_path / "token").unlink()
    good = cli(
        "check", "--config", str(config), env=clean_env(SESSIONDOCK_TOKEN=f"\ufeff{TOKEN}\n")
    )
    assert good.returncode == 0, good.stdout
    bad = cli("check", "--config", str(config), env=clean_env(SESSIONDOCK_TOKEN="ab\ncd"))
    assert bad.returncode == 78
    assert "$SESSIONDOCK_TOKEN" in bad.stdout and "line break" in bad.stdout


def test_rejected_token_advice_names_where_the_token_came_from(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, token_file: Path
) -> None:
    config = write_config([studio])
    from_env = cli("check", "--config", str(config), env=clean_env(SESSIONDOCK_TOKEN="wrong-one"))
    assert from_env.returncode == 77
    advice = [line for line in from_env.stdout.splitlines() if "->" in line and "rejected" in line]
    assert advice and "into $SESSIONDOCK_TOKEN" in advice[0] and "update" not in advice[0]
    assert str(token_file) not in advice[0]
    token_file.write_text("wrong-one\n")
    from_file = cli("check", "--config", str(config))
    assert from_file.returncode == 77
    assert str(token_file) in from_file.stdout


@pytest.mark.daemon
def test_daemon_advice_for_a_rejected_variable_token(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    config = write_config([studio])
    proc = daemon(config, env=clean_env(SESSIONDOCK_TOKEN="wrong-one"))
    proc.wait_watching()
    paused = proc.wait_for("sending_paused")
    assert "into $SESSIONDOCK_TOKEN" in paused[0]["advice"]
    assert "token_file (the watcher" not in paused[0]["advice"]
    assert proc.stop() == 0


# --- hostile configs ------------------------------------------------------------------

LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{','.join(['*' + prev] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "watch: [{path: /tmp}]",
        "",
    ]
)


def run_measured(args: list[str]) -> tuple[int, str, int]:
    """Run the CLI; return its exit code, stderr and peak RSS in MiB (from wait4).

    The address space is capped at 2 GiB so a regression fails the test with a
    MemoryError instead of taking the machine's memory.
    """

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
        cwd=REPO,
        preexec_fn=cap,  # noqa: PLW1509 - no threads in the child before exec
    )
    assert proc.stdout is not None and proc.stderr is not None
    stderr = proc.stderr.read().decode("utf-8")
    proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    proc.stderr.close()
    return proc.returncode, stderr, usage.ru_maxrss // 1024


def test_a_billion_laughs_config_is_refused_in_small_memory(tmp_path: Path) -> None:
    config = tmp_path / "laughs.yaml"
    config.write_text(LAUGHS)
    assert config.stat().st_size < 1024
    code, stderr, peak_mib = run_measured(["check", "--config", str(config)])
    assert code == 78, stderr
    assert stderr.count("\n") == 1 and "alias" in stderr and str(config) in stderr
    assert peak_mib < 200, f"check peaked at {peak_mib} MiB on a {len(LAUGHS)}-byte config"


def test_aliases_that_share_settings_still_work(tmp_path: Path) -> None:
    from watcher.config import load_config

    config = tmp_path / "shared.yaml"
    config.write_text(
        "watch:\n"
        "  - &studio {path: /a, exclude: ['Archive/**'], polling: true}\n"
        "  - <<: *studio\n"
        "    path: /b\n"
    )
    loaded = load_config(config)
    assert [str(w.path) for w in loaded.watch] == ["/a", "/b"]
    assert loaded.watch[1].exclude == ["Archive/**"] and loaded.watch[1].polling


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("watch: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 64 levels"),
        ("watch: &w [*w]\n", "refers to itself"),
        ("watch:\n  - path: /a\nlog:\n  level: info\nwatch:\n  - path: /b\n", "'watch'"),
        ("watch:\n  - path: /a\n    kind: X\n    kind: Y\n", "'kind'"),
        ("# padding\n" * 120_000 + "watch: [{path: /a}]\n", "over 1024 KiB"),
    ],
    ids=["deep", "recursive-alias", "duplicate-top", "duplicate-nested", "huge"],
)
def test_hostile_config_is_one_line_and_exit_78(tmp_path: Path, text: str, expected: str) -> None:
    config = tmp_path / "hostile.yaml"
    config.write_text(text)
    for command in ("check", "run"):
        result = cli(command, "--config", str(config), timeout=60)
        assert result.returncode == 78, result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
        assert expected in result.stderr and str(config) in result.stderr
        assert "Traceback" not in result.stderr


def test_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    config = tmp_path / "dup.yaml"
    config.write_text("watch:\n  - path: /a\n\nlog:\n  level: info\nwatch:\n  - path: /b\n")
    result = cli("check", "--config", str(config))
    assert "line 6" in result.stderr and "first at line 1" in result.stderr
