"""A request that may have made a session, its answer lost, then the project moved
(issue 12; simulator seeds 52131, 55472, 17229 and the rest of the class "two sessions
at one path"). SessionDock lists a new session only once its background import is
done, so "not listed" right after is "not yet": the record is kept (`unheard_at`) and
looked up again on a backoff, the project found at its new path waits for the verdict,
and once the session is listed it is relinked there, never imported a second time.
Not listed for `LISTING_LAG_SECONDS`, the project is new (test_core_relink_races).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from tests.test_core import FULL, ROOT, WALL0, settings, sig
from tests.test_core_moves import MovingDriver, move, start
from tests.test_core_relink_races import relinked, saved_and_held, sent
from watcher.core.effects import AskHealth, AskLibrary, Effect, Persist, Send, Walk
from watcher.core.inputs import (
    Accepted,
    Failure,
    HealthAnswered,
    Library,
    LibraryAnswered,
    ProjectChanged,
    ProjectGone,
    SendAnswered,
    Started,
    WatchesChecked,
)
from watcher.core.machine import Core
from watcher.core.settings import LISTING_LAG_SECONDS

A, DONE = "/studio/a.als", "/studio/Done/a.als"


def listing(d: MovingDriver, library: Library, seconds: float) -> None:
    """SessionDock answers everything held for `seconds`, its listing `library`."""
    end = d.now + seconds
    while d.now < end:
        held, d.held = d.held, []
        for effect in held:
            if isinstance(effect, AskHealth):
                d.feed(HealthAnswered(effect.request, FULL))
            elif isinstance(effect, AskLibrary):
                d.feed(LibraryAnswered(effect.request, library))
            elif isinstance(effect, Send):
                d.feed(SendAnswered(effect.request, Accepted("imp", total=len(effect.items))))
        d.advance(1)


def lag_then_listed(d: MovingDriver) -> None:
    """The session of `A` is made but listed only 40 s on (seed 52131's lag)."""
    listing(d, Library(frozenset()), 40)
    assert DONE not in sent(d) and not relinked(d), "the project at its new path waits"
    listing(d, Library(frozenset({A}), {A: "s-a"}), 120)


def restarted(d: MovingDriver, kind: type[MovingDriver] = MovingDriver) -> MovingDriver:
    """A new life 5 s later, built from what `d` persisted; its requests held."""
    return kind(
        Core.restore(settings(), d.stored.values(), dict(d.meta)),
        now=d.now + 5,
        disk=d.disk,
        stored=dict(d.stored),
        identity=d.identity,
        hold=True,
    )


def test_a_session_not_listed_yet_is_waited_for_not_taken_for_never_made() -> None:
    """Seed 52131: sent, moved while out, the connection reset after SessionDock acted;
    the first lookup does not list it yet. The record waits (in flight), the project at
    its new path too; listed, it is relinked there, and moved back, one session."""
    d = start()
    d.disk[A], d.identity[A] = sig(1), "id-a"
    send = saved_and_held(d, A)
    move(d, A, DONE)
    d.feed(SendAnswered(send.request, Failure("unreachable", "reset", "start it")))
    lag_then_listed(d)
    assert relinked(d) == [(A, DONE)] and sent(d) == [A]
    assert d.relinks[0].items[0].session_id == "s-a" and A not in d.stored
    d.hold = False
    move(d, DONE, A)
    assert relinked(d) == [(A, DONE), (DONE, A)] and sent(d) == [A]


def test_a_queued_project_whose_request_went_unheard_is_not_forgotten_when_gone() -> None:
    """Seed 17229: the 2xx could not be read (SessionDock made the session), so the
    project is queued again; moved before it is resent, it is looked up rather than
    cancelled as never imported, and relinked once listed."""
    d = start()
    d.disk[A], d.identity[A] = sig(1), "id-a"
    send = saved_and_held(d, A)
    d.feed(SendAnswered(send.request, Failure("bad_answer", "no importId", "retrying")))
    assert d.stored[A].state == "pending" and d.stored[A].unheard_at is not None
    move(d, A, DONE)
    assert A in d.stored, "not cancelled: SessionDock may have its session"
    lag_then_listed(d)
    assert relinked(d) == [(A, DONE)] and sent(d) == [A]


def test_a_record_in_flight_at_a_crash_and_moved_while_down_waits_for_the_listing() -> None:
    """Seed 55472: the daemon died with the request out; at the restart the listing
    does not show the session yet and the first walk finds the project elsewhere. The
    record is not cancelled as never imported: listed, its session is relinked."""
    d = start()
    d.disk[A], d.identity[A] = sig(1), "id-a"
    saved_and_held(d, A)
    assert d.stored[A].state == "in_flight"
    d.disk[DONE] = d.disk.pop(A)  # moved while the daemon was down
    d.identity[DONE] = "id-a"
    d = restarted(d)
    d.feed(Started(wall=WALL0 + d.now))
    d.advance(1)
    lag_then_listed(d)
    assert relinked(d) == [(A, DONE)] and sent(d) == [], "never imported again"
    assert d.relinks[0].items[0].session_id == "s-a" and A not in d.stored


def test_a_refused_answer_is_heard_no_wait() -> None:
    """An HTTP error answered (503) says SessionDock made nothing: the record gone is
    looked up once (as before), and not listed, the project is new at once."""
    d = start()
    d.disk[A], d.identity[A] = sig(1), "id-a"
    send = saved_and_held(d, A)
    move(d, A, DONE)
    d.feed(SendAnswered(send.request, Failure("server", "HTTP 503", "later")))
    listing(d, Library(frozenset()), 30)
    assert A not in d.stored and sent(d) == [A, DONE]


def test_a_version_6_database_opens_and_stores_the_unheard_time(tmp_path: Path) -> None:
    """Schema 7 adds `unheard_at`: an older record has none (it behaves as before)."""
    from watcher.state import State
    from watcher.state_rows import SCHEMA_VERSION

    path = tmp_path / "state.sqlite3"
    record = start(a="id-a").stored[A]
    state = State(path)
    state.apply([Persist(upserts=(record,))])
    state.db.execute("ALTER TABLE projects DROP COLUMN unheard_at")  # as version 6 had it
    state.db.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
    state.db.commit()
    state.close()
    state = State(path)
    [old] = state.load()[0]
    assert old == record and old.unheard_at is None
    state.apply([Persist(upserts=(replace(old, unheard_at=WALL0 + 5),))])
    state.close()
    again = State(path, readonly=True)
    assert [r.unheard_at for r in again.load()[0]] == [WALL0 + 5]
    assert again.get_meta("schema_version") == SCHEMA_VERSION >= 7
    again.close()


def test_a_relink_by_path_that_finds_no_session_yet_is_sent_again_later() -> None:
    """Imported, then moved before SessionDock lists the new session (its import still
    running): the relinker, going by the old path, finds none. That is not a session
    the user deleted: the PATCH goes again later and moves it; nothing is imported
    anew beside it (simulator seeds 14, 33, 45 once the simulated relinker saw only
    listed sessions, as the real one does)."""
    d = start(a="id-a")
    assert d.stored[A].session_id is None, "not listed yet"
    d.deleted_sessions.add(A)  # not found by the listing: not listed yet
    move(d, A, DONE)
    assert set(relinked(d)) == {(A, DONE)} and d.stored[DONE].state == "relinking"
    assert not d.logs("project_relink_lost")
    d.deleted_sessions.clear()  # listed now
    d.advance(10)
    assert set(relinked(d)) == {(A, DONE)} and len(relinked(d)) > 1, "sent again"
    assert len(d.sends()) == 1, "never imported anew"
    assert d.stored[DONE].state == "imported" and d.stored[DONE].session_id == f"s:{A}"


def test_a_relink_waiting_for_its_session_to_be_listed_holds_no_other_back() -> None:
    """Only the PATCH whose session is not listed yet waits: another project moved
    meanwhile is relinked at once."""
    b, b_done = "/studio/b.als", "/studio/Done/b.als"
    d = start(a="id-a", b="id-b")
    d.deleted_sessions.add(A)
    move(d, A, DONE)
    d.advance(30)
    before = len(d.relinks)
    d.disk[b_done] = d.disk.pop(b)
    d.identity[b_done] = "id-b"
    d.feed(ProjectGone(ROOT, b, d.now))
    d.feed(ProjectChanged(ROOT, b_done, False, d.now))
    d.advance(6)  # its quiet period and probe; A's next try is further off
    assert [(i.old_path, i.new_path) for r in d.relinks[before:] for i in r.items] == [(b, b_done)]
    assert d.stored[b_done].state == "imported" and d.stored[DONE].state == "relinking"


def test_a_relink_that_finds_no_session_for_the_patience_imports_the_project_anew() -> None:
    """Still not found `LISTING_LAG_SECONDS` on: the session was deleted after
    all, and the project is imported as new."""
    d = start(a="id-a")
    d.deleted_sessions.add(A)
    move(d, A, DONE)
    d.advance(LISTING_LAG_SECONDS + 120)
    assert d.logs("project_relink_lost") and [
        i.project_path for s in d.sends() for i in s.items
    ] == [A, DONE]


@dataclass
class HeldWalks(MovingDriver):
    """Walks are not answered until the test lets them go."""

    walks: list[Walk] = field(default_factory=list)
    hold_walks: bool = True

    def carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Walk) and self.hold_walks:
            self.walks.append(effect)
        else:
            super().carry_out(effect)

    def let_walks_go(self) -> None:
        walks, self.walks = self.walks, []
        for walk in walks:
            super().carry_out(walk)


