"""A seed's recent history, kept cheaply and printed readably only when it failed.

Entries keep the input and effect values themselves (frozen dataclasses) and are
formatted only on failure; a run of identical steps (periodic checks) is one line with
a count, so the last ~40 entries show what led up to a violation.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    seed: int
    violations: list[str]
    trace: list[str]
    steps: int
    stats: Counter[str] = field(default_factory=Counter)
    """What the seed exercised (for `--stats`): lives, faults met, requests by answer."""


class Trace:
    def __init__(self, length: int) -> None:
        self._steps: deque[list[Any]] = deque(maxlen=length)

    def add(self, now: float, tag: str, what: object) -> None:
        steps = self._steps
        if steps and steps[-1][1] == tag and steps[-1][2] == what:
            steps[-1][3] += 1
        else:
            steps.append([now, tag, what, 1])

    def lines(self) -> list[str]:
        out: list[str] = []
        for now, tag, what, count in self._steps:
            text = what if isinstance(what, str) else short(what)
            out.append(f"{now:12.3f} {tag:5} {text}" + (f"  (x{count})" if count > 1 else ""))
        return out


def short(value: object, limit: int = 320) -> str:
    text = stable_repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def stable_repr(value: object) -> str:
    """`repr`, with sets sorted: a rerun in another process prints the same trace
    (string hashing, and so set order, changes with every process)."""
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(stable_repr(v) for v in value)) + "}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(stable_repr(v) for v in value)
        return (
            f"[{inner}]"
            if isinstance(value, list)
            else f"({inner}{',' if len(value) == 1 else ''})"
        )
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = (
            f"{f.name}={stable_repr(getattr(value, f.name))}" for f in dataclasses.fields(value)
        )
        return f"{type(value).__name__}({', '.join(fields)})"
    return repr(value)
