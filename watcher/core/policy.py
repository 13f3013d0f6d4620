"""Whether the core may send now, and what each failure means for that.

Failures fall into three pauses, each left by its own signal: `backoff` (SessionDock
down or answering badly: retry with capped exponential backoff and jitter, honouring
Retry-After), `auth` (token rejected: wait for a different token), `read_only` (Local
API not in Full Automation: poll /health). Time and chance are passed in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from watcher.core.inputs import Failure

BACKOFF_BASE_SECONDS = 1.0
RETRY_AFTER_CAP_SECONDS = 600.0


class Pause(Enum):
    NONE = "sending"
    BACKOFF = "retrying"
    AUTH = "token rejected"
    READ_ONLY = "read-only"


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

    def can_send(self, now: float) -> bool:
        return self.pause is Pause.NONE or (self.pause is Pause.BACKOFF and now >= self.not_before)

    def succeeded(self) -> bool:
        """Record a 2xx; True when this ends a pause (worth one log line)."""
        changed = self.pause is not Pause.NONE
        self.pause, self.failures, self.error, self.rejected_token = Pause.NONE, 0, None, None
        return changed

    def failed(self, error: Failure, now: float) -> bool:
        """Record a failed request; True when the pause kind changed (worth one log line)."""
        before = self.pause
        self.error = error
        if error.kind == "auth":
            self.pause = Pause.AUTH
            self.rejected_token = error.token_fingerprint
        elif error.kind == "read_only":
            self.pause = Pause.READ_ONLY
        else:
            self.pause = Pause.BACKOFF
            self.failures += 1
            self.not_before = now + self.delay(error)
        return self.pause is not before

    def delay(self, error: Failure) -> float:
        if error.retry_after is not None:
            return float(min(error.retry_after, RETRY_AFTER_CAP_SECONDS))
        ceiling = min(self.cap, BACKOFF_BASE_SECONDS * 2.0 ** (self.failures - 1))
        return ceiling * (0.5 + 0.5 * self.jitter())

    def token_changed(self, token: str | None) -> bool:
        """In an auth pause: has the user put a different token (fingerprint) in place?"""
        return self.pause is Pause.AUTH and token is not None and token != self.rejected_token
