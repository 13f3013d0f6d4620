"""systemd (Linux): a user unit with sd_notify, a watchdog, and no restart loop on a bad
config (exit 78)."""

from __future__ import annotations

import os
from pathlib import Path

from watcher.config import APP_NAME
from watcher.service.common import UNIT_NAME, Launch, Runner, ServiceState, last_line

WATCHDOG_SECONDS = 60


def _systemd_quote(arg: str) -> str:
    """One ExecStart= word: `%` and `$` are specifiers and variables to systemd."""
    escaped = arg.replace("%", "%%").replace("$", "$$")
    if any(c in escaped for c in " \t\"'\\"):
        return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return escaped


def systemd_exec(launch: Launch) -> str:
    return " ".join(_systemd_quote(a) for a in launch.argv())


def systemd_unit(exec_start: str) -> str:
    """The user unit; `exec_start` is already in systemd syntax (quoted, `%` escaped)."""
    return f"""\
# sessiondock-watcher as a systemd *user* service.
# `sessiondock-watcher service install` writes this file to
# ~/.config/systemd/user/{UNIT_NAME} with absolute paths, then runs
# `systemctl --user daemon-reload` and `systemctl --user enable --now {UNIT_NAME}`.
# User services start at login; for a machine nobody logs into, run once:
#   sudo loginctl enable-linger $USER
# Logs go to the journal: journalctl --user -u {APP_NAME} -f

[Unit]
Description=SessionDock watcher: imports new and changed DAW projects into SessionDock
# Give up after 5 failed starts in 5 minutes instead of restarting forever.
StartLimitIntervalSec=300
StartLimitBurst=5

[Service]
# The daemon sends READY=1 once its folders are watched, STATUS= lines, and STOPPING=1
# on SIGTERM (sd_notify, see watcher/notify.py).
Type=notify
ExecStart={exec_start}
# SIGHUP reloads the config without dropping anything pending.
ExecReload=/bin/kill -HUP $MAINPID
# The main loop pings WATCHDOG=1 every WatchdogSec/2; a wedged daemon is killed and
# restarted (Restart=on-failure covers watchdog timeouts).
WatchdogSec={WATCHDOG_SECONDS}
Restart=on-failure
RestartSec=5
# 78 is EX_CONFIG: an invalid config or a missing token stays down until fixed,
# instead of restarting in a loop. Fix it, then: systemctl --user restart {APP_NAME}
RestartPreventExitStatus=78
# Attaching native watches to a large library can take a while before READY=1.
TimeoutStartSec=300
# A clean stop finishes the request in flight (a few seconds at most).
TimeoutStopSec=30
Environment=PYTHONUNBUFFERED=1
SyslogIdentifier={APP_NAME}
# The state database and log files are the user's own.
UMask=0077
# Light hardening that works in a user manager. Nothing restricts the home folder:
# the daemon's job is to read the user's project folders.
NoNewPrivileges=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6

[Install]
WantedBy=default.target
"""


SAMPLE_UNIT_EXEC = "%h/.local/bin/sessiondock-watcher run"


"""The repository sample starts a pipx or `pip install --user` installation."""


def systemd_unit_path(home: Path, environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home / ".config"
    return base / "systemd" / "user" / UNIT_NAME


def state(runner: Runner, home: Path) -> ServiceState:
    path = systemd_unit_path(home)
    if not path.exists():
        return ServiceState(False, False, f"not installed (no {path})")
    active = runner(["systemctl", "--user", "is-active", UNIT_NAME])
    enabled = runner(["systemctl", "--user", "is-enabled", UNIT_NAME])
    state = active.stdout.strip() or last_line(active.stderr) or "unknown"
    enabled_state = enabled.stdout.strip() or "unknown"
    return ServiceState(True, state == "active", f"{state}, {enabled_state} ({path})")
