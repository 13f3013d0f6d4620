"""A relink never moves the session of a project still at its path (issue 12's "never
relink a project whose original is still there"; simulator seeds 87675, 88718).

A copy taken for a project gone from its path (its session's path found empty) is a
guess: the relink it makes waits for its PATCH, and whatever file turns up at the path
the session still points at before that PATCH goes out is the session's project there,
whatever its bytes and inode (saved where the daemon could not see it, then restored):
the relink is undone, the file keeps the session (its bytes sent to it), and the copy
is imported as new. Such a relink is not sent while that path cannot be looked at: its
folder offline (the project may be back there, unseen: seeds 28052, 98026), or not
walked yet since it came back or the daemon started (restored while the daemon was
stopped, or before a crash: seed 31750). A PATCH that may have acted while the relink
was at the project's own path does not keep the project, found with its inode, from
taking a copy's relink back (seed 75330); one the copy sent does. Both are told after
a restart too: the relink keeps on disk what it counted before the copy was taken for
it (`arrived_with`, schema 9).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from tests.test_core import ROOT, WALL0, settings, sig
from tests.test_core_moves import move, start
from tests.test_core_relink_sweep import (
    A,
    B,
    SlowProbes,
    Unplugging,
    refusing,
    sent_since,
    started_again,
)
from tests.test_core_unheard import listing
from tests.test_core_volumes import items_sent
from watcher.core import Core
from watcher.core.effects import Effect, Persist, Relink
from watcher.core.inputs import (
    DirectoryGone,
    Failure,
    Library,
    ProjectChanged,
    ProjectGone,
    RelinkAnswered,
    Relinked,
    Started,
)
from watcher.core.records import Signature
from watcher.core.settings import FolderSettings


@dataclass
class RefusingUnplugging(SlowProbes, Unplugging):
    """Relinks refused while `refusing`; folders in `unplugged` not there when checked."""


A_PATH, COPY = f"{ROOT}/a.als", f"{ROOT}/Copy/a.als"


def a_copy_waits_for_trashed_a() -> tuple[SlowProbes, Signature]:
    """a imported, then trashed; a copy of it (another inode, a's bytes) is taken for
    it and waits, its PATCH refused. Returns the driver and a's signature."""
    d = refusing({A_PATH: "id-a", f"{ROOT}/other.als": "id-o"})
    trashed = d.disk.pop(A_PATH)
    d.feed(ProjectGone(ROOT, A_PATH, d.now))
    d.disk[COPY], d.identity[COPY] = replace(trashed, inode=77), "id-a"
    d.feed(ProjectChanged(ROOT, COPY, False, d.now))
    d.advance(10)
    return d, trashed


def test_a_project_back_at_its_sessions_path_with_other_bytes_keeps_its_session() -> None:
    """Seeds 87675, 88718: a trashed; a copy of it (another inode) taken for it, its
    PATCH refused; a was saved unseen (new bytes, a new inode: an atomic save) and is
    restored at its path. Neither its bytes nor its inode are the ones recorded, but
    the session is still at that path: the relink is undone, a's new bytes are sent
    to its session, and the copy is imported as new."""
    a, dup = A_PATH, COPY
    d, trashed = a_copy_waits_for_trashed_a()
    assert d.stored[dup].state == "relinking", "a's path is empty: the copy is taken for a"
    d.disk[a], d.identity[a] = replace(trashed, size=999, inode=78), "id-a saved"  # restored
    d.feed(ProjectChanged(ROOT, a, False, d.now))
    d.advance(10)
    assert d.stored[a].moved_from is None and d.logs("project_relink_undone")
    tried, d.refusing = len(d.relinks), False
    d.advance(600)
    assert all(new != dup for _, new in sent_since(d, tried)), "the session stays off the copy"
    assert items_sent(d).count(dup) == 1, "the copy is imported as new"
    assert items_sent(d).count(a) == 2, "a's new bytes are sent to its session"
    assert d.stored[a].state == "imported"


def two_volumes(files: dict[str, str]) -> RefusingUnplugging:
    folders = (FolderSettings(A), FolderSettings(B))
    d = RefusingUnplugging(Core.restore(settings(folders=folders), (), {}))
    for n, (path, ident) in enumerate(sorted(files.items()), 1):
        d.disk[path], d.identity[path] = sig(n), ident
    d.feed(Started(wall=WALL0))
    d.advance(10)
    assert sorted(items_sent(d)) == sorted(files)
    d.refusing = True
    return d


B_PATH, B_COPY = f"{B}/Song/a.als", f"{A}/Copy/a.als"


def a_copy_on_a_waits_for_trashed_a_on_b() -> tuple[RefusingUnplugging, Signature]:
    """a imported on B, then trashed; a copy of it on A (another inode, a's bytes) is
    taken for it (B online, a's path empty), its PATCH refused."""
    d = two_volumes({B_PATH: "id-a", f"{A}/other.als": "id-o", f"{B}/other.als": "id-p"})
    trashed = d.disk.pop(B_PATH)
    d.feed(ProjectGone(B, B_PATH, d.now))
    d.disk[B_COPY], d.identity[B_COPY] = replace(trashed, inode=77), "id-a"
    d.feed(ProjectChanged(A, B_COPY, False, d.now))
    d.advance(10)
    assert d.stored[B_COPY].state == "relinking", "a's path is empty: the copy is taken for a"
    return d, trashed


def test_a_copys_relink_waits_while_the_folder_of_its_sessions_path_is_offline() -> None:
    """Seeds 28052, 98026: a trashed on B; a copy of it on A taken for it (B online, a's
    path empty), its PATCH refused. B goes offline; a is restored there, unseen. While
    B is away, whether a is back cannot be told: the PATCH waits (SessionDock back).
    B back, its walk finds a at its session's path: the relink is undone, and the copy
    is imported as new."""
    a, dup = B_PATH, B_COPY
    d, trashed = a_copy_on_a_waits_for_trashed_a_on_b()
    d.unplugged.add(B)
    d.feed(DirectoryGone(B, B, d.now))
    d.advance(1)
    d.disk[a] = trashed  # restored while B is away
    tried, d.refusing = len(d.relinks), False
    d.advance(600)
    assert not sent_since(d, tried), "no PATCH while the session's path cannot be looked at"
    d.unplugged.clear()
    d.advance(600)
    assert d.logs("project_relink_undone") and d.stored[a].state == "imported"
    assert all(new != dup for _, new in sent_since(d, tried)), "the session stays off the copy"
    assert items_sent(d).count(dup) == 1, "the copy is imported as new"
    assert items_sent(d).count(a) == 1, "a is never imported again"


def test_a_copys_relink_restored_at_start_waits_for_the_walk_of_its_sessions_path() -> None:
    """Seed 31750: a copy taken for a trashed a is relinking (its PATCH refused) when
    the daemon stops; a is restored at its path meanwhile. At start the PATCH waits for
    the walk of a's folder, which finds a there: the relink is undone, the copy new."""
    a, dup = A_PATH, COPY
    d, trashed = a_copy_waits_for_trashed_a()
    assert d.stored[dup].state == "relinking"
    d.disk[a] = trashed  # restored while the daemon is stopped
    again = started_again(d)
    assert again.logs("project_relink_undone") and again.stored[a].state == "imported"
    assert all(new != dup for _, new in sent_since(again, 0)), "the session stays off the copy"
    assert items_sent(again) == [dup], "the copy is imported as new, a never again"


def test_a_project_back_while_the_copy_taken_for_it_is_gone_too_keeps_its_session() -> None:
    """Seed 29746: a copy taken for a trashed a (its PATCH refused) is trashed in turn,
    then a is restored at its path: the relink is undone though the copy's record is
    missing (nothing to import for it). The copy restored later is a new project: a's
    session never moves to it."""
    a, dup = A_PATH, COPY
    d, trashed = a_copy_waits_for_trashed_a()
    assert d.stored[dup].state == "relinking"
    copy = d.disk.pop(dup)
    d.feed(ProjectGone(ROOT, dup, d.now))
    d.advance(1)
    assert d.stored[dup].missing_since is not None
    d.disk[a] = trashed
    d.feed(ProjectChanged(ROOT, a, False, d.now))
    d.advance(10)
    assert d.logs("project_relink_undone") and d.stored[a].state == "imported"
    assert dup not in d.stored, "the copy's record, gone, holds nothing"
    d.disk[dup] = copy
    d.feed(ProjectChanged(ROOT, dup, False, d.now))
    tried, d.refusing = len(d.relinks), False
    d.advance(600)
    assert all(new != dup for _, new in sent_since(d, tried)), "the session stays off the copy"
    assert items_sent(d).count(dup) == 1, "the copy is imported as new"
    assert items_sent(d).count(a) == 1, "a is never imported again"


def test_a_copys_patch_looks_at_its_sessions_path_first() -> None:
    """Seed 300817 (its world once PATCHes were counted before they go out): a copy
    taken for a trashed a waits (PATCH refused); a is restored with its event lost.
    Before the PATCH goes out, a's path is stat'ed: a is found there and looked at, the
    relink is undone, and the copy is imported as new."""
    a, dup = A_PATH, COPY
    d, trashed = a_copy_waits_for_trashed_a()
    assert d.stored[dup].state == "relinking"
    d.disk[a] = trashed  # restored: no event
    tried, d.refusing = len(d.relinks), False
    d.advance(600)
    assert d.logs("project_relink_undone") and d.stored[a].state == "imported"
    assert all(new != dup for _, new in sent_since(d, tried)), "the session stays off the copy"
    assert items_sent(d).count(dup) == 1, "the copy is imported as new"


def test_a_patch_unanswered_at_a_stop_may_have_acted() -> None:
    """Seed 64194: a moved with its events lost, then copied; the copy is taken for a
    (a's path empty) and its PATCH goes out, but the daemon stops before the answer
    (SessionDock acted: the session is at the copy's path). That PATCH is counted on
    disk before it goes out, so after the restart a, found with the inode its session's
    project had, does not take back a session that may be the copy's now (the copy is
    still at its path): a is imported as new."""
    a, moved, dup = f"{ROOT}/a.als", f"{ROOT}/Done/a.als", f"{ROOT}/Done 2/a.als"
    d = refusing({a: "id-a", f"{ROOT}/other.als": "id-o"})
    d.refusing = False
    d.disk[moved] = d.disk.pop(a)  # no event
    d.disk[dup], d.identity[dup] = replace(d.disk[moved], inode=77), "id-a"
    d.hold_relinks = True  # the PATCH goes out; its answer never comes
    d.feed(ProjectChanged(ROOT, dup, False, d.now))
    d.advance(10)
    assert len(d.relinks) == 1, "the PATCH went out"
    assert d.stored[dup].state == "relinking" and d.stored[dup].attempts == 1
    d.identity[moved] = "id-a"
    again = started_again(d)
    assert not again.logs("project_relink_retaken")
    assert all(new != moved for _, new in sent_since(again, 0)), "the copy's session stays"
    # a is imported as new; the copy, its relink a guess, is sent its bytes once (118000211).
    assert sorted(items_sent(again)) == sorted([moved, dup]), "a is imported as new"


def test_a_refused_patch_did_not_act() -> None:
    """A PATCH is counted before it goes out (`attempts`); a refusal (not a lost answer)
    takes that back, so a copy's relink refused is still undone as never sent."""
    a, dup = f"{ROOT}/a.als", f"{ROOT}/Copy/a.als"
    d = refusing({a: "id-a", f"{ROOT}/other.als": "id-o"})
    d.disk.pop(a)
    d.feed(ProjectGone(ROOT, a, d.now))
    d.disk[dup], d.identity[dup] = sig(77), "id-a"
    d.feed(ProjectChanged(ROOT, dup, False, d.now))
    d.advance(10)
    assert d.relinks and d.stored[dup].state == "relinking"
    assert d.stored[dup].attempts == 0


def test_a_patch_held_back_by_a_failed_write_is_counted_once() -> None:
    """The write before a PATCH fails (disk full): the PATCH is built again once a write
    works, and counted once, as it went out once."""
    d = start(a="id-a")
    d.hold_relinks = True
    d.fail_before_send = 1
    move(d, f"{ROOT}/a.als", f"{ROOT}/b.als")
    d.advance(60)
    assert len(d.relinks) == 1
    assert d.stored[f"{ROOT}/b.als"].attempts == 1


def test_a_copy_moved_again_after_a_patch_that_may_have_acted_still_may_have_it() -> None:
    """Seed 20878: a copy taken for a trashed a; its PATCH goes out and the daemon dies
    before the answer (SessionDock acted: the session is at the copy's path). After the
    restart the copy moves again, and a is restored at its path. The relink moved on
    keeps the count of that PATCH: a's session is pointed back at a (it may be at the
    copy's path), never assumed to have stayed at a's path."""
    a, dup, moved = f"{ROOT}/a.als", f"{ROOT}/Copy/a.als", f"{ROOT}/Moved/a.als"
    d = refusing({a: "id-a", f"{ROOT}/other.als": "id-o"})
    d.refusing = False
    trashed = d.disk.pop(a)
    d.feed(ProjectGone(ROOT, a, d.now))
    d.disk[dup], d.identity[dup] = replace(trashed, inode=77), "id-a"
    d.hold_relinks = True  # the PATCH goes out; its answer never comes
    d.feed(ProjectChanged(ROOT, dup, False, d.now))
    d.advance(10)
    assert len(d.relinks) == 1 and d.stored[dup].attempts == 1
    again = SlowProbes(Core.restore(settings(), d.stored.values(), d.meta), disk=dict(d.disk))
    again.identity = dict(d.identity)
    again.refusing = True  # SessionDock refuses PATCHes for now (503)
    again.feed(Started(wall=WALL0 + 60))
    again.advance(30)
    again.disk[moved], again.identity[moved] = again.disk.pop(dup), "id-a"
    again.feed(ProjectGone(ROOT, dup, again.now))
    again.feed(ProjectChanged(ROOT, moved, False, again.now))
    again.advance(30)
    assert again.stored[moved].state == "relinking" and again.stored[moved].attempts >= 1
    again.disk[a] = trashed  # restored
    again.feed(ProjectChanged(ROOT, a, False, again.now))
    again.advance(10)
    tried, again.refusing = len(again.relinks), False
    again.advance(600)
    assert sent_since(again, tried) == [(moved, a)], "the session is pointed back at a"
    assert again.stored[a].state == "imported" and again.stored[a].moved_from is None


def test_a_relink_by_path_never_takes_a_session_another_project_holds() -> None:
    """Seed 7301083: a copy took a's session (a's folder renamed, its events lost), and
    a, saved since (other bytes), imported anew, moved back to its first path before
    its own session was listed: the PATCH by path found, at that path, the session the
    copy holds (listed there as `projectOriginalPath`). Every session another record
    holds is out of a lookup by path's reach, whatever that record's content."""
    a, b, b_done = f"{ROOT}/a.als", f"{ROOT}/b.als", f"{ROOT}/Done/b.als"
    d = start(a="id-a", b="id-b")
    d.hold = True
    listing(d, Library(frozenset({a}), {a: "s-a"}), 60)
    assert d.stored[a].session_id == "s-a" and d.stored[b].session_id is None
    d.hold, d.hold_relinks = False, True
    move(d, b, b_done)
    [item] = d.relinks[-1].items
    assert item.session_id is None and item.old_path == b
    assert "s-a" in item.taken, "a's session: never b's"


@dataclass
class LosingAnswers(SlowProbes):
    """The next `lose` relinks act (as far as the test cares) but their answers are
    lost: a reset after the PATCH went out."""

    lose: int = 0

    def carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Relink) and self.lose:
            self.lose -= 1
            self.relinks.append(effect)
            reset = Failure("unreachable", "cannot reach SessionDock (reset)", "retrying")
            self.feed(RelinkAnswered(effect.request, Relinked((), sent=True), failure=reset))
        else:
            super().carry_out(effect)