def test_a_record_gone_in_flight_then_back_is_not_cancelled_when_not_listed() -> None:
    """Seed 7101670: gone while its request was out, then the daemon died; the next
    life's lookup fails (SessionDock unreachable) before its first walk, which does not
    find the project either; later a walk sees it back at its path (`project_back`).
    The lookup answered then does not list it: it is sent, not cancelled as a project
    the first walk did not find (dropped, it was a complete project with no session)."""
    d = start()
    d.disk[A], d.identity[A] = sig(1), "id-a"
    saved_and_held(d, A)
    away = d.disk.pop(A)
    d.feed(ProjectGone(ROOT, A, d.now))  # renamed while its request was out
    assert d.stored[A].state == "in_flight" and d.stored[A].missing_since is not None
    d = restarted(d, HeldWalks)
    assert isinstance(d, HeldWalks)
    d.feed(Started(wall=WALL0 + d.now))
    [ask] = [e for e in d.held if isinstance(e, AskLibrary)]
    d.held.clear()
    d.feed(LibraryAnswered(ask.request, Failure("unreachable", "refused", "start it")))
    d.let_walks_go()  # the first walk: not there
    d.advance(1)
    d.disk[A] = away  # back at its path, its event lost; the next walk sees it
    d.feed(WatchesChecked(dead=(ROOT,)))  # (the seed's walk: its observer re-attached)
    d.hold_walks = False
    d.let_walks_go()
    assert d.stored[A].missing_since is None and d.logs("project_back")
    listing(d, Library(frozenset()), LISTING_LAG_SECONDS + 120)
    assert A in d.stored and sent(d) == [A], "sent again, its record kept"
    assert d.stored[A].state == "imported"


