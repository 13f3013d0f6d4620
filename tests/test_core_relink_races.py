"""Relinks decided on what the core had not looked at yet (issue 12; simulator seeds
648, 864, 2379 and 300817): a copy with the same bytes never takes the session of a
project that is back at its path, and a project moved back onto a path SessionDock
refused takes its session along. A project gone while a request that failed carried
it is looked up before it is forgotten (5787).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, replace
from pathlib import Path

from tests.test_core import FULL, ROOT, sig
from tests.test_core_moves import MovingDriver, move, start
from watcher.core.effects import AskHealth, AskLibrary, Effect, Persist, Probe, Send, Stat
from watcher.core.inputs import (
    Accepted,
    Failure,
    HealthAnswered,
    Library,
    LibraryAnswered,
    ProjectChanged,
    ProjectGone,
    RelinkAnswered,
    Relinked,
    SendAnswered,
)
from watcher.core.records import ProjectRecord
from watcher.core.relinks import GUESSED
from watcher.core.settings import LISTING_LAG_SECONDS


@dataclass
class HeldProbes(MovingDriver):
    """Probes of these paths are not answered until the test lets them go."""

    slow: set[str] = field(default_factory=set)
    probes: list[Probe] = field(default_factory=list)

    def carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Probe) and effect.path in self.slow:
            self.probes.append(effect)
        else:
            super().carry_out(effect)

    def let_go(self) -> None:
        self.slow.clear()
        for probe in self.probes:
            self.carry_out(probe)
        self.probes.clear()


def relinked(d: MovingDriver) -> list[tuple[str, str]]:
    return [(i.old_path, i.new_path) for r in d.relinks for i in r.items]


def sent(d: MovingDriver) -> list[str]:
    return [i.project_path for s in d.sends() for i in s.items]


def test_a_duplicate_is_not_taken_for_a_project_whose_path_is_being_looked_at() -> None:
    """Seed 648: a trashed; b, a copy of it, moved onto a's path (its probe still out);
    then a duplicate made. The duplicate is a copy, never a's session moved."""
    d = start(a="same", b="same")
    slow = HeldProbes(d.core, now=d.now, disk=d.disk, stored=d.stored, meta=d.meta)
    slow.identity = d.identity
    a, b, dup = "/studio/a.als", "/studio/b.als", "/studio/a copy.als"
    a_sig = slow.disk.pop(a)
    slow.feed(ProjectGone(ROOT, a, slow.now))  # trashed
    slow.disk[a] = slow.disk.pop(b)  # b moved onto a's path: b's inode
    slow.identity[a] = "same"
    slow.slow.add(a)
    slow.feed(ProjectGone(ROOT, b, slow.now))
    slow.feed(ProjectChanged(ROOT, a, False, slow.now))
    slow.advance(10)
    assert slow.probes, "the file at a's path is being looked at"
    slow.disk[dup], slow.identity[dup] = replace(a_sig, inode=77), "same"
    slow.feed(ProjectChanged(ROOT, dup, False, slow.now))
    slow.advance(10)
    assert (a, dup) not in relinked(slow)
    assert dup in sent(slow), "the duplicate is imported as new"
    slow.let_go()
    slow.advance(10)
    assert (a, dup) not in relinked(slow)
    assert slow.stored[a].state == "imported" and slow.stored[a].missing_since is None


def test_a_copy_of_a_project_restored_unseen_is_new_and_the_project_is_found_back() -> None:
    """Seed 864: trashed, restored with its event lost, then copied (same bytes, a new
    inode). The missing project's path is stat'ed before the copy may take its session:
    the project is there, so it is looked at (recognised, not sent) and the copy is new."""
    d = start(a="id-a")
    a, copy = "/studio/a.als", "/studio/Copy/a.als"
    original = d.disk.pop(a)
    d.feed(ProjectGone(ROOT, a, d.now))
    d.advance(10)
    assert d.stored[a].missing_since is not None
    d.disk[a] = original  # restored from the trash: no event
    d.disk[copy], d.identity[copy] = replace(original, inode=90), "id-a"
    d.feed(ProjectChanged(ROOT, copy, False, d.now))
    d.advance(30)
    assert any(isinstance(e, Stat) and e.path == a for e in d.effects)
    assert not d.relinks
    assert sent(d) == [a, copy]
    assert d.stored[a].state == "imported" and d.stored[a].missing_since is None
    assert d.stored[copy].state == "imported"


