"""What every service manager shares: the platforms, the daemon's command line, the
plan that install and uninstall follow, and how a service's state is reported."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from watcher.config import APP_NAME

Platform = Literal["linux", "macos", "windows"]


PLATFORMS: tuple[Platform, ...] = ("linux", "macos", "windows")


UNIT_NAME = f"{APP_NAME}.service"


LABEL = "com.sessiondock.watcher"


TASK_NAME = "SessionDock Watcher"


EXIT_OK = 0


EXIT_FAILED = 1


EXIT_USAGE = 2


EXIT_NOT_RUNNING = 3


EXIT_CONFIG = 78


Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def run_command(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=120)


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


@dataclass(frozen=True)
class ServiceState:
    installed: bool
    running: bool
    detail: str
    """One line: what the service manager says, or what to do."""


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
