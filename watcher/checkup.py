"""`check`'s report, and its checks of what is local to this machine: the state
database, the log file and the service that starts the daemon at login."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TextIO

from watcher import service
from watcher.config import Config
from watcher.starter import command_hint

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNAVAILABLE = 69
EXIT_NOPERM = 77
EXIT_CONFIG = 78
_SEVERITY = (EXIT_CONFIG, EXIT_NOPERM, EXIT_UNAVAILABLE, EXIT_FAILED)

Status = Literal["ok", "warn", "FAIL"]


@dataclass
class Report:
    """Prints each line as it is found (a slow /health should not hide the others)."""

    out: TextIO
    failures: list[int] = field(default_factory=list)
    warnings: int = 0

    def line(self, status: Status, text: str, advice: str = "") -> None:
        print(f"{status:<5} {text}", file=self.out, flush=True)
        if advice:
            print(f"      -> {advice}", file=self.out, flush=True)

    def ok(self, text: str) -> None:
        self.line("ok", text)

    def warn(self, text: str, advice: str = "") -> None:
        self.warnings += 1
        self.line("warn", text, advice)

    def fail(self, text: str, advice: str, code: int) -> None:
        self.failures.append(code)
        self.line("FAIL", text, advice)

    def verdict(self) -> int:
        if not self.failures:
            note = f" ({self.warnings} warning(s) above)" if self.warnings else ""
            print(f"ready: imports can go through{note}", file=self.out, flush=True)
            return EXIT_OK
        count = len(self.failures)
        print(f"not ready: {count} problem(s) above", file=self.out, flush=True)
        return next(code for code in _SEVERITY if code in self.failures)


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_state(report: Report, config: Config) -> None:
    database = config.state.database()
    if not database.exists():
        parent = _nearest_existing(database.parent)
        if os.access(parent, os.W_OK | os.X_OK):
            report.ok(f"state {database} (created at the first run)")
        else:
            report.fail(
                f"state {database}: cannot be created ({parent} is not writable)",
                "fix the folder's permissions or set state.path",
                EXIT_FAILED,
            )
        return
    writable = os.access(database, os.W_OK) and os.access(database.parent, os.W_OK | os.X_OK)
    if not writable:
        report.fail(
            f"state {database}: not writable",
            "fix its permissions (the daemon must run as the file's owner) or set state.path",
            EXIT_FAILED,
        )
        return
    from watcher.state import StateCorrupt, StateError

    try:
        note = _daemon_note(database)
    except StateCorrupt as exc:
        report.fail(str(exc), exc.advice, EXIT_FAILED)
        return
    except StateError as exc:
        report.fail(str(exc), exc.advice, EXIT_FAILED)
        return
    report.ok(f"state {database} writable{note}")


def _daemon_note(database: Path) -> str:
    """What the running daemon last wrote into the state, without disturbing it.

    Opening it runs SQLite's quick_check: a damaged file raises StateCorrupt.
    """
    import sqlite3

    from watcher.owner import daemon_running
    from watcher.state import State

    state = State(database, readonly=True)
    try:
        counts = state.counts()
        daemon = state.get_meta("daemon") or {}
    except sqlite3.Error as exc:
        known = state.error(exc)
        if known is not None:
            raise known from None
        return ""  # an older schema: the line stays useful without the counts
    finally:
        state.close()
    running = daemon_running(daemon)
    who = f"; daemon running (pid {daemon.get('pid')})" if running else "; daemon not running"
    return f" ({counts['pending']} pending, {counts['imported']} imported){who}"


def check_logs(report: Report, config: Config) -> None:
    file = config.log.file_path()
    if file is None:
        report.ok("logs: standard error (the journal, under systemd)")
        return
    folder = _nearest_existing(file.parent)
    if os.access(folder, os.W_OK | os.X_OK) and (not file.exists() or os.access(file, os.W_OK)):
        report.ok(f"logs: {file}")
    else:
        report.warn(f"logs: {file} is not writable", "fix its permissions or set log.file")


def check_service(
    report: Report,
    platform: service.Platform | None,
    runner: service.Runner | None,
    config_path: Path | None = None,
) -> None:
    state = service.service_state(platform, runner)
    if state.running:
        report.ok(f"service: {state.detail}")
    elif state.installed:
        report.warn(
            f"service installed but not running: {state.detail}",
            f"`{command_hint(None, 'service', 'status')}` shows where its logs are",
        )
    else:
        report.warn(
            "service: not installed, so nothing starts at login",
            f"`{command_hint(config_path, 'service', 'install')}`",
        )


def daemon_folders(database: Path) -> dict[str, dict[str, str]]:
    """Each folder's mode as the running daemon last reported it (what it observed)."""
    if not database.exists():
        return {}
    from watcher.owner import daemon_running
    from watcher.state import State, StateError

    try:
        state = State(database, readonly=True)
    except StateError:
        return {}
    try:
        daemon = state.get_meta("daemon") or {}
    except Exception:  # noqa: BLE001 - an older or damaged file: check goes on without it
        return {}
    finally:
        state.close()
    folders = daemon.get("folders")
    return folders if daemon_running(daemon) and isinstance(folders, dict) else {}