def test_a_copy_made_after_the_project_is_gone_for_good_still_relinks() -> None:
    """The stat finds nothing at the missing project's path: moved across volumes (copy,
    then delete), and relinked as before."""
    d = start(a="id-a")
    a, moved = "/studio/a.als", "/studio/Other/a.als"
    original = d.disk.pop(a)
    d.feed(ProjectGone(ROOT, a, d.now))
    d.disk[moved], d.identity[moved] = replace(original, inode=90), "id-a"
    d.feed(ProjectChanged(ROOT, moved, False, d.now))
    d.advance(30)
    assert relinked(d) == [(a, moved)]
    assert sent(d) == [a, moved], "a guess (another inode): its bytes sent once, relinked"
    assert d.stored[moved].state == "imported"


def test_a_guessed_relink_sends_the_copys_bytes_once_an_ordinary_move_none() -> None:
    """Seed 118000211: a save, its event lost, was read by the import after the probe, so
    the session holds bytes the record does not name; the project then changed (a new
    identity) and a copy of the probed bytes took its session by a guess (another inode).
    Nothing says those bytes reached the session: they are sent once the PATCH is
    answered, to it (no new import). A move that keeps the inode sends nothing."""
    d = start(a="id-a", b="id-b")
    a, b = "/studio/a.als", "/studio/b.als"
    copy, moved = "/studio/Copy/a.als", "/studio/Done/b.als"
    original = d.disk.pop(a)
    d.identity.pop(a)
    d.feed(ProjectGone(ROOT, a, d.now))
    d.disk[copy], d.identity[copy] = replace(original, inode=90), "id-a"
    d.feed(ProjectChanged(ROOT, copy, False, d.now))
    d.disk[moved], d.identity[moved] = d.disk.pop(b), "id-b"  # its inode kept
    d.identity.pop(b)
    d.feed(ProjectGone(ROOT, b, d.now))
    d.feed(ProjectChanged(ROOT, moved, False, d.now))
    d.advance(30)
    assert sorted(relinked(d)) == [(a, copy), (b, moved)]
    [relink] = [r for r in d.relinks if any(i.new_path == copy for i in r.items)]
    [after] = [s for s in d.sends() if any(i.project_path == copy for i in s.items)]
    assert after.request > relink.request, "sent after the PATCH: to the session it took"
    assert sent(d).count(copy) == 1 and moved not in sent(d)
    assert d.stored[copy].state == "imported" and d.stored[moved].state == "imported"


def saved_and_held(d: MovingDriver, path: str) -> Send:
    """Saved with SessionDock silent: its import request is out, unanswered."""
    d.hold = True
    d.feed(ProjectChanged(ROOT, path, False, d.now))
    d.advance(10)
    [send] = d.held
    assert isinstance(send, Send)
    d.held.clear()
    return send


def test_a_project_moved_back_onto_a_path_sessiondock_refused_takes_its_session() -> None:
    """Seed 2379: refused (400) at its first path, imported after a rename, moved back
    with the very bytes refused there: its session follows it (not left behind), and a
    later move relinks it again rather than importing it anew."""
    d = start()
    first, renamed, later = "/studio/a.als", "/studio/b.als", "/studio/Done/a.als"
    d.disk[first], d.identity[first] = sig(1), "id-a"
    send = saved_and_held(d, first)
    d.hold = False
    refused = Failure("rejected", "Cannot import: not a project.", "fix it")
    d.feed(SendAnswered(send.request, refused))
    assert d.stored[first].state == "rejected"
    move(d, first, renamed)
    assert sent(d) == [first, renamed] and d.stored[renamed].state == "imported"
    move(d, renamed, first)
    assert relinked(d) == [(renamed, first)]
    assert d.stored[first].state == "imported" and renamed not in d.stored
    move(d, first, later)
    assert relinked(d) == [(renamed, first), (first, later)]
    assert sent(d) == [first, renamed], "never imported anew"


def test_a_relink_saved_before_its_patch_is_undone_when_the_project_comes_back() -> None:
    """Seed 300817: a duplicate made while the project was in the trash is taken for it
    (the PATCH not sent: SessionDock read-only), then saved, so its identity changes;
    the project restored at its path is still the one the relink was decided for: it
    keeps its session there, and the duplicate is imported as new."""
    d = start(a="id-a")
    a, dup = "/studio/a.als", "/studio/a 2.als"
    d.hold_relinks = True
    trashed = d.disk.pop(a)
    d.feed(ProjectGone(ROOT, a, d.now))
    d.disk[dup], d.identity[dup] = replace(trashed, inode=50), "id-a"
    d.feed(ProjectChanged(ROOT, dup, False, d.now))
    d.advance(10)
    [relink] = d.relinks
    assert d.stored[dup].moved_identity == GUESSED + "id-a"  # a guess: another inode
    d.hold = True  # health probes unanswered a while
    d.feed(RelinkAnswered(relink.request, Relinked(()), Failure("read_only", "403", "enable")))
    d.disk[dup], d.identity[dup] = sig(51), "id-a saved"  # saved before the PATCH
    d.feed(ProjectChanged(ROOT, dup, False, d.now))
    d.advance(10)
    assert d.stored[dup].state == "relinking" and d.stored[dup].identity == "id-a saved"
    d.disk[a] = replace(trashed, inode=60)  # restored
    d.feed(ProjectChanged(ROOT, a, False, d.now))
    d.advance(30)
    d.hold = False
    for held in d.held:
        assert isinstance(held, AskHealth)
        d.feed(HealthAnswered(held.request, FULL))
    d.advance(120)
    assert len(d.relinks) == 1, "the PATCH is never sent again"
    assert d.logs("project_relink_undone")
    assert d.stored[a].state == "imported" and d.stored[a].moved_identity is None
    assert sent(d) == [a, dup]


