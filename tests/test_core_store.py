"""The core table's indexes hold a bare path per key until a second one shares it
(watcher/core/store.py: issue 13's memory target), and answer as sets did."""

from __future__ import annotations

import unicodedata

from watcher.core.records import ProjectRecord, Signature
from watcher.core.store import PathIndex, Rows


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
