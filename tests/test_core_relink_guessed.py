"""A copy taken for a project gone (a guessed relink: not the inode its session's
project had) never moves that session away from a file at the session's path
(simulator seeds 6612826, 5511109; README "Moves and renames": never relink a project
whose original is still there).

A project moved back to its session's path and saved there (a new inode) before it was
probed is taken for a twin moved onto the path it left, queued as new, while the relink
kept its inode; once that relink would be a copy's, the file there keeps the session. A
project restored at its session's path while a copy's PATCH is out is queued as new
(the answer decides); that answer lost (or the PATCH refused), the project keeps its
session and the copy is imported as new, never sent again: once the project is looked
at, if it was being looked at then, and after a restart too (what is on disk says so).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.test_core import ROOT
from tests.test_core_relink_sweep import SlowProbes, refusing, sent_since, started_again
from tests.test_core_volumes import items_sent
from watcher.core.effects import Relink
from watcher.core.inputs import (
    Failure,
    ProjectChanged,
    ProjectGone,
    RelinkAnswered,
    Relinked,
)
from watcher.core.records import Signature


def test_a_copy_never_takes_the_session_of_a_project_back_and_saved_at_its_path() -> None:
    """Seed 6612826: a moved (its PATCH refused), then moved back and saved (a new
    inode, new bytes) before it was looked at: a twin to the core, queued as new. Its
    gone event at the path it had left lost, that path is then found empty, and a copy
    of a's old bytes (another inode) is found. The session stays at a's path."""
    home, away, dup = f"{ROOT}/a.als", f"{ROOT}/Done/a.als", f"{ROOT}/Done/a copy.als"
    d = refusing({home: "id-a", f"{ROOT}/other.als": "id-o"})
    first = d.disk[home]
    d.disk[away] = d.disk.pop(home)
    d.identity[away] = "id-a"
    d.feed(ProjectGone(ROOT, home, d.now))
    d.feed(ProjectChanged(ROOT, away, False, d.now))
    d.advance(10)
    assert d.stored[away].state == "relinking" and d.stored[away].moved_from == home
    d.disk[home], d.identity[home] = replace(d.disk.pop(away), inode=99, size=999), "id-a 2"
    d.feed(ProjectChanged(ROOT, home, False, d.now))  # back and saved; away's event lost
    d.advance(10)
    assert d.stored[home].state == "pending", "taken for a twin: the relink kept its inode"
    d.feed(ProjectGone(ROOT, away, d.now))
    d.advance(1)
    d.disk[dup], d.identity[dup] = replace(first, inode=77), "id-a"
    d.feed(ProjectChanged(ROOT, dup, False, d.now))
    d.advance(10)
    assert d.stored[dup].state != "relinking", "the copy does not take the session"
    tried, d.refusing = len(d.relinks), False
    d.advance(600)
    assert all(new != dup for _, new in sent_since(d, tried)), "the session stays off the copy"
    assert items_sent(d).count(dup) == 1, "the copy is imported as new"


HOME, DUP = f"{ROOT}/a.als", f"{ROOT}/Done/a copy.als"


def a_copy_taken_for_it_trashed(d: SlowProbes, home: str, dup: str) -> Signature:
    """a (at `home`) trashed, then a copy of it with another inode found at `dup`:
    taken for it (a guessed relink). Returns a's signature, to restore it with."""
    trashed = d.disk.pop(home)
    d.feed(ProjectGone(ROOT, home, d.now))
    d.disk[dup], d.identity[dup] = replace(trashed, inode=77), "id-a"
    d.feed(ProjectChanged(ROOT, dup, False, d.now))
    d.advance(10)
    return trashed


def restored_while_the_copys_patch_is_out() -> tuple[SlowProbes, Relink, Signature]:
    """a trashed; a copy of it (another inode) taken for it, its PATCH out (held) when
    a is restored at its path with its inode: queued as new, the answer decides.
    Returns the driver, that PATCH, and a's signature."""
    d = refusing({HOME: "id-a", f"{ROOT}/other.als": "id-o"})
    d.refusing, d.hold_relinks = False, True
    trashed = a_copy_taken_for_it_trashed(d, HOME, DUP)
    assert d.stored[DUP].state == "relinking" and d.stored[DUP].attempts == 1
    out = d.relinks[-1]
    assert [(i.old_path, i.new_path) for i in out.items] == [(HOME, DUP)], "a guess, sent"
    d.disk[HOME] = trashed
    d.feed(ProjectChanged(ROOT, HOME, False, d.now))
    d.advance(10)
    assert d.stored[HOME].state == "pending", "the PATCH is out: the answer decides"
    return d, out, trashed