OWN_PATHS = tuple(f"{ROOT}/{n}a.als" for n in ("", "Moved/", "Hook/", "Kite/"))


def a_copy_taken_after_a_patch_at_as_own_path() -> LosingAnswers:
    """Seed 75330's world up to the copy: a moved to Moved, its PATCH's answer lost; a
    moves on to Hook unseen and a copy of it (another inode) at Kite is taken for it."""
    a, moved, away, dup = OWN_PATHS
    d = LosingAnswers(Core.restore(settings(), (), {}))
    d.disk[a], d.identity[a] = sig(1), "id-a"
    d.disk[f"{ROOT}/other.als"], d.identity[f"{ROOT}/other.als"] = sig(2), "id-o"
    d.feed(Started(wall=WALL0))
    d.advance(10)
    d.lose, d.refusing = 1, True  # then SessionDock is starting (503): nothing acts
    d.disk[moved], d.identity[moved] = d.disk.pop(a), "id-a"
    d.feed(ProjectGone(ROOT, a, d.now))
    d.feed(ProjectChanged(ROOT, moved, False, d.now))
    d.advance(10)
    d.disk[away], d.identity[away] = d.disk.pop(moved), "id-a"  # no event
    d.disk[dup], d.identity[dup] = replace(d.disk[away], inode=77), "id-a"
    d.feed(ProjectChanged(ROOT, dup, False, d.now))
    d.advance(10)
    assert d.stored[dup].state == "relinking" and d.stored[dup].attempts == 1
    assert d.stored[dup].arrived_with == 1, "counted at a's own path, Moved"
    return d


