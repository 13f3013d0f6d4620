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

import csv
import getpass
import io
import os
import plistlib
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from watcher.config import APP_NAME, ConfigError, config_dir, load_config, log_dir
from watcher.logging import STDERR_LEVEL_ENV

Platform = Literal["linux", "macos", "windows"]
PLATFORMS: tuple[Platform, ...] = ("linux", "macos", "windows")

UNIT_NAME = f"{APP_NAME}.service"
LABEL = "com.sessiondock.watcher"
TASK_NAME = "SessionDock Watcher"

WATCHDOG_SECONDS = 60
THROTTLE_SECONDS = 30
TASK_NS = "http://schemas.microsoft.com/windows/2004/02/mit/task"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_RUNNING = 3
EXIT_CONFIG = 78

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def _run_command(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=120)


def current_platform() -> Platform:
    if sys.platform == "darwin":
        return "macos"
    if sys.platform == "win32":
        return "windows"
    return "linux"


# --- what is started --------------------------------------------------------------------


@dataclass(frozen=True)
class Launch:
    """The daemon's command line: an absolute program and its arguments."""

    program: str
    arguments: tuple[str, ...]

    def argv(self) -> list[str]:
        return [self.program, *self.arguments]


def launch_for(platform: Platform, config_path: Path, python: str | None = None) -> Launch:
    """`<this interpreter> -m watcher run --config <config>`; pythonw on Windows.

    The interpreter is the one running now (a venv's `bin/python` is kept as is, not
    resolved, or the venv's packages would be lost), so the service runs exactly the
    installation that installed it.
    """
    interpreter = python or sys.executable
    if platform == "windows":
        interpreter = _windowless(interpreter)
    return Launch(interpreter, ("-m", "watcher", "run", "--config", str(config_path)))


def _windowless(python: str) -> str:
    """pythonw.exe sits beside python.exe and opens no console window at logon."""
    cut = max(python.rfind("/"), python.rfind("\\")) + 1
    head, name = python[:cut], python[cut:]
    if name.lower().startswith("python") and not name.lower().startswith("pythonw"):
        name = "pythonw" + name[len("python") :]
    return head + name


# --- systemd ----------------------------------------------------------------------------


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


# --- launchd ----------------------------------------------------------------------------


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


# --- Task Scheduler ---------------------------------------------------------------------


def _windows_user() -> str:
    domain = os.environ.get("USERDOMAIN", "")
    user = getpass.getuser()
    return f"{domain}\\{user}" if domain else user


def _windows_quote(arg: str) -> str:
    return f'"{arg}"' if any(c in arg for c in ' \t"') else arg


def task_xml(launch: Launch, user: str, working_directory: str) -> str:
    """The scheduled task as XML text (`task_xml_bytes` encodes it for schtasks).

    A logon trigger for this user only, running in the user's session with the user's
    rights (mapped drives and profile folders visible), no time limit (the default
    kills a task after 72 hours), one instance, and batteries ignored. The trigger
    repeats every 5 minutes: with IgnoreNew that starts nothing while the daemon runs,
    and restarts it within 5 minutes if it ever exits, since RestartOnFailure alone
    does not count a non-zero exit code as a failure.
    """
    ET.register_namespace("", TASK_NS)

    def el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        node = ET.SubElement(parent, f"{{{TASK_NS}}}{tag}", attrs)
        if text is not None:
            node.text = text
        return node

    task = ET.Element(f"{{{TASK_NS}}}Task", {"version": "1.2"})
    info = el(task, "RegistrationInfo")
    el(info, "Description", "Imports new and changed DAW projects into SessionDock.")
    el(info, "URI", f"\\{TASK_NAME}")
    trigger = el(el(task, "Triggers"), "LogonTrigger")
    repetition = el(trigger, "Repetition")
    el(repetition, "Interval", "PT5M")
    el(repetition, "StopAtDurationEnd", "false")
    el(trigger, "Enabled", "true")
    el(trigger, "UserId", user)
    principal = el(el(task, "Principals"), "Principal", id="Author")
    el(principal, "UserId", user)
    el(principal, "LogonType", "InteractiveToken")
    el(principal, "RunLevel", "LeastPrivilege")
    settings = el(task, "Settings")
    for tag, value in (
        ("MultipleInstancesPolicy", "IgnoreNew"),
        ("DisallowStartIfOnBatteries", "false"),
        ("StopIfGoingOnBatteries", "false"),
        ("AllowHardTerminate", "true"),
        ("StartWhenAvailable", "true"),
        ("RunOnlyIfNetworkAvailable", "false"),
    ):
        el(settings, tag, value)
    idle = el(settings, "IdleSettings")
    el(idle, "StopOnIdleEnd", "false")
    el(idle, "RestartOnIdle", "false")
    for tag, value in (
        ("AllowStartOnDemand", "true"),
        ("Enabled", "true"),
        ("Hidden", "false"),
        ("RunOnlyIfIdle", "false"),
        ("WakeToRun", "false"),
        ("ExecutionTimeLimit", "PT0S"),
        ("Priority", "7"),
    ):
        el(settings, tag, value)
    restart = el(settings, "RestartOnFailure")
    el(restart, "Interval", "PT1M")
    el(restart, "Count", "10")
    action = el(el(task, "Actions", Context="Author"), "Exec")
    el(action, "Command", launch.program)
    el(action, "Arguments", " ".join(_windows_quote(a) for a in launch.arguments))
    el(action, "WorkingDirectory", working_directory)
    ET.indent(task)
    return '<?xml version="1.0" encoding="UTF-16"?>\n' + ET.tostring(task, encoding="unicode")


