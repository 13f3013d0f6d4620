"""Session ids and folder tags in the core alone (issue 12, items 5 and 6).

The driver of tests/test_core.py with a SessionDock library that lists sessions (late,
when the test says so) and answers tag writes as the shell's tagger would.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from tests.test_core import FULL, ROOT, WALL0, Driver, project, settings, sig
from tests.test_core_moves import MovingDriver, move
from watcher.core import Core
from watcher.core.effects import AskHealth, AskLibrary, Effect, Persist, Probe, Relink, Send, Tag
from watcher.core.inputs import (
    Accepted,
    Failure,
    HealthAnswered,
    Library,
    LibraryAnswered,
    Probed,
    ProjectChanged,
    ProjectGone,
    RelinkAnswered,
    Relinked,
    ReloadRequested,
    SendAnswered,
    Started,
    TagDone,
    TagsAnswered,
)
from watcher.core.policy import Pause
from watcher.core.records import ProjectRecord
from watcher.core.sessions import tag_work, tags_left
from watcher.core.settings import SESSION_ID_PATIENCE_SECONDS
from watcher.relink import merged_tags

READ_ONLY = Failure("read_only", "HTTP 403 read_only: ...", "enable Full Automation")


@dataclass
class LibraryDriver(MovingDriver):
    """SessionDock's library: path -> (id, tags); a path in `hidden` is not listed yet."""

    sessions: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)
    listings: list[AskLibrary] = field(default_factory=list)
    """Listings for ids (a first run's catalog of the whole library aside)."""
    tags: list[Tag] = field(default_factory=list)
    hold_tags: bool = False
    tag_failure: Failure | None = None
    gone: set[str] = field(default_factory=set)
    """Session ids the user deleted."""

    def carry_out(self, effect: Effect) -> None:
        if isinstance(effect, AskLibrary) and not self.hold:
            if effect.among is not None:
                self.listings.append(effect)
            listed = {p: s for p, s in self.sessions.items() if p not in self.hidden}
            among = effect.among
            ids = {p: sid for p, (sid, _) in listed.items() if among is None or p in among}
            self.feed(LibraryAnswered(effect.request, Library(frozenset(ids), ids)))
        elif isinstance(effect, Probe) and effect.path in self.identity:  # in its own folder
            found = project(effect.path, effect.signature)
            found = replace(found, root=effect.root, identity=self.identity[effect.path])
            self.feed(Probed(effect.path, found))
        elif isinstance(effect, Relink):  # by its id, or found by the old path
            self.relinks.append(effect)
            relinked = []
            for moved in effect.items:
                sid = moved.session_id or self.sessions[moved.old_path][0]
                old = next(p for p, (s, _) in self.sessions.items() if s == sid)
                self.sessions[moved.new_path] = self.sessions.pop(old)
                relinked.append((moved.key, sid))
            self.feed(RelinkAnswered(effect.request, Relinked(tuple(relinked))))
        elif isinstance(effect, Tag):
            self.tags.append(effect)
            if self.hold_tags:
                return
            if self.tag_failure is not None:
                self.feed(TagsAnswered(effect.request, (), self.tag_failure))
                return
            done = []
            for item in effect.items:
                path = next(p for p, (sid, _) in self.sessions.items() if sid == item.session_id)
                sid, have = self.sessions[path]
                if sid in self.gone:
                    done.append(TagDone(item.key, sid, gone=True))
                    continue
                merged = merged_tags(have, item.tags) or have
                self.sessions[path] = (sid, merged)
                done.append(TagDone(item.key, sid, added=tuple(merged[len(have) :])))
            self.feed(TagsAnswered(effect.request, tuple(done)))
        else:
            if isinstance(effect, Send):  # SessionDock makes a session per new path
                for sent in effect.items:
                    self.sessions.setdefault(sent.project_path, (f"s{len(self.sessions)}", []))
            super().carry_out(effect)


def tagged(**tags: tuple[str, ...]) -> dict[str, Any]:
    """settings() overrides: folder_tags for ROOT (`ROOT=(...)`) or other roots."""
    return {"folder_tags": tuple((ROOT if k == "ROOT" else k, v) for k, v in tags.items())}


