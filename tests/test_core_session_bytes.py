"""What bytes a project's session holds: those an import sent it, never those a PATCH
pointed it at (a PATCH moves a session; it sends nothing). A record marked `imported`
with bytes its session never got is a save lost: SessionDock keeps the old bytes.

`moved_identity` says what the session holds when that is not the record's own
identity: kept through a move, a change queued, a record gone; a relink whose
project's bytes differ sends them once answered, and a record gone with its change not
sent sends it when it comes back (found by the simulator's per-session check,
`invariants.SESSION_HOLDS_DISK`).
"""

from __future__ import annotations

from dataclasses import replace

from tests.test_core import FULL, ROOT, WALL0, sig
from tests.test_core_moves import MovingDriver, move, start
from tests.test_core_relink_races import saved_and_held
from tests.test_core_unheard import DONE, A, listing, restarted
from watcher.core.effects import AskHealth, Send
from watcher.core.inputs import (
    Failure,
    HealthAnswered,
    Library,
    ProjectChanged,
    ProjectGone,
    SendAnswered,
    Started,
)
from watcher.core.records import Project, ProjectRecord
from watcher.core.relinks import NOT_HELD, stale
from watcher.core.table import Table

HOME, AWAY = f"{ROOT}/song.als", f"{ROOT}/Moved/song.als"


def project(path: str, identity: str, size: int = 1) -> Project:
    return Project(
        path, ROOT, "Ableton", "song", "als", path, None, True, sig(size), identity=identity
    )


def imported(path: str = HOME, identity: str = "id-1") -> Table:
    table = Table()
    table.enqueue(project(path, identity), WALL0)
    table.mark_in_flight([path])
    table.mark_imported([path], "imp-1", WALL0)
    assert table[path].state == "imported"
    return table


def relinked_to(table: Table, path: str, identity: str, size: int = 1) -> ProjectRecord:
    """The imported project at HOME found at `path` with `identity`; its PATCH answered."""
    table.mark_missing(HOME, WALL0 + 1)
    table.relink(project(path, identity, size), table[HOME], WALL0 + 2)
    assert table[path].state == "relinking"
    table.relinked(path, "s-1", WALL0 + 3)
    return table[path]


def test_a_relink_of_unchanged_bytes_is_imported() -> None:
    record = relinked_to(imported(), AWAY, "id-1")
    assert record.state == "imported" and not stale(record)


def test_a_relink_of_new_bytes_sends_them_to_its_session_once_answered() -> None:
    """The project back at a path its session may be at with new bytes (simulator's
    SESSION_HOLDS_DISK, the 87666 family), or saved before its PATCH was answered: the
    PATCH does not send them, so it is queued (with its session) once relinked."""
    record = relinked_to(imported(), AWAY, "id-2", size=2)
    assert record.state == "pending" and record.session_id == "s-1"
    assert record.imported_at is not None, "a change of its session, not a new project"


def test_saved_while_relinking_then_relinked_sends_the_save() -> None:
    table = imported()
    table.mark_missing(HOME, WALL0 + 1)
    table.relink(project(AWAY, "id-1"), table[HOME], WALL0 + 2)
    assert not table.enqueue(project(AWAY, "id-2", size=2), WALL0 + 3), "rides the relink"
    table.relinked(AWAY, "s-1", WALL0 + 4)
    assert table[AWAY].state == "pending"


def test_relinked_while_gone_sends_its_new_bytes_when_it_is_back() -> None:
    """Simulator seed 369: saved at its new path, trashed before its PATCH went out,
    the PATCH answered, then restored: its session never had the save."""
    table = imported()
    table.mark_missing(HOME, WALL0 + 1)
    table.relink(project(AWAY, "id-1"), table[HOME], WALL0 + 2)
    table.enqueue(project(AWAY, "id-2", size=2), WALL0 + 3)
    table.mark_missing(AWAY, WALL0 + 4)
    table.relinked(AWAY, "s-1", WALL0 + 5)
    assert table[AWAY].state == "imported" and stale(table[AWAY]), "missing: kept"
    assert table.seen_again(AWAY, WALL0 + 6)
    assert table[AWAY].state == "pending" and not stale(table[AWAY])


