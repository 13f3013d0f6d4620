"""`init`, `check` (the doctor) and the scan progress bar, run as a technician runs them."""

from __future__ import annotations

import io
import os
import pty
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, TOKEN, ConfigWriter, clean_env, cli, write_als
from tests.emulator import Emulator
from watcher import console, doctor
from watcher.config import load_config, parse_config
from watcher.daemon import Counters


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """A user whose platform folders are all in tmp (no service installed)."""
    home = tmp_path / "home"
    home.mkdir()
    return clean_env(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
    )


def _init(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "watcher", "init", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )


# --- init ---------------------------------------------------------------------------------


def test_init_writes_a_loadable_config_and_a_private_token(
    tmp_path: Path, user_env: dict[str, str]
) -> None:
    studio = tmp_path / "Studio A"
    studio.mkdir()
    result = _init(
        user_env,
        "--watch",
        str(studio),
        "--watch",
        "~/Music/B",
        "--token-stdin",
        stdin=TOKEN + "\n",
    )
    assert result.returncode == 0, result.stderr
    config_path = Path(user_env["XDG_CONFIG_HOME"]) / "sessiondock-watcher" / "config.yaml"
    token_path = config_path.parent / "token"
    config = load_config(config_path)
    assert [w.path for w in config.watch] == [studio, Path(user_env["HOME"]) / "Music" / "B"]
    assert config.sessiondock.token_path() == token_path
    assert token_path.read_text().strip() == TOKEN
    assert stat.S_IMODE(token_path.stat().st_mode) == 0o600
    assert TOKEN not in config_path.read_text()
    assert TOKEN not in result.stdout + result.stderr
    assert "sessiondock-watcher check" in result.stdout


def test_init_refuses_to_overwrite_without_force(tmp_path: Path, user_env: dict[str, str]) -> None:
    config = tmp_path / "c" / "config.yaml"
    assert _init(user_env, "--config", str(config), "--watch", str(tmp_path)).returncode == 0
    before = config.read_text()
    result = _init(user_env, "--config", str(config), "--watch", "/elsewhere")
    assert result.returncode == 1 and "--force" in result.stderr
    assert config.read_text() == before
    result = _init(user_env, "--config", str(config), "--watch", "/elsewhere", "--force")
    assert result.returncode == 0, result.stderr
    assert load_config(config).watch[0].path == Path("/elsewhere")


def test_init_copies_a_token_file_and_without_flags_uses_the_default_folder(
    tmp_path: Path, user_env: dict[str, str]
) -> None:
    source = tmp_path / "downloaded-token.txt"
    source.write_text(f"  {TOKEN}\n")
    config = tmp_path / "cfg" / "config.yaml"
    result = _init(user_env, "--config", str(config), "--token-file", str(source))
    assert result.returncode == 0, result.stderr
    assert (config.parent / "token").read_text().strip() == TOKEN
    assert load_config(config).watch[0].path == Path(user_env["HOME"]) / "Music" / "Projects"
    assert "--watch" in result.stdout  # says the folder was a default


def test_init_without_a_token_says_where_to_put_it(
    tmp_path: Path, user_env: dict[str, str]
) -> None:
    config = tmp_path / "config.yaml"
    result = _init(user_env, "--config", str(config), "--watch", str(tmp_path))
    assert result.returncode == 0
    assert f"put it in {tmp_path / 'token'}" in result.stdout
    assert not (tmp_path / "token").exists()
    assert _init(user_env, "--config", str(tmp_path / "x.yaml"), "--token-stdin").returncode == 2