def start(
    records: tuple[ProjectRecord, ...] = (), user_tags: tuple[str, ...] = (), **kw: object
) -> LibraryDriver:
    """A core from these records, their files on disk and their sessions in SessionDock."""
    d = LibraryDriver(Core.restore(settings(**kw), records, {}))
    for r in records:
        d.disk[r.path] = r.signature
        d.sessions[r.project_path] = (r.session_id or "", list(user_tags))
    d.feed(Started(wall=WALL0))
    return d


def save(d: LibraryDriver, name: str, n: int = 1, ident: str | None = None) -> str:
    path = f"{ROOT}/{name}.als"
    d.disk[path] = sig(n)
    d.identity[path] = ident or f"id-{name}"
    d.feed(ProjectChanged(ROOT, path, False, d.now))
    return path


def imported(path: str, sid: str | None = None, **kw: object) -> ProjectRecord:
    record = ProjectRecord(**{**project(path).__dict__, "state": "imported", **kw})
    return replace(record, session_id=sid, imported_at=WALL0 - 60)


# --- session ids --------------------------------------------------------------------------


def test_ids_are_learned_after_imports_in_one_listing_and_a_relink_uses_them() -> None:
    d = start()
    paths = [save(d, f"song{n}", n) for n in range(30)]
    d.advance(10)
    assert sum(len(s.items) for s in d.sends()) == 30
    assert len(d.listings) == 1, "one listing for the whole batch, not one per project"
    assert d.listings[0].among == frozenset(paths)
    assert all(d.stored[p].session_id for p in paths)
    known = d.sessions[paths[0]][0]
    move(d, paths[0], f"{ROOT}/Done.als")
    [relink] = d.relinks
    assert relink.items[0].session_id == known, "the known id, no lookup"


def test_sessions_listed_late_are_looked_for_on_a_backoff_then_only_at_reconciliation() -> None:
    d = start()
    path = save(d, "late")
    d.hidden.add(path)  # SessionDock's background job has not made it yet
    d.advance(10)
    assert d.stored[path].session_id is None
    d.advance(20)
    times = len(d.listings)
    assert 3 <= times <= 6, "1 s, 2 s, 4 s, 8 s ... apart, not every turn"
    d.hidden.clear()
    d.advance(70)
    assert d.stored[path].session_id is not None
    settled = len(d.listings)
    d.advance(600)
    assert len(d.listings) == settled, "found: nothing more to look for"


@pytest.mark.parametrize("patience", [SESSION_ID_PATIENCE_SECONDS, 600.0])
def test_a_session_never_listed_is_not_looked_for_forever(patience: float) -> None:
    """For `sessiondock.session_id_patience_seconds` (30 minutes by default), then
    only at each reconciliation."""
    d = start(reconcile_interval_seconds=3 * patience, session_id_patience_seconds=patience)
    path = save(d, "failed in SessionDock")
    d.hidden.add(path)
    d.advance(patience + 120)
    quick = len(d.listings)
    assert quick <= 40
    d.advance(patience)
    assert len(d.listings) == quick, "given up until the next reconciliation"
    d.advance(patience + 10)
    assert len(d.listings) == quick + 1, "the reconciliation reads every id again"
    assert d.listings[-1].among == frozenset({path})


def test_a_reconciliation_refreshes_every_id() -> None:
    d = start(records=(imported(f"{ROOT}/a.als", "old-id"),), reconcile_interval_seconds=600)
    d.disk[f"{ROOT}/a.als"] = sig()
    d.sessions[f"{ROOT}/a.als"] = ("new-id", [])  # deleted and imported again by the user
    d.advance(601)
    assert d.listings and d.listings[-1].among == frozenset({f"{ROOT}/a.als"})
    assert d.stored[f"{ROOT}/a.als"].session_id == "new-id"