def test_a_restored_copy_of_bytes_its_session_lacks_is_sent() -> None:
    table = imported()
    table.enqueue(project(HOME, "id-2", size=2), WALL0 + 1)  # a change, not sent
    table.mark_missing(HOME, WALL0 + 2)
    assert table[HOME].state == "imported" and table[HOME].moved_identity == "id-1"
    assert table.returned(replace(project(HOME, "id-2"), signature=sig(3)), WALL0 + 3)
    assert table[HOME].state == "pending"


def test_the_bytes_its_session_holds_restored_after_a_change_not_sent_are_not_sent() -> None:
    """Simulator seed 300058730: imported, trashed; another file moved onto its path
    (a change, not sent) and away; the trashed file restored there is the bytes its
    session holds (`moved_identity`): recognised, not sent again."""
    table = imported()
    table.enqueue(project(HOME, "id-2", size=2), WALL0 + 1)  # a change, not sent
    table.mark_missing(HOME, WALL0 + 2)
    assert table[HOME].moved_identity == "id-1"
    assert table.returned(replace(project(HOME, "id-1"), signature=sig(3)), WALL0 + 3)
    record = table[HOME]
    assert record.state == "imported" and not stale(record)
    assert record.identity == "id-1" and record.signature == sig(3)
    assert not table.enqueue(replace(project(HOME, "id-1"), signature=sig(3)), WALL0 + 4)


def test_a_change_not_sent_gone_and_back_is_sent() -> None:
    """Simulator seed 2311: saved, its re-import refused by a 503, trashed, restored
    with its events seen: it was `imported` (missing) with the unsent bytes, and back
    it was recognised, never sent."""
    table = imported()
    table.enqueue(project(HOME, "id-2", size=2), WALL0 + 1)
    table.mark_missing(HOME, WALL0 + 2)
    assert stale(table[HOME])
    table.seen_again(HOME, WALL0 + 3)
    assert table[HOME].state == "pending"
    table.mark_in_flight([HOME])
    table.mark_imported([HOME], "imp-2", WALL0 + 4)
    assert table[HOME].state == "imported" and not stale(table[HOME]), "sent: settled"


def test_the_same_bytes_gone_and_back_are_not_sent_again() -> None:
    table = imported()
    table.mark_missing(HOME, WALL0 + 1)
    assert not stale(table[HOME])
    table.seen_again(HOME, WALL0 + 2)
    assert table[HOME].state == "imported"


def test_a_change_kept_in_flight_for_an_unheard_request_is_sent_once_listed() -> None:
    """Simulator seed 87675: its first import unheard (SessionDock made the session),
    saved, gone, so kept in flight for that request; listed, it is imported (missing)
    with bytes the session never got, and sent when back. Its own bytes carried by that
    request (not changed since) are not sent again (seed 31027)."""
    for changed in (True, False):
        table = Table()
        table.enqueue(project(HOME, "id-1"), WALL0)
        table.mark_in_flight([HOME])
        table.requeue([HOME], "timeout", acted=True, wall=WALL0 + 1)
        if changed:
            table.enqueue(project(HOME, "id-2", size=2), WALL0 + 2)
        table.mark_missing(HOME, WALL0 + 3, carried=True)
        assert table[HOME].state == "in_flight"
        assert table[HOME].moved_identity == "id-1", "what that request carried"
        table.mark_imported([HOME], None, WALL0 + 4)  # listed
        assert stale(table[HOME]) is changed
        table.seen_again(HOME, WALL0 + 5)
        assert table[HOME].state == ("pending" if changed else "imported")


def test_a_change_queued_after_an_unknown_past_counts_as_not_held() -> None:
    """Changed with no request to tell what the session may hold: whatever it holds is
    not these bytes."""
    table = Table()
    table.enqueue(project(HOME, "id-1"), WALL0)
    table.mark_missing(HOME, WALL0 + 1, carried=True)
    assert table[HOME].moved_identity == NOT_HELD and table[HOME].state == "in_flight"


