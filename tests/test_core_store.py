"""The core table's indexes hold a bare path per key until a second one shares it
(watcher/core/store.py: issue 13's memory target), and answer as sets did; the order
records were queued in, on disk as `queued_order` (schema 10)."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from pathlib import Path

from watcher.core.effects import Persist
from watcher.core.records import ProjectRecord, Signature
from watcher.core.store import PathIndex, Rows
from watcher.state import State
from watcher.state_rows import SCHEMA_VERSION


def test_a_path_index_answers_as_a_dict_of_sets_would() -> None:
    index: PathIndex[str] = PathIndex()
    assert index.get("k") == ()
    index.add("k", "/a")
    index.add("k", "/a")
    assert sorted(index.get("k")) == ["/a"]
    index.add("k", "/b")
    assert sorted(index.get("k")) == ["/a", "/b"]
    index.discard("k", "/a")
    assert list(index.get("k")) == ["/b"]
    index.discard("k", "/nope")
    index.discard("k", "/b")
    assert index.get("k") == () and len(index) == 0
    index.discard("gone", "/b")  # nothing there: nothing happens


def _record(path: str, identity: str | None = None) -> ProjectRecord:
    return ProjectRecord(
        path=path, root="/studio", kind="Ableton", title="t", project_type="als",
        project_path=path, preview_path=None, generate_previews=True,
        signature=Signature(1, 1, 1), state="imported", identity=identity,
    )  # fmt: skip


def test_spellings_are_the_same_path_in_another_form_and_nothing_else() -> None:
    nfc = "/studio/Café/Song.als"
    nfd = unicodedata.normalize("NFD", nfc)
    upper = "/studio/CAFÉ/Song.als"
    rows = Rows([_record(nfc), _record(nfd), _record(upper), _record("/studio/other.als")])
    assert rows.spellings(nfc) == sorted([nfd, upper])
    assert rows.spellings("/studio/other.als") == []
    rows._drop(nfd)
    assert rows.spellings(nfc) == [upper]
    rows._drop(upper)
    assert rows.spellings(nfc) == []


def test_records_sharing_an_identity_are_found_together() -> None:
    rows = Rows([_record("/a.als", "1:x"), _record("/b.als", "1:x"), _record("/c.als", "2:y")])
    assert sorted(rows._identities.get("1:x")) == ["/a.als", "/b.als"]
    rows._drop("/a.als")
    assert list(rows._identities.get("1:x")) == ["/b.als"]
    assert list(rows._identities.get("2:y")) == ["/c.als"]


def test_queued_order_follows_queueing_not_the_wall_clock_and_survives_a_restart() -> None:
    """`queued_order` is what tells which record of one file was recorded last (seed
    141000366): it grows with every new `queued_at` whatever the clock says, records
    queued at one instant share it (as they share `queued_at`), a rewrite that keeps
    `queued_at` keeps it, and a table rebuilt from the stored records goes on past it."""
    rows = Rows()
    rows._put(replace(_record("/studio/a.als"), queued_at=1000.0))
    rows._put(replace(_record("/studio/b.als"), queued_at=400.0))  # the clock went back
    rows._put(replace(_record("/studio/c.als"), queued_at=400.0))
    rows._put(replace(_record("/studio/a.als"), queued_at=1000.0, state="pending"))
    orders = {path: rows[path].queued_order for path in rows}
    assert orders == {"/studio/a.als": 1, "/studio/b.als": 2, "/studio/c.als": 2}
    again = Rows(rows.values())
    again._put(replace(_record("/studio/d.als"), queued_at=10.0))
    assert again["/studio/d.als"].queued_order == 3


def test_a_version_9_database_opens_and_stores_the_order(tmp_path: Path) -> None:
    """Schema 10 adds `queued_order`: an older record has none (ties then fall back to
    `queued_at`, as before); anything unreadable counts as none."""
    path = tmp_path / "state.sqlite3"
    record = replace(_record("/studio/a.als"), queued_at=5.0, queued_order=4)
    state = State(path)
    state.apply([Persist(upserts=(replace(record, queued_order=0),))])
    state.db.execute("ALTER TABLE projects DROP COLUMN queued_order")  # as version 9 had it
    state.db.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    state.db.commit()
    state.close()
    state = State(path)
    assert state.load()[0] == [replace(record, queued_order=0)]
    state.apply([Persist(upserts=(record,))])
    assert [r.queued_order for r in state.load()[0]] == [4]
    state.db.execute("UPDATE projects SET queued_order = 'four'")
    state.close()
    again = State(path, readonly=True)
    assert [r.queued_order for r in again.load()[0]] == [0]
    assert again.get_meta("schema_version") == SCHEMA_VERSION >= 10
    again.close()
