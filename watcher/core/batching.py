"""Grouping ready projects into import requests: pure logic, injected time.

One request carries one `kind` and one `generatePreviews` flag, so projects are grouped
by both. A group is sent as soon as it fills a batch, or once its oldest project has
waited `window` seconds for others to join: a library dropped at once becomes a few
full requests, and a single save is not held back longer than the window.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class Queued(Generic[Key]):
    """A project waiting to be sent, as the batch planner needs to see it."""

    key: Key
    kind: str
    generate_previews: bool
    queued_at: float


@dataclass(frozen=True)
class Batch(Generic[Key]):
    kind: str
    generate_previews: bool
    keys: tuple[Key, ...]


def next_batch(
    queued: Iterable[Queued[Key]], now: float, size: int, window: float
) -> Batch[Key] | float | None:
    """The batch to send now; else the time the next one will be due; else None.

    Full groups go first; among groups that are due, the one that has waited longest.
    A `queued_at` in the future (the wall clock went back) counts as due.
    """
    groups: dict[tuple[str, bool], list[Queued[Key]]] = {}
    for item in queued:
        groups.setdefault((item.kind, item.generate_previews), []).append(item)
    if not groups:
        return None
    best: tuple[bool, float, tuple[str, bool]] | None = None
    earliest_due: float | None = None
    for group_key, items in groups.items():
        oldest = min(i.queued_at for i in items)
        full = len(items) >= size
        due_at = oldest + window
        if full or due_at <= now or oldest > now:
            rank = (not full, oldest, group_key)
            if best is None or rank < best:
                best = rank
        elif earliest_due is None or due_at < earliest_due:
            earliest_due = due_at
    if best is None:
        return earliest_due
    kind, previews = best[2]
    chosen = sorted(groups[best[2]], key=lambda i: i.queued_at)[:size]
    return Batch(kind=kind, generate_previews=previews, keys=tuple(i.key for i in chosen))