def crashed_then_listed(d: MovingDriver) -> tuple[MovingDriver, list[Send]]:
    """A restart from what `d` stored, SessionDock listing A with a session: the new
    driver, and the requests carrying A since."""
    d = restarted(d)
    d.feed(Started(wall=WALL0 + d.now))
    d.advance(1)
    listing(d, Library(frozenset({A}), {A: "s-a"}), 30)
    return d, [s for s in d.sends() if any(i.project_path == A for i in s.items)]


def test_a_change_in_flight_at_a_crash_is_sent_again_though_its_path_is_listed() -> None:
    """Simulator seeds 10, 17: a change of an imported project in flight at a crash
    (before the request went out). SessionDock lists the path, its session made by the
    earlier bytes: that says nothing of the change, which is sent again, never taken as
    delivered."""
    d = start(a="id-a")
    d.advance(60)
    d.disk[A], d.identity[A] = sig(5), "id-a2"
    saved_and_held(d, A)
    assert d.stored[A].state == "in_flight"
    d, sends = crashed_then_listed(d)  # the crash: the request never went out
    assert sends, "the change is sent again"
    assert d.stored[A].state == "imported" and d.stored[A].signature == sig(5)


def test_a_change_gone_while_out_and_refused_is_sent_when_back() -> None:
    """Its request failed (a 503) while the project was gone: imported (missing) with
    its session, which never got the change; back, it is sent. So too when SessionDock
    may have acted (a lost answer): no 2xx says it did, and a resend is the README's
    lost-answer window, while taking it as delivered loses the change for good."""
    for acted in (False, True):
        table = imported()
        table.enqueue(project(HOME, "id-2", size=2), WALL0 + 1)
        table.mark_in_flight([HOME])
        table.mark_missing(HOME, WALL0 + 2)
        table.requeue([HOME], "HTTP 503", acted=acted)
        assert table[HOME].state == "imported" and stale(table[HOME])
        table.seen_again(HOME, WALL0 + 3)
        assert table[HOME].state == "pending"


def test_a_change_whose_request_timed_out_while_it_moved_is_sent_once_relinked() -> None:
    """Simulator seeds 1065, 1097: an imported project saved, the request carrying the
    save timing out (SessionDock did not act) while the project was renamed. The core
    took the lost answer as delivered, so the relink was the end of it: the PATCH moved
    the session, which kept the older bytes (a PATCH sends none). No 2xx said the
    session got the save: it is sent to its session once relinked."""
    d = start(a="id-a")
    d.advance(60)  # its session's id learned from the library first
    d.disk[A], d.identity[A] = sig(5), "id-a2"
    send = saved_and_held(d, A)
    move(d, A, DONE)
    assert not d.relinks, "the move waits for the answer"
    d.hold = False
    timeout = Failure("unreachable", "cannot reach SessionDock (timeout)", "start it")
    d.feed(SendAnswered(send.request, timeout))
    d.advance(120)
    assert [(i.old_path, i.new_path) for r in d.relinks for i in r.items] == [(A, DONE)]
    after = [s for s in d.sends() if s.request > d.relinks[0].request]
    assert [i.project_path for s in after for i in s.items] == [DONE], "the save, sent"
    assert d.stored[DONE].state == "imported" and not stale(d.stored[DONE])
    assert d.stored[DONE].signature == sig(5)


def test_a_change_refused_then_moved_is_sent_once_relinked() -> None:
    """Simulator seed 116007409: a change SessionDock refused (400) of a project with a
    session, then renamed: the record went missing as imported with the refused bytes,
    so the relink ended it, the session keeping the bytes before the change (a PATCH
    sends none). A 400 says the session did not take them: they are sent once relinked
    (refused again, the record says so at its new path)."""
    table = imported()
    table.enqueue(project(HOME, "id-2", size=2), WALL0 + 1)
    table.mark_in_flight([HOME])
    assert table.mark_rejected(HOME, "Cannot import: not a project.")
    table.mark_missing(HOME, WALL0 + 2)
    assert table[HOME].state == "imported" and stale(table[HOME])
    record = relinked_to(table, AWAY, "id-2", size=2)
    assert record.state == "pending" and record.session_id == "s-1"


