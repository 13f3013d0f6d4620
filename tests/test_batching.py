"""Grouping ready projects into requests, on an injected clock."""

from __future__ import annotations

import math

from watcher.core.batching import Batch, Queued, next_batch


def q(key: str, at: float, kind: str = "Ableton", previews: bool = True) -> Queued[str]:
    return Queued(key, kind, previews, at)


def drain(items: list[Queued[str]], now: float, size: int, window: float) -> list[Batch[str]]:
    batches: list[Batch[str]] = []
    remaining = list(items)
    while True:
        plan = next_batch(remaining, now, size, window)
        if not isinstance(plan, Batch):
            return batches
        batches.append(plan)
        remaining = [i for i in remaining if i.key not in plan.keys]


def test_nothing_queued() -> None:
    assert next_batch([], now=0, size=50, window=2) is None


def test_single_project_waits_for_the_window() -> None:
    assert next_batch([q("a", 10)], now=11, size=50, window=2) == 12
    plan = next_batch([q("a", 10)], now=12, size=50, window=2)
    assert plan == Batch("Ableton", True, ("a",))


def test_full_batch_goes_at_once() -> None:
    items = [q(f"p{i}", 10 + i / 100) for i in range(50)]
    plan = next_batch(items, now=10.5, size=50, window=2)
    assert isinstance(plan, Batch) and len(plan.keys) == 50


def test_three_hundred_projects_become_six_requests() -> None:
    items = [q(f"p{i}", 10 + i / 1000) for i in range(300)]
    batches = drain(items, now=13, size=50, window=2)
    assert len(batches) == math.ceil(300 / 50)
    assert sorted(k for b in batches for k in b.keys) == sorted(i.key for i in items)


def test_groups_by_kind_and_previews() -> None:
    items = [q("a", 0), q("b", 0, kind="Reaper"), q("c", 0, previews=False), q("d", 0)]
    batches = drain(items, now=5, size=50, window=2)
    groups = {(b.kind, b.generate_previews): set(b.keys) for b in batches}
    assert groups == {
        ("Ableton", True): {"a", "d"},
        ("Reaper", True): {"b"},
        ("Ableton", False): {"c"},
    }


def test_oldest_group_first_and_oldest_items_first() -> None:
    items = [q("new", 5, kind="Reaper"), q("old", 1), q("older", 0)]
    plan = next_batch(items, now=10, size=1, window=2)
    assert plan == Batch("Ableton", True, ("older",))


def test_clock_going_back_does_not_strand_projects() -> None:
    plan = next_batch([q("a", 1000)], now=10, size=50, window=2)
    assert isinstance(plan, Batch)
