"""A project changed while its import request is out (simulator seed 2609893, class
"two sessions at one path"). Changed, it is queued again (`pending`) for its new bytes
while the request for the old ones is still out; that request may make its session.
Till its answer is heard the record is `unheard`: the process dying first (or the
answer lost), the project gone meanwhile is looked up in the library rather than
forgotten as never imported, and found elsewhere it is relinked, not imported beside
the session it has (moved back later, two sessions at one path). A heard refusal
ends the wait.
"""

from __future__ import annotations

from tests.test_core import ROOT, WALL0, sig
from tests.test_core_moves import MovingDriver, move, start
from tests.test_core_relink_races import relinked, saved_and_held, sent
from tests.test_core_unheard import DONE, A, lag_then_listed, restarted
from watcher.core.inputs import (
    Failure,
    ProjectChanged,
    ProjectGone,
    SendAnswered,
    Started,
)


def changed_while_out(d: MovingDriver) -> int:
    """`A` saved, its import out unanswered, then saved again: queued for the new bytes.
    Returns the request still out."""
    d.disk[A], d.identity[A] = sig(1), "id-a"
    send = saved_and_held(d, A)
    d.disk[A] = sig(2)
    d.feed(ProjectChanged(ROOT, A, False, d.now))
    d.advance(10)
    assert d.stored[A].state == "pending" and not d.held, "queued; one request out at a time"
    return send.request


def test_changed_while_out_then_a_crash_and_moved_while_down_is_relinked() -> None:
    """Seed 2609893: the daemon dies before the answer (SessionDock made the session);
    at the restart the project is elsewhere. Its record is not forgotten as a pending
    project never imported: listed, its session is relinked to the new path."""
    d = start()
    changed_while_out(d)
    d.disk[DONE] = d.disk.pop(A)  # moved while the daemon was down
    d.identity[DONE] = "id-a"
    d = restarted(d)
    d.feed(Started(wall=WALL0 + d.now))
    d.advance(1)
    assert A in d.stored, "kept: SessionDock may have its session"
    lag_then_listed(d)
    assert relinked(d) == [(A, DONE)] and sent(d) == [], "never imported a second time"
    assert d.relinks[0].items[0].session_id == "s-a" and A not in d.stored


def test_changed_while_out_then_the_answer_lost_and_moved_is_relinked() -> None:
    """The same without a crash: the answer to the old bytes is a timeout (unheard)."""
    d = start()
    request = changed_while_out(d)
    d.feed(SendAnswered(request, Failure("unreachable", "timeout", "start it")))
    move(d, A, DONE)
    assert A in d.stored, "not cancelled: SessionDock may have its session"
    lag_then_listed(d)
    assert relinked(d) == [(A, DONE)] and sent(d) == [A]


def test_changed_while_out_then_refused_is_heard_and_forgotten_when_deleted() -> None:
    """A heard error (503) ends the wait: deleted, the queued change is cancelled at
    once, as one never sent."""
    d = start()
    request = changed_while_out(d)
    assert d.stored[A].unheard_at is not None
    d.feed(SendAnswered(request, Failure("server", "HTTP 503", "later")))
    assert d.stored[A].unheard_at is None
    del d.disk[A]
    d.feed(ProjectGone(ROOT, A, d.now))
    d.advance(1)
    assert A not in d.stored and sent(d) == [A]