def test_a_patch_that_may_have_acted_at_the_projects_own_path_does_not_keep_it_from_a_copy() -> (
    None
):
    """Seed 75330: a moved to Moved (seen); the PATCH for it goes out and its answer
    is lost (the session may be at Moved now). a moves on unseen, and a copy of it
    (another inode) is taken for it, Moved being empty: the relink, with that PATCH
    counted, is the copy's now. a comes back to Moved, with the inode its session's
    project had. The PATCH that may have acted put the session at a's path, never at
    the copy's: the relink is a's again (sent from where the session was imported),
    and the copy is imported as new, never given a's session."""
    a, moved, away, dup = OWN_PATHS
    d = a_copy_taken_after_a_patch_at_as_own_path()
    d.disk[moved] = d.disk.pop(away)  # back, unseen; a walk finds it
    d.feed(ProjectChanged(ROOT, moved, False, d.now))
    d.advance(10)
    assert d.stored[moved].state == "relinking" and d.logs("project_relink_retaken")
    tried, d.refusing = len(d.relinks), False
    d.advance(600)
    assert sent_since(d, tried) == [(a, moved)], "the session stays with a, not the copy"
    assert items_sent(d).count(dup) == 1, "the copy is imported as new"


def test_a_patch_that_may_have_acted_at_the_projects_own_path_counts_so_after_a_restart() -> None:
    """Seed 75330's rule across a restart: the copy taken for a (its relink counting a
    PATCH sent while it was at a's own path, Moved); the daemon stops, and a comes back
    to Moved meanwhile. That count is on disk with the relink (`arrived_with`): those
    PATCHes never put the session at the copy's path, so after the restart a takes the
    relink back, and the copy is imported as new."""
    a, moved, away, dup = OWN_PATHS
    d = a_copy_taken_after_a_patch_at_as_own_path()
    d.disk[moved] = d.disk.pop(away)  # back while the daemon is stopped
    again = started_again(d)
    assert again.logs("project_relink_retaken")
    assert sent_since(again, 0) == [(a, moved)], "the session stays with a, not the copy"
    assert items_sent(again) == [dup], "the copy is imported as new"