def test_adoption_keeps_the_catalogs_ids_and_lists_nothing_more() -> None:
    d = LibraryDriver(Core.restore(settings(), (), {}))
    for n in range(300):
        path = f"{ROOT}/s{n}.als"
        d.disk[path] = sig(n)
        d.sessions[path] = (f"id{n}", [])
    d.feed(Started(wall=WALL0))
    d.advance(60)
    assert not d.sends(), "SessionDock has every one: nothing is sent"
    assert not d.listings, "the catalog (one listing) gave every id"
    assert all(d.stored[f"{ROOT}/s{n}.als"].session_id == f"id{n}" for n in range(300))
    assert not d.tags


# --- tags ---------------------------------------------------------------------------------


def test_folder_tags_are_added_once_the_session_is_known_and_never_again() -> None:
    d = start(**tagged(ROOT=("Client A", "2024")))
    path = save(d, "song")
    d.hidden.add(path)
    d.advance(10)
    assert not d.tags, "the session is not listed yet"
    d.hidden.clear()
    d.advance(10)
    [write] = d.tags
    [item] = write.items
    assert item.tags == ("Client A", "2024") and item.session_id == d.sessions[path][0]
    assert d.sessions[path][1] == ["Client A", "2024"]
    [line] = d.logs("session_tagged")
    assert line.fields == {
        "session_id": item.session_id,
        "path": path,
        "tags": ["Client A", "2024"],
    }
    assert d.stored[path].tags_done == ("Client A", "2024") and d.meta["tagged"] == 1
    d.sessions[path] = (item.session_id, ["2024"])  # the user removed "Client A"
    d.advance(3 * 3600)
    assert len(d.tags) == 1, "a tag the user removed is not put back"


def test_tags_are_written_to_the_state_only_after_the_answer_and_redone_after_a_crash() -> None:
    d = start(**tagged(ROOT=("Client A",)))
    path = save(d, "song")
    d.hold_tags = True
    d.advance(10)
    [write] = d.tags
    at = d.effects.index(write)
    assert not any(
        isinstance(e, Persist) and any(r.tags_done for r in e.upserts) for e in d.effects[at:]
    )
    again = LibraryDriver(Core.restore(d.core.settings, d.stored.values(), d.meta))
    again.disk, again.sessions = dict(d.disk), d.sessions
    again.feed(Started(wall=WALL0 + 60))
    again.advance(10)
    assert [i.tags for t in again.tags for i in t.items] == [("Client A",)]
    assert again.sessions[path][1] == ["Client A"]


def test_untagged_folders_cost_no_tag_requests() -> None:
    d = start(**tagged(**{"/elsewhere": ("X",)}))
    save(d, "song")
    d.advance(3600)
    assert not d.tags


def test_tags_configured_later_reach_the_sessions_already_there() -> None:
    records = tuple(imported(f"{ROOT}/s{n}.als", f"id{n}") for n in range(3))
    d = start(records, user_tags=("mine",))
    d.advance(10)
    assert not d.tags
    d.feed(ReloadRequested(settings(**tagged(ROOT=("Client A",)))))
    d.advance(1)
    assert sorted(i.key for t in d.tags for i in t.items) == sorted(r.path for r in records)
    assert all(tags == ["mine", "Client A"] for _, tags in d.sessions.values())


def test_a_project_moved_to_another_folder_gains_its_tags_and_keeps_the_old_ones() -> None:
    other = "/other"
    base = settings(**tagged(ROOT=("A",), **{other: ("B",)}))
    base = replace(base, folders=(*base.folders, replace(base.folders[0], root=other)))
    d = LibraryDriver(Core.restore(base, (), {}))
    d.feed(Started(wall=WALL0))
    path = save(d, "song")
    d.advance(10)
    assert d.sessions[path][1] == ["A"]
    sid = d.sessions[path][0]
    new = f"{other}/song.als"
    d.disk[new], d.identity[new] = d.disk.pop(path), d.identity[path]
    d.feed(ProjectGone(ROOT, path, d.now))
    d.feed(ProjectChanged(other, new, False, d.now))
    d.advance(10)
    assert isinstance(d.relinks[-1], Relink)
    assert d.tags[-1].items[0].tags == ("B",) and d.tags[-1].items[0].session_id == sid
    assert d.sessions[new][1] == ["A", "B"], "the new folder's tags added, none removed"
    assert d.stored[new].tags_done == ("A", "B")


