"""A bundle's signature changes whenever one of its files does (simulator seed 84394).

A bundle's size and newest mtime are sums and maxima: a save after the wall clock
stepped back, its files the same sizes and older times, left both as they were, and
the bundle was sent mid-save. Its digest of each file's name, size and mtime does
change. Tested at each layer: the core never confirms a bundle whose digest moved; the
shell's stat computes the digest on a real folder; SQLite keeps it, and a database
written before digests existed (schema 3) opens with its records, which agree with a
fresh signature on size, time and inode, so an upgrade sends nothing again.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import replace
from pathlib import Path

from tests.conftest import ConfigWriter, cli
from tests.daw_fixtures import logic_files, write
from tests.emulator import Emulator
from tests.test_core import ROOT, WALL0, Driver, project, settings, start
from watcher.core import Core
from watcher.core.effects import Persist, Probe
from watcher.core.inputs import ProjectChanged, Started
from watcher.core.records import ProjectRecord, Signature
from watcher.daws import Registry
from watcher.scanner import signature_of
from watcher.state import State
from watcher.state_rows import SCHEMA_VERSION


def _wall(now: float) -> int:
    return int((WALL0 + now - 100.0) * 1e9)  # the driver starts at 100 with WALL0


def test_a_bundle_whose_digest_moved_is_not_confirmed_until_quiet() -> None:
    """Seed 84394's core half: the clock stepped back, so a slow save left the bundle's
    size and newest time as they were; only its digest moved. A stat a quiet period
    after the last event that sees another digest than the one before waits again."""
    d = start()
    b = "/studio/Copy/b.logicx"
    before = Signature(size=147, mtime_ns=_wall(90.0), inode=31, digest=1)
    d.disk[b] = before
    d.feed(ProjectChanged(ROOT, b, bundle=True, at=d.now))
    d.advance(5.1)  # the first stat after the quiet period: its signature is taken
    assert not [e for e in d.effects if isinstance(e, Probe)]
    d.disk[b] = replace(before, digest=2)  # pieces written, events lost: same size, time
    d.advance(5.1)  # the next stat sees the digest moved: not the same bytes
    assert not [e for e in d.effects if isinstance(e, Probe)]
    d.disk[b] = replace(before, digest=3)
    d.advance(5.1)
    assert not [e for e in d.effects if isinstance(e, Probe)]
    d.advance(5.1)  # two stats a quiet period apart agree at last
    [probe] = [e for e in d.effects if isinstance(e, Probe)]
    assert probe.signature.digest == 3


def test_a_record_without_a_digest_agrees_with_a_fresh_one_and_is_not_sent_again() -> None:
    """A bundle imported by a version that kept no digest: the first walk after the
    upgrade finds the same size, time and inode; it is neither probed nor sent."""
    b = "/studio/b.logicx"
    old = Signature(size=147, mtime_ns=_wall(-3600.0), inode=31)
    record = ProjectRecord(**{**project(b, old).__dict__, "state": "imported"})
    d = Driver(Core.restore(settings(), [record], {}), stored={b: record})
    d.disk[b] = replace(old, digest=12345)
    d.feed(Started(wall=WALL0))
    d.advance(3 * 3600)  # the first walk and a few reconciliations
    assert not [e for e in d.effects if isinstance(e, Probe)]
    assert not d.sends()
    d.disk[b] = replace(old, size=148, digest=6789)  # changed since: checked and sent
    d.advance(2 * 3600)
    assert [e.signature for e in d.effects if isinstance(e, Probe)] == [d.disk[b]]
    assert len(d.sends()) == 1


def test_agrees_is_equality_but_for_a_digest_never_known() -> None:
    fresh = Signature(1, 2, 3, digest=9)
    assert Signature(1, 2, 3).agrees(fresh)
    assert fresh.agrees(fresh)
    assert not Signature(1, 2, 3, digest=8).agrees(fresh)
    assert not Signature(1, 2, 4).agrees(fresh)
    assert not fresh.agrees(Signature(1, 2, 3))  # a record that knew it: not the same


def test_a_bundle_rewritten_with_the_same_sizes_and_older_times_has_another_signature(
    tmp_path: Path,
) -> None:
    """Seed 84394's shell half, on a real folder: the stat must see the rewrite."""
    daw = Registry().format_for("Song.logicx")
    assert daw is not None and daw.bundle
    bundle = tmp_path / "Song.logicx"
    data = bundle / "Alternatives" / "000" / "ProjectData"
    meta = bundle / "Resources" / "ProjectInformation.plist"
    for path, text in ((data, b"a" * 40), (meta, b"m" * 10)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text)
    newest = 1_750_000_003_000_000_000
    os.utime(data, ns=(newest, newest))
    os.utime(meta, ns=(newest - 10**9, newest - 10**9))
    os.utime(bundle, ns=(newest, newest))
    before = signature_of(bundle, daw)
    data.write_bytes(b"b" * 40)  # the clock stepped back 131 s: an older time
    stepped = newest - 131 * 10**9
    os.utime(data, ns=(stepped, stepped))
    after = signature_of(bundle, daw)
    assert before is not None and after is not None
    assert (before.size, before.mtime_ns, before.inode) == (after.size, after.mtime_ns, after.inode)
    assert before != after and before.digest != after.digest
    # Moved with its times kept: its files' names are relative, so the digest stays.
    os.rename(bundle, tmp_path / "Moved.logicx")
    assert signature_of(tmp_path / "Moved.logicx", daw) == after
    # A file's stat is exact: no digest.
    (tmp_path / "a.als").write_bytes(b"x")
    als = Registry().format_for("a.als")
    assert als is not None
    plain = signature_of(tmp_path / "a.als", als)
    assert plain is not None and plain.digest is None