def test_a_copys_patch_counted_after_it_arrived_keeps_the_session_after_a_restart() -> None:
    """The guard beside it: the copy's own PATCH goes out from the copy's path and the
    daemon dies before its answer (it may have put the session there): after the
    restart, a found back at Moved does not take the relink back (a is new)."""
    _, moved, away, dup = OWN_PATHS
    d = a_copy_taken_after_a_patch_at_as_own_path()
    d.refusing, d.hold_relinks = False, True
    d.advance(600)
    assert d.stored[dup].attempts == 2 and d.stored[dup].arrived_with == 1
    d.disk[moved] = d.disk.pop(away)
    again = started_again(d)
    assert not again.logs("project_relink_retaken")
    assert all(new != moved for _, new in sent_since(again, 0)), "the copy's session stays"
    assert moved in items_sent(again), "a is imported as new"


def test_a_version_8_database_opens_and_stores_the_count(tmp_path: Path) -> None:
    """Schema 9 adds `arrived_with`: an older record has none (it behaves as before a
    restart did: the copy keeps the relink); anything unreadable counts as none."""
    from watcher.state import State
    from watcher.state_rows import SCHEMA_VERSION

    dup = OWN_PATHS[3]
    path = tmp_path / "state.sqlite3"
    record = a_copy_taken_after_a_patch_at_as_own_path().stored[dup]
    state = State(path)
    state.apply([Persist(upserts=(replace(record, arrived_with=0),))])
    state.db.execute("ALTER TABLE projects DROP COLUMN arrived_with")  # as version 8 had it
    state.db.execute("UPDATE meta SET value = '8' WHERE key = 'schema_version'")
    state.db.commit()
    state.close()
    state = State(path)
    [old] = state.load()[0]
    assert old == replace(record, arrived_with=0)
    state.apply([Persist(upserts=(record,))])
    assert [r.arrived_with for r in state.load()[0]] == [1]
    state.db.execute("UPDATE projects SET arrived_with = 'one' WHERE path = ?", (dup,))
    state.close()
    again = State(path, readonly=True)
    assert [r.arrived_with for r in again.load()[0]] == [0]
    assert again.get_meta("schema_version") == SCHEMA_VERSION >= 9
    again.close()


