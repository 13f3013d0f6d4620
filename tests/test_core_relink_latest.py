"""One file recorded at two paths of one folder, both missing: a move of it is matched
to the record it was at last, never by the wall clock alone (simulator seed 141000366).

A project renamed and saved while the daemon was stopped is imported as new (its first
session kept, missing: by design); moved back onto its first path, that session is its
own again; renamed, the session follows. The file is then recorded at its newest path
with the inode its older record, missing, still names. Once the wall clock has stepped
back, the newer record looks older than that one by every time it holds; renamed again
with its events lost, the core took the older record's session for it and left its
newest session at a path nothing is at. A file recorded at a path (a move keeps its
inode) is no longer at the paths of missing records of its bytes in that folder: they
lose the inode, and the newest record alone is this file.
"""

from __future__ import annotations

from dataclasses import replace

from tests.test_core import ROOT, WALL0, settings, sig
from tests.test_core_volumes import VolumeDriver, relinked
from watcher.core import Core
from watcher.core.inputs import Started
from watcher.core.records import ProjectRecord
from watcher.core.store import Rows

OLDER, NEWER, LATEST = (f"{ROOT}/Jam/{n}.mmpz" for n in ("Renamed 2", "Renamed 13", "Renamed 16"))
STEP = 569.0  # the wall clock stepped back by this much between the two records


def _record(path: str, **fields: object) -> ProjectRecord:
    base = ProjectRecord(
        path=path, root=ROOT, kind="LMMS", title="t", project_type="mmpz",
        project_path=path, preview_path=None, generate_previews=True,
        signature=sig(7), state="imported", identity="74:jam",
    )  # fmt: skip
    return replace(base, **fields)  # type: ignore[arg-type]


def _older_missing() -> ProjectRecord:
    return _record(
        OLDER, session_id="s2", queued_at=WALL0 + 15, imported_at=WALL0 + 16,
        missing_since=WALL0 + 46,
    )  # fmt: skip


def _newer(**fields: object) -> ProjectRecord:
    # Recorded after the older one went missing, by a clock stepped back since.
    return _record(NEWER, session_id="s1", queued_at=WALL0 + 69 - STEP, **fields)


def test_a_file_recorded_at_a_path_is_no_longer_at_a_missing_record_of_its_inode() -> None:
    rows = Rows([_older_missing()])
    rows._put(_newer())
    assert rows[OLDER].signature.inode == 0, "the file is at the newer path now"
    assert rows[OLDER].missing_since is not None and rows[OLDER].session_id == "s2"
    assert OLDER in rows._changed, "written with the newer record"
    assert rows[NEWER].signature.inode == 7


def test_a_file_renamed_unseen_takes_the_session_of_the_record_it_was_at_last() -> None:
    """Both records read back at a start (the older one's inode as it was: its write
    lost on a full disk), the clock stepped back; the newer name gone, the file found
    at the latest: its session (s1) follows it, and s2 stays at the older name."""
    records = [_older_missing(), _newer()]
    d = VolumeDriver(Core.restore(settings(), records, {}))
    d.stored.update({r.path: r for r in records})
    d.disk[LATEST], d.identity[LATEST] = sig(7), "74:jam"
    d.disk[f"{ROOT}/other.als"], d.identity[f"{ROOT}/other.als"] = sig(3), "id-o"
    d.feed(Started(wall=WALL0 + 90 - STEP))
    d.advance(60)
    assert relinked(d) == [(NEWER, LATEST)]
    assert [i.session_id for r in d.relinks for i in r.items] == ["s1"]
    assert d.stored[LATEST].state == "imported"
    assert d.stored[OLDER].missing_since is not None and d.stored[OLDER].session_id == "s2"