def unheard_then_moved(lag: float) -> MovingDriver:
    """`A` sent with `listing_lag_seconds` = `lag`, moved while out, the connection
    reset: SessionDock may have made its session."""
    d = MovingDriver(Core.restore(settings(listing_lag_seconds=lag), (), {}))
    d.feed(Started(wall=WALL0))
    d.advance(10)
    d.disk[A], d.identity[A] = sig(1), "id-a"
    send = saved_and_held(d, A)
    move(d, A, DONE)
    d.feed(SendAnswered(send.request, Failure("unreachable", "reset", "start it")))
    return d


def test_a_shorter_listing_lag_gives_up_on_an_unlisted_unheard_import_sooner() -> None:
    """`sessiondock.listing_lag_seconds`: never listed, the record is dropped and the
    project at its new path imported as new once the lag is over, not before; with
    the default it still waits at that point."""
    short, default = unheard_then_moved(60.0), unheard_then_moved(LISTING_LAG_SECONDS)
    for d in (short, default):
        listing(d, Library(frozenset()), 40)
        assert d.stored[A].state == "in_flight" and DONE not in sent(d), "still waiting"
    for d in (short, default):
        listing(d, Library(frozenset()), 140)
    assert A not in short.stored and sent(short) == [A, DONE] and not short.relinks
    assert default.stored[A].state == "in_flight" and sent(default) == [A]
    listing(default, Library(frozenset()), LISTING_LAG_SECONDS)
    assert A not in default.stored and sent(default) == [A, DONE]


def test_a_shorter_listing_lag_takes_a_relink_not_found_for_lost_sooner() -> None:
    """A relink by path that finds no session (its id never listed) is tried again
    for `listing_lag_seconds` only."""
    d = MovingDriver(Core.restore(settings(listing_lag_seconds=30.0), (), {}))
    d.disk[A], d.identity[A] = sig(0), "id-a"
    d.feed(Started(wall=WALL0))
    d.advance(10)
    d.deleted_sessions.add(A)
    move(d, A, DONE)
    d.advance(90)
    assert d.logs("project_relink_lost")
    assert [i.project_path for s in d.sends() for i in s.items] == [A, DONE]