SCHEMA_3 = (  # the projects table as schema 3 (the last release) left it
    "CREATE TABLE projects (path TEXT PRIMARY KEY, root TEXT NOT NULL, kind TEXT NOT NULL,"
    " title TEXT NOT NULL, project_type TEXT NOT NULL, project_path TEXT NOT NULL,"
    " preview_path TEXT, generate_previews INTEGER NOT NULL, size INTEGER NOT NULL,"
    " mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, state TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL DEFAULT 0,"
    " queued_at REAL, last_error TEXT, last_import_id TEXT, imported_at REAL,"
    " updated_at REAL NOT NULL, identity TEXT, session_id TEXT, missing_since REAL,"
    " moved_from TEXT, moved_title TEXT, tags_done TEXT);"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "INSERT INTO meta VALUES ('schema_version', '3');"
    "INSERT INTO projects (path, root, kind, title, project_type, project_path,"
    " generate_previews, size, mtime_ns, inode, state, updated_at, session_id,"
    " last_import_id) VALUES ('/studio/b.logicx', '/studio', 'Logic Pro', 'b', 'logicx',"
    " '/studio/b.logicx', 1, 147, 1750000003000000000, 31, 'imported', 0, 's1', 'imp-1');"
)


def test_a_schema_3_database_opens_with_its_records_and_then_keeps_digests(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_3)
    db.commit()
    db.close()
    state = State(path)
    [old], _ = state.load()
    assert (old.path, old.state, old.session_id, old.import_id) == (
        "/studio/b.logicx",
        "imported",
        "s1",
        "imp-1",
    )
    assert old.signature == Signature(147, 1_750_000_003_000_000_000, 31, digest=None)
    assert state.get_meta("schema_version") == SCHEMA_VERSION >= 4
    learned = replace(old, signature=replace(old.signature, digest=(1 << 63) - 1))
    state.apply([Persist(upserts=(learned,))])
    state.close()
    again = State(path, readonly=True)
    [back], _ = again.load()
    assert back == learned
    known = again.known(Path("/studio/b.logicx"))
    assert known is not None and known.signature == learned.signature
    again.close()


def test_after_an_upgrade_an_imported_bundle_is_unchanged_to_scan_and_its_dry_run(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, tmp_path: Path
) -> None:
    """End to end: a Logic project imported, then its record's digest taken away as a
    schema-3 database has none: `scan --dry-run --explain` calls it unchanged, and
    `scan` sends nothing again."""
    bundle = studio / "Film Score.logicx"
    for path, data in logic_files(bundle):
        write(path, data, mtime=1_700_000_000)
    config = str(write_config([studio]))
    first = cli("scan", "--config", config)
    assert first.returncode == 0, first.stderr
    assert emulator.imported_paths() == [str(bundle)]
    db = sqlite3.connect(tmp_path / "state.sqlite3")
    [(digest,)] = db.execute("SELECT digest FROM projects").fetchall()
    assert digest is not None  # kept for a bundle
    db.execute("UPDATE projects SET digest = NULL")
    db.commit()
    db.close()
    dry = cli("scan", "--dry-run", "--explain", "--config", config)
    assert dry.returncode == 0, dry.stderr
    lines = [json.loads(line) for line in dry.stdout.splitlines() if line.strip()]
    assert [line.get("skipped") for line in lines] == ["unchanged"], lines
    again = cli("scan", "--config", config)
    assert again.returncode == 0, again.stderr
    assert emulator.imported_paths() == [str(bundle)], "an upgrade sends nothing again"
