"""Every path a relink's session may be at is kept while a PATCH that may have acted is
unsettled (`ProjectRecord.moved_also`; simulator seed 87666: an earlier session left
behind).

A PATCH whose answer is lost may have moved the session, or not. Moved from HOME to
AWAY, its PATCH lost, the session is at HOME or AWAY; moved back to HOME, the next PATCH
goes from AWAY (where it may be) to HOME. Moved on to THIRD, the record kept AWAY only:
HOME, where the session still was, was forgotten. The project then back at HOME (saved
meanwhile: new bytes, the same file) was not the session's project but a new one, queued
as new, and the session at HOME stayed behind: two sessions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from tests.test_core import ROOT, WALL0, settings, sig
from tests.test_core_moves import MovingDriver, move
from watcher.core import Core
from watcher.core.effects import Effect, Persist, Relink
from watcher.core.inputs import (
    Failure,
    ProjectChanged,
    ProjectGone,
    RelinkAnswered,
    Relinked,
    Started,
)
from watcher.relinker import SessionListing

HOME, AWAY, THIRD = f"{ROOT}/a.als", f"{ROOT}/Renamed.als", f"{ROOT}/Done/a.als"
REFUSED = Failure("unreachable", "cannot reach SessionDock (refused)", "retrying")
TIMEOUT = Failure("unreachable", "cannot reach SessionDock (timeout)", "retrying")


@dataclass
class DownDriver(MovingDriver):
    down: bool = False
    """SessionDock refuses the connection: a relink fails before its PATCH goes out."""

    def carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Relink) and self.down:
            self.relinks.append(effect)
            self.feed(RelinkAnswered(effect.request, Relinked((), sent=False), failure=REFUSED))
        else:
            super().carry_out(effect)


def away_back_and_on() -> DownDriver:
    """Imported at HOME; moved to AWAY, its PATCH's answer lost (it may have acted);
    back at HOME and on to THIRD while SessionDock is down (nothing else acts)."""
    d = DownDriver(Core.restore(settings(), (), {}))
    d.disk[HOME], d.identity[HOME] = sig(1), "id-a"
    d.feed(Started(wall=WALL0))
    d.advance(10)
    d.hold_relinks = True
    move(d, HOME, AWAY)
    [lost] = d.relinks
    d.feed(RelinkAnswered(lost.request, Relinked((), sent=True), failure=TIMEOUT))
    assert d.stored[AWAY].attempts == 1
    d.down = True
    move(d, AWAY, HOME)
    assert d.stored[HOME].state == "relinking" and d.stored[HOME].moved_from == AWAY
    move(d, HOME, THIRD)
    return d


def test_a_relink_moved_on_keeps_every_path_its_session_may_be_at() -> None:
    d = away_back_and_on()
    record = d.stored[THIRD]
    assert record.state == "relinking" and record.attempts == 1
    assert (record.moved_from, record.moved_also) == (AWAY, (HOME,))
    d.down = d.hold_relinks = False
    d.advance(120)
    item = d.relinks[-1].items[0]
    assert (item.old_path, item.also_paths, item.new_path) == (AWAY, (HOME,), THIRD)
    assert d.stored[THIRD].state == "imported" and d.stored[THIRD].moved_also == ()


def test_the_project_back_at_a_path_its_session_may_be_at_keeps_that_session() -> None:
    """Seed 87666: back at HOME, saved meanwhile (new bytes, the same file), while
    SessionDock is down: the session's project (its relink goes to HOME, looking at
    AWAY and THIRD too), never a new one queued at HOME beside its session there."""
    d = away_back_and_on()
    d.disk[HOME] = replace(d.disk.pop(THIRD), size=999)
    d.identity[HOME] = "id-a-saved"
    d.feed(ProjectGone(ROOT, THIRD, d.now))
    d.feed(ProjectChanged(ROOT, HOME, False, d.now))
    d.advance(30)
    assert len(d.sends()) == 1, "not imported again beside its session"
    record = d.stored[HOME]
    assert record.state == "relinking" and THIRD not in d.stored
    assert {record.moved_from, *record.moved_also} == {AWAY, THIRD}
    d.down = d.hold_relinks = False
    d.advance(120)
    item = d.relinks[-1].items[0]
    assert item.new_path == HOME and {item.old_path, *item.also_paths} == {AWAY, THIRD}
    # Its saved bytes are sent to its session there once relinked: a PATCH sends none.
    assert d.stored[HOME].state == "imported" and len(d.sends()) == 2
    assert d.sends()[-1].items[0].project_path == HOME
    assert d.sends()[-1].request > d.relinks[-1].request


def test_a_new_project_at_a_path_the_session_may_be_at_waits_for_the_relink() -> None:
    """Another project put at HOME while the relink may still find its session there
    (its PATCH found none yet: not listed, asked again later): SessionDock would skip
    its import (a session at that path), then the PATCH would take that session away;
    it waits for the relink's answer (seed 56696's rule, for every such path)."""
    d = away_back_and_on()
    d.down = d.hold_relinks = False
    d.deleted_sessions.add(AWAY)  # the PATCH by path finds no session (not listed yet)
    d.advance(5)
    assert d.stored[THIRD].state == "relinking"
    d.disk[HOME], d.identity[HOME] = sig(7), "id-other"
    d.feed(ProjectChanged(ROOT, HOME, False, d.now))
    d.advance(30)
    assert d.stored[HOME].state == "pending" and len(d.sends()) == 1
    d.deleted_sessions.clear()
    d.advance(120)
    assert d.stored[THIRD].state == "imported"
    assert [i.project_path for s in d.sends()[1:] for i in s.items] == [HOME]


def test_the_lookup_by_path_tries_every_path_the_session_may_be_at() -> None:
    from watcher.api import Session
    from watcher.core.effects import RelinkItem

    at_home = Session("s1", "a", (), HOME, HOME)
    listing = SessionListing([at_home])
    item = RelinkItem(THIRD, None, AWAY, THIRD, "Renamed", "a")
    assert listing.find(item) is None
    assert listing.find(replace(item, also_paths=(HOME,))) is at_home
    taken = replace(item, also_paths=(HOME,), taken=frozenset({"s1"}))
    assert listing.find(taken) is None, "never a session another project holds"


def test_a_version_7_database_opens_and_stores_the_paths(tmp_path: Path) -> None:
    """Schema 8 adds `moved_also`: an older record has none (it behaves as before)."""
    from watcher.state import State
    from watcher.state_rows import SCHEMA_VERSION

    path = tmp_path / "state.sqlite3"
    record = away_back_and_on().stored[THIRD]
    state = State(path)
    state.apply([Persist(upserts=(replace(record, moved_also=()),))])
    state.db.execute("ALTER TABLE projects DROP COLUMN moved_also")  # as version 7 had it
    state.db.execute("UPDATE meta SET value = '7' WHERE key = 'schema_version'")
    state.db.commit()
    state.close()
    state = State(path)
    [old] = state.load()[0]
    assert old == replace(record, moved_also=())
    state.apply([Persist(upserts=(record,))])
    state.db.execute("UPDATE projects SET moved_also = 'not json' WHERE path = ?", (HOME,))
    state.close()
    again = State(path, readonly=True)
    assert [r.moved_also for r in again.load()[0]] == [(HOME,)]
    assert again.get_meta("schema_version") == SCHEMA_VERSION >= 8
    again.close()
