"""`scan`, `check` and the logs, run as a user runs them: subprocesses against the emulator."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
import structlog

from tests.conftest import TOKEN, ConfigWriter, DaemonFactory, cli, write_als
from tests.emulator import Emulator
from watcher import logging as watcher_logging


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_scan_dry_run_prints_what_would_be_sent_and_sends_nothing(
    studio: Path, emulator: Emulator, write_config: ConfigWriter
) -> None:
    project = write_als(studio / "Dry Project" / "Dry.als")
    result = cli("scan", "--dry-run", "--config", str(write_config([studio])))
    assert result.returncode == 0, result.stderr
    assert _json_lines(result.stdout) == [
        {"projectPath": str(project), "kind": "Ableton", "title": "Dry", "projectType": "als"}
    ]
    assert emulator.imports == []


def test_scan_imports_once_and_a_second_scan_sends_nothing(
    studio: Path, emulator: Emulator, write_config: ConfigWriter
) -> None:
    projects = [write_als(studio / f"Scan {n}.als") for n in range(3)]
    config = write_config([studio])
    first = cli("scan", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert sorted(emulator.imported_paths()) == sorted(map(str, projects))
    finished = next(e for e in _json_lines(first.stderr) if e["event"] == "scan_finished")
    assert finished["imported"] == 3 and finished["pending"] == 0

    second = cli("scan", "--config", str(config))
    assert second.returncode == 0, second.stderr
    assert len(emulator.imported_paths()) == 3, "unchanged projects are not sent again"
    assert TOKEN not in first.stderr + second.stderr


def test_scan_with_sessiondock_down_exits_non_zero_and_keeps_the_work(
    studio: Path, emulator: Emulator, write_config: ConfigWriter
) -> None:
    emulator.stop()
    write_als(studio / "Later.als")
    config = write_config([studio])
    result = cli("scan", "--config", str(config))
    assert result.returncode == 69, result.stderr
    incomplete = next(e for e in _json_lines(result.stderr) if e["event"] == "scan_incomplete")
    assert incomplete["pending"] == 1 and "start SessionDock" in str(incomplete["advice"])
    assert "Traceback" not in result.stderr

    emulator.start()
    assert cli("scan", "--config", str(config)).returncode == 0
    assert emulator.imported_paths() == [str(studio / "Later.als")]


@pytest.mark.parametrize(
    ("setup", "code", "advice"),
    [
        ("token", 77, "regenerate it in SessionDock"),
        ("read-only", 77, "enable Full Automation"),
    ],
)
def test_scan_that_cannot_send_says_what_to_do(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, setup: str, code: int, advice: str
) -> None:
    if setup == "token":
        emulator.token = "regenerated-in-the-app"
    else:
        emulator.effective_mode = "read-only"
    write_als(studio / "Blocked.als")
    result = cli("scan", "--config", str(write_config([studio])))
    assert result.returncode == code, result.stderr
    stopped = next(e for e in _json_lines(result.stderr) if e["event"] == "scan_stopped")
    assert advice in str(stopped["advice"])
    assert emulator.imported_paths() == []


@pytest.mark.parametrize(
    ("mode", "token", "code", "message"),
    [
        ("full-automation", TOKEN, 0, "ready"),
        ("read-only", TOKEN, 77, "enable Full Automation"),
        ("full-automation", "wrong", 77, "regenerate it"),
    ],
)
def test_check_exit_code_says_whether_imports_can_go_through(
    studio: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    token_file: Path,
    mode: str,
    token: str,
    code: int,
    message: str,
) -> None:
    emulator.mode = mode
    token_file.write_text(token)
    result = cli("check", "--config", str(write_config([studio])))
    assert result.returncode == code, result.stdout + result.stderr
    assert message in result.stdout + result.stderr
    assert TOKEN not in result.stdout + result.stderr


def test_check_with_sessiondock_not_running(
    studio: Path, emulator: Emulator, write_config: ConfigWriter
) -> None:
    emulator.stop()
    result = cli("check", "--config", str(write_config([studio])))
    assert result.returncode not in (0, 78)
    assert "start SessionDock" in result.stdout + result.stderr


def test_the_launchd_agent_keeps_its_unrotatable_stderr_to_warnings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(watcher_logging.STDERR_LEVEL_ENV, "warning")
    stream = io.StringIO()
    watcher_logging.configure("info", "json", stream=stream)
    log = structlog.stdlib.get_logger("test")
    log.info("project_queued")
    log.warning("sending_paused")
    assert [line["event"] for line in _json_lines(stream.getvalue())] == ["sending_paused"]


def _render(fmt: str, tty: bool) -> str:
    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty

    stream = Stream()
    watcher_logging.configure("info", fmt, stream=stream)  # type: ignore[arg-type]
    watcher_logging.register_secret(TOKEN)
    log = structlog.stdlib.get_logger("test")
    log.info("import_answered", kind="Ableton", items=2, header=f"Bearer {TOKEN}")

    def fails(token: str = TOKEN) -> None:
        raise RuntimeError("boom")

    try:
        fails()
    except RuntimeError:
        log.exception("crashed")
    logging.getLogger("httpx").warning("from a library %s", TOKEN)
    return stream.getvalue()


def test_json_logs_when_not_on_a_terminal_without_secrets_or_locals() -> None:
    output = _render("auto", tty=False)
    lines = _json_lines(output)
    assert lines[0]["event"] == "import_answered" and lines[0]["items"] == 2
    assert {"event", "level", "timestamp"} <= lines[0].keys()
    assert lines[1]["event"] == "crashed" and "exception" in lines[1]
    assert str(lines[2]["event"]).startswith("from a library")
    assert TOKEN not in output
    assert '"locals"' not in output


def test_console_logs_on_a_terminal() -> None:
    output = _render("auto", tty=True)
    assert "import_answered" in output and not output.lstrip().startswith("{")
    assert TOKEN not in output


def test_version_prints_the_package_version() -> None:
    from importlib.metadata import version

    result = cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"sessiondock-watcher {version('sessiondock-watcher')}"


@pytest.mark.daemon
def test_recovery_is_logged_when_the_probe_succeeds_and_status_shows_it_resolved(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    """SessionDock down at start, nothing to send: coming back is seen by the probe."""
    emulator.stop()
    config = write_config([studio])
    proc = daemon(config)
    proc.wait_watching()
    proc.wait_for("sending_paused")
    down = cli("status", "--config", str(config))
    assert "cannot reach SessionDock" in down.stdout and "->" in down.stdout
    emulator.start()
    proc.wait_for("sending_resumed", timeout=30)
    assert emulator.imports == []
    up = cli("status", "--config", str(config))
    error_lines = [line for line in up.stdout.splitlines() if line.startswith("error:")]
    assert error_lines and "resolved" in error_lines[0], up.stdout
    assert "->" not in up.stdout, "a resolved error carries no advice"
    assert json.loads(cli("status", "--json", "--config", str(config)).stdout)["last_error"][
        "resolved_at"
    ]
    assert proc.stop() == 0
