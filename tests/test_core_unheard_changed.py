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

import pytest

from tests.test_core import FULL, ROOT, WALL0, sig
from tests.test_core_moves import MovingDriver, move, start
from tests.test_core_relink_open import OpeningDriver, opened, saved
from tests.test_core_relink_races import relinked, saved_and_held, sent
from tests.test_core_unheard import DONE, A, lag_then_listed, listing, restarted
from watcher.core.effects import AskHealth, AskLibrary
from watcher.core.inputs import (
    Failure,
    HealthAnswered,
    Library,
    LibraryAnswered,
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


def restarted_with_its_lookup_out() -> tuple[OpeningDriver, AskLibrary]:
    """The daemon died with `A`'s import out; restarted, the library look-up for `A`
    is out (held: not answered yet)."""
    first = start()
    first.disk[A], first.identity[A] = sig(1), "id-a"
    saved_and_held(first, A)
    d = restarted(first, OpeningDriver)
    assert isinstance(d, OpeningDriver)
    d.feed(Started(wall=WALL0 + d.now))
    [ask] = [e for e in d.held if isinstance(e, AskLibrary)]
    d.held.clear()
    return d, ask


def test_an_unheard_import_then_open_in_its_daw_then_saved_sends_the_new_bytes() -> None:
    """Seed 240085064: the daemon dies with `A`'s import out (SessionDock made its
    session of those bytes); SessionDock down at the restart, `A` is opened in Audacity
    (not a project a while) and saved on close. The session the unheard import made
    holds the older bytes: listed after another crash (the new bytes marked in flight,
    never sent), the new bytes are sent, not taken as held by that session."""
    d, ask = restarted_with_its_lookup_out()
    d.feed(LibraryAnswered(ask.request, Failure("server", "HTTP 503", "later")))
    assert d.stored[A].state == "pending" and d.stored[A].unheard_at is not None
    opened(d, A, 2)
    assert d.stored[A].state == "invalid"
    d.opened.discard(A)
    saved(d, A, 3, "id-a2")  # closed: saved with new bytes
    assert d.stored[A].state == "pending" and d.stored[A].identity == "id-a2"
    for _ in range(60):  # SessionDock back: the new bytes go out...
        health = [e for e in d.held if isinstance(e, AskHealth)]
        d.held = [e for e in d.held if not isinstance(e, AskHealth)]
        for e in health:
            d.feed(HealthAnswered(e.request, FULL))
        d.advance(1)
    assert d.stored[A].state == "in_flight" and sent(d) == [A]
    last = restarted(d)  # ...the process dying before the request is read
    last.feed(Started(wall=WALL0 + last.now))
    listing(last, Library(frozenset({A}), {A: "s-a"}), 30)
    assert sent(last) == [A], "the session of the unheard import holds older bytes"
    assert last.stored[A].state == "imported" and last.stored[A].import_id is not None


@pytest.mark.parametrize(
    "answer",
    [
        Failure("unreachable", "cannot reach SessionDock (timeout)", "start it"),
        Library(frozenset()),
    ],
    ids=["lookup-failed", "not-listed"],
)
def test_a_project_opened_while_its_crash_lookup_is_out_is_not_sent_open(
    answer: Failure | Library,
) -> None:
    """Seed 270004824: the daemon dies with `A`'s import marked in flight; at the
    restart, while the library lookup for it is out, `A` is opened in Audacity (found
    not a project, the verdict kept aside as its older bytes are in flight). The lookup
    failing (or not listing it), `A` is not put back to send its older bytes while open
    (SessionDock would read it half written): the verdict stands, and the bytes saved
    on close are sent."""
    d, ask = restarted_with_its_lookup_out()
    opened(d, A, 2)
    assert d.stored[A].state == "in_flight", "its lookup is still out"
    d.feed(LibraryAnswered(ask.request, answer))
    assert d.stored[A].state == "invalid" and d.stored[A].signature == sig(2)
    listing(d, Library(frozenset()), 60)
    assert sent(d) == [], "open in Audacity: not sent"
    d.opened.discard(A)
    saved(d, A, 3, "id-a2")  # closed: saved with new bytes
    listing(d, Library(frozenset()), 60)
    assert sent(d) == [A] and d.stored[A].state == "imported"
    assert d.stored[A].signature == sig(3)
