"""When to try the state database again after it could not be written.

A full disk or another program's lock is a condition to wait out, not a reason to die:
the daemon keeps its loop (and its systemd watchdog pings) going, holds what it could
not persist, and tries again on a capped exponential backoff. This is the decision
only, with time passed in (no I/O, no clock of its own), so it is tested without
filling a disk; watcher/state_faults.py tells the errors apart, the core (persisting)
and the daemon at start act.
"""

from __future__ import annotations

from dataclasses import dataclass

RETRY_BASE_SECONDS = 1.0
RETRY_CAP_SECONDS = 30.0
"""A freed disk or a closed sqlite3 shell is noticed within this long."""


@dataclass
class Outage:
    base: float = RETRY_BASE_SECONDS
    cap: float = RETRY_CAP_SECONDS
    since: float | None = None
    failures: int = 0
    retry_at: float = 0.0
    error: str = ""

    @property
    def active(self) -> bool:
        return self.since is not None

    def failed(self, now: float, error: str) -> bool:
        """Record a failed write; True when this begins an outage (worth one log line)."""
        began = self.since is None
        if began:
            self.since = now
        self.failures += 1
        self.error = error
        self.retry_at = now + min(self.cap, self.base * 2.0 ** (self.failures - 1))
        return began

    def due(self, now: float) -> bool:
        """Whether the state may be written now (always, outside an outage)."""
        return self.since is None or now >= self.retry_at

    def succeeded(self, now: float) -> float | None:
        """Record a write that worked; the outage's length when this ends one, else None."""
        if self.since is None:
            return None
        lasted = now - self.since
        self.since, self.failures, self.retry_at, self.error = None, 0, 0.0, ""
        return lasted