def test_init_and_check_together_on_a_fresh_machine(
    tmp_path: Path, user_env: dict[str, str], emulator: Emulator
) -> None:
    studio = tmp_path / "Projects"
    studio.mkdir()
    result = _init(
        user_env, "--watch", str(studio), "--base-url", emulator.base_url, "--token-stdin",
        stdin=TOKEN,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    result = cli("check", env=user_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("ready")


# --- check --------------------------------------------------------------------------------


def _check(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = cli("check", "--config", str(config), env=env)
    assert TOKEN not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result


def _line(result: subprocess.CompletedProcess[str], start: str) -> str:
    return next(line for line in result.stdout.splitlines() if line.startswith(start))


def test_check_ready_lists_every_check(
    studio: Path, write_config: ConfigWriter, user_env: dict[str, str], tmp_path: Path
) -> None:
    share = tmp_path / "polled"
    share.mkdir()
    config = write_config([studio, {"path": str(share), "polling": True}])
    result = _check(config, user_env)
    assert result.returncode == 0, result.stdout
    assert _line(result, "ok    config")
    assert _line(result, "ok    token file")
    assert "token accepted" in _line(result, "ok    SessionDock at")
    assert "full-automation" in _line(result, "ok    SessionDock mode")
    assert _line(result, f"ok    folder {studio}").endswith("native file events")
    assert "polling" in _line(result, f"ok    folder {share}")
    assert "limit" in _line(result, "ok    inotify")
    assert _line(result, "ok    state")
    assert "not installed" in _line(result, "warn  service")
    assert result.stdout.splitlines()[-1] == "ready: imports can go through (1 warning(s) above)"


@pytest.mark.parametrize(
    ("fault", "code", "failed"),
    [
        ("wrong token", 77, "token rejected"),
        ("read-only", 77, "mode is read-only"),
        ("unreachable", 69, "SessionDock at"),
        ("no token file", 78, "token:"),
    ],
)
def test_check_names_what_is_wrong_with_the_exit_code(
    studio: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    token_file: Path,
    user_env: dict[str, str],
    fault: str,
    code: int,
    failed: str,
) -> None:
    folder = studio
    if fault == "wrong token":
        token_file.write_text("not-the-token")
    elif fault == "read-only":
        emulator.mode = "read-only"
    elif fault == "unreachable":
        emulator.stop()
    elif fault == "no token file":
        token_file.unlink()
    result = _check(write_config([folder]), user_env)
    assert result.returncode == code, result.stdout + result.stderr
    fails = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert len(fails) == 1 and failed in fails[0], result.stdout
    assert result.stdout.splitlines()[-1] == "not ready: 1 problem(s) above"
    # every other check still ran
    assert any(line.startswith("ok    state") for line in result.stdout.splitlines())


def test_a_missing_folder_is_a_warning_as_init_and_the_daemon_see_it(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, user_env: dict[str, str]
) -> None:
    """The shipped config watches ~/Music/Projects, which a fresh machine lacks: the
    daemon treats it as offline and watches it once it appears, so `check` is ready."""
    result = _check(write_config([studio / "unplugged drive"]), user_env)
    assert result.returncode == 0, result.stdout
    warn = _line(result, f"warn  folder {studio / 'unplugged drive'}")
    assert "missing or not mounted; watched once it appears" in warn
    assert not [line for line in result.stdout.splitlines() if line.startswith("FAIL")]


def test_check_sees_an_installed_running_service(
    studio: Path, write_config: ConfigWriter, user_env: dict[str, str], tmp_path: Path
) -> None:
    unit = Path(user_env["XDG_CONFIG_HOME"]) / "systemd" / "user" / "sessiondock-watcher.service"
    unit.parent.mkdir(parents=True)
    unit.write_text("[Service]\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    systemctl = bin_dir / "systemctl"
    systemctl.write_text(
        '#!/bin/sh\ncase "$*" in *is-active*) echo active;; *) echo enabled;; esac\n'
    )
    systemctl.chmod(0o755)
    env = {**user_env, "PATH": f"{bin_dir}{os.pathsep}{user_env['PATH']}"}
    result = _check(write_config([studio]), env)
    assert result.returncode == 0
    assert "active, enabled" in _line(result, "ok    service")


def test_inotify_limit_too_low_is_a_warning_with_the_fix(
    studio: Path, emulator: Emulator, token_file: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    if not sys.platform.startswith("linux"):
        pytest.skip("inotify is Linux-only")
    for n in range(5):
        (studio / f"Song {n}" / "Samples").mkdir(parents=True)
    limit = tmp_path / "max_user_watches"
    limit.write_text("4\n")
    monkeypatch.setattr(doctor, "INOTIFY_WATCHES", limit)
    config = parse_config(
        {
            "sessiondock": {"base_url": emulator.base_url, "token_file": str(token_file)},
            "watch": [{"path": str(studio)}],
            "state": {"path": str(tmp_path / "state.sqlite3")},
        },
        source=tmp_path / "c.yaml",
    )
    out = io.StringIO()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-service"))
    code = doctor.check(config, platform="linux", out=out)
    assert code == 0, out.getvalue()
    line = next(x for x in out.getvalue().splitlines() if x[6:].startswith("inotify"))
    assert line.startswith("warn") and "over the limit" in line
    assert "fs.inotify.max_user_watches" in out.getvalue()
    # The studio and its 5 songs; their Samples/ folders get no watch from the daemon.
    assert doctor.count_directories(studio, recursive=True, limit=100) == 6
    assert doctor.count_directories(studio, recursive=False, limit=100) == 1


# --- progress -----------------------------------------------------------------------------


def test_progress_line_and_summary() -> None:
    out = io.StringIO()
    now = [0.0]
    bar = console.ScanProgress(out, folders=2, clock=lambda: now[0])
    counters = Counters(queued=3, imported=1, requests=1, found=40, walked=1)
    bar.update(counters)
    bar.update(counters)  # throttled and unchanged: drawn once
    assert out.getvalue().count("\r") == 1
    assert "folders 1/2, 40 projects found, 3 queued, 1 batches sent, 1 imported" in out.getvalue()
    bar.finish(counters)
    assert out.getvalue().endswith("1 imported, 0 rejected\n")


def test_no_bar_under_json_logging_or_without_a_terminal(tmp_path: Path) -> None:
    config = parse_config({"watch": [{"path": str(tmp_path)}], "log": {"format": "json"}})

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert not console.wants_bar(config, Tty())
    auto = parse_config({"watch": [{"path": str(tmp_path)}]})
    assert console.wants_bar(auto, Tty())
    assert not console.wants_bar(auto, io.StringIO())


def test_scan_draws_a_bar_on_a_terminal_and_none_in_a_pipe(
    studio: Path, emulator: Emulator, write_config: ConfigWriter
) -> None:
    for n in range(3):
        write_als(studio / f"Song {n}.als")
    config = write_config([studio], log={"format": "auto", "level": "info"})
    piped = cli("scan", "--config", str(config))
    assert piped.returncode == 0, piped.stderr
    assert "scan [" not in piped.stderr and "scan finished:" not in piped.stderr
    assert '"event": "scan_finished"' in piped.stderr  # the summary, as a JSON log line

    for n in range(3, 5):
        write_als(studio / f"Song {n}.als")
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "scan", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env=clean_env(),
        cwd=REPO,
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 0
    text = seen.decode(errors="replace")
    assert "scan [" in text and "\r" in text
    assert "scan finished: 1 of 1 folders walked, 5 projects found, 2 queued" in text
    assert "project_queued" not in text, "info lines would tear the bar"
    assert TOKEN not in text


def test_check_advice_can_be_pasted_with_this_config(
    studio: Path, write_config: ConfigWriter, user_env: dict[str, str]
) -> None:
    """Run from `.venv/bin` with `--config`, the advice repeats both (not on PATH)."""
    config = write_config([studio])
    script = Path(sys.executable).parent / "sessiondock-watcher"
    result = subprocess.run(
        [str(script), "check", "--config", str(config)],
        capture_output=True,
        text=True,
        env=user_env,
        check=False,
    )
    advice = next(line for line in result.stdout.splitlines() if "service install" in line)
    assert f"{script} service install --config {config}" in advice, result.stdout
