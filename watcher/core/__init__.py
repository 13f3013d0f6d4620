"""The daemon's decisions, sans-I/O: `Core.handle(input, now) -> [effects]`.

`Core` is imported on first use: `watcher.core.records` (what the scanner and the
state share) must not pull in the whole machine (50 ms on `scan --dry-run`'s path).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from watcher.core.machine import Core

__all__ = ["Core"]


def __getattr__(name: str) -> Any:
    if name == "Core":
        from watcher.core.machine import Core

        return Core
    raise AttributeError(f"module 'watcher.core' has no attribute {name!r}")
