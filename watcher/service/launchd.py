"""launchd (macOS): a LaunchAgent in the user's GUI session."""

from __future__ import annotations

import os
import plistlib
from pathlib import Path

from watcher.config import APP_NAME
from watcher.logging import STDERR_LEVEL_ENV
from watcher.service.common import LABEL, Launch, Runner, ServiceState

THROTTLE_SECONDS = 30


def launchd_logs(home: Path) -> Path:
    return home / "Library" / "Logs" / APP_NAME


def launchd_plist(launch: Launch, home: Path) -> bytes:
    """The LaunchAgent, built as a dict so it is always well-formed.

    launchd holds StandardErrorPath open and cannot rotate it, so the daemon writes its
    full log to its own rotating file in the same folder (`log.file`, by default
    ~/Library/Logs/sessiondock-watcher/sessiondock-watcher.log) and sends only warnings
    and crashes to stderr (`STDERR_LEVEL_ENV`).
    """
    logs = launchd_logs(home)
    agent = {
        "Label": LABEL,
        "ProgramArguments": launch.argv(),
        "WorkingDirectory": str(home),
        "EnvironmentVariables": {
            "PYTHONUNBUFFERED": "1",
            "PATH": "/usr/local/bin:/opt/homebrew/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            STDERR_LEVEL_ENV: "warning",
        },
        "RunAtLoad": True,
        # Restart after a crash or a non-zero exit; a clean exit 0 (a stop) stays down.
        "KeepAlive": {"SuccessfulExit": False},
        # launchd has no RestartPreventExitStatus: a bad config (exit 78) is retried
        # at most this often.
        "ThrottleInterval": THROTTLE_SECONDS,
        "ProcessType": "Background",
        "ExitTimeOut": 30,
        "StandardOutPath": str(logs / "launchd-stdout.log"),
        "StandardErrorPath": str(logs / "launchd-stderr.log"),
    }
    return plistlib.dumps(agent, fmt=plistlib.FMT_XML, sort_keys=False)


SAMPLE_HOME = Path("/Users/YOU")


SAMPLE_PLIST_PROGRAM = "/Users/YOU/.local/bin/sessiondock-watcher"


def sample_plist() -> bytes:
    return launchd_plist(Launch(SAMPLE_PLIST_PROGRAM, ("run",)), SAMPLE_HOME)


def launchd_plist_path(home: Path) -> Path:
    return home / "Library" / "LaunchAgents" / f"{LABEL}.plist"


def state(runner: Runner, home: Path) -> ServiceState:
    path = launchd_plist_path(home)
    if not path.exists():
        return ServiceState(False, False, f"not installed (no {path})")
    uid = os.getuid() if hasattr(os, "getuid") else 501
    answer = runner(["launchctl", "print", f"gui/{uid}/{LABEL}"])
    if answer.returncode != 0:
        return ServiceState(True, False, f"not loaded ({path})")
    fields: dict[str, str] = {}
    for line in answer.stdout.splitlines():
        key, sep, value = line.strip().partition(" = ")
        if sep and key not in fields:
            fields[key] = value.strip()
    state = fields.get("state", "unknown")
    pid = f", pid {fields['pid']}" if "pid" in fields else ""
    last = fields.get("last exit code")
    exit_note = f", last exit {last}" if last else ""
    return ServiceState(True, state == "running", f"{state}{pid}{exit_note} ({path})")