def test_a_project_moved_back_before_its_patch_with_its_gone_event_lost_is_no_copy() -> None:
    """Seed 301325: renamed (the PATCH not sent: SessionDock read-only), renamed back
    with the event of its leaving lost. The inode a move keeps says it is the file the
    relink was taken for, not a copy left behind: nothing is imported."""
    d = start(a="id-a")
    a, b = "/studio/a.als", "/studio/b.als"
    d.hold_relinks = True
    move(d, a, b)
    [relink] = d.relinks
    d.hold = True
    d.feed(RelinkAnswered(relink.request, Relinked(()), Failure("read_only", "403", "enable")))
    d.disk[a] = d.disk.pop(b)  # moved back; no ProjectGone for b
    d.identity[a] = d.identity[b]
    d.feed(ProjectChanged(ROOT, a, False, d.now))
    d.advance(30)
    d.hold = False
    for held in d.held:
        assert isinstance(held, AskHealth)
        d.feed(HealthAnswered(held.request, FULL))
    d.advance(120)
    assert len(d.relinks) == 1 and d.logs("project_relink_undone")
    assert d.stored[a].state == "imported" and b not in d.stored
    assert sent(d) == [a], "nothing imported as a copy"


def answer_held(d: MovingDriver, library: Library, seconds: float = 120) -> None:
    """SessionDock back: held health probes say full automation, listings `library`."""
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
        d.advance(5)


def test_a_project_gone_while_its_timed_out_request_was_out_is_looked_up() -> None:
    """Seed 5787: sent, moved before the answer, the request timed out after SessionDock
    had made the session. The record is not forgotten: the library is asked, it lists
    the path, so the project found at its new path is that one moved (relinked), never
    imported a second time; moved back, one session is at its path."""
    d = start()
    a, done = "/studio/a.als", "/studio/Done/a.als"
    d.disk[a], d.identity[a] = sig(1), "id-a"
    send = saved_and_held(d, a)
    d.disk[done] = d.disk.pop(a)
    d.identity[done] = "id-a"
    d.feed(ProjectGone(ROOT, a, d.now))
    d.feed(ProjectChanged(ROOT, done, False, d.now))
    d.feed(SendAnswered(send.request, Failure("unreachable", "timeout", "start it")))
    assert d.stored[a].state == "in_flight", "kept until the library is asked"
    d.advance(10)
    answer_held(d, Library(frozenset({a}), {a: "s-a"}))
    assert sent(d) == [a]
    assert relinked(d) == [(a, done)]
    assert d.stored[done].state == "imported" and a not in d.stored
    d.hold = False
    move(d, done, a)
    assert relinked(d) == [(a, done), (done, a)]
    assert sent(d) == [a], "one session: never imported anew"


def test_a_project_gone_while_its_refused_request_was_out_is_new_at_its_new_path() -> None:
    """The library does not list it (the request failed before SessionDock acted): once
    that is still so `LISTING_LAG_SECONDS` on (not a session listed late), the
    record is dropped, and the project at its new path is imported as new."""
    d = start()
    a, done = "/studio/a.als", "/studio/Done/a.als"
    d.disk[a], d.identity[a] = sig(1), "id-a"
    send = saved_and_held(d, a)
    d.disk[done] = d.disk.pop(a)
    d.identity[done] = "id-a"
    d.feed(ProjectGone(ROOT, a, d.now))
    d.feed(ProjectChanged(ROOT, done, False, d.now))
    d.feed(SendAnswered(send.request, Failure("unreachable", "refused", "start it")))
    d.advance(10)
    answer_held(d, Library(frozenset()), LISTING_LAG_SECONDS + 120)
    assert a not in d.stored and not d.relinks
    assert sent(d) == [a, done] and d.stored[done].state == "imported"