def test_a_copy_whose_patch_may_have_acted_never_retakes_the_session_it_gave_back() -> None:
    """The guard beside seed 75330's rule: a trashed; a copy taken for it, its PATCH's
    answer lost (the session may be at the copy's path). a restored at its path takes
    the relink back (the session pointed back at a). The copy, moved on unseen and
    found elsewhere with the inode that relink moves the session from, is new: the
    PATCH that may have acted was the copy's own, sent from its path, and the session
    is a's."""
    a, dup, dup2 = f"{ROOT}/a.als", f"{ROOT}/Copy/a.als", f"{ROOT}/Copy 2/a.als"
    d = LosingAnswers(Core.restore(settings(), (), {}))
    d.disk[a], d.identity[a] = sig(1), "id-a"
    d.disk[f"{ROOT}/other.als"], d.identity[f"{ROOT}/other.als"] = sig(2), "id-o"
    d.feed(Started(wall=WALL0))
    d.advance(10)
    trashed = d.disk.pop(a)
    d.feed(ProjectGone(ROOT, a, d.now))
    d.lose, d.refusing = 1, True
    d.disk[dup], d.identity[dup] = replace(trashed, inode=77), "id-a"
    d.feed(ProjectChanged(ROOT, dup, False, d.now))
    d.advance(10)
    assert d.stored[dup].state == "relinking" and d.stored[dup].attempts == 1
    d.disk[a] = trashed  # restored
    d.feed(ProjectChanged(ROOT, a, False, d.now))
    d.advance(10)
    assert d.stored[a].state == "relinking" and d.stored[a].moved_from == dup
    d.disk[dup2] = d.disk.pop(dup)  # moved on, unseen; a walk finds it
    d.identity[dup2] = "id-a"
    d.feed(ProjectChanged(ROOT, dup2, False, d.now))
    d.advance(10)
    assert not d.logs("project_relink_retaken")
    tried, d.refusing = len(d.relinks), False
    d.advance(600)
    assert sent_since(d, tried) == [(dup, a)], "the session is pointed back at a"
    assert dup2 in items_sent(d), "the copy is imported as new"


