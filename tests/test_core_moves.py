"""Moves in the core alone (issue 12): missing, relinked, ambiguous, a copy, a crash.

The driver of tests/test_core.py, with probes that report an identity (as the shell's
`watcher.identity` does) and a SessionDock that answers relinks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from tests.test_core import FULL, ROOT, WALL0, Driver, project, settings, sig
from watcher.core import Core
from watcher.core.effects import AskHealth, Effect, Persist, Probe, Relink, Send, Stat
from watcher.core.inputs import (
    Accepted,
    DirectoryChanged,
    DirectoryGone,
    Failure,
    HealthAnswered,
    Probed,
    ProjectChanged,
    ProjectGone,
    RelinkAnswered,
    Relinked,
    SendAnswered,
    Started,
)
from watcher.core.moves import MAX_ORIGINAL_STATS
from watcher.core.policy import Pause
from watcher.core.settings import LISTING_LAG_SECONDS


@dataclass
class MovingDriver(Driver):
    identity: dict[str, str] = field(default_factory=dict)
    """path -> content identity (what the probe reports)."""
    deleted_sessions: set[str] = field(default_factory=set)
    relinks: list[Relink] = field(default_factory=list)
    hold_relinks: bool = False

    def carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Probe) and effect.path in self.identity:
            found = replace(
                project(effect.path, effect.signature), identity=self.identity[effect.path]
            )
            self.feed(Probed(effect.path, found))
        elif isinstance(effect, Relink):
            self.relinks.append(effect)
            if not self.hold_relinks:
                done = tuple(
                    (i.key, None if i.old_path in self.deleted_sessions else f"s:{i.old_path}")
                    for i in effect.items
                )
                self.feed(RelinkAnswered(effect.request, Relinked(done)))
        else:
            super().carry_out(effect)


def start(**disk_ids: str) -> MovingDriver:
    d = MovingDriver(Core.restore(settings(), (), {}))
    for n, (name, ident) in enumerate(sorted(disk_ids.items())):
        path = f"{ROOT}/{name}.als"
        d.disk[path], d.identity[path] = sig(n), ident
    d.feed(Started(wall=WALL0))
    d.advance(10)
    return d


def missing(d: MovingDriver, path: str) -> bool:
    return d.stored[path].missing_since is not None


def move(d: MovingDriver, old: str, new: str) -> None:
    d.disk[new] = d.disk.pop(old)
    d.identity[new] = d.identity[old]
    d.feed(ProjectGone(ROOT, old, d.now))
    d.feed(ProjectChanged(ROOT, new, False, d.now))
    d.advance(10)


def test_a_moved_project_is_relinked_not_imported() -> None:
    d = start(a="id-a", b="id-b")
    assert len(d.sends()) == 1
    move(d, "/studio/a.als", "/studio/Done a.als")
    [relink] = d.relinks
    [item] = relink.items
    assert (item.old_path, item.new_path) == ("/studio/a.als", "/studio/Done a.als")
    assert (item.old_title, item.new_title) == ("a", "Done a")
    assert len(d.sends()) == 1, "not imported again"
    record = d.stored["/studio/Done a.als"]
    assert record.state == "imported" and record.session_id == "s:/studio/a.als"
    assert "/studio/a.als" not in d.stored
    [line] = d.logs("project_relinked")
    assert line.fields == {
        "session_id": "s:/studio/a.als",
        "from": "/studio/a.als",
        "to": "/studio/Done a.als",
    }
    assert d.meta["relinked"] == 1


def test_the_relink_is_durable_before_it_is_sent_and_sent_again_after_a_crash() -> None:
    d = start(a="id-a")
    d.hold_relinks = True
    move(d, "/studio/a.als", "/studio/b.als")
    [relink] = d.relinks
    at = d.effects.index(relink)
    assert any(isinstance(e, Persist) for e in d.effects[:at])
    assert d.stored["/studio/b.als"].state == "relinking"
    # kill -9 with the PATCH unanswered: the next process patches, never imports
    again = MovingDriver(Core.restore(settings(), d.stored.values(), d.meta), disk=dict(d.disk))
    again.identity = dict(d.identity)
    again.feed(Started(wall=WALL0 + 60))
    again.advance(10)
    assert [i.new_path for r in again.relinks for i in r.items] == ["/studio/b.als"]
    assert not again.sends()
    assert again.stored["/studio/b.als"].state == "imported"


def test_a_renamed_folder_of_many_projects_is_all_relinks() -> None:
    d = start(**{f"Client/s{n}": f"id-{n}" for n in range(120)})
    assert sum(len(s.items) for s in d.sends()) == 120
    for path in [p for p in d.disk if p.startswith("/studio/Client/")]:
        new = path.replace("/Client/", "/Client B/")
        d.disk[new] = d.disk.pop(path)
        d.identity[new] = d.identity[path]
    d.feed(DirectoryGone(ROOT, "/studio/Client", d.now))
    d.feed(DirectoryChanged(ROOT, "/studio/Client B", d.now))
    d.advance(30)
    assert sum(len(r.items) for r in d.relinks) == 120
    assert all(len(r.items) <= 50 for r in d.relinks)
    assert sum(len(s.items) for s in d.sends()) == 120, "0 imports"
    assert d.core.table.missing_count() == 0


def test_a_copy_beside_its_original_is_new_and_ambiguity_is_not_guessed() -> None:
    d = start(a="same", b="same", c="id-c")
    d.disk["/studio/c copy.als"], d.identity["/studio/c copy.als"] = sig(9), "id-c"
    d.feed(ProjectChanged(ROOT, "/studio/c copy.als", False, d.now))
    d.advance(10)
    assert not d.relinks
    assert d.sends()[-1].items[0].project_path == "/studio/c copy.als"
    # a and b have one identity; both vanish, one appears: which one is it?
    for name in ("a", "b"):
        del d.disk[f"/studio/{name}.als"]
        d.feed(ProjectGone(ROOT, f"/studio/{name}.als", d.now))
    d.disk["/studio/x.als"], d.identity["/studio/x.als"] = sig(10), "same"
    d.feed(ProjectChanged(ROOT, "/studio/x.als", False, d.now))
    d.advance(10)
    assert not d.relinks
    assert d.logs("project_relink_ambiguous")
    assert d.sends()[-1].items[0].project_path == "/studio/x.als"


def test_a_deleted_project_is_missing_until_it_comes_back_and_a_lost_session_is_imported() -> None:
    d = start(a="id-a", b="id-b")
    gone = d.disk.pop("/studio/a.als")
    d.feed(ProjectGone(ROOT, "/studio/a.als", d.now))
    assert missing(d, "/studio/a.als")
    assert d.stored["/studio/a.als"].state == "imported"
    d.disk["/studio/a.als"] = replace(gone, inode=77)  # restored: a new inode
    d.feed(ProjectChanged(ROOT, "/studio/a.als", False, d.now))
    d.advance(10)
    assert not missing(d, "/studio/a.als")
    assert d.logs("project_back") and len(d.sends()) == 1
    # a reconciling walk that no longer finds b marks it missing
    del d.disk["/studio/b.als"]
    d.advance(3700)
    assert missing(d, "/studio/b.als")
    # b turns up elsewhere, but its session was deleted by the user: a new import (its
    # id was never listed here: the relink by path waits out the patience first, the
    # session perhaps not listed yet)
    d.deleted_sessions.add("/studio/b.als")
    d.disk["/studio/B/b.als"], d.identity["/studio/B/b.als"] = sig(1), "id-b"
    d.feed(ProjectChanged(ROOT, "/studio/B/b.als", False, d.now))
    d.advance(LISTING_LAG_SECONDS + 60)
    assert d.logs("project_relink_lost")
    assert d.sends()[-1].items[0].project_path == "/studio/B/b.als"
    assert d.stored["/studio/B/b.als"].state == "imported"


def test_a_failed_relink_pauses_like_an_import_and_is_retried() -> None:
    d = start(a="id-a")
    d.hold_relinks = True
    move(d, "/studio/a.als", "/studio/b.als")
    [relink] = d.relinks
    d.feed(RelinkAnswered(relink.request, Relinked(()), Failure("read_only", "403", "enable")))
    assert d.core.gate.pause is Pause.READ_ONLY
    assert d.stored["/studio/b.als"].state == "relinking"
    assert not [e for e in d.effects if isinstance(e, Send) and e.items[0].key == "/studio/b.als"]


def test_an_old_state_database_gains_the_relink_columns(tmp_path: Path) -> None:
    """A database written before issue 12 opens, keeps its rows, and stores identities."""
    import sqlite3

    from watcher.state import State
    from watcher.state_rows import SCHEMA

    path = tmp_path / "state.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    db.execute(
        "INSERT INTO projects (path, root, kind, title, project_type, project_path,"
        " generate_previews, size, mtime_ns, inode, state, updated_at)"
        " VALUES ('/s/a.als', '/s', 'Ableton', 'a', 'als', '/s/a.als', 1, 1, 2, 3, 'imported', 0)"
    )
    db.commit()
    db.close()
    state = State(path)
    [record] = state.load()[0]
    assert record.identity is None and record.missing_since is None
    state.apply([Persist(upserts=(replace(record, identity="1:ab", missing_since=5.0),))])
    assert state.missing() == (1, [("/s/a.als", 5.0)])
    assert State(path).load()[0][0].identity == "1:ab"
    state.close()


def test_a_move_whose_gone_event_was_lost_is_found_by_a_stat_of_the_original() -> None:
    d = start(a="id-a", b="id-b")
    d.disk["/studio/Done/a.als"] = d.disk.pop("/studio/a.als")  # no ProjectGone: lost
    d.identity["/studio/Done/a.als"] = "id-a"
    d.feed(ProjectChanged(ROOT, "/studio/Done/a.als", False, d.now))
    d.advance(10)
    assert any(isinstance(e, Stat) and e.path == "/studio/a.als" for e in d.effects)
    assert [i.new_path for r in d.relinks for i in r.items] == ["/studio/Done/a.als"]
    assert len(d.sends()) == 1
    # a copy made beside b: its original is still there, so the copy is imported
    d.disk["/studio/b copy.als"], d.identity["/studio/b copy.als"] = sig(5), "id-b"
    d.feed(ProjectChanged(ROOT, "/studio/b copy.als", False, d.now))
    d.advance(10)
    assert len(d.relinks) == 1
    assert d.sends()[-1].items[0].project_path == "/studio/b copy.als"
    assert not missing(d, "/studio/b.als")


def test_a_new_copy_of_a_template_saved_many_times_costs_no_stats() -> None:
    many = MAX_ORIGINAL_STATS + 1
    d = start(**{f"t{n}": "template" for n in range(many)})
    d.disk["/studio/c.als"], d.identity["/studio/c.als"] = sig(70), "template"
    before = len(d.effects)
    d.feed(ProjectChanged(ROOT, "/studio/c.als", False, d.now))
    d.advance(10)
    stats = {e.path for e in d.effects[before:] if isinstance(e, Stat)}
    assert stats == {"/studio/c.als"}
    assert d.sends()[-1].items[0].project_path == "/studio/c.als"


def test_a_project_moved_while_its_import_is_in_flight_waits_for_the_answer() -> None:
    """Gone while a request carries it: a move if that request is answered with a 2xx
    (the session exists), a new project if it failed. Never two sessions."""
    for answered in ("2xx", "failed"):
        d = start()
        d.hold = True
        d.disk["/studio/a.als"], d.identity["/studio/a.als"] = sig(1), "id-a"
        d.feed(ProjectChanged(ROOT, "/studio/a.als", False, d.now))
        d.advance(10)
        [send] = d.held
        assert isinstance(send, Send)
        move(d, "/studio/a.als", "/studio/b.als")
        assert not d.relinks and d.held == [send], "b waits for a's answer"
        d.held.clear()
        d.hold = False  # what the answer leads to (b looked at again, a listing) is answered
        if answered == "2xx":
            d.feed(SendAnswered(send.request, Accepted("imp-1", total=1)))
        else:
            d.feed(SendAnswered(send.request, Failure("server", "HTTP 503", "later")))
        d.advance(120)
        if answered == "2xx":
            assert [(i.old_path, i.new_path) for r in d.relinks for i in r.items] == [
                ("/studio/a.als", "/studio/b.als")
            ]
            assert len(d.sends()) == 1
        else:
            assert not d.relinks
            assert d.sends()[-1].items[0].project_path == "/studio/b.als"
            assert "/studio/a.als" not in d.stored
        assert d.stored["/studio/b.als"].state == "imported"


def test_a_change_not_yet_sent_moves_with_its_session() -> None:
    """An imported project saved, its re-import not delivered yet (SessionDock down),
    then moved: the session follows it (a relink), the old session is not orphaned,
    and the change is sent to it at its new path once relinked (a PATCH sends none)."""
    d = start(a="id-a")
    d.advance(60)  # its session's id learned from the library first
    d.hold = True
    d.disk["/studio/a.als"], d.identity["/studio/a.als"] = sig(5), "id-a2"
    d.feed(ProjectChanged(ROOT, "/studio/a.als", False, d.now))
    d.advance(10)
    [send] = d.held
    assert isinstance(send, Send)
    d.held.clear()
    d.feed(SendAnswered(send.request, Failure("server", "HTTP 503", "later")))
    assert d.stored["/studio/a.als"].state == "pending"
    d.hold = False
    move(d, "/studio/a.als", "/studio/b.als")
    d.advance(120)
    assert [(i.old_path, i.new_path) for r in d.relinks for i in r.items] == [
        ("/studio/a.als", "/studio/b.als")
    ]
    sent = [(s.request, i.project_path) for s in d.sends() for i in s.items]
    assert [p for _, p in sent] == ["/studio/a.als"] * 2 + ["/studio/b.als"]
    assert sent[-1][0] > d.relinks[0].request, "after the PATCH: to the session"
    assert d.stored["/studio/b.als"].state == "imported"
    assert "/studio/a.als" not in d.stored


def test_a_project_moved_again_or_saved_before_its_relink_is_answered() -> None:
    d = start(a="id-a")
    d.hold_relinks = True
    move(d, "/studio/a.als", "/studio/b.als")
    [first] = d.relinks
    d.disk["/studio/b.als"] = sig(8)  # saved at its new path: still the same session
    d.feed(ProjectChanged(ROOT, "/studio/b.als", False, d.now))
    d.advance(10)
    assert d.stored["/studio/b.als"].state == "relinking"
    move(d, "/studio/b.als", "/studio/c.als")  # and moved again, the PATCH still out
    d.hold_relinks = False
    d.feed(RelinkAnswered(first.request, Relinked((("/studio/b.als", "s-1"),))))
    d.advance(10)
    [again] = d.relinks[1:]
    [item] = again.items
    assert (item.session_id, item.old_path, item.new_path) == (
        "s-1",
        "/studio/a.als",
        "/studio/c.als",
    )
    assert d.stored["/studio/c.als"].state == "imported"
    assert len(d.sends()) == 1, "never imported again"


def test_identical_projects_moved_by_a_folder_rename_are_told_apart_by_their_paths() -> None:
    """A set and its copy (one identity) in a client folder that is renamed: each
    session follows its own project, by what the rename kept of their paths."""
    d = start(**{"Client/Song/s": "same", "Client/Copy/s": "same"})
    for name in ("Song", "Copy"):
        old, new = f"/studio/Client/{name}/s.als", f"/studio/Moved/{name}/s.als"
        d.disk[new], d.identity[new] = d.disk.pop(old), "same"
    d.feed(DirectoryGone(ROOT, "/studio/Client", d.now))
    d.feed(DirectoryChanged(ROOT, "/studio/Moved", d.now))
    d.advance(30)
    pairs = sorted((i.old_path, i.new_path) for r in d.relinks for i in r.items)
    assert pairs == [
        ("/studio/Client/Copy/s.als", "/studio/Moved/Copy/s.als"),
        ("/studio/Client/Song/s.als", "/studio/Moved/Song/s.als"),
    ]
    assert len(d.sends()) == 1 and not d.logs("project_relink_ambiguous")


def test_the_hourly_summary_counts_the_hours_relinks_and_the_missing() -> None:
    d = start(a="id-a", b="id-b")
    move(d, "/studio/a.als", "/studio/a2.als")
    del d.disk["/studio/b.als"]
    d.feed(ProjectGone(ROOT, "/studio/b.als", d.now))
    d.advance(3600)
    first = d.logs("summary")[-1].fields
    assert (first["relinked"], first["missing"]) == (1, 1)
    d.advance(3600)
    assert d.logs("summary")[-1].fields["relinked"] == 0, "per hour"


def test_a_copy_found_before_the_moved_project_by_one_walk_does_not_take_its_session() -> None:
    """Copied, then moved, while the daemon was stopped (simulator seed 2311): one walk
    finds both with the same bytes, the copy first. The move kept the inode: the moved
    one is relinked, the copy imported as new."""
    d = start(a="id-a")
    again = MovingDriver(Core.restore(settings(), d.stored.values(), d.meta), disk=dict(d.disk))
    again.identity = dict(d.identity)
    original = again.disk.pop("/studio/a.als")
    again.disk["/studio/Done/a.als"] = original  # moved: same inode
    again.disk["/studio/A copy.als"] = replace(original, inode=99)  # copied: a new one
    again.identity["/studio/Done/a.als"] = again.identity["/studio/A copy.als"] = "id-a"
    again.feed(Started(wall=WALL0 + 60))
    again.advance(30)
    assert [(i.old_path, i.new_path) for r in again.relinks for i in r.items] == [
        ("/studio/a.als", "/studio/Done/a.als")
    ]
    assert [i.project_path for s in again.sends() for i in s.items] == ["/studio/A copy.als"]


def test_a_project_back_at_its_sessions_path_before_the_patch_undoes_the_relink() -> None:
    """The project trashed, a duplicate of the same bytes made (taken for it: a relink,
    not sent while SessionDock is away), the project restored (simulator seed 1870):
    its session stays at its path, never patched, and the duplicate is imported as new."""
    d = start(a="id-a")
    d.hold_relinks = True
    trashed = d.disk.pop("/studio/a.als")
    d.feed(ProjectGone(ROOT, "/studio/a.als", d.now))
    d.disk["/studio/a 2.als"], d.identity["/studio/a 2.als"] = replace(trashed, inode=50), "id-a"
    d.feed(ProjectChanged(ROOT, "/studio/a 2.als", False, d.now))
    d.advance(10)
    [relink] = d.relinks
    d.hold = True  # SessionDock read-only a while: health probes unanswered
    d.feed(RelinkAnswered(relink.request, Relinked(()), Failure("read_only", "403", "enable")))
    d.disk["/studio/a.als"] = replace(trashed, inode=60)  # restored: another inode
    d.feed(ProjectChanged(ROOT, "/studio/a.als", False, d.now))
    d.advance(30)
    d.hold = False
    for held in d.held:
        assert isinstance(held, AskHealth)
        d.feed(HealthAnswered(held.request, FULL))
    d.advance(120)
    assert len(d.relinks) == 1, "the PATCH is never sent again"
    assert d.stored["/studio/a.als"].state == "imported"
    assert d.stored["/studio/a.als"].moved_from is None
    assert d.logs("project_relink_undone")
    assert [i.project_path for s in d.sends() for i in s.items] == [
        "/studio/a.als",
        "/studio/a 2.als",
    ]


def test_of_two_identical_missing_projects_the_one_whose_inode_came_back_is_relinked() -> None:
    """A set and its copy both gone, one back under another name (simulator seed 2862,
    where the paths even pointed at the wrong one): the inode a move keeps tells."""
    d = start(**{"Song/a": "same", "Song/b": "same"})
    for old in ("/studio/Song/a.als", "/studio/Song/b.als"):
        del d.disk[old]  # kept aside below
    d.feed(ProjectGone(ROOT, "/studio/Song/a.als", d.now))
    d.feed(ProjectGone(ROOT, "/studio/Song/b.als", d.now))
    b_inode = d.stored["/studio/Song/b.als"].signature
    # b is back in the set's folder under another name; a is elsewhere, not found yet
    d.disk["/studio/Song/c.als"], d.identity["/studio/Song/c.als"] = b_inode, "same"
    d.feed(ProjectChanged(ROOT, "/studio/Song/c.als", False, d.now))
    d.advance(10)
    assert [(i.old_path, i.new_path) for r in d.relinks for i in r.items] == [
        ("/studio/Song/b.als", "/studio/Song/c.als")
    ]
