"""What each SessionDock error means for sending, on an injected clock.

Client errors go through `bridge.failure_of`, as the importer hands them to the core,
so the translation is checked along with the policy."""

from __future__ import annotations

from watcher.bridge import failure_of
from watcher.client import (
    ApiError,
    BadAnswer,
    ReadOnly,
    SessionDockError,
    Unauthorized,
    Unreachable,
)
from watcher.core.policy import Gate, Pause, fingerprint


class _Gate(Gate):
    def failed(self, error: SessionDockError, now: float, token: str | None = None) -> bool:  # type: ignore[override]
        return super().failed(failure_of(error, token), now)


def gate() -> _Gate:
    return _Gate(cap=60, jitter=lambda: 1.0)


def test_unreachable_backs_off_exponentially_up_to_the_cap() -> None:
    g = gate()
    delays = []
    for _ in range(10):
        g.failed(Unreachable("down"), now=0)
        delays.append(g.not_before)
    assert delays[:4] == [1, 2, 4, 8]
    assert max(delays) == 60
    assert g.pause is Pause.BACKOFF
    assert not g.can_send(59) and g.can_send(60)


def test_jitter_spreads_retries_below_the_ceiling() -> None:
    g = _Gate(cap=60, jitter=lambda: 0.0)
    g.failed(Unreachable("down"), now=0)
    g.failed(Unreachable("down"), now=0)
    assert g.not_before == 1.0  # half of the 2 s ceiling


def test_retry_after_is_honoured() -> None:
    g = gate()
    g.failed(ApiError(503, "busy", "later", retry_after=17), now=100)
    assert g.not_before == 117


def test_pause_changes_are_reported_once() -> None:
    g = gate()
    assert g.failed(Unreachable("down"), now=0) is True
    assert g.failed(BadAnswer("garbage"), now=1) is False
    assert g.failed(ApiError(501, "import_unavailable", "no"), now=2) is False
    assert g.succeeded() is True
    assert g.succeeded() is False
    assert g.failures == 0


def test_401_waits_for_a_different_token() -> None:
    g = gate()
    g.failed(Unauthorized(401, "unauthorized", "no"), now=0, token="old-token")
    assert g.pause is Pause.AUTH and not g.can_send(10**9)
    assert not g.token_changed(fingerprint("old-token"))
    assert g.token_changed(fingerprint("new-token"))
    assert g.rejected_token == fingerprint("old-token") != "old-token"


def test_403_read_only_pauses_until_health_says_otherwise() -> None:
    g = gate()
    assert g.failed(ReadOnly(403, "read_only", "ro"), now=0)
    assert g.pause is Pause.READ_ONLY and not g.can_send(10**9)
    assert g.succeeded()
    assert g.can_send(0)
