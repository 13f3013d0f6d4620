"""Start at login on this OS: a systemd user unit, a launchd agent or a scheduled task.

Each definition is rendered by one function per OS, so the samples in `systemd/` and
`launchd/` and what `service install` writes cannot drift apart (a test regenerates the
samples and compares). The OS is a parameter (`platform`), decided once by
`current_platform()`, so Linux tests render and install all three, against fake
`systemctl`, `launchctl` and `schtasks` programs on PATH. Every call to the OS goes
through a `Runner`, and every path is absolute because launchd and Task Scheduler
expand nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from watcher.service import commands
from watcher.service.commands import plan_for
from watcher.service.common import (
    EXIT_USAGE,
    LABEL,
    PLATFORMS,
    TASK_NAME,
    UNIT_NAME,
    Launch,
    Plan,
    Platform,
    Runner,
    ServiceState,
    launch_for,
    run_command,
)
from watcher.service.launchd import sample_plist
from watcher.service.systemd import SAMPLE_UNIT_EXEC, systemd_exec, systemd_unit
from watcher.service.task_scheduler import TASK_NS, task_xml, task_xml_bytes

__all__ = [
    "LABEL",
    "PLATFORMS",
    "SAMPLE_UNIT_EXEC",
    "TASK_NAME",
    "TASK_NS",
    "UNIT_NAME",
    "Launch",
    "Plan",
    "Platform",
    "Runner",
    "ServiceState",
    "current_platform",
    "launch_for",
    "plan_for",
    "run",
    "sample_plist",
    "service_state",
    "systemd_exec",
    "systemd_unit",
    "task_xml",
    "task_xml_bytes",
]


def current_platform() -> Platform:
    if sys.platform == "darwin":
        return "macos"
    if sys.platform == "win32":
        return "windows"
    return "linux"


def service_state(
    platform: Platform | None = None,
    runner: Runner | None = None,
    home: Path | None = None,
) -> ServiceState:
    """Ask the service manager; never raises (a missing tool is a detail, not a crash)."""
    platform = platform or current_platform()
    runner = runner or run_command
    home = home or Path.home()
    return commands.state_of(platform, runner, home)


def run(
    action: str,
    config_path: Path,
    print_only: bool,
    platform: Platform | None = None,
    runner: Runner | None = None,
) -> int:
    """`service install|uninstall|status [--print] [--platform OS]`."""
    here = current_platform()
    platform = platform or here
    runner = runner or run_command
    if platform != here and not (print_only and action == "install"):
        commands.err(
            f"this machine runs {here}; --platform {platform} only works with install --print"
        )
        return EXIT_USAGE
    plan = commands.plan_for(platform, config_path)
    if action == "status":
        return commands.status(plan, runner)
    if action == "uninstall":
        return commands.uninstall(plan, runner, print_only)
    return commands.install(plan, config_path, runner, print_only)
