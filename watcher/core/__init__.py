"""The daemon's decisions, sans-I/O: `Core.handle(input, now) -> [effects]`."""

from watcher.core.machine import Core

__all__ = ["Core"]