def its_answer_lost(d: SlowProbes, out: Relink) -> None:
    """The copy's PATCH `out` is answered with a timeout (it may have acted): the
    session is pointed back at a, and the copy's PATCH is never sent again."""
    d.hold_relinks = False
    lost = Failure("unreachable", "cannot reach SessionDock (timeout)", "retrying")
    d.feed(RelinkAnswered(out.request, Relinked((), sent=True), failure=lost))
    tried = len(d.relinks)
    d.advance(600)
    again = sent_since(d, tried)
    assert (HOME, DUP) not in again, "the copy's PATCH is never sent again"
    assert (DUP, HOME) in again, "the session is pointed back at a (the PATCH may have acted)"


def test_a_project_restored_while_a_copys_patch_is_out_keeps_its_session() -> None:
    """Seed 5511109: a trashed; a copy of it (another inode) taken for it, its PATCH
    out when a is restored at its path with its inode: queued as new meanwhile. The
    PATCH's answer is lost (it may have acted): the session is pointed back at a, the
    copy imported as new; the copy's PATCH is never sent again."""
    home, dup = HOME, DUP
    d, out, _ = restored_while_the_copys_patch_is_out()
    its_answer_lost(d, out)
    assert items_sent(d).count(dup) == 1, "the copy is imported as new"
    assert items_sent(d).count(home) == 1, "a is never imported again"


@pytest.mark.parametrize("refused", [False, True], ids=["unanswered", "refused"])
def test_a_project_restored_while_a_copys_patch_is_out_keeps_it_after_a_restart(
    refused: bool,
) -> None:
    """Seed 5511109's window across a restart: a trashed; a copy of it (another inode)
    taken for it, its PATCH out when a is restored at its path with its inode (queued
    as new); the daemon dies before the answer (the PATCH may have acted), or after a
    refusal, while it waits for SessionDock. What is on disk says so: the copy's relink
    did not keep the inode it was taken for, and at the path it moves the session from
    is a project queued with no session and that inode (back while no PATCH was out,
    it would have undone the relink at once). After the restart the project keeps its
    session (pointed back at it if the PATCH may have acted), the copy is imported as
    new, and its PATCH is never sent again."""
    home, dup = HOME, DUP
    d, out, _ = restored_while_the_copys_patch_is_out()
    if refused:
        down = Failure("server", "HTTP 503 unavailable: starting", "check SessionDock")
        d.feed(RelinkAnswered(out.request, Relinked(()), failure=down))
        assert d.stored[dup].attempts == 0 and d.stored[home].state == "pending"
    again = started_again(d)
    sent = sent_since(again, 0)
    assert (home, dup) not in sent, "the copy's PATCH is never sent again"
    assert sent == ([] if refused else [(dup, home)]), "pointed back at a if it may have acted"
    assert items_sent(again) == [dup], "the copy is imported as new, a never"
    assert again.stored[home].state == "imported" and again.stored[dup].state == "imported"


def test_a_project_restored_while_a_copys_patch_is_out_and_saved_when_it_fails_keeps_it() -> None:
    """Seed 5511109's window, the project being looked at when the answer comes: a
    restored while the copy's PATCH is out, then saved; the PATCH's answer is lost
    during a's quiet period. The relink waits for a to be looked at, then is undone as
    before: the session is pointed back at a, and the copy is imported as new."""
    home, dup = HOME, DUP
    d, out, trashed = restored_while_the_copys_patch_is_out()
    d.disk[home], d.identity[home] = replace(trashed, size=999), "id-a saved"
    d.feed(ProjectChanged(ROOT, home, False, d.now))  # saved: a quiet period
    its_answer_lost(d, out)
    assert items_sent(d).count(dup) == 1, "the copy is imported as new"
    assert d.stored[home].state == "imported"


def test_a_copy_moved_on_after_its_patch_found_the_session_keeps_it_after_a_restart() -> None:
    """The history that leaves the same rows behind as seed 5511109's window, and is
    not read as it: a restored while the copy's PATCH is out, the copy moves on, then
    that PATCH is answered 2xx (the session is the copy's: the next PATCH, for its new
    path, goes by the id it found), and the daemon dies with that next PATCH out. The
    relink moved on while a PATCH was unsettled (`moved_also`), so the order of a's
    return and the answer cannot be read from disk: the copy keeps its relink after
    the restart, as without one, and a is imported as new."""
    home, dup, dup2 = f"{ROOT}/a.als", f"{ROOT}/Done/a copy.als", f"{ROOT}/Kite/a copy.als"
    d = refusing({home: "id-a", f"{ROOT}/other.als": "id-o"})
    d.refusing, d.hold_relinks = False, True
    trashed = a_copy_taken_for_it_trashed(d, home, dup)
    out = d.relinks[-1]
    d.disk[home] = trashed  # restored, with its inode, while the PATCH is out
    d.feed(ProjectChanged(ROOT, home, False, d.now))
    d.advance(10)
    d.disk[dup2], d.identity[dup2] = d.disk.pop(dup), "id-a"  # the copy moves on
    d.feed(ProjectGone(ROOT, dup, d.now))
    d.feed(ProjectChanged(ROOT, dup2, False, d.now))
    d.advance(10)
    assert d.stored[dup2].state == "relinking" and d.stored[dup2].moved_from == home
    d.feed(RelinkAnswered(out.request, Relinked(((dup, "s1"),))))
    d.advance(10)
    assert d.relinks[-1] is not out, "the next PATCH, for the copy's new path, is out"
    assert d.stored[home].state == "pending" and d.stored[dup2].session_id == "s1"
    again = started_again(d)
    assert not again.logs("project_relink_undone")
    assert all(new != home for _, new in sent_since(again, 0)), "the copy keeps the session"
    # a is imported as new; the copy, its relink a guess, is sent its bytes once (118000211).
    assert sorted(items_sent(again)) == sorted([home, dup2]), "a is imported as new"


