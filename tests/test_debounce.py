"""The debounce rules, on an injected clock: no threads, no sleeps."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from watcher.core.debounce import Debouncer, Decision


def make(quiet: float = 5, max_wait: float = 120) -> Debouncer[str, int]:
    return Debouncer(quiet, max_wait)


def test_ready_after_quiet_period_with_same_stat() -> None:
    d = make()
    d.touch("a.als", at=0, signature=1)
    assert d.due(4.9) == []
    assert d.next_deadline() == 5
    assert d.due(5) == ["a.als"]
    assert d.confirm("a.als", 5, fresh=1) is Decision.READY
    assert len(d) == 0


def test_each_event_restarts_the_quiet_period() -> None:
    d = make()
    for t in range(10):
        d.touch("a.als", at=t, signature=t)
    assert d.due(13.9) == []
    assert d.due(14) == ["a.als"]
    assert d.confirm("a.als", 14, fresh=9) is Decision.READY


def test_changed_stat_without_event_restarts_the_wait() -> None:
    """A writer whose events never arrive (a network share) must still be waited for."""
    d = make()
    d.touch("a.als", at=0, signature=100)
    assert d.due(5) == ["a.als"]
    assert d.confirm("a.als", 5, fresh=200) is Decision.WAIT
    assert d.due(9.9) == []
    assert d.due(10) == ["a.als"]
    assert d.confirm("a.als", 10, fresh=200) is Decision.READY


def test_unknown_signature_is_confirmed_a_full_quiet_period_later() -> None:
    """Bundles are not walked on every event; their first stat is checked again a full
    quiet period later, since a writer pausing longer than a short settle, with its
    events lost, would be taken for finished (simulator seeds 10058 and 11159)."""
    d = make()
    d.touch("X.logicx", at=0, signature=None)
    assert d.due(5) == ["X.logicx"]
    assert d.confirm("X.logicx", 5, fresh=7) is Decision.WAIT
    assert d.due(9.9) == []
    assert d.due(10) == ["X.logicx"]
    assert d.confirm("X.logicx", 10, fresh=7) is Decision.READY


def test_max_wait_releases_a_project_that_never_stops_changing() -> None:
    d = make(quiet=5, max_wait=20)
    t = 0.0
    while t < 20:
        d.touch("busy.als", at=t, signature=int(t))
        t += 1
    assert d.next_deadline() == 20
    assert d.due(20) == ["busy.als"]
    assert d.confirm("busy.als", 20, fresh=999) is Decision.READY


def test_gone_file_is_dropped() -> None:
    d = make()
    d.touch("a.als", at=0, signature=1)
    assert d.due(5) == ["a.als"]
    assert d.confirm("a.als", 5, fresh=None) is Decision.GONE
    assert len(d) == 0


def test_forget_cancels_pending_work() -> None:
    d = make()
    d.touch("a.als", at=0, signature=1)
    d.forget("a.als")
    assert d.due(100) == []
    assert d.next_deadline() is None


def test_past_event_times_are_ready_at_once() -> None:
    """A scan passes the file's age: an old, quiet file needs no further wait."""
    d = make()
    d.touch("old.als", at=-3600, signature=1)
    assert d.due(0) == ["old.als"]


def test_many_keys_come_due_in_deadline_order() -> None:
    d = make(quiet=1)
    for i in range(1000):
        d.touch(f"p{i}", at=i / 1000, signature=i)
    assert len(d.due(1.4995)) == 500
    assert len(d.due(2.0)) == 500


@given(st.lists(st.tuples(st.floats(0, 100), st.integers(0, 3)), min_size=1, max_size=40))
def test_never_ready_before_quiet_after_last_event_unless_capped(
    events: list[tuple[float, int]],
) -> None:
    """Whatever the event pattern, release happens only after quiet or at max_wait."""
    quiet, max_wait = 5.0, 30.0
    d = make(quiet, max_wait)
    events.sort()
    for at, sig in events:
        d.touch("p", at=at, signature=sig)
    first, last = events[0][0], events[-1][0]
    deadline = d.next_deadline()
    assert deadline is not None
    assert deadline == min(last + quiet, first + max_wait)
