"""Whether the daemon may send now, and what each SessionDock error means for that.

Pure logic with injected time and randomness. Errors fall into three pauses, each left
by its own signal: `backoff` (SessionDock down or answering badly: retry with capped
exponential backoff and jitter, honouring Retry-After), `auth` (token rejected: wait
for a different token), `read_only` (Local API not in Full Automation: poll /health).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from watcher.client import ApiError, NoToken, SessionDockError, Unauthorized

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


@dataclass
class Gate:
    cap: float = 60.0
    jitter: Callable[[], float] = random.random
    pause: Pause = Pause.NONE
    failures: int = 0
    not_before: float = 0.0
    rejected_token: str | None = None
    error: SessionDockError | None = None

    def can_send(self, now: float) -> bool:
        return self.pause is Pause.NONE or (self.pause is Pause.BACKOFF and now >= self.not_before)

    def succeeded(self) -> bool:
        """Record a 2xx; True when this ends a pause (worth one log line)."""
        changed = self.pause is not Pause.NONE
        self.pause, self.failures, self.error, self.rejected_token = Pause.NONE, 0, None, None
        return changed

    def failed(self, error: SessionDockError, now: float, token: str | None = None) -> bool:
        """Record a failed request; True when the pause kind changed (worth one log line)."""
        before = self.pause
        self.error = error
        if isinstance(error, (Unauthorized, NoToken)):
            self.pause = Pause.AUTH
            self.rejected_token = fingerprint(token) if token else None
        elif isinstance(error, ApiError) and error.status == 403:
            self.pause = Pause.READ_ONLY
        else:
            self.pause = Pause.BACKOFF
            self.failures += 1
            self.not_before = now + self.delay(error)
        return self.pause is not before

    def delay(self, error: SessionDockError) -> float:
        if error.retry_after is not None:
            return float(min(error.retry_after, RETRY_AFTER_CAP_SECONDS))
        ceiling = min(self.cap, BACKOFF_BASE_SECONDS * 2.0 ** (self.failures - 1))
        return ceiling * (0.5 + 0.5 * self.jitter())

    def token_changed(self, token: str) -> bool:
        """In an auth pause: has the user put a different token in place?"""
        return self.pause is Pause.AUTH and fingerprint(token) != self.rejected_token
