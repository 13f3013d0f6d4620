"""Folder tags and session ids in the shell: the tagger and the listing against the
emulator, the state's column (schema 3), the config's rules for tags."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TOKEN
from tests.emulator import Emulator
from tests.test_core import project
from watcher.client import SessionDockClient
from watcher.config import ConfigError, load_config
from watcher.core.effects import Persist, Tag, TagItem
from watcher.core.inputs import TagDone
from watcher.core.records import ProjectRecord
from watcher.state import State
from watcher.state_rows import SCHEMA_VERSION
from watcher.tagger import tag


@pytest.fixture
def client(emulator: Emulator) -> Iterator[SessionDockClient]:
    client = SessionDockClient(emulator.base_url, lambda: TOKEN, timeout=5)
    yield client
    client.close()


def test_the_tagger_keeps_every_tag_of_the_user_and_adds_only_what_is_missing(
    emulator: Emulator, client: SessionDockClient
) -> None:
    mine = emulator.library.add("/a.als", tags=["keeper", "client a"])
    bare = emulator.library.add("/b.als")
    full = emulator.library.add("/c.als", tags=["Client A", "2024"])
    gone = emulator.library.add("/d.als")
    emulator.library.delete(gone["id"])
    tags = ("Client A", "2024")
    items = tuple(
        TagItem(f"/{k}.als", s["id"], tags)
        for k, s in zip("abcd", (mine, bare, full, gone), strict=True)
    )
    answer = tag(client, Tag(7, items))
    assert answer.failure is None and answer.request == 7
    assert answer.done == (
        TagDone("/a.als", mine["id"], added=("2024",)),
        TagDone("/b.als", bare["id"], added=tags),
        TagDone("/c.als", full["id"]),
        TagDone("/d.als", gone["id"], gone=True),
    )
    assert emulator.library.by_path("/a.als")[0]["tags"] == ["keeper", "client a", "2024"]
    assert emulator.library.by_path("/b.als")[0]["tags"] == ["Client A", "2024"]
    assert [body for _, body in emulator.library.patches] == [
        {"tags": ["keeper", "client a", "2024"]},
        {"tags": ["Client A", "2024"]},
    ], "one PATCH per session that lacked a tag, carrying its whole list"


def test_the_tagger_stops_at_a_read_only_answer_and_says_how_far_it_got(
    emulator: Emulator, client: SessionDockClient
) -> None:
    done = emulator.library.add("/a.als", tags=["x"])
    todo = emulator.library.add("/b.als")
    emulator.effective_mode = "read-only"
    answer = tag(
        client,
        Tag(1, (TagItem("/a.als", done["id"], ("x",)), TagItem("/b.als", todo["id"], ("x",)))),
    )
    assert answer.done == (TagDone("/a.als", done["id"]),), "it had the tag: nothing to write"
    assert answer.failure is not None and answer.failure.kind == "read_only"
    assert emulator.library.by_path("/b.als")[0]["tags"] == []


def test_one_listing_gives_ids_by_current_path_before_original_path(
    emulator: Emulator, client: SessionDockClient
) -> None:
    moved = emulator.library.add("/new/a.als", original_path="/old/a.als")
    again = emulator.library.add("/old/a.als")  # a new project where the old one was
    for n in range(450):
        emulator.library.add(f"/lib/{n}.als")
    before = emulator.calls["GET /sessions"]
    paths, ids = client.session_index(among={"/new/a.als", "/old/a.als", "/lib/3.als"})
    assert emulator.calls["GET /sessions"] - before == 3, "pages of 200"
    assert ids == {"/new/a.als": moved["id"], "/old/a.als": again["id"], "/lib/3.als": "session_6"}
    assert paths == {"/new/a.als", "/old/a.als", "/lib/3.als"}


def test_the_state_keeps_the_tags_done_and_an_older_database_gains_the_column(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(  # a version 2 database, as the last release left it
        "CREATE TABLE projects (path TEXT PRIMARY KEY, root TEXT NOT NULL, kind TEXT NOT NULL,"
        " title TEXT NOT NULL, project_type TEXT NOT NULL, project_path TEXT NOT NULL,"
        " preview_path TEXT, generate_previews INTEGER NOT NULL, size INTEGER NOT NULL,"
        " mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, state TEXT NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL DEFAULT 0,"
        " queued_at REAL, last_error TEXT, last_import_id TEXT, imported_at REAL,"
        " updated_at REAL NOT NULL, identity TEXT, session_id TEXT, missing_since REAL,"
        " moved_from TEXT, moved_title TEXT);"
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO projects (path, root, kind, title, project_type, project_path,"
        " generate_previews, size, mtime_ns, inode, state, updated_at, session_id) VALUES"
        " ('/studio/old.als', '/studio', 'Ableton', 'old', 'als', '/studio/old.als', 1, 1, 1,"
        " 1, 'imported', 0, 's1');"
    )
    db.commit()
    db.close()
    state = State(path)
    [old], _ = state.load()
    assert old.tags_done == () and old.session_id == "s1"
    record = ProjectRecord(
        **{
            **project("/studio/a.als").__dict__,
            "state": "imported",
            "session_id": "s2",
            "tags_done": ("Client A",),
            "tags_session": "s2",
        }
    )
    state.apply([Persist(upserts=(record,))])
    work = state.tag_work({"/studio": ("Client A", "2024")})
    assert work == {"pending": 2, "waiting_for_session": 0}
    state.close()
    again = State(path, readonly=True)
    records, _ = again.load()
    assert {r.path: (r.tags_done, r.tags_session) for r in records} == {
        "/studio/old.als": ((), None),
        "/studio/a.als": (("Client A",), "s2"),
    }
    assert again.get_meta("schema_version") == SCHEMA_VERSION >= 3
    again.close()


def test_config_tags_are_trimmed_deduplicated_without_case_and_never_empty(
    tmp_path: Path,
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"watch:\n  - path: {tmp_path}\n    tags: [' Client A ', client a, '2024']\n")
    assert load_config(config).watch[0].tags == ["Client A", "2024"]
    config.write_text(f"watch:\n  - path: {tmp_path}\n    tags: ['  ']\n")
    with pytest.raises(ConfigError, match="tag must not be empty"):
        load_config(config)
