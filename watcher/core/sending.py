"""From queued projects to SessionDock: batches, answers, the error policy, recovery.

One request is out at a time. A batch is marked `in_flight` (persisted) before it is
sent, and `imported` only after a 2xx; a 400 on a batch is split in halves until the
item(s) SessionDock refuses are alone, so one bad project cannot hold back the others.
Every other failure puts the batch back to pending and pauses sending (`Gate`).
After a crash, records left in flight are first looked up in SessionDock's library:
what it has is imported, the rest is sent again.
"""

from __future__ import annotations

from collections.abc import Container, Iterable

from watcher.core.base import EXIT_UNDELIVERED, CoreBase, Job
from watcher.core.batching import Batch, Queued, next_batch
from watcher.core.effects import AskHealth, ReadToken, Send, SendItem
from watcher.core.inputs import (
    Accepted,
    Failure,
    HealthAnswered,
    SendAnswered,
    TokenRead,
)
from watcher.core.policy import Pause, answer_lost

HEALTH_POLL_SECONDS = 5.0
TOKEN_POLL_SECONDS = 2.0

READ_ONLY_ADVICE = (
    "SessionDock's Local API is read-only: enable Full Automation in SessionDock's "
    "Local API settings (the watcher resumes by itself)"
)


class Sending(CoreBase):
    def _may_send(self, now: float) -> bool:
        """The gate: nothing is sent in a 401 or 403 pause, nor before a backoff ends."""
        return self.gate.can_send(now)

    def _batch_size(self) -> int:
        """Items per request, as configured now (a reload may lower it mid-batch)."""
        return max(1, self.settings.batch_size)

    def _request(self) -> int:
        self._requests += 1
        return self._requests

    # --- planning ---------------------------------------------------------------------

    def _dispatch(self) -> None:
        if self._job is not None or self._stopping or not self._started:
            return
        if self._unsaved or self.outage.active:  # nothing is sent whose state is not written
            return
        if not self._may_send(self._now):
            return
        if self._adopting and not self._adopt():
            return
        if self._look_up_gone():
            return
        if self._relink_due():
            return
        if self._library is not None and not self._busy_finding():
            self._library = None  # the first walk is over: what appears from now on is new
            self._library_ids = {}
        wall = self._wall()
        soft = self._replan_soft and (
            self._batch_due is None
            or not self._busy_finding()
            or self.table.fullest_group() >= self.settings.batch_size
        )
        if not (self._replan or soft) and (self._batch_due is None or wall < self._batch_due):
            return
        self._replan = self._replan_soft = False
        self._batch_due = None
        # The window lets projects about to be ready join a batch. With none waiting out
        # its quiet period and no walk running, nothing can join: holding a lone save
        # back would only add the window to its latency (bench/latency.py).
        window = self.settings.batch_window_seconds if self._busy_finding() else 0.0
        plan = next_batch(self._sendable(), wall, self._batch_size(), window)
        if isinstance(plan, Batch):
            self._send_batch(plan)
        elif plan is not None:
            self._batch_due = plan
        elif self.gate.pause is Pause.BACKOFF:
            self._ask_health()  # nothing to send: probe, so a recovery shows at once
        else:
            self._sessions_due()

    def _adopt(self) -> bool:
        """Overridden by `Adoption`: True once sending may start."""
        return True

    def _look_up_gone(self) -> bool:
        """Overridden by `Adoption`: True when a library lookup went out."""
        return False

    def _sendable(self) -> list[Queued[str]]:
        """Pending projects, minus those written to again since they were queued: what
        SessionDock would read now is not what was checked, so they wait for their
        new quiet period (and are queued again, or found open or broken)."""
        queued = self._not_at_a_moving_session(self.table.sendable())
        busy = self._being_looked_at()
        if not any(busy):
            return queued  # the common case: nothing to look up per project
        return [q for q in queued if not any(q.key in b for b in busy)]

    def _being_looked_at(self) -> tuple[Container[str], ...]:
        """Paths written to again since they were checked: waiting out a quiet period,
        or being checked."""
        return (
            self._waiting,
            self._probing,
            self._verifying,
            self._confirm_stats,
            self._touch_stats,
            self._unconfirmed,
        )

    def _not_at_a_moving_session(self, queued: list[Queued[str]]) -> list[Queued[str]]:
        """Minus those at a path a moved project's session still points at (its PATCH not
        answered yet): SessionDock keys its library by path and would skip the import,
        then the PATCH takes that session away and the new project has none, though
        recorded imported (simulator seed 56696: a twin copied onto the path a project
        had just moved from, its session not listed yet). The relink's answer, or its
        undoing, lets it go."""
        table = self.table
        return [q for q in queued if not table.moving_from(table[q.key].project_path)]

    def _send_batch(self, batch: Batch[str]) -> None:
        table = self.table
        before = {
            k: (r.attempts, r.moved_identity) for k in batch.keys if (r := table.get(k, None))
        }
        marked = table.mark_in_flight(batch.keys)
        if not marked:
            return
        self.counters.requests += 1
        job = Job(self._request(), "send", batch.kind, batch.generate_previews, before=before)
        self._job = job
        self._send_part(job, tuple(r.path for r in marked))

    def _send_part(self, job: Job, keys: tuple[str, ...]) -> None:
        self._hold_changed(job, keys)
        rows = [self.table[k] for k in keys if self.table.get(k, None) is not None]
        rows = [r for r in rows if r.state == "in_flight"]
        if not rows:
            self._next_part(job)
            return
        size = self._batch_size()
        if len(rows) > size:  # planned before a reload lowered batch_size: the rest waits
            job.parts.insert(0, tuple(r.path for r in rows[size:]))
            rows = rows[:size]
        job.current = tuple(r.path for r in rows)
        items = tuple(
            SendItem(r.path, r.project_path, r.title, r.project_type, r.preview_path) for r in rows
        )
        self._emit(Send(job.request, job.kind, job.generate_previews, items))
        self._request_out()

    def _hold_changed(self, job: Job, keys: tuple[str, ...]) -> None:
        """A part sent late (its write failed: `_send_again`; or a later part) leaves out
        the projects written to since they were queued, as `_sendable` does: SessionDock
        would read bytes never checked, and the core, taking its session to hold the
        checked ones, would send the same bytes again once they are (simulator seed
        160019198). Back to pending with their `attempts` and held bytes as before."""
        busy = self._being_looked_at()
        changed = [k for k in keys if k in job.before and any(k in b for b in busy)]
        if changed:
            self.table.unsent(changed, job.before)
            self.table.requeue(changed, None)
            self._replan = True

    def _next_part(self, job: Job) -> None:
        if job.parts:
            job.request = self._request()
            self._send_part(job, job.parts.pop(0))
            return
        self._job_done()
        if self.gate.succeeded():
            self._log("sending_resumed", pending=self.table.counts()["pending"])
        self._resolve_error()
        self._status()

    def _resolve_error(self) -> None:
        """SessionDock answered: the last error is history (status shows it resolved)."""
        error = self.meta.get("last_error")
        if isinstance(error, dict) and not error.get("resolved_at"):
            self._set_meta("last_error", {**error, "resolved_at": self._wall()})

    def _request_out(self) -> None:
        """`status` shows a request still open after a second: the heartbeat comes sooner."""
        if "heartbeat" in self.timers:
            self.timers["heartbeat"] = min(self.timers["heartbeat"], self._now + 1.0)

    # --- answers ----------------------------------------------------------------------

    def _on_send_answered(self, answered: SendAnswered) -> None:
        job = self._job_answered("send", answered.request)
        if job is None:
            return
        outcome = answered.outcome
        if isinstance(outcome, Accepted):
            self._mark_imported(job.current, outcome)
            self._next_part(job)
            return
        if outcome.kind == "rejected":
            self.table.heard(job.current)
            if len(job.current) > 1:
                middle = len(job.current) // 2
                job.parts[:0] = [job.current[:middle], job.current[middle:]]
            else:
                self._reject(job.current[0], outcome.message)
            self._next_part(job)
            return
        unsent = [*job.current, *(k for part in job.parts for k in part)]
        self._job_done()
        # A refused token or a read-only API made nothing; anything else may have
        # failed after SessionDock acted (only the part out was carried).
        acted = outcome.kind not in ("auth", "read_only")
        carried = job.current if acted else ()
        self.table.unsent([k for k in unsent if k not in carried], job.before)
        # No answer heard (a timeout, a reset) or a 2xx not read: `unheard` a while.
        unheard = answer_lost(outcome)
        if not unheard:  # heard: those changed meanwhile no longer wait on it
            self.table.heard(job.current)
        self._requeue(unsent, outcome.message, carried, unheard)
        self._failed(outcome, projects=len(unsent))

    def _requeue(
        self, keys: list[str], error: str | None, acted: Container[str] = (), unheard: bool = False
    ) -> None:
        """Back to pending after a failed attempt, unless found open or broken since;
        those in `acted` (carried by a request SessionDock may have acted on) and gone
        meanwhile stay in flight until the library says (`table.requeue`); `unheard`
        (no answer read), until it lists them or `unheard` runs out."""
        self.table.requeue([k for k in keys if k not in acted], error)
        wall = self._wall() if unheard else None
        self._look_up.update(self.table.requeue([k for k in keys if k in acted], error, True, wall))
        self._supersede(keys)

    def _supersede(self, keys: Iterable[str]) -> None:
        """Found not a project while older bytes were out (`_on_verified`): once their
        request is settled (failed here, or a crash's recovery: `_on_library`), the
        newer verdict stands, lest the older bytes be sent again while the file is open
        in its DAW or being written (simulator seeds 71002953, 270004824)."""
        for key in keys:
            superseded = self._superseded.pop(key, None)
            if superseded is not None:
                root, verdict, signature = superseded
                self.table.mark_invalid(key, root, verdict.kind, signature, verdict.detail)

    def _mark_imported(self, keys: tuple[str, ...], accepted: Accepted) -> None:
        """A 2xx: the only place a project becomes `imported`."""
        for key in keys:
            self._superseded.pop(key, None)
        self.counters.imported += self.table.mark_imported(keys, accepted.import_id, self._wall())
        job = self._job
        self._log(
            "import_answered",
            kind=job.kind if job else "",
            items=len(keys),
            import_id=accepted.import_id,
            accepted=accepted.total,
            completed=accepted.completed,
            failed=accepted.failed,
            skipped=accepted.skipped,
            done=accepted.done,
        )
        if accepted.odd:
            self._log(
                "import_answer_odd",
                "warning",
                import_id=accepted.import_id,
                fields=list(accepted.odd),
                advice="SessionDock took the batch but sent these fields in an undocumented "
                "form; they are reported as null (is SessionDock up to date?)",
            )
        if accepted.failed:
            self._log(
                "import_items_failed",
                "warning",
                import_id=accepted.import_id,
                failed=accepted.failed,
                advice="SessionDock could not import some items; see its import history",
            )

    def _reject(self, key: str, message: str) -> None:
        self._superseded.pop(key, None)
        if self.table.mark_rejected(key, message):
            self.counters.rejected += 1
        if self.settings.once:
            self.exit_code = EXIT_UNDELIVERED
        self._log(
            "project_rejected",
            "warning",
            path=key,
            message=message,
            action="fix the project; it is tried again when it changes",
        )

    def _failed(self, failure: Failure, **details: object) -> None:
        changed = self.gate.failed(failure, self._now)
        self._set_meta(
            "last_error", {"at": self._wall(), "message": failure.message, "advice": failure.advice}
        )
        if changed:
            self._log(
                "sending_paused",
                "warning",
                reason=self.gate.pause.value,
                error=failure.message,
                advice=failure.advice,
                **details,
            )
            if self.gate.pause is Pause.AUTH:
                self.timers["token"] = self._now + TOKEN_POLL_SECONDS
        else:
            self._log(
                "send_failed",
                "debug",
                error=failure.message,
                retry_in=round(self.gate.not_before - self._now, 3),
            )
        self._schedule_probe()
        self._status()

    def _schedule_probe(self) -> None:
        """In a 403 or 401 pause, the next /health that finds out whether it is over."""
        if self.gate.pause is Pause.READ_ONLY:
            self.timers["health"] = self._now + HEALTH_POLL_SECONDS
        elif self.gate.pause is Pause.AUTH and self.gate.rejected_token is not None:
            # /health with the same token (Gate.take_probe's schedule): SessionDock
            # restarting its Local API refuses a good token for a while.
            self.timers["health"] = max(self.gate.probe_at, self._now)

    def _probe_failed(self, failure: Failure) -> None:
        """A probe in a 403 or 401 pause failed for another reason (SessionDock down):
        the pause stands, since nothing said it is over; the probe is asked again."""
        self._log("probe_failed", "debug", error=failure.message, paused=self.gate.pause.value)
        self._set_meta(
            "last_error", {"at": self._wall(), "message": failure.message, "advice": failure.advice}
        )
        self._schedule_probe()

    def _ask_health(self) -> None:
        self._job = Job(self._request(), "health")
        self._emit(AskHealth(self._job.request))
        self._request_out()

    def _on_health(self, answered: HealthAnswered) -> None:
        if self._job_answered("health", answered.request) is None:
            return
        self._job_done()
        health = answered.outcome
        paused = self.gate.pause in (Pause.AUTH, Pause.READ_ONLY)
        if isinstance(health, Failure) and paused and health.kind not in ("auth", "read_only"):
            self._probe_failed(health)
            return
        if isinstance(health, Failure):
            self._failed(health)
            return
        if health.can_import:
            resumed = self.gate.succeeded()
            self._log(
                "sending_resumed" if resumed else "sessiondock_connected",
                effective_mode=health.effective_mode,
                configured_mode=health.configured_mode,
            )
            self.timers.pop("health", None)
            self.timers.pop("token", None)
            self._resolve_error()
        else:
            message = f"HTTP 403 read_only: effective mode is {health.effective_mode}"
            failure = Failure("read_only", message, READ_ONLY_ADVICE)
            self._failed(failure, effective_mode=health.effective_mode)
        self._status()

    # --- the token --------------------------------------------------------------------

    def _on_token(self, read: TokenRead) -> None:
        if self.gate.pause is not Pause.AUTH:
            return
        if self.gate.token_changed(read.fingerprint):
            self._log("token_changed", action="retrying")
            self.gate.pause = Pause.BACKOFF
            self.gate.not_before = self._now
            self._replan = True
        else:
            self.timers["token"] = self._now + TOKEN_POLL_SECONDS

    def _poll_token(self) -> None:
        self._emit(ReadToken())
