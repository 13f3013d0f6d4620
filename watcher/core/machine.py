"""The daemon's decisions as one state machine: inputs in, effects out, nothing else.

No threads, no clock, no disk, no network (after h11 and wsproto: "sans-I/O"). The
shell (`watcher.shell`) feeds every observation and answer to `Core.handle` with the
monotonic time, and carries out the effects it returns, in order. A restart is a new
core built from what was persisted (`Core.restore`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from watcher.core.effects import Effect
from watcher.core.inputs import Input
from watcher.core.records import ProjectRecord
from watcher.core.settings import Settings


class Core:
    """See the module docstring; build with `Core.restore`, then feed `Started` first."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @classmethod
    def restore(
        cls,
        settings: Settings,
        records: Iterable[ProjectRecord],
        meta: Mapping[str, Any],
    ) -> Core:
        """A core that carries on from what an earlier process persisted.

        `records` are every `ProjectRecord` the `Persist` effects wrote (upserts minus
        deletes); `meta` the meta values. Nothing else survives a restart: waiting
        debounces, walks and requests in flight are gone, and the `Started` input that
        must come next asks SessionDock about records left `in_flight`.
        """
        raise NotImplementedError

    def handle(self, event: Input, now: float) -> list[Effect]:
        """Feed one input at monotonic time `now`; returns the effects to carry out in order.

        `now` must never go backwards between calls. Every effect that asks a question
        is answered by a later input (see CORE-API); `Persist` effects must be written
        before any effect after them in the list is carried out.
        """
        raise NotImplementedError

    def next_wakeup(self) -> float | None:
        """The monotonic time at which `handle(Tick(), t)` has work to do; None: none."""
        raise NotImplementedError