def test_a_deleted_session_drops_its_tag_work_with_one_line() -> None:
    records = (imported(f"{ROOT}/a.als", "gone-id"), imported(f"{ROOT}/b.als", "b-id"))
    d = LibraryDriver(Core.restore(settings(**tagged(ROOT=("A",))), records, {}))
    for r in records:
        d.disk[r.path] = r.signature
        d.sessions[r.path] = (r.session_id or "", [])
    d.gone.add("gone-id")
    d.feed(Started(wall=WALL0))
    d.advance(10)
    [line] = d.logs("tags_dropped")
    assert line.level == "warning" and line.fields["session_id"] == "gone-id"
    assert d.sessions[f"{ROOT}/b.als"][1] == ["A"]
    d.advance(2 * 3600)
    assert len(d.tags) == 1, "dropped, not retried"
    assert not d.sends(), "nor imported again"


def test_read_only_pauses_tag_writes_like_imports_and_they_resume() -> None:
    records = (imported(f"{ROOT}/a.als", "a-id"),)
    d = LibraryDriver(Core.restore(settings(**tagged(ROOT=("A",))), records, {}))
    d.disk[f"{ROOT}/a.als"] = records[0].signature
    d.sessions[f"{ROOT}/a.als"] = ("a-id", [])
    d.tag_failure = READ_ONLY
    d.feed(Started(wall=WALL0))
    d.hold = True  # health probes wait for the test
    d.advance(2)
    assert d.core.gate.pause is Pause.READ_ONLY
    assert d.logs("sending_paused")[-1].fields["reason"] == Pause.READ_ONLY.value
    tries = len(d.tags)
    d.advance(60)
    assert len(d.tags) == tries, "nothing written while read-only"
    health = next(e for e in reversed(d.held) if isinstance(e, AskHealth))
    d.tag_failure, d.hold = None, False
    d.feed(HealthAnswered(health.request, FULL))
    d.advance(5)
    assert d.sessions[f"{ROOT}/a.als"][1] == ["A"]
    assert d.logs("sending_resumed")


def test_a_refused_tag_list_is_logged_and_not_retried() -> None:
    records = (imported(f"{ROOT}/a.als", "a-id"),)
    d = LibraryDriver(Core.restore(settings(**tagged(ROOT=("bad,tag",))), records, {}))
    d.disk[f"{ROOT}/a.als"] = records[0].signature
    d.sessions[f"{ROOT}/a.als"] = ("a-id", [])
    d.hold_tags = True
    d.feed(Started(wall=WALL0))
    d.advance(2)
    [write] = d.tags
    d.feed(TagsAnswered(write.request, (TagDone(f"{ROOT}/a.als", "a-id", refused="bad tag"),)))
    d.advance(3600)
    assert len(d.tags) == 1 and d.logs("tags_refused")
    assert d.core.gate.pause is Pause.NONE


# --- the rules --------------------------------------------------------------------------------


def test_tags_left_ignores_case_and_a_new_session_starts_afresh() -> None:
    assert tags_left(("Client A", "2024"), ("client a",)) == ("2024",)
    s = settings(**tagged(ROOT=("A",)))
    record = imported(f"{ROOT}/a.als", "s1", tags_done=("A",), tags_session="s1")
    assert tag_work(record, s) == ()
    assert tag_work(replace(record, session_id="s2"), s) == ("A",), "another session"
    assert tag_work(replace(record, missing_since=1.0, tags_done=()), s) == ()
    assert tag_work(replace(record, state="pending", tags_done=()), s) == ()


