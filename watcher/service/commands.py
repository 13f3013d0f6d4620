"""`service install|uninstall|status`: writing the definition, running the manager's
commands, and one actionable line when one of them fails."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from watcher.config import APP_NAME, ConfigError, config_dir, load_config, log_dir
from watcher.service import launchd, systemd, task_scheduler
from watcher.service.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_NOT_RUNNING,
    EXIT_OK,
    LABEL,
    TASK_NAME,
    UNIT_NAME,
    Plan,
    Platform,
    Runner,
    ServiceState,
    last_line,
    launch_for,
)
from watcher.service.launchd import launchd_logs, launchd_plist, launchd_plist_path
from watcher.service.systemd import systemd_exec, systemd_unit, systemd_unit_path
from watcher.service.task_scheduler import task_xml, task_xml_bytes, windows_user


def plan_for(
    platform: Platform,
    config_path: Path,
    *,
    python: str | None = None,
    home: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Plan:
    home = home or Path.home()
    launch = launch_for(platform, config_path, python)
    if platform == "linux":
        unit = systemd_unit(systemd_exec(launch))
        return Plan(
            platform,
            systemd_unit_path(home, environ),
            unit,
            unit.encode(),
            install=(
                ("systemctl", "--user", "daemon-reload"),
                ("systemctl", "--user", "enable", "--now", UNIT_NAME),
            ),
            uninstall=(
                ("systemctl", "--user", "disable", "--now", UNIT_NAME),
                ("systemctl", "--user", "daemon-reload"),
            ),
            logs=f"journalctl --user -u {APP_NAME} -f",
        )
    if platform == "macos":
        data = launchd_plist(launch, home)
        path = launchd_plist_path(home)
        domain = f"gui/{os.getuid() if hasattr(os, 'getuid') else 501}"
        return Plan(
            platform,
            path,
            data.decode(),
            data,
            install=(
                ("launchctl", "enable", f"{domain}/{LABEL}"),
                ("launchctl", "bootstrap", domain, str(path)),
            ),
            uninstall=(("launchctl", "bootout", f"{domain}/{LABEL}"),),
            logs=str(launchd_logs(home) / f"{APP_NAME}.log"),
            extra_dirs=(launchd_logs(home),),
        )
    user = windows_user()
    text = task_xml(launch, user, str(home))
    path = config_dir() / "scheduled-task.xml"
    return Plan(
        platform,
        path,
        text,
        task_xml_bytes(text),
        install=(
            ("schtasks", "/Create", "/TN", TASK_NAME, "/XML", str(path), "/F"),
            ("schtasks", "/Run", "/TN", TASK_NAME),
        ),
        uninstall=(
            ("schtasks", "/End", "/TN", TASK_NAME),
            ("schtasks", "/Delete", "/TN", TASK_NAME, "/F"),
        ),
        logs=str(log_dir() / f"{APP_NAME}.log"),
    )


def _say(message: str) -> None:
    print(message, flush=True)  # noqa: T201 - this module is the CLI's service command


def err(message: str) -> None:
    print(f"{APP_NAME}: {message}", file=sys.stderr, flush=True)  # noqa: T201


def _print_plan(plan: Plan, commands: Sequence[Sequence[str]], verb: str) -> None:
    _say(f"# {verb} {plan.path}")
    if verb == "would write":
        _say(plan.text.rstrip("\n"))
    for argv in commands:
        line = subprocess.list2cmdline(argv) if plan.platform == "windows" else " ".join(argv)
        _say(f"# would run: {line}")


def install(plan: Plan, config_path: Path, runner: Runner, print_only: bool) -> int:
    if print_only:
        if not config_path.exists():
            err(f"note: {config_path} does not exist yet; run `{APP_NAME} init` first")
        _print_plan(plan, plan.install, "would write")
        return EXIT_OK
    try:
        load_config(config_path)
    except ConfigError as exc:
        err(f"{exc}; the service would not start. Run `{APP_NAME} init`, or fix it first")
        return EXIT_CONFIG
    was_running = plan.platform == "linux" and state_of(plan.platform, runner, Path.home()).running
    for folder in plan.extra_dirs:
        folder.mkdir(parents=True, exist_ok=True)
    if plan.platform == "macos" and plan.path.exists():
        _run_quietly(runner, plan.uninstall)  # bootstrap fails if the agent is loaded
    plan.path.parent.mkdir(parents=True, exist_ok=True)
    plan.path.write_bytes(plan.data)
    _say(f"wrote {plan.path}")
    commands = list(plan.install)
    if was_running:  # an upgrade or a new config: enable --now would not restart it
        commands.append(("systemctl", "--user", "restart", UNIT_NAME))
    for argv in commands:
        code = _run_checked(runner, argv, plan)
        if code:
            return code
    _say(f"started; logs: {plan.logs}")
    _say(f"check it with: {APP_NAME} service status  (and {APP_NAME} check)")
    if plan.platform == "linux":
        _linger_note(runner)
    return EXIT_OK


def _run_checked(runner: Runner, argv: Sequence[str], plan: Plan) -> int:
    try:
        answer = runner(argv)
    except FileNotFoundError:
        err(f"{argv[0]} not found: {_manager(plan.platform)} is needed to start at login")
        return EXIT_FAILED
    if answer.returncode == 0:
        return EXIT_OK
    detail = last_line(answer.stderr) or last_line(answer.stdout) or f"exit {answer.returncode}"
    err(f"`{' '.join(argv)}` failed: {detail}")
    err(f"-> {_advice(plan, detail)}")
    return EXIT_FAILED


def _run_quietly(runner: Runner, commands: Sequence[Sequence[str]]) -> None:
    for argv in commands:
        try:
            runner(argv)
        except (OSError, subprocess.SubprocessError):
            continue


def _manager(platform: Platform) -> str:
    return {"linux": "systemd", "macos": "launchd", "windows": "Task Scheduler"}[platform]


def _advice(plan: Plan, detail: str) -> str:
    if plan.platform == "linux":
        if "bus" in detail.lower() or "XDG_RUNTIME_DIR" in detail:
            return (
                "systemctl --user cannot reach your user manager: log in as this user (SSH or "
                "console), not through sudo/su, or use `machinectl shell USER@`"
            )
        return f"see why: journalctl --user -u {APP_NAME} -e"
    if plan.platform == "macos":
        return (
            "run it from the user's own GUI login (Terminal on the Mac, not SSH as another "
            f"user); details: launchctl print gui/{os.getuid() if hasattr(os, 'getuid') else 0}"
            f"/{LABEL}"
        )
    return "run it from the user's own session; see Task Scheduler > Task Scheduler Library"


def _linger_note(runner: Runner) -> None:
    user = getpass.getuser()
    try:
        answer = runner(["loginctl", "show-user", user, "--property=Linger", "--value"])
    except (OSError, subprocess.SubprocessError):
        return
    if answer.returncode == 0 and answer.stdout.strip() == "no":
        _say(
            "note: it starts when you log in; on a machine nobody logs into, run "
            f"`sudo loginctl enable-linger {user}` so it starts at boot"
        )


def uninstall(plan: Plan, runner: Runner, print_only: bool) -> int:
    if print_only:
        _print_plan(plan, plan.uninstall, "would remove")
        return EXIT_OK
    state = state_of(plan.platform, runner, Path.home())
    if not state.installed and not plan.path.exists():
        _say(f"not installed ({_manager(plan.platform)}): nothing to remove")
        return EXIT_OK
    _run_quietly(runner, plan.uninstall)  # "not loaded" and "not running" are fine here
    if plan.path.exists():
        plan.path.unlink()
        _say(f"removed {plan.path}")
    if plan.platform == "linux":
        _run_quietly(runner, [("systemctl", "--user", "daemon-reload")])
    _say(f"stopped and removed from {_manager(plan.platform)}; config, token and state are kept")
    return EXIT_OK


def status(plan: Plan, runner: Runner) -> int:
    state = state_of(plan.platform, runner, Path.home())
    _say(f"service:   {_manager(plan.platform)}, {state.detail}")
    if not state.installed:
        _say(f"           -> {APP_NAME} service install")
    elif not state.running:
        _say(f"           -> see why: {plan.logs}")
    _say(f"logs:      {plan.logs}")
    return EXIT_OK if state.running else EXIT_NOT_RUNNING


def state_of(platform: Platform, runner: Runner, home: Path) -> ServiceState:
    """Ask the service manager; never raises (a missing tool is a detail, not a crash)."""
    try:
        if platform == "linux":
            return systemd.state(runner, home)
        if platform == "macos":
            return launchd.state(runner, home)
        return task_scheduler.state(runner)
    except (OSError, subprocess.SubprocessError) as exc:
        return ServiceState(False, False, f"cannot ask the service manager: {exc}")
