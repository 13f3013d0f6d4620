"""Whether the core may send now, and what each failure means for that.

Failures fall into three pauses, each left by its own signal: `backoff` (SessionDock
down or answering badly: retry with capped exponential backoff and jitter, honouring
Retry-After), `auth` (token rejected: wait for a different token, and meanwhile ask
again with the same one on a slow backoff, since a SessionDock that is restarting can
refuse a good token), `read_only` (Local API not in Full Automation: poll /health).

A server decides none of the timing alone: Retry-After can lengthen a wait but never
shorten it below our own backoff, which has a floor and keeps growing while failures
go on, so `Retry-After: 0` (or a date in the past) cannot make a hot loop. Time and
chance are passed in.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from watcher.core.inputs import Failure

BACKOFF_BASE_SECONDS = 1.0
MIN_RETRY_SECONDS = 1.0
"""No retry comes sooner than this, whatever the server says."""
RETRY_AFTER_CAP_SECONDS = 600.0
"""No Retry-After holds sending back longer than this."""
AUTH_PROBE_FIRST_SECONDS = 5.0
AUTH_PROBE_MAX_SECONDS = 300.0
_MAX_DOUBLINGS = 30


class Pause(Enum):
    NONE = "sending"
    BACKOFF = "retrying"
    AUTH = "token rejected"
    READ_ONLY = "read-only"


def answer_lost(failure: Failure) -> bool:
    """No answer was read (a timeout, a reset, a 2xx not understood): SessionDock may
    have acted on the request all the same."""
    return failure.kind in ("unreachable", "bad_answer")


def fingerprint(token: str) -> str:
    """Tells tokens apart without keeping one in memory longer than needed."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


class Jitter:
    """A tiny deterministic generator (xorshift32) in [0, 1): the core reads no entropy,
    so a run is reproducible from its seed; spreading one daemon's retries needs no more."""

    def __init__(self, seed: int = 0x9E3779B9) -> None:
        self._x = (seed & 0xFFFFFFFF) or 1

    def __call__(self) -> float:
        x = self._x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self._x = x
        return x / 2**32


@dataclass
class Gate:
    cap: float = 60.0
    jitter: Callable[[], float] = field(default_factory=Jitter)
    pause: Pause = Pause.NONE
    failures: int = 0
    not_before: float = 0.0
    rejected_token: str | None = None
    error: Failure | None = None
    probe_every: float = AUTH_PROBE_FIRST_SECONDS
    probe_at: float = 0.0

    def can_send(self, now: float) -> bool:
        return self.pause is Pause.NONE or (self.pause is Pause.BACKOFF and now >= self.not_before)

    def succeeded(self) -> bool:
        """Record a 2xx; True when this ends a pause (worth one log line)."""
        changed = self.pause is not Pause.NONE
        self.pause, self.failures, self.error, self.rejected_token = Pause.NONE, 0, None, None
        self.probe_every = AUTH_PROBE_FIRST_SECONDS
        return changed

    def failed(self, error: Failure, now: float) -> bool:
        """Record a failed request; True when the pause kind changed (worth one log line)."""
        before = self.pause
        self.error = error
        if error.kind == "auth":
            rejected = error.token_fingerprint
            again = before is Pause.AUTH and rejected == self.rejected_token
            self.probe_every = (
                min(AUTH_PROBE_MAX_SECONDS, self.probe_every * 2)
                if again
                else AUTH_PROBE_FIRST_SECONDS
            )
            self.probe_at = now + self.probe_every
            self.pause = Pause.AUTH
            self.rejected_token = rejected
        elif error.kind == "read_only":
            self.pause = Pause.READ_ONLY
        else:
            self.pause = Pause.BACKOFF
            self.failures += 1
            self.not_before = now + self.delay(error)
        return self.pause is not before

    def delay(self, error: Failure) -> float:
        """Our backoff (floored, growing), or Retry-After (capped) when that is longer."""
        doublings = min(max(self.failures - 1, 0), _MAX_DOUBLINGS)
        ceiling = min(self.cap, BACKOFF_BASE_SECONDS * 2.0**doublings)
        wait = ceiling * (0.5 + 0.5 * self.jitter())
        if error.retry_after is not None and not math.isnan(error.retry_after):
            wait = max(wait, min(error.retry_after, RETRY_AFTER_CAP_SECONDS))
        return max(MIN_RETRY_SECONDS, wait)

    def token_changed(self, token: str | None) -> bool:
        """In an auth pause: has the user put a different token (fingerprint) in place?"""
        return self.pause is Pause.AUTH and token is not None and token != self.rejected_token

    def take_probe(self, now: float) -> bool:
        """In an auth pause: is it time to try the rejected token once more?

        True at most once per `probe_every` (5 s, doubling to 5 min while the token
        keeps being refused); the caller sends one cheap authenticated request and
        reports it through `succeeded` or `failed` as usual.
        """
        if self.pause is not Pause.AUTH or self.rejected_token is None or now < self.probe_at:
            return False
        self.probe_at = now + self.probe_every
        return True
