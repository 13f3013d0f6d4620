"""The simulator's checker on its own: what it counts as `imported` without a 2xx, and
which relinks off a path a project is at it holds against the core.

A checker that flags what the core does by design sends the next person hunting a bug
that is not there (simulator seed 78814); one that lets a real one pass proves nothing.
"""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from tests.simulation import invariants
from tests.simulation.content import FORMATS
from tests.simulation.disk import signature
from tests.simulation.fs import P
from tests.simulation.invariants import Checker
from tests.simulation.server import Item, Session
from tests.simulation.world import ROOTS, Arrival, World, random_settings
from tests.simulation.world import Project as WorldProject
from watcher.core.effects import Persist, Relink, RelinkItem, Send, SendItem
from watcher.core.inputs import Accepted, Failure, Library
from watcher.core.records import ProjectRecord, Signature
from watcher.daws import Registry

PATH = f"{ROOTS[0]}/Intro 1/Intro 1.logicx"


def _checker() -> Checker:
    rng = random.Random(1)
    settings = random_settings(rng)
    world = World(rng, ROOTS, settings.quiet_seconds, settings.max_wait_seconds, more=False)
    return Checker(world, settings, Registry())


def _record(**changes: object) -> ProjectRecord:
    base = ProjectRecord(
        path=PATH,
        root=str(ROOTS[0]),
        kind="Logic Pro",
        title="Intro 1",
        project_type="logicx",
        project_path=PATH,
        preview_path=None,
        generate_previews=True,
        signature=Signature(147, 2, 8),
        state="in_flight",
        attempts=1,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_gone_while_its_change_was_out_after_a_2xx_for_earlier_bytes_is_imported() -> None:
    """Seed 78814: the 2xx for its first bytes came while a save was queued (so it was
    never persisted `imported`); the save went out, the project went missing, the
    request failed: `imported` (missing) with its session, as the core does when it
    had been persisted imported first."""
    checker = _checker()
    checker.world.server.sessions["s1"] = Session("s1", PATH, PATH, "Logic Pro", "Intro 1")
    old = _record(imported_at=1.0, import_id="imp_3", missing_since=9.0)
    checker._outcome[PATH] = "fail"  # the request carrying its change failed
    checker.on_persist(Persist(upserts=(replace(old, state="imported"),)), {PATH: old})
    assert checker.violations == []


def test_imported_without_any_session_is_still_flagged() -> None:
    checker = _checker()
    old = _record(missing_since=9.0)  # never had a session
    checker._outcome[PATH] = "fail"
    checker.on_persist(Persist(upserts=(replace(old, state="imported"),)), {PATH: old})
    assert checker.violations == [f"{PATH} persisted imported without a 2xx (last: fail)"]


def test_gone_with_a_session_sessiondock_does_not_have_is_flagged() -> None:
    checker = _checker()
    old = _record(imported_at=1.0, import_id="imp_3", missing_since=9.0)
    checker._outcome[PATH] = "fail"
    checker.on_persist(Persist(upserts=(replace(old, state="imported"),)), {PATH: old})
    assert checker.violations == [f"{PATH} persisted imported but SessionDock does not have it"]


def test_a_file_arrived_unseen_after_the_cores_last_look_excuses_a_relink_off_its_path() -> None:
    """Seed 7400418: the core stat'ed the session's path just before its PATCH and
    found it empty; a project arrived there 10 ms later, its event lost. No daemon can
    close that window, so the relink is not held against it."""
    checker = _checker()
    checker.looked_at[PATH] = 69.457
    checker.arrived_unseen[PATH] = 69.467
    assert checker._arrived_unseen(P(PATH))


def test_a_file_the_core_could_have_seen_still_counts() -> None:
    """Arrived unseen, but a walk of its folder (or a stat of it) came after: the core
    knew, and a relink off that path is a violation. Arrived with its event seen: the
    same."""
    checker = _checker()
    checker.arrived_unseen[PATH] = 69.467
    checker.looked_at[str(P(PATH).parent)] = 70.0
    assert not checker._arrived_unseen(P(PATH))
    assert not _checker()._arrived_unseen(P(PATH))


def test_a_file_whose_event_is_on_its_way_when_the_patch_goes_is_not_held_against_it() -> None:
    """Seed 6622013: restored at the session's path 16 ms after the stat before the
    PATCH found it empty, its event handed to the core only after the PATCH went out:
    the same window no daemon can close. Handed over before the PATCH, the core knew."""
    checker = _checker()
    checker.looked_at[PATH] = 117.321
    checker.arriving[PATH] = (117.337, 117.380)
    assert checker._arrived_unseen(P(PATH), 117.368)
    assert not checker._arrived_unseen(P(PATH), 117.390)


def _a_copy_took_a_session() -> tuple[Checker, WorldProject, WorldProject, RelinkItem]:
    """a imported at `home` (session s1), moved with its events lost; a copy of it (no
    inode told) was taken for it, `home` being empty, and its PATCH acted: s1 is at the
    copy's path. Returns the checker, a, the copy, and that relink."""
    checker = _checker()
    world = checker.world
    fmt = FORMATS[0]
    home, away, dup = (P(f"{ROOTS[0]}/{d}Song{fmt.ext}") for d in ("", "Moved/", "Copy/"))
    a = WorldProject(1, fmt, away, {}, paths=[home, away])
    copy = WorldProject(2, fmt, dup, {}, paths=[dup])
    world.projects = {1: a, 2: copy}
    world.last_at = {home: 1, away: 1, dup: 2}
    world.server.sessions["s1"] = Session("s1", str(home), str(home), "k", "Song")
    take = RelinkItem(str(dup), "s1", str(home), str(dup), "Song", "Song", frozenset())
    checker.on_relink(Relink(1, (take,)), 10.0)
    assert checker.violations == [], "home is empty: the copy may be taken for a"
    world.server.sessions["s1"].project_path = str(dup)  # the PATCH acted
    return checker, a, copy, take


def test_a_session_given_back_to_the_project_a_copy_took_it_from_is_by_design() -> None:
    """Seeds 42004, 9701678: a is back at the path its session was taken from (with the
    inode it had there); the copy's PATCH may have acted, so the session is pointed
    back at a from wherever it is, the copy still at its path (imported as new)."""
    checker, a, _, take = _a_copy_took_a_session()
    a.unit = P(take.old_path)  # moved back
    a.paths.append(a.unit)
    back = RelinkItem(
        take.old_path, "s1", take.new_path, take.old_path, "Song", "Song", frozenset()
    )
    checker.on_relink(Relink(2, (back,)), 20.0)
    assert checker.violations == []


def test_a_session_a_copy_took_given_to_another_project_is_still_flagged() -> None:
    """Given to a third project at that path, or to a elsewhere, it is still a relink
    off a path a project is at."""
    checker, a, _, take = _a_copy_took_a_session()
    world = checker.world
    third = WorldProject(3, FORMATS[0], P(take.old_path), {}, paths=[P(take.old_path)])
    world.projects[3] = third
    back = RelinkItem(
        take.old_path, "s1", take.new_path, take.old_path, "Song", "Song", frozenset()
    )
    checker.on_relink(Relink(2, (back,)), 20.0)
    del world.projects[3]
    elsewhere = RelinkItem(
        str(a.unit), "s1", take.new_path, str(a.unit), "Song", "Song", frozenset()
    )
    checker.on_relink(Relink(3, (elsewhere,)), 30.0)
    assert len(checker.violations) == 2, checker.violations


def _moved_onto_a_guessed_path(own_session: bool) -> tuple[Checker, RelinkItem]:
    """a (session s1) trashed; a copy of it taken for it; then b moved from `there`
    onto a's path, its own session s2 (if `own_session`) still at `there`. Returns the
    checker and the copy's relink of s1, off a's path."""
    checker = _checker()
    world = checker.world
    fmt = FORMATS[0]
    home, there, dup = (P(f"{ROOTS[0]}/{d}Song{fmt.ext}") for d in ("", "B/", "Copy/"))
    trash = P(f"/sim/trash/Song{fmt.ext}")
    a = WorldProject(1, fmt, trash, {}, paths=[home, trash])
    b = WorldProject(2, fmt, home, {}, paths=[there, home])
    b.arrival = Arrival(home, 40.0, 3, 1, set(), frozenset())
    copy = WorldProject(3, fmt, dup, {}, paths=[dup])
    world.projects = {1: a, 2: b, 3: copy}
    world.last_at = {home: 2, there: 2, dup: 3, trash: 1}
    world.server.sessions["s1"] = Session("s1", str(home), str(home), "k", "Song")
    if own_session:
        world.server.sessions["s2"] = Session("s2", str(there), str(there), "k", "Song")
    take = RelinkItem(str(dup), "s1", str(home), str(dup), "Song", "Song", frozenset())
    return checker, take


def test_a_copy_takes_a_session_off_the_path_another_project_moved_onto_by_design() -> None:
    """Seed 9008788: the session at a's path is a's, not b's, which moved there after
    the copy was taken for a, and whose own session is still at the path b left (to
    follow it): the copy's PATCH moving a's session off that path is by design."""
    checker, take = _moved_onto_a_guessed_path(own_session=True)
    checker.on_relink(Relink(1, (take,)), 50.0)
    assert checker.violations == []
    assert checker._taken["s1"] == (1, take.old_path, 3), "taken from a, not from b"


def test_a_session_taken_from_a_project_moved_onto_its_path_without_its_own_is_flagged() -> None:
    """b holds no other session (it took the one at a's path, by design, or it is the
    only one it has): moving that one away leaves b without any; still flagged."""
    checker, take = _moved_onto_a_guessed_path(own_session=False)
    checker.on_relink(Relink(1, (take,)), 50.0)
    assert len(checker.violations) == 1 and "project #2 is still at" in checker.violations[0]


def _an_imported_session(path: str) -> Checker:
    """`path` written and imported: its session (s1) holds those bytes."""
    checker = _checker()
    fs = checker.world.fs
    fs.makedirs(P(path).parent, 1)
    fs.write(P(path), b"first bytes", 2)
    checker.world.server._store("Ableton", (Item(path, "Song", "als"),))
    assert not checker._holds_old(path)
    return checker


def test_a_session_holds_what_an_import_read_not_what_was_saved_since() -> None:
    """SESSION_HOLDS_DISK: saved since its import, the session at its path holds older
    bytes (a change marked imported never sent) until an import carries it again."""
    path = f"{ROOTS[0]}/Song.als"
    checker = _an_imported_session(path)
    checker.world.fs.write(P(path), b"saved since", 3)
    assert checker._holds_old(path)
    checker.world.server._store("Ableton", (Item(path, "Song", "als"),))  # skipped: a change
    assert not checker._holds_old(path)


@pytest.mark.parametrize("reads", [False, True])
def test_a_patch_that_leaves_a_session_where_it_is_reads_nothing(
    reads: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PATCH pointing the session at the path it is at (the project back there with
    new bytes) sends no bytes; nor does one moving it elsewhere (README: a PATCH sends
    no bytes), unless `PATCH_READS_PROJECT` is on: then it reads the project there."""
    monkeypatch.setattr(invariants, "PATCH_READS_PROJECT", reads)
    path, away = f"{ROOTS[0]}/Song.als", f"{ROOTS[0]}/Moved/Song.als"
    checker = _an_imported_session(path)
    server = checker.world.server
    checker.world.fs.write(P(path), b"back with new bytes", 3)
    item = RelinkItem(path, "session_1", away, path, "Song", "Song", frozenset())
    server.relink(10.0, server.token, (item,))
    assert checker._holds_old(path), "its save is lost unless it is sent"
    checker.world.fs.makedirs(P(away).parent, 4)
    checker.world.fs.rename(P(path), P(away), 5)
    moved = RelinkItem(away, "session_1", path, away, "Song", "Song", frozenset())
    server.relink(11.0, server.token, (moved,))
    assert server.sessions["session_1"].project_path == away
    assert checker._holds_old(away) is not reads


def _a_change_sent_then_gone(heard: bool, again: bool = False) -> tuple[Checker, str, Send]:
    """Seed 71003238: imported, saved, the change sent and carried out by SessionDock
    (its session reads the new bytes); its answer `heard`, or lost in a crash; the
    project then found missing (persisted imported with the new signature, as the core
    does for a change queued or out) and back unchanged, sent once more. With `again`,
    that missing record is written again unchanged but for its session id."""
    path = f"{ROOTS[0]}/Song.als"
    checker = _an_imported_session(path)
    world, registry = checker.world, checker.registry
    world.ever.add(P(path))

    def on_disk() -> Signature:
        found = signature(world.fs, registry, path, False)
        assert found is not None
        return found

    first = _record(path=path, project_path=path, signature=on_disk())
    imported = replace(first, state="imported", imported_at=1.0, import_id="imp_1")
    checker._outcome[path] = "ok"
    checker.on_persist(Persist(upserts=(imported,)), {})
    world.fs.write(P(path), b"saved since", 3)
    change = replace(imported, state="in_flight", signature=on_disk())
    send = Send(7, "Ableton", True, (SendItem(path, path, "Song", "als", None),))
    checker.on_send(send, 4.0)
    world.server._store("Ableton", (Item(path, "Song", "als"),))  # acted: a change
    if heard:
        checker.on_send_answer(send, Accepted("imp_2", 1, 0, 0, 1, True))
    else:
        checker.on_restart({path: change})  # the crash: its answer never written
    gone = replace(change, state="imported", missing_since=5.0)
    checker.on_persist(Persist(upserts=(gone,)), {path: replace(change, state="pending")})
    if again:
        known = replace(gone, session_id="session_1")
        checker.on_persist(Persist(upserts=(known,)), {path: gone})
    return checker, path, replace(send, request=9)


def test_a_change_whose_answer_was_lost_may_be_sent_again_once_back() -> None:
    """The README's lost-answer window: the core never heard its change delivered, so
    sending the same bytes again once the project is back is not a resend of bytes
    SessionDock had for sure (the session does hold them: `_holds_old` cannot excuse it)."""
    checker, path, again = _a_change_sent_then_gone(heard=False)
    assert not checker._holds_old(path)
    checker.on_send(again, 6.0)
    assert [v for v in checker.violations if "re-sent" in v] == []


def test_a_change_heard_delivered_sent_again_once_back_is_still_flagged() -> None:
    checker, path, again = _a_change_sent_then_gone(heard=True)
    checker.on_send(again, 6.0)
    assert [v for v in checker.violations if "re-sent" in v] == [
        f"request 9 re-sent {path}: imported and unchanged"
    ]


@pytest.mark.parametrize("heard", [False, True])
def test_a_record_written_again_unchanged_delivers_nothing(heard: bool) -> None:
    """Seed 7004469: the missing record of a change never heard delivered, written again
    unchanged but for its session id (learned from the library) before it is back: that
    write delivered nothing, so sending the change once back is still the lost-answer
    window. One heard delivered is still flagged."""
    checker, path, again = _a_change_sent_then_gone(heard=heard, again=True)
    checker.on_send(again, 6.0)
    flagged = [f"request 9 re-sent {path}: imported and unchanged"] if heard else []
    assert [v for v in checker.violations if "re-sent" in v] == flagged


def _a_change_moved_by_a_patch(imported_again: bool) -> tuple[Checker, str, Send]:
    """Seed 100001463: imported, saved (the change refused, never sent), moved; the
    PATCH moving its session reads the new bytes there (`PATCH_READS_PROJECT`, turned
    on by the tests that call this, as it was when the seed was found) while
    the core thinks the project gone (its restore not seen yet), so it persists it
    imported (missing) with the session holding other bytes, and sends the change once
    back. With `imported_again`, an import had carried those bytes to the session."""
    path, away = f"{ROOTS[0]}/Song.als", f"{ROOTS[0]}/Moved/Song.als"
    checker = _an_imported_session(path)
    world, registry = checker.world, checker.registry
    world.ever.add(P(away))
    world.fs.write(P(path), b"saved, never sent", 3)
    world.fs.makedirs(P(away).parent, 4)
    world.fs.rename(P(path), P(away), 5)
    item = RelinkItem(away, "session_1", path, away, "Song", "Song", frozenset())
    world.server.relink(6.0, world.server.token, (item,))
    assert not checker._holds_old(away), "the PATCH read the bytes there"
    if imported_again:
        world.server._store("Ableton", (Item(away, "Song", "als"),))
    on_disk = signature(world.fs, registry, away, False)
    assert on_disk is not None
    record = _record(path=away, project_path=away, signature=on_disk, session_id="session_1")
    gone = replace(record, state="imported", imported_at=1.0, missing_since=5.0)
    checker.on_persist(Persist(upserts=(gone,)), {})
    send = Send(9, "Ableton", True, (SendItem(away, away, "Song", "als", None),))
    return checker, away, send


def test_a_change_a_patch_read_but_no_import_sent_may_be_sent_once_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """README: a PATCH moves a session, it sends no bytes; the core sends the change
    to the session once the project is back. That the simulated SessionDock read it
    on the PATCH does not make it a resend of bytes the core knew delivered."""
    monkeypatch.setattr(invariants, "PATCH_READS_PROJECT", True)
    checker, _, send = _a_change_moved_by_a_patch(imported_again=False)
    checker.on_send(send, 7.0)
    assert [v for v in checker.violations if "re-sent" in v] == []


def test_a_change_an_import_sent_sent_again_once_back_is_still_flagged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(invariants, "PATCH_READS_PROJECT", True)
    checker, away, send = _a_change_moved_by_a_patch(imported_again=True)
    checker.on_send(send, 7.0)
    assert [v for v in checker.violations if "re-sent" in v] == [
        f"request 9 re-sent {away}: imported and unchanged"
    ]


def _gone_unheard(heard: bool) -> tuple[Checker, str, Send]:
    """Seed 4632906: its change in flight at a crash (SessionDock acted, the answer
    lost: `unheard_at`), moved (relinked) and gone before the change was sent again:
    persisted imported (missing) with its session, then back unchanged and sent. With
    `heard`, a 2xx for those bytes came in this process first."""
    path = f"{ROOTS[0]}/Song.als"
    checker = _an_imported_session(path)
    world = checker.world
    world.ever.add(P(path))
    found = signature(world.fs, checker.registry, path, False)
    assert found is not None
    send = Send(9, "Ableton", True, (SendItem(path, path, "Song", "als", None),))
    if heard:
        checker.on_send(send, 3.0)
        checker.on_send_answer(send, Accepted("imp_2", 1, 0, 0, 1, True))
    base = _record(path=path, project_path=path, signature=found, session_id="session_1")
    old = replace(base, state="pending", imported_at=1.0, unheard_at=2.0)
    gone = replace(old, state="imported", missing_since=5.0, moved_identity="?")
    checker.on_persist(Persist(upserts=(gone,)), {path: old})
    return checker, path, replace(send, request=10)


def test_gone_after_a_lost_answer_it_may_be_sent_again_once_back() -> None:
    checker, _, send = _gone_unheard(heard=False)
    checker.on_send(send, 6.0)
    assert checker.violations == []


def test_gone_after_a_lost_answer_then_a_2xx_sent_again_once_back_is_flagged() -> None:
    checker, path, send = _gone_unheard(heard=True)
    checker.on_send(send, 6.0)
    assert [v for v in checker.violations if "re-sent" in v] == [
        f"request 10 re-sent {path}: imported and unchanged"
    ]


def _a_change_relinked_while_gone_then_sent(answer: str) -> tuple[Checker, str, Send]:
    """Seed 117000545: imported, saved, relinked while in the trash (persisted imported
    with the new signature; its session holds the first bytes, the PATCH read none),
    restored and its change sent (in flight), SessionDock acting on it. Its `answer`:
    "persisted" (heard and written imported), "lost" (a crash before it was written,
    its record left in flight), "failed" (an answer the core took for a failure, no
    crash). Returns the checker (after the restart, if any), the path, and the next
    request carrying it."""
    path = f"{ROOTS[0]}/Song.als"
    checker = _an_imported_session(path)
    world, registry = checker.world, checker.registry
    world.ever.add(P(path))
    world.fs.write(P(path), b"saved, then trashed", 3)
    found = signature(world.fs, registry, path, False)
    assert found is not None
    base = _record(path=path, project_path=path, signature=found, session_id="session_1")
    relinked = replace(base, state="imported", imported_at=1.0, missing_since=4.0)
    checker._outcome[path] = "relinked"
    checker.on_persist(Persist(upserts=(relinked,)), {})
    out = replace(relinked, state="in_flight", missing_since=None, attempts=2)
    checker.on_persist(Persist(upserts=(out,)), {path: relinked})
    send = Send(4, "Ableton", True, (SendItem(path, path, "Song", "als", None),))
    checker.on_send(send, 5.0)
    assert checker.violations == [], "its session held other bytes: the change is owed"
    world.server._store("Ableton", (Item(path, "Song", "als"),))  # acted: skipped, read
    if answer == "failed":  # seed 130002412: a 202 whose body is not the documented JSON
        checker.on_send_answer(send, Failure("bad_answer", "lacks importId", "retrying"))
        return checker, path, replace(send, request=5)
    checker.on_send_answer(send, Accepted("imp_8", 1, 0, 0, 1, True))
    durable = out
    if answer == "persisted":
        durable = replace(out, state="imported", import_id="imp_8")
        checker.on_persist(Persist(upserts=(durable,)), {path: out})
    checker.on_restart({path: durable})
    return checker, path, replace(send, request=2)


def test_a_change_whose_2xx_a_crash_lost_may_be_sent_once_after_the_restart() -> None:
    """The README's window: the crash came after the send and before its answer was
    written, so the record is in flight and the one batch is sent again; its record's
    earlier `imported` (a relink's, with these bytes never sent) does not make that a
    resend of bytes known delivered. Once, not twice."""
    checker, path, again = _a_change_relinked_while_gone_then_sent("lost")
    checker.on_send(again, 6.0)
    assert checker.violations == []
    checker.on_send(replace(again, request=3), 7.0)
    assert checker.violations == [f"request 3 re-sent {path}: imported and unchanged"]


def test_a_change_whose_answer_failed_after_sessiondock_acted_may_be_sent_once_more() -> None:
    """The same window without a crash: the core heard a failure, so it sends the batch
    again; that one resend is not bytes known delivered. Once, not twice."""
    checker, path, again = _a_change_relinked_while_gone_then_sent("failed")
    checker.on_send(again, 6.0)
    assert checker.violations == []
    checker.on_send(replace(again, request=6), 7.0)
    assert checker.violations == [f"request 6 re-sent {path}: imported and unchanged"]


def test_a_change_whose_2xx_was_written_sent_again_after_a_restart_is_flagged() -> None:
    checker, path, again = _a_change_relinked_while_gone_then_sent("persisted")
    checker.on_send(again, 6.0)
    assert checker.violations == [f"request 2 re-sent {path}: imported and unchanged"]


def _a_change_out_then_trashed_unseen(heard: bool) -> tuple[Checker, str, Send]:
    """Seed 133001341: a change in flight, SessionDock acting on it; its answer a reset
    (lost: `_owed`) then a crash, or with `heard` a 2xx written imported before it. The
    project trashed while the daemon was down; the restart's library lists its path,
    its record is persisted imported (missing: a record marked gone, no delivery), then
    given its session id; restored unchanged, in flight, and the next request."""
    path = f"{ROOTS[0]}/Song.als"
    checker = _an_imported_session(path)
    world, registry = checker.world, checker.registry
    world.ever.add(P(path))
    world.fs.write(P(path), b"saved since", 3)
    found = signature(world.fs, registry, path, False)
    assert found is not None
    out = _record(path=path, project_path=path, signature=found, unheard_at=1.0)
    send = Send(2, "Ableton", True, (SendItem(path, path, "Song", "als", None),))
    checker.on_send(send, 4.0)
    world.server._store("Ableton", (Item(path, "Song", "als"),))  # acted: skipped, read
    durable = out
    if heard:
        checker.on_send_answer(send, Accepted("imp_2", 1, 0, 0, 1, True))
        durable = replace(out, state="imported", import_id="imp_2", imported_at=4.0)
        checker.on_persist(Persist(upserts=(durable,)), {path: out})
    else:
        checker.on_send_answer(send, Failure("unreachable", "cannot reach (reset)", "retrying"))
    checker.on_restart({path: durable})
    if not heard:
        checker.on_library_answer(Library(frozenset({path})), {path: out})
        listed = replace(out, state="pending", imported_at=5.0, moved_identity="?")
        checker.on_persist(Persist(upserts=(listed,)), {path: out})
        durable = listed
    gone = replace(durable, state="imported", missing_since=6.0, moved_identity="?")
    checker.on_persist(Persist(upserts=(gone,)), {path: durable})
    named = replace(gone, session_id="session_1")
    checker.on_persist(Persist(upserts=(named,)), {path: gone})
    back = replace(named, state="in_flight", missing_since=None, moved_identity=None)
    checker.on_persist(Persist(upserts=(back,)), {path: named})
    assert checker.violations == []
    return checker, path, replace(send, request=9)


def test_a_change_whose_answer_was_lost_trashed_unseen_may_be_sent_once_back() -> None:
    """Persisted imported while gone claims no delivery: the lost answer's one resend
    is still owed once the project is back. Once, not twice."""
    checker, path, again = _a_change_out_then_trashed_unseen(heard=False)
    checker.on_send(again, 7.0)
    assert checker.violations == []
    checker.on_send(replace(again, request=10), 8.0)
    assert checker.violations == [f"request 10 re-sent {path}: imported and unchanged"]


def test_a_change_whose_2xx_was_written_trashed_unseen_sent_again_is_flagged() -> None:
    checker, path, again = _a_change_out_then_trashed_unseen(heard=True)
    checker.on_send(again, 7.0)
    assert checker.violations == [f"request 9 re-sent {path}: imported and unchanged"]


@pytest.mark.parametrize("copy", [True, False])
def test_a_session_patched_onto_a_copy_in_the_trash_is_sent_its_bytes_once_back(
    copy: bool,
) -> None:
    """Seed 160036415: a copy taken for a project gone, itself in the trash as the PATCH
    moved the session to its path, then restored: a guessed relink, judged once a file is
    back there, its bytes sent once (README). The project's own file back there instead
    (the inode its session read) is still flagged."""
    home, dup = f"{ROOTS[0]}/Song.als", f"{ROOTS[0]}/Copy/Song.als"
    trash = P("/sim/trash/Song.als")
    checker = _an_imported_session(home)
    world, registry = checker.world, checker.registry
    world.ever.add(P(dup))
    world.fs.makedirs(P(dup).parent, 3)
    world.fs.makedirs(trash.parent, 3)
    if copy:
        world.fs.write(P(dup), b"first bytes", 4)  # another inode, the same bytes
    else:
        world.fs.rename(P(home), P(dup), 4)
    world.fs.rename(P(dup), trash, 5)
    item = RelinkItem(dup, "session_1", home, dup, "Song", "Song", frozenset())
    world.server.relink(10.0, world.server.token, (item,))
    assert world.server.sessions["session_1"].project_path == dup
    world.fs.rename(trash, P(dup), 6)
    found = signature(world.fs, registry, dup, False)
    assert found is not None
    record = _record(path=dup, project_path=dup, signature=found)
    checker.on_persist(Persist(upserts=(replace(record, state="imported"),)), {})
    send = Send(9, "Ableton", True, (SendItem(dup, dup, "Song", "als", None),))
    checker.on_send(send, 20.0)
    flagged = [] if copy else [f"request 9 re-sent {dup}: imported and unchanged"]
    assert [v for v in checker.violations if "re-sent" in v] == flagged
    world.server._store("Ableton", (Item(dup, "Song", "als"),))  # the one send, read
    checker.on_send(replace(send, request=10), 21.0)
    assert len([v for v in checker.violations if "re-sent" in v]) == len(flagged) + 1


@pytest.mark.parametrize("read_since", [False, True])
def test_a_session_an_import_made_with_nothing_there_holds_unknown_bytes(read_since: bool) -> None:
    """Seed 283001357: its import went out as its folder was renamed (the session made
    there read nothing), a save's send failed, the session was relinked onto it: the core
    sends the save once it is back, which is no resend of bytes SessionDock has. Once an
    import has read the bytes there, sending them again is flagged as ever."""
    path = f"{ROOTS[0]}/Song.als"
    checker = _checker()
    world, registry = checker.world, checker.registry
    world.ever.add(P(path))
    world.server._store("Ableton", (Item(path, "Song", "als"),))  # nothing there
    world.fs.makedirs(P(path).parent, 1)
    world.fs.write(P(path), b"saved, never delivered", 2)
    if read_since:
        world.server._store("Ableton", (Item(path, "Song", "als"),))
    assert checker._holds_unknown(path) is not read_since
    on_disk = signature(world.fs, registry, path, False)
    assert on_disk is not None
    record = _record(path=path, project_path=path, signature=on_disk, session_id="session_1")
    checker._outcome[path] = "ok"
    checker.on_persist(Persist(upserts=(replace(record, state="imported", imported_at=1.0),)), {})
    checker.on_send(Send(9, "Ableton", True, (SendItem(path, path, "Song", "als", None),)), 7.0)
    flagged = [f"request 9 re-sent {path}: imported and unchanged"] if read_since else []
    assert [v for v in checker.violations if "re-sent" in v] == flagged


def _listed_after_a_crash_then_back(had_session: bool) -> list[str]:
    """Seed 410009725: its import carried out by SessionDock (session_1 reads its bytes)
    and the answer lost in a crash; the first listing too early to name the session
    (`unheard_at`), the project moved, its events lost; after another restart a listing
    names session_1 at its path: persisted imported (missing). Found at its new path
    (relinking, the record at its path dropped), it moved back unchanged before the PATCH
    went out: persisted imported at its path again. With `had_session`, those bytes were
    a change sent over an earlier import's session instead. Returns the violations."""
    path, away = f"{ROOTS[0]}/Song.als", f"{ROOTS[0]}/Moved/Song.als"
    checker = _an_imported_session(path)
    world = checker.world
    world.ever.add(P(path))
    on_disk = signature(world.fs, checker.registry, path, False)
    assert on_disk is not None
    first = _record(path=path, project_path=path, signature=on_disk)
    if had_session:
        first = replace(first, imported_at=1.0, import_id="imp_1")
    checker.on_send(Send(4, "Ableton", True, (SendItem(path, path, "Song", "als", None),)), 3.0)
    checker.on_restart({path: first})  # the crash: its answer never written
    gone = replace(first, unheard_at=4.0, missing_since=5.0)
    checker.on_library_answer(Library(frozenset({path}), {path: "session_1"}), {path: gone})
    listed = replace(gone, state="imported", imported_at=6.0, session_id="session_1")
    checker.on_persist(Persist(upserts=(listed,)), {path: gone})
    moving = replace(listed, path=away, project_path=away, state="relinking", moved_from=path)
    checker.on_persist(Persist(upserts=(moving,), deletes=(path,)), {path: listed})
    checker.on_restart({away: moving})
    back = replace(listed, missing_since=None, attempts=0)
    checker.on_persist(Persist(upserts=(back,), deletes=(away,)), {away: moving})
    return checker.violations


def test_listed_as_its_own_import_after_a_crash_it_is_imported_back_at_its_path() -> None:
    """The listing named the session its own request made (it had none before): that
    is the evidence of delivery a 2xx is, so back at its path unchanged, the relink
    never sent, it is imported there, not owed a send."""
    assert _listed_after_a_crash_then_back(had_session=False) == []


def test_a_change_over_an_earlier_session_listed_after_a_crash_back_imported_is_flagged() -> None:
    """A listing of the session an earlier import made does not prove the change sent
    over it delivered (seed 4632906): back at its path, recorded imported unsent is
    still flagged."""
    path = f"{ROOTS[0]}/Song.als"
    assert _listed_after_a_crash_then_back(had_session=True) == [
        f"{path} persisted imported without a 2xx (last: None)"
    ]
