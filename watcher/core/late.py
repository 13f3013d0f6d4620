"""Gone events that reach the core after the news that followed them.

Events come late and out of order: a project (or its folder) moved out and straight
back may have the move back's event handled first, and the walk or stat it asked for
may even be answered before the move out's event comes. The gone is applied all the
same (the record goes missing, a pending import is cancelled); then what the later
news started (a stat out, a quiet period, a walk) goes on and says what is there now
(simulator seeds 43256, 79413). Without that, the project was looked at no more: a
new one never imported, an imported one missing though at its path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from watcher.core.base import Waiting
from watcher.core.records import Signature
from watcher.core.spellings import Spellings
from watcher.core.store import is_under


@dataclass(frozen=True)
class Later:
    """What news later than a gone had started for one path."""

    path: str
    stat: tuple[str, float] | None
    waiting: Waiting | None
    since: float
    signature: Signature | None


class LateNews(Spellings):
    def _later_than(self, paths: Iterable[str], at: float) -> list[Later]:
        """Stats out and quiet periods for `paths`, begun by events after `at`."""
        later = []
        for path in sorted(set(paths)):
            stat = self._touch_stats.get(path)
            waiting, since = self._waiting.get(path), self.debouncer.last_event(path)
            stat = stat if stat is not None and stat[1] > at else None
            if waiting is None or since is None or since <= at:
                waiting, since = None, at
            if stat is not None or waiting is not None:
                signature = self.debouncer.signature(path)
                later.append(Later(path, stat, waiting, since, signature))
        return later

    def _go_on(self, later: list[Later]) -> None:
        for news in later:
            if news.stat is not None:
                self._touch_stats[news.path] = news.stat  # its answer goes on from there
            if news.waiting is not None:
                root, bundle = news.waiting.root, news.waiting.bundle
                self._touch(root, news.path, bundle, news.since, news.signature)

    def _gone_by_event(self, paths: Iterable[str], at: float) -> None:
        """Records an event at `at` (monotonic) has just made missing: a walk asked
        after that, though answered after the event was handled, lists what is there
        now (`_gone_before_walk`)."""
        wall = self._wall()
        for path in paths:
            record = self.table.get(path)
            if record is not None and record.missing_since == wall:
                self._gone_at[path] = (wall, at)

    def _work_under(self, directory: str) -> list[str]:
        return [p for p in {*self._touch_stats, *self._waiting} if is_under(p, directory)]

    def _gone_under(self, directory: str, at: float) -> None:
        self._gone_by_event([p for p in self.table if is_under(p, directory)], at)

    def _gone_before_walk(self, path: str, since: float, walk_at: float) -> bool | None:
        """Was `path` found gone (at `since`, wall) before the walk began at `walk_at`?
        None when the core does not know the gone event's own time."""
        if self._missing_before.get(path) == since:
            return True  # in an earlier life: before any walk of this one (seed 34977)
        gone = self._gone_at.get(path)
        if gone is None or gone[0] != since:
            return None
        return gone[1] < walk_at

    def _prune_gone(self) -> None:
        """Forget event times of records no longer missing since then (bounded memory)."""
        table = self.table
        self._gone_at = {
            p: g
            for p, g in self._gone_at.items()
            if (r := table.get(p)) is not None and r.missing_since == g[0]
        }