def test_a_project_waiting_on_its_originals_lookup_is_looked_at_again_when_released() -> None:
    """Seeds 259 and 1227: a project found while its original's failed request waits
    for its lookup (SessionDock down a long while) moved on meanwhile, its events lost.
    Released, it is looked at again: nothing is imported at a path it left."""
    d = start()
    a, b, c = "/studio/a.als", "/studio/b.als", "/studio/c.als"
    d.disk[a], d.identity[a] = sig(1), "id-a"
    send = saved_and_held(d, a)
    move(d, a, b)
    d.feed(SendAnswered(send.request, Failure("unreachable", "timeout", "start it")))
    assert not d.relinks and b not in d.stored, "b waits for a's lookup"
    d.disk[c] = d.disk.pop(b)  # moved on, no event
    d.identity[c] = "id-a"
    d.advance(10)
    answer_held(d, Library(frozenset({a}), {a: "s-a"}))
    assert b not in d.stored
    assert sent(d) == [a], "b was never imported"
    d.feed(ProjectChanged(ROOT, c, False, d.now))
    d.hold = False
    d.advance(30)
    assert relinked(d) == [(a, c)] and sent(d) == [a]


def test_a_version_3_database_opens_keeps_its_records_and_stores_the_moved_identity(
    tmp_path: Path,
) -> None:
    from watcher.state import State
    from watcher.state_rows import SCHEMA, SCHEMA_VERSION

    path = tmp_path / "state.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)  # the base table, then the columns up to version 3
    for column in ("identity", "session_id", "moved_from", "moved_title", "tags_done"):
        db.execute(f"ALTER TABLE projects ADD COLUMN {column} TEXT")
    db.execute("ALTER TABLE projects ADD COLUMN missing_since REAL")
    db.execute(
        "INSERT INTO projects (path, root, kind, title, project_type, project_path,"
        " generate_previews, size, mtime_ns, inode, state, updated_at, identity, session_id,"
        " moved_from, moved_title) VALUES ('/s/b.als', '/s', 'Ableton', 'b', 'als',"
        " '/s/b.als', 1, 1, 2, 3, 'relinking', 0, '1:ab', 's1', '/s/a.als', 'a')"
    )
    db.execute("INSERT INTO meta VALUES ('schema_version', '3')")
    db.commit()
    db.close()
    state = State(path)
    [old] = state.load()[0]
    assert (old.state, old.session_id, old.moved_from, old.moved_identity, old.moved_inode) == (
        "relinking",
        "s1",
        "/s/a.als",
        None,
        None,
    )
    record: ProjectRecord = replace(old, path="/s/c.als", moved_identity="1:ab", moved_inode=3)
    state.apply([Persist(upserts=(record,))])
    state.close()
    again = State(path, readonly=True)
    stored = {r.path: (r.moved_identity, r.moved_inode) for r in again.load()[0]}
    assert stored == {"/s/b.als": (None, None), "/s/c.als": ("1:ab", 3)}
    assert again.get_meta("schema_version") == SCHEMA_VERSION
    again.close()


def test_a_project_moved_onto_the_path_of_a_trashed_twin_takes_the_session_there() -> None:
    """Seed 5761 (by design): b, a copy of a with a's bytes, trashed; a moved onto b's
    path. Relinking a's session there would put two sessions on one path for good if b
    is restored elsewhere, so the session at the path is taken (nothing is sent), and
    a's own stays at its old path, missing."""
    d = start(a="same", b="same")
    a, b = "/studio/a.als", "/studio/b.als"
    d.disk.pop(b)
    d.feed(ProjectGone(ROOT, b, d.now))  # trashed
    d.advance(10)
    move(d, a, b)
    d.advance(30)
    assert not d.relinks and sorted(sent(d)) == [a, b], "nothing sent, no PATCH onto b's path"
    assert d.stored[b].missing_since is None and d.stored[a].missing_since is not None
    assert d.logs("project_back")


def test_a_project_back_while_its_lookup_waits_is_still_looked_up_and_sent() -> None:
    """Seed 1059: gone while its timed-out request was out, then back at its path
    before SessionDock answered again. It is still looked up (not left in flight for
    good): not listed, it is sent again and imported."""
    d = start()
    a = "/studio/a.als"
    d.disk[a], d.identity[a] = sig(1), "id-a"
    send = saved_and_held(d, a)
    back = d.disk.pop(a)
    d.feed(ProjectGone(ROOT, a, d.now))
    d.feed(SendAnswered(send.request, Failure("unreachable", "timeout", "start it")))
    d.disk[a] = back
    d.feed(ProjectChanged(ROOT, a, False, d.now))
    d.advance(10)
    answer_held(d, Library(frozenset()))
    assert d.stored[a].state == "imported" and sent(d) == [a, a]