def test_an_import_forgets_the_session_id_until_the_library_says_it_again() -> None:
    d = start(records=(imported(f"{ROOT}/a.als", "s-old", tags_done=("A",), tags_session="s-old"),))
    d.sessions[f"{ROOT}/a.als"] = ("s-new", [])  # the user deleted the old session
    d.disk[f"{ROOT}/a.als"] = sig(5)  # changed: imported again, a new session
    d.identity[f"{ROOT}/a.als"] = "changed"
    d.feed(ProjectChanged(ROOT, f"{ROOT}/a.als", False, d.now))
    d.feed(ReloadRequested(settings(**tagged(ROOT=("A",)))))
    d.advance(20)
    assert d.stored[f"{ROOT}/a.als"].session_id == "s-new"
    assert d.sessions[f"{ROOT}/a.als"][1] == ["A"], "the new session gets the tags"


def test_the_driver_is_the_plain_one_for_other_tests() -> None:
    assert issubclass(LibraryDriver, Driver)


def test_a_tag_write_held_back_by_a_failed_write_is_built_again_at_the_reloaded_size() -> None:
    """Simulator seed 221001529: the ids of two sessions learned, the write before the
    tag write failed (a full disk) and a SIGHUP lowered batch_size to 1: the tag write
    was replayed as it was, with 2 items (as seed 93800 for a Send)."""
    d = start(batch_size=2, **tagged(ROOT=("mix",)))
    d.hold = True
    paths = [save(d, "a", 1), save(d, "b", 2)]
    d.advance(8)
    [send] = d.held
    d.held.clear()
    assert isinstance(send, Send) and len(send.items) == 2
    d.feed(SendAnswered(send.request, Accepted("imp_1", 2, 2)))
    d.advance(5)
    [ask] = [e for e in d.held if isinstance(e, AskLibrary)]  # for their ids
    d.held.clear()
    d.hold, d.full_disk = False, True
    ids = {p: d.sessions[p][0] for p in paths}
    d.feed(LibraryAnswered(ask.request, Library(frozenset(ids), ids)))
    assert not d.tags and d.logs("state_unavailable")
    d.feed(ReloadRequested(replace(d.core.settings, batch_size=1)))
    d.full_disk = False
    d.advance(60)
    assert [len(t.items) for t in d.tags] == [1, 1]
    assert all(d.sessions[p][1] == ["mix"] for p in paths)


def test_a_path_listed_only_as_an_original_waits_for_its_own_session_and_its_tags() -> None:
    """Simulator seed 270051224: a project moved back onto the path it was first
    imported at, imported there again, while its first session was relinked to a copy
    (whose record lost that id to an import SessionDock skipped). The listing for both
    ids, asked before the new session is listed, names FIRST only as the relinked
    session's `projectOriginalPath`: that id is the copy's, not FIRST's. FIRST takes
    none, is asked about again, and its own session gets the folder's tags (it was given
    the copy's, tagged it, and never asked about again: the listing that named its own
    told only the paths asked about)."""
    first, copy = f"{ROOT}/Verse.als", f"{ROOT}/Done/Verse.als"
    records = (
        imported(first),
        imported(copy, signature=sig(2), tags_done=("mix",), tags_session="session_1"),
    )
    d = start(records, **tagged(ROOT=("mix",)))
    d.sessions = {copy: ("session_1", ["mix"]), first: ("session_2", [])}
    d.hold = True
    d.advance(40)
    [ask] = [e for e in d.held if isinstance(e, AskLibrary)]
    assert ask.among == frozenset({first, copy})
    d.held.clear()
    d.hold = False
    # The new session at FIRST is not listed yet: FIRST is only session_1's original.
    ids = {first: "session_1", copy: "session_1"}
    d.feed(LibraryAnswered(ask.request, Library(frozenset(ids), ids, frozenset({first}))))
    assert d.core.table[copy].session_id == "session_1"
    assert d.core.table[first].session_id is None, "no session is at FIRST in that listing"
    assert not d.tags, "session_1 has the copy's tags already; FIRST's is not known yet"
    d.advance(30)
    assert d.listings and first in (d.listings[-1].among or ())
    assert d.stored[first].session_id == "session_2"
    assert [(i.key, i.session_id) for t in d.tags for i in t.items] == [(first, "session_2")]
    assert d.sessions[first][1] == ["mix"]