def test_a_project_back_at_its_sessions_path_takes_it_back_from_the_copy_still_there() -> None:
    """Seeds 42004, 9701678 (by design; the simulator's checker held it against the
    core): a moved with its events lost, a copy (another inode) taken for it, whose
    PATCH goes out and the daemon stops before the answer (the session may be at the
    copy's path). a comes back to the path it left, with its inode; the copy stays
    where it is. The session is a's: pointed back at a's path (a no-op if the PATCH
    never acted, else taken off the copy, never left with it), and the copy is
    imported as new. Leaving it with the copy would import a beside a session that
    may still be at a's path, or move that session off a there."""
    a, moved, dup = f"{ROOT}/a.als", f"{ROOT}/Done/a.als", f"{ROOT}/Done 2/a.als"
    d = refusing({a: "id-a", f"{ROOT}/other.als": "id-o"})
    d.refusing = False
    d.disk[moved] = d.disk.pop(a)  # no event
    d.disk[dup], d.identity[dup] = replace(d.disk[moved], inode=77), "id-a"
    d.hold_relinks = True  # the PATCH goes out; its answer never comes
    d.feed(ProjectChanged(ROOT, dup, False, d.now))
    d.advance(10)
    assert d.stored[dup].state == "relinking" and d.stored[dup].attempts == 1
    d.disk[a], d.identity[a] = d.disk.pop(moved), "id-a"  # moved back, no event
    again = started_again(d)
    assert again.logs("project_relink_undone")
    assert sent_since(again, 0) == [(dup, a)], "the session is pointed back at a"
    assert items_sent(again) == [dup], "the copy is imported as new"
    assert again.stored[a].state == "imported" and again.stored[dup].state == "imported"