def _unheard_then_saved_and_sent() -> MovingDriver:
    """An import of `id-a` whose answer was lost (`unheard`: it may have made a
    session), then `A` saved as `id-b`, whose request is held, ready to go out."""
    d: MovingDriver = start()
    d.disk[A], d.identity[A] = sig(1), "id-a"
    first = saved_and_held(d, A)
    d.feed(SendAnswered(first.request, Failure("unreachable", "reset", "start it")))
    assert d.stored[A].unheard_at is not None
    d.disk[A], d.identity[A] = sig(2), "id-b"
    d.feed(ProjectChanged(ROOT, A, False, d.now))
    d.advance(10)
    while not any(isinstance(e, Send) for e in d.held):  # back: SessionDock answers
        held, d.held = d.held, []
        for effect in held:
            if isinstance(effect, AskHealth):
                d.feed(HealthAnswered(effect.request, FULL))
        d.advance(5)
    return d


def test_a_change_refused_unread_does_not_count_as_held_by_an_unheard_session() -> None:
    """Seed 100031487: an import whose answer was lost (`unheard`: it may have made a
    session of `id-a`), then saved (`id-b`) and refused unread (403 read-only: it made
    nothing), then trashed. The session that import may have made holds `id-a`, so
    `id-b` is sent once it is back and listed; before, the refused request counted as
    one that carried `id-b` (`attempts`) and the record was taken as held."""
    d = _unheard_then_saved_and_sent()
    [second] = [e for e in d.held if isinstance(e, Send)]
    assert [i.key for i in second.items] == [A]
    d.feed(SendAnswered(second.request, Failure("read_only", "HTTP 403", "enable it")))
    assert d.stored[A].state == "pending" and d.stored[A].identity == "id-b"
    del d.disk[A]
    d.feed(ProjectGone(ROOT, A, d.now))
    gone = d.stored[A]
    assert gone.missing_since is not None
    assert gone.moved_identity != "id-b", "id-b was never sent: its session cannot hold it"
    assert gone.moved_identity == "id-a"


def test_a_change_in_flight_at_a_crash_over_an_unheard_import_is_sent_again() -> None:
    """Seed 100008477: an import whose answer was lost (`unheard`: it may have made a
    session of `id-a`), then saved (`id-b`) and sent, the process dying before that
    request went out. The listing after the restart has the path: the unheard import's
    session, of `id-a`, perhaps; `id-b` is sent again, never taken as delivered. Before,
    marking it in flight forgot the older bytes that session may hold."""
    d = _unheard_then_saved_and_sent()
    assert d.stored[A].state == "in_flight"
    d, sends = crashed_then_listed(d)  # the crash: the request never went out
    assert sends, "id-b is sent again: the listed session may hold id-a"
    assert d.stored[A].state == "imported" and d.stored[A].signature == sig(2)
    assert not stale(d.stored[A]), "its own 2xx delivered id-b"


def test_a_change_sent_over_an_unheard_import_and_answered_is_delivered() -> None:
    """The same change answered with a 2xx of its own request: delivered, not sent
    again (the older bytes it kept for a listing no longer count)."""
    table = Table()
    table.enqueue(project(HOME, "id-a"), WALL0)
    table.mark_in_flight([HOME])
    table.requeue([HOME], "reset", acted=True, wall=WALL0 + 1)  # unheard
    table.enqueue(project(HOME, "id-b", size=2), WALL0 + 2)
    table.mark_in_flight([HOME])
    assert table[HOME].moved_identity == "id-a"
    table.mark_imported([HOME], "imp-2", WALL0 + 3)
    assert table[HOME].state == "imported" and not stale(table[HOME])
    assert table[HOME].moved_identity is None
