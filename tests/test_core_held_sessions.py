"""A session is one project's (issue 12, simulator seed 2345).

A project moved (its events lost), its folder copied, the copy relinked as the moved
project, then the original moved back to where it was first imported: SessionDock lists
the copy's session under that path too, as its `projectOriginalPath`. The original,
imported again there, has its own session, not listed yet when the core asks; neither
the ids the core learns nor the relinker's lookup by path may hand it the copy's.
"""

from __future__ import annotations

from watcher.api import Session
from watcher.core.effects import RelinkItem
from watcher.core.records import ProjectRecord, Signature
from watcher.core.table import Table
from watcher.relinker import SessionListing

FIRST = "/Music/Blue Room/Ballad.bwproject"
COPY = "/Music/Copy of Done/Ballad.bwproject"


def record(path: str, session_id: str | None) -> ProjectRecord:
    return ProjectRecord(
        path=path,
        root="/Music",
        kind="Custom",
        title="Ballad",
        project_type="bwproject",
        project_path=path,
        preview_path=None,
        generate_previews=True,
        signature=Signature(44, 1, 10 if path == FIRST else 13),
        state="imported",
        imported_at=1.0,
        identity="44:abc",
        session_id=session_id,
    )


def test_an_id_another_record_holds_is_not_learned_for_its_original_path() -> None:
    table = Table([record(COPY, "session_1"), record(FIRST, None)])
    # The listing as the core gets it: the copy's session under both of its paths.
    learned = table.set_session_ids({COPY: "session_1", FIRST: "session_1"})
    assert learned == 0
    assert table[FIRST].session_id is None
    assert table[COPY].session_id == "session_1"
    table.set_session_ids({FIRST: "session_2"})  # its own, once listed
    assert table[FIRST].session_id == "session_2"


def test_one_listing_never_gives_one_session_to_two_records() -> None:
    table = Table([record(COPY, None), record(FIRST, None)])
    assert table.set_session_ids({COPY: "session_1", FIRST: "session_1"}) == 1


def test_a_relink_without_an_id_names_the_sessions_other_projects_hold() -> None:
    table = Table([record(COPY, "session_1"), record(FIRST, None)])
    assert table.session_holders() == {"session_1": COPY}


def test_the_relinkers_lookup_by_path_skips_a_session_another_project_holds() -> None:
    copy = Session("session_1", "Ballad", (), COPY, FIRST)
    listing = SessionListing([copy])
    moved = "/Music/Done/Ballad.bwproject"
    item = RelinkItem(moved, None, FIRST, moved, "Ballad", "Ballad")
    assert listing.find(item) is copy  # what the lookup did: the copy's session
    held = RelinkItem(moved, None, FIRST, moved, "Ballad", "Ballad", frozenset({"session_1"}))
    assert listing.find(held) is None  # not found: imported as new, the copy keeps its own


def test_a_recovery_does_not_take_a_path_listed_as_another_records_original() -> None:
    """A copy relinked away from FIRST, then a new duplicate at FIRST sent and the
    process killed before the answer (simulator seed 801): the listing names FIRST only
    as the relinked session's `projectOriginalPath`, so FIRST is sent again."""
    from dataclasses import replace

    from tests.test_core import WALL0, Driver, settings
    from watcher.core import Core
    from watcher.core.effects import AskLibrary
    from watcher.core.inputs import Library, LibraryAnswered, Started

    flying = replace(record(FIRST, None), state="in_flight", imported_at=None, attempts=1)
    records = [record(COPY, "session_1"), flying]
    d = Driver(Core.restore(settings(), records, {}), stored={r.path: r for r in records})
    d.disk = {COPY: records[0].signature, FIRST: flying.signature}
    d.hold = True
    d.feed(Started(wall=WALL0))
    [ask] = [e for e in d.held if isinstance(e, AskLibrary)]
    d.held.clear()
    d.hold = False
    listing = Library(frozenset({COPY, FIRST}), {COPY: "session_1", FIRST: "session_1"})
    d.feed(LibraryAnswered(ask.request, listing))
    d.advance(3)
    assert [i.key for s in d.sends() for i in s.items] == [FIRST]


def test_a_recovery_does_not_take_a_path_listed_only_as_an_original() -> None:
    """As above, but the record at COPY does not hold the session's id (dropped when
    its changed bytes were sent, the listing to learn it again lost in a crash:
    simulator seed 200060278), and the listing is the one the real client asks for,
    `among` FIRST only: FIRST is listed only as an original, so it has no session
    there and is sent again, never recorded imported."""
    from dataclasses import replace

    from tests.test_core import WALL0, Driver, settings
    from watcher.core import Core
    from watcher.core.effects import AskLibrary, Log
    from watcher.core.inputs import Library, LibraryAnswered, Started

    flying = replace(record(FIRST, None), state="in_flight", imported_at=None, attempts=1)
    records = [record(COPY, None), flying]
    d = Driver(Core.restore(settings(), records, {}), stored={r.path: r for r in records})
    d.disk = {COPY: records[0].signature, FIRST: flying.signature}
    d.hold = True
    d.feed(Started(wall=WALL0))
    [ask] = [e for e in d.held if isinstance(e, AskLibrary)]
    assert ask.among == frozenset({FIRST})
    d.held.clear()
    d.hold = False
    listing = Library(frozenset({FIRST}), {FIRST: "session_1"}, frozenset({FIRST}))
    [told] = [e for e in d.feed(LibraryAnswered(ask.request, listing)) if isinstance(e, Log)]
    assert told.fields["already_in_library"] == 0
    d.advance(3)
    assert [i.key for s in d.sends() for i in s.items] == [FIRST]