def test_another_project_moved_onto_a_guessed_relinks_path_keeps_its_own_session() -> None:
    """Seed 9008788: a trashed; a copy of it (another inode) is taken for it, its PATCH
    refused. Then b, another imported project, moves onto a's path: its inode and its
    bytes are those of b's record, missing. That file is b moved, not a back: b's own
    session follows it there, and the copy keeps the one it was taken for (its PATCH
    leaves a's path). Undone, b took a's session and left its own at a path nothing is
    at, and the copy was imported as new."""
    home, dup, b = f"{ROOT}/a.als", f"{ROOT}/a copy.als", f"{ROOT}/Copy/a.als"
    d = refusing({home: "id-a", b: "id-b", f"{ROOT}/other.als": "id-o"})
    a_copy_taken_for_it_trashed(d, home, dup)
    assert d.stored[dup].state == "relinking", "a's path is empty: the copy is taken for a"
    d.disk[home], d.identity[home] = d.disk.pop(b), "id-b"  # b moved onto a's path
    d.feed(ProjectGone(ROOT, b, d.now))
    d.feed(ProjectChanged(ROOT, home, False, d.now))
    d.advance(10)
    assert not d.logs("project_relink_undone"), "the file at a's path is b, moved"
    tried, d.refusing = len(d.relinks), False
    d.advance(600)
    assert sorted(sent_since(d, tried)) == [(b, home), (home, dup)]
    # The copy, its relink a guess, is sent its bytes once (118000211); a only at first.
    assert items_sent(d).count(dup) == 1 and items_sent(d).count(home) == 1
    assert d.stored[dup].state == d.stored[home].state == "imported"
    assert b not in d.stored


def test_a_relink_pointed_back_at_a_project_restored_is_not_read_as_a_guess_at_a_restart() -> None:
    """Seed 300059191: a trashed; a copy of it (another inode) taken for it, its PATCH's
    answer lost (it may have acted), then a restored at its path with its inode while no
    PATCH is out: the relink is undone at once, pointed back at a (from the copy's path,
    where the session may be), the copy queued as new. The daemon dies before that
    PATCH. On disk, a's relink leaves the copy's path with the copy's inode, the copy
    queued with no session: the rows of seed 5511109's window, with the two swapped. a's
    relink is a's own file's (the inode its session was taken for), never read as a
    guess: the copy never takes the session back after the restart."""
    home, dup = HOME, DUP
    d = refusing({home: "id-a", f"{ROOT}/other.als": "id-o"})
    d.refusing, d.hold_relinks = False, True
    trashed = a_copy_taken_for_it_trashed(d, home, dup)
    out = d.relinks[-1]
    lost = Failure("unreachable", "cannot reach SessionDock (timeout)", "retrying")
    d.refusing, d.hold_relinks = True, False
    d.feed(RelinkAnswered(out.request, Relinked((), sent=True), failure=lost))
    d.advance(10)
    assert d.stored[dup].state == "relinking" and d.stored[dup].attempts == 1
    d.disk[home] = trashed  # restored with its inode, no PATCH out
    d.feed(ProjectChanged(ROOT, home, False, d.now))
    d.advance(10)
    assert d.stored[home].state == "relinking" and d.stored[home].moved_from == dup
    assert d.stored[dup].state == "pending", "the copy is queued as new"
    again = started_again(d)
    sent = sent_since(again, 0)
    assert (home, dup) not in sent, "the copy never takes the session back"
    assert sent == [(dup, home)], "pointed back at a (a PATCH may have acted)"
    assert items_sent(again) == [dup], "the copy is imported as new, a never"
    assert again.stored[home].state == "imported" and again.stored[dup].state == "imported"
