"""Start at login on this OS: filled in by issue 5 (systemd, launchd, Task Scheduler)."""

from __future__ import annotations

from pathlib import Path


def run(action: str, config_path: Path, print_only: bool) -> int:
    raise NotImplementedError("service install is not built yet")