def task_xml_bytes(text: str) -> bytes:
    """UTF-16 with a byte-order mark, as schtasks /Create /XML expects."""
    return text.encode("utf-16")


# --- the plan for this OS ---------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What install writes and runs, and what uninstall runs, for one OS."""

    platform: Platform
    path: Path
    text: str
    data: bytes
    install: tuple[tuple[str, ...], ...]
    uninstall: tuple[tuple[str, ...], ...]
    logs: str
    extra_dirs: tuple[Path, ...] = ()


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
    user = _windows_user()
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


# --- state of an installed service ------------------------------------------------------


@dataclass(frozen=True)
class ServiceState:
    installed: bool
    running: bool
    detail: str
    """One line: what the service manager says, or what to do."""


def service_state(
    platform: Platform | None = None,
    runner: Runner | None = None,
    home: Path | None = None,
) -> ServiceState:
    """Ask the service manager; never raises (a missing tool is a detail, not a crash)."""
    platform = platform or current_platform()
    runner = runner or _run_command
    home = home or Path.home()
    try:
        if platform == "linux":
            return _systemd_state(runner, home)
        if platform == "macos":
            return _launchd_state(runner, home)
        return _task_state(runner)
    except (OSError, subprocess.SubprocessError) as exc:
        return ServiceState(False, False, f"cannot ask the service manager: {exc}")


def _systemd_state(runner: Runner, home: Path) -> ServiceState:
    path = systemd_unit_path(home)
    if not path.exists():
        return ServiceState(False, False, f"not installed (no {path})")
    active = runner(["systemctl", "--user", "is-active", UNIT_NAME])
    enabled = runner(["systemctl", "--user", "is-enabled", UNIT_NAME])
    state = active.stdout.strip() or _last_line(active.stderr) or "unknown"
    enabled_state = enabled.stdout.strip() or "unknown"
    return ServiceState(True, state == "active", f"{state}, {enabled_state} ({path})")


def _launchd_state(runner: Runner, home: Path) -> ServiceState:
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


def _task_state(runner: Runner) -> ServiceState:
    answer = runner(["schtasks", "/Query", "/TN", TASK_NAME, "/FO", "CSV", "/NH"])
    if answer.returncode != 0:
        return ServiceState(False, False, f"not installed (no task '{TASK_NAME}')")
    rows = [r for r in csv.reader(io.StringIO(answer.stdout)) if r]
    status = rows[0][-1] if rows else "unknown"
    return ServiceState(True, status.lower() == "running", f"{status} (task '{TASK_NAME}')")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


# --- the command ------------------------------------------------------------------------


def _say(message: str) -> None:
    print(message, flush=True)  # noqa: T201 - this module is the CLI's service command


def _err(message: str) -> None:
    print(f"{APP_NAME}: {message}", file=sys.stderr, flush=True)  # noqa: T201


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
    runner = runner or _run_command
    if platform != here and not (print_only and action == "install"):
        _err(f"this machine runs {here}; --platform {platform} only works with install --print")
        return EXIT_USAGE
    plan = plan_for(platform, config_path)
    if action == "status":
        return _status(plan, runner)
    if action == "uninstall":
        return _uninstall(plan, runner, print_only)
    return _install(plan, config_path, runner, print_only)


def _print_plan(plan: Plan, commands: Sequence[Sequence[str]], verb: str) -> None:
    _say(f"# {verb} {plan.path}")
    if verb == "would write":
        _say(plan.text.rstrip("\n"))
    for argv in commands:
        line = subprocess.list2cmdline(argv) if plan.platform == "windows" else " ".join(argv)
        _say(f"# would run: {line}")


def _install(plan: Plan, config_path: Path, runner: Runner, print_only: bool) -> int:
    if print_only:
        if not config_path.exists():
            _err(f"note: {config_path} does not exist yet; run `{APP_NAME} init` first")
        _print_plan(plan, plan.install, "would write")
        return EXIT_OK
    try:
        load_config(config_path)
    except ConfigError as exc:
        _err(f"{exc}; the service would not start. Run `{APP_NAME} init`, or fix it first")
        return EXIT_CONFIG
    was_running = plan.platform == "linux" and service_state(plan.platform, runner).running
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
        _err(f"{argv[0]} not found: {_manager(plan.platform)} is needed to start at login")
        return EXIT_FAILED
    if answer.returncode == 0:
        return EXIT_OK
    detail = _last_line(answer.stderr) or _last_line(answer.stdout) or f"exit {answer.returncode}"
    _err(f"`{' '.join(argv)}` failed: {detail}")
    _err(f"-> {_advice(plan, detail)}")
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


def _uninstall(plan: Plan, runner: Runner, print_only: bool) -> int:
    if print_only:
        _print_plan(plan, plan.uninstall, "would remove")
        return EXIT_OK
    state = service_state(plan.platform, runner)
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


def _status(plan: Plan, runner: Runner) -> int:
    state = service_state(plan.platform, runner)
    _say(f"service:   {_manager(plan.platform)}, {state.detail}")
    if not state.installed:
        _say(f"           -> {APP_NAME} service install")
    elif not state.running:
        _say(f"           -> see why: {plan.logs}")
    _say(f"logs:      {plan.logs}")
    return EXIT_OK if state.running else EXIT_NOT_RUNNING
