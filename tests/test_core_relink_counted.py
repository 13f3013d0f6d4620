"""A relink's PATCH counted only while it may have acted (simulator seeds 1100396,
3403848, 3400098, 3402899: an earlier session left behind).

A PATCH is counted on disk before it goes out (`attempts`), since one whose answer is
lost may have moved the session; a project then back at its session's path has its
session pointed back at it. A PATCH that acted on nothing must not count: one answered
"no such session" (not listed yet, or deleted), one that never went out because the
request failed before it (the listing or the session's GET: SessionDock down, the
connection refused), and those after the one that failed (never sent). Counted, the
project back at its first path was relinked from the path it had left, where no session
ever was, and its session there stayed behind.
"""

from __future__ import annotations

from tests.test_core import ROOT
from tests.test_core_moves import MovingDriver, move, start
from tests.test_core_volumes import relinked
from watcher.core.inputs import Failure, ProjectChanged, ProjectGone, RelinkAnswered, Relinked

HOME, AWAY = f"{ROOT}/a.als", f"{ROOT}/Done/a.als"
REFUSED = Failure("unreachable", "cannot reach SessionDock (refused)", "retrying")


def back_home(d: MovingDriver) -> None:
    """The project moved back to its session's path; SessionDock answers again."""
    d.hold_relinks = False
    move(d, AWAY, HOME)
    d.advance(600)


def assert_kept_at_home(d: MovingDriver) -> None:
    assert d.stored[HOME].state == "imported" and d.stored[HOME].moved_from is None
    assert all(new == AWAY for _, new in relinked(d)), "no PATCH from where no session is"
    assert len(d.sends()) == 1, "nothing imported again"


def test_a_patch_that_found_no_session_did_not_act() -> None:
    """Seeds 1100396, 3403848: imported, its session not listed yet; moved: the PATCH by
    path finds no session (asked again later). Moved back before it is listed: the
    session never left its first path, and the project back there keeps it."""
    d = start(a="id-a")
    d.deleted_sessions.add(HOME)  # not listed yet: found neither by path nor by id
    move(d, HOME, AWAY)
    assert relinked(d)[:1] == [(HOME, AWAY)]
    assert d.stored[AWAY].state == "relinking" and d.stored[AWAY].attempts == 0
    d.deleted_sessions.clear()
    back_home(d)
    assert_kept_at_home(d)


def test_a_relink_that_failed_before_its_patch_went_out_did_not_act() -> None:
    """Seeds 3400098, 3402899: moved while SessionDock was down: the request failed on
    a refused connection before any PATCH went out (`sent` False). Moved back: the
    session is where it was, and the project back there keeps it."""
    d = start(a="id-a")
    d.hold_relinks = True
    move(d, HOME, AWAY)
    [first] = d.relinks
    d.feed(RelinkAnswered(first.request, Relinked((), sent=False), failure=REFUSED))
    assert d.stored[AWAY].attempts == 0
    back_home(d)
    assert_kept_at_home(d)


def test_only_the_patch_out_when_the_answer_was_lost_may_have_acted() -> None:
    """Two projects moved, one request: its answer lost on the first PATCH. That one
    may have acted (counted); the second was never sent (not counted)."""
    d = start(a="id-a", b="id-b")
    d.hold_relinks = True
    moved = {f"{ROOT}/a.als": f"{ROOT}/Done/a.als", f"{ROOT}/b.als": f"{ROOT}/Done/b.als"}
    for old, new in moved.items():
        d.disk[new], d.identity[new] = d.disk.pop(old), d.identity[old]
        d.feed(ProjectGone(ROOT, old, d.now))
        d.feed(ProjectChanged(ROOT, new, False, d.now))
    d.advance(10)
    down = Failure("server", "HTTP 503 unavailable: starting", "check SessionDock")
    while len(d.relinks[-1].items) < 2:  # the first found went out alone: refused
        d.feed(RelinkAnswered(d.relinks[-1].request, Relinked(()), failure=down))
        d.advance(60)
    request = d.relinks[-1]
    first, second = (item.key for item in request.items)
    timeout = Failure("unreachable", "cannot reach SessionDock (timeout)", "retrying")
    d.feed(RelinkAnswered(request.request, Relinked(()), failure=timeout))
    assert (d.stored[first].attempts, d.stored[second].attempts) == (1, 0)


def test_a_patch_that_acted_on_nothing_is_not_counted_for_the_path_moved_on_to() -> None:
    """Moved again while its PATCH was out, that PATCH found no session (not listed
    yet), or failed before it went out: the record at the newest path does not count
    it either (the next PATCH goes from the first path, where the session is)."""
    for answer in (Relinked(((AWAY, None),)), Relinked((), sent=False)):
        d = start(a="id-a")
        d.hold_relinks = True
        move(d, HOME, AWAY)
        [first] = d.relinks
        again = f"{ROOT}/Mixes/a.als"
        move(d, AWAY, again)
        d.feed(RelinkAnswered(first.request, answer, failure=None if answer.done else REFUSED))
        out = len(d.relinks) - 1  # the next PATCH, from HOME, goes out (held): counted
        assert d.stored[again].state == "relinking" and d.stored[again].attempts == out
        assert [(i.old_path, i.new_path) for r in d.relinks[1:] for i in r.items] == [
            (HOME, again)
        ] * out


def test_a_patch_that_may_have_acted_stays_counted_when_the_next_finds_no_session() -> None:
    """The first PATCH's answer is lost (it may have acted: counted); the next, by path,
    finds no session: only that one is taken back, once, so the first still counts."""
    d = start(a="id-a")
    d.hold_relinks = True
    move(d, HOME, AWAY)
    [first] = d.relinks
    lost = Failure("unreachable", "timed out", "retrying")
    d.feed(RelinkAnswered(first.request, Relinked((), sent=True), failure=lost))
    assert d.stored[AWAY].attempts == 1
    d.advance(120)
    second = d.relinks[-1]
    assert second.request != first.request and d.stored[AWAY].attempts == 2
    d.feed(RelinkAnswered(second.request, Relinked(((AWAY, None),))))
    assert d.stored[AWAY].attempts == 1, "the lost one may still have acted"


LOST = Failure("unreachable", "no answer from SessionDock (timeout)", "retrying")


def test_a_relink_looks_for_its_session_at_its_new_path_only_once_a_patch_may_have_acted() -> None:
    """Seed 6647325: a copy moved onto the path a moved project's session still pointed
    at (that project's PATCH by path waiting, its session not listed yet): the copy's
    relink by path found, at its new path, the other project's session and took it; the
    copy's own stayed behind. A session at the new path is this relink's only once one
    of its PATCHes may have acted (counted, its answer lost)."""
    d = start(a="id-a")
    d.deleted_sessions.add(HOME)  # not listed yet: not found by path
    move(d, HOME, AWAY)
    assert [i.by_new_path for r in d.relinks for i in r.items] == [False] * len(d.relinks)
    d.hold_relinks = True
    d.advance(600)
    out = d.relinks[-1]
    d.feed(RelinkAnswered(out.request, Relinked((), sent=True), failure=LOST))
    d.advance(600)
    assert d.relinks[-1] is not out
    assert [i.by_new_path for i in d.relinks[-1].items] == [True]
