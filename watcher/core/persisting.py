"""When the state database cannot be written (a full disk, another program's lock).

That is a condition to wait out, not a reason to stop: the core keeps every change in
memory, sends nothing whose state is not written, and hands the changes out again on a
capped backoff (`Outage`), followed by the effects the shell could not carry out. The
first turn after a write that worked ends the outage; every folder is then reconciled,
in case an event was missed while the shell was busy failing.
"""

from __future__ import annotations

from typing import cast

from watcher.core.base import CoreBase
from watcher.core.effects import Effect, Log, Persist, Relink, Send, Tag
from watcher.core.inputs import PersistFailed

REPLAY_LIMIT = 10_000
"""Effects kept to carry out once writes work; beyond it, log lines are dropped."""


class Persisting(CoreBase):
    def _on_persist_failed(self, failed: PersistFailed) -> None:
        """Keep the changes in memory, send nothing, and write them again later."""
        self._persist_retrying = False
        if isinstance(failed.persist, Persist):
            self._unsaved.update(r.path for r in failed.persist.upserts)
            self._unsaved.update(failed.persist.deletes)
            for key, value in failed.persist.meta:
                self._meta_changes.setdefault(key, value)
        for effect in cast("list[Effect]", list(failed.dropped)):
            if isinstance(effect, Log) and len(self._replay) >= REPLAY_LIMIT:
                continue
            if isinstance(effect, Log) or effect not in self._replay:
                self._replay.append(effect)
        if self.outage.failed(self._now, failed.message):
            self._log(
                "state_unavailable",
                "warning",
                error=failed.message,
                advice=failed.advice,
                action="holding what is not written; nothing is sent until it is",
            )
        else:
            self._log("state_retry_failed", "debug", error=failed.message)
        self.timers["persist"] = max(self.outage.retry_at, self._now + 1e-3)

    def _retry_persist(self) -> None:
        self.table.touch_keys(self._unsaved)
        self._unsaved = set()
        self._flush(force=True)
        self._persist_retrying = True
        replay, self._replay = self._replay, []
        for effect in replay:
            if isinstance(effect, (Send, Relink, Tag)):
                self._send_again(effect)
                continue
            self._out.append(effect)

    def _send_again(self, dropped: Send | Relink | Tag) -> None:
        """The request the failed write held back is built again, not replayed: a reload
        since may have lowered batch_size (simulator seeds 93800; 221001529, a tag
        write), and its projects may have changed or gone."""
        job = self._job
        if job is None or dropped.request != job.request:
            return
        if job.what == "send" and isinstance(dropped, Send):
            self._send_part(job, job.current)
        elif job.what == "relink" and isinstance(dropped, Relink):
            self._job = None
            self.table.uncarried(job.current)  # never sent: counted again when it is
            self._relink_due()
        elif job.what == "tag" and isinstance(dropped, Tag):
            self._job_done()  # never sent: the tags still owed are planned again
            self._sessions_due()

    def _persist_worked(self) -> None:
        """The retried write was not reported failed: the outage is over."""
        self._persist_retrying = False
        lasted = self.outage.succeeded(self._now)
        if lasted is not None:
            self._log("state_available", after_seconds=round(lasted, 1), action="reconciling")
            self._reconcile_all()
