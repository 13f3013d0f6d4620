"""What a person at a terminal sees during long work: the `scan` progress bar.

A bar only makes sense on a terminal showing readable logs. Under JSON logging or
without a terminal (journald, launchd, cron, a pipe) nothing is drawn, and the daemon's
`scan_finished` log line is the summary. While the bar draws, info lines on stderr
would tear it, so the stderr handler shows only warnings for the duration; a log file,
if any, still gets every line. No dependency: one carriage-return line is enough.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TextIO

from watcher.config import Config
from watcher.daemon import Counters, Daemon

BAR_WIDTH = 20
REDRAW_SECONDS = 0.1


def set_stream_level(level: int | str) -> list[tuple[logging.Handler, int]]:
    """Raise the level of the root's stream handlers (not files); returns what to restore."""
    changed: list[tuple[logging.Handler, int]] = []
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler:
            changed.append((handler, handler.level))
            handler.setLevel(level)
    return changed


def restore_levels(saved: list[tuple[logging.Handler, int]]) -> None:
    for handler, level in saved:
        handler.setLevel(level)


def wants_bar(config: Config, stream: TextIO | None) -> bool:
    if stream is None or config.log.format == "json":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


class ScanProgress:
    """Redraws one line: folders walked, projects found, batches sent, imported."""

    def __init__(
        self,
        stream: TextIO,
        folders: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.folders = folders
        self.clock = clock
        self._drawn_at: float | None = None
        self._last = ""

    def line(self, c: Counters) -> str:
        if c.walked < self.folders:
            done = c.walked / max(self.folders, 1) / 2
        else:
            done = 0.5 + (c.imported + c.rejected) / max(c.queued, 1) / 2
        filled = min(BAR_WIDTH, int(done * BAR_WIDTH))
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        return (
            f"scan [{bar}] folders {c.walked}/{self.folders}, {c.found} projects found, "
            f"{c.queued} queued, {c.requests} batches sent, {c.imported} imported"
        )

    def update(self, counters: Counters) -> None:
        now = self.clock()
        if self._drawn_at is not None and now - self._drawn_at < REDRAW_SECONDS:
            return
        text = self.line(counters)
        if text != self._last:
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
            self._last = text
        self._drawn_at = now

    def clear(self) -> None:
        """Make room for a log line; the next update draws the bar again below it."""
        if self._last:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._last = ""
            self._drawn_at = None

    def finish(self, counters: Counters) -> None:
        self.stream.write(
            "\r\x1b[K" + f"scan finished: {counters.walked} of {self.folders} folders walked, "
            f"{counters.found} projects found, {counters.queued} queued, "
            f"{counters.requests} batches sent, {counters.imported} imported, "
            f"{counters.rejected} rejected\n"
        )
        self.stream.flush()


class _ClearBar(logging.Filter):
    """Runs only for records the handler will print, just before it prints them."""

    def __init__(self, bar: ScanProgress) -> None:
        super().__init__()
        self.bar = bar

    def filter(self, record: logging.LogRecord) -> bool:
        self.bar.clear()
        return True


def scan(config: Config, stream: TextIO | None = None) -> int:
    """`scan`: the daemon's one pass, with a progress bar when someone is watching."""
    stream = stream if stream is not None else sys.stderr
    if not wants_bar(config, stream):
        return Daemon(config, once=True).run()
    assert stream is not None
    bar = ScanProgress(stream, len(config.watch))
    daemon = Daemon(config, once=True, progress=bar.update)
    saved = set_stream_level(logging.WARNING)
    clearer = _ClearBar(bar)
    for handler, _ in saved:
        handler.addFilter(clearer)
    try:
        return daemon.run()
    finally:
        bar.finish(daemon.counters)
        for handler, _ in saved:
            handler.removeFilter(clearer)
        restore_levels(saved)
