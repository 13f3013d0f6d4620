"""A seed's recent history, kept cheaply and printed readably only when it failed.

Entries keep the input and effect values themselves (frozen dataclasses) and are
formatted only on failure; a run of identical steps (periodic checks) is one line with
a count, so the last ~40 entries show what led up to a violation.
"""

from __future__ import annotations

from collections import deque
from typing import Any


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


def short(value: object, limit: int = 200) -> str:
    text = repr(value)
    for prefix in ("watcher.core.", "tests.simulation."):
        text = text.replace(prefix, "")
    return text if len(text) <= limit else text[: limit - 3] + "..."
