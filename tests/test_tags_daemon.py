"""Folder tags and session ids end to end (issue 12): a real daemon, real folders, the
emulator (sessions that appear late, a user's own tags, read-only, deleted sessions,
a `kill -9` around the PATCH)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import ConfigWriter, DaemonFactory, cli, wait_until, write_als
from tests.emulator import Emulator


def tags_at(emulator: Emulator, path: Path) -> list[str] | None:
    sessions = emulator.library.by_path(str(path))
    return sessions[0]["tags"] if len(sessions) == 1 else None


def status(config: Path) -> dict[str, Any]:
    return json.loads(cli("status", "--json", "--config", str(config)).stdout)  # type: ignore[no-any-return]


def test_folder_tags_reach_sessions_that_appear_late_and_keep_the_users_tags(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    client, plain = studio / "Client A", studio / "Plain"
    kept = write_als(client / "Kept.als", name="Kept")
    emulator.library.add(str(kept), title="Kept", tags=["keeper", "client a"])  # the user's
    songs = [write_als(client / f"Song {n}.als", name=f"Song {n}") for n in range(3)]
    other = write_als(plain / "Other.als", name="Other")
    emulator.visible_after_seconds = 2.0  # SessionDock's import job takes its time
    config = write_config(
        [{"path": str(client), "tags": ["Client A", "2024"]}, {"path": str(plain)}]
    )
    proc = daemon(config)
    emulator.wait_for_paths(4, timeout=60)

    def all_tagged() -> bool:
        return all(tags_at(emulator, song) == ["Client A", "2024"] for song in songs)

    wait_until(all_tagged, timeout=60)
    wait_until(lambda: tags_at(emulator, kept) == ["keeper", "client a", "2024"], timeout=30)
    assert tags_at(emulator, other) == [], "a folder without tags gets none"
    lines = proc.wait_for("session_tagged", count=4, timeout=30)
    assert {tuple(line["tags"]) for line in lines} == {("Client A", "2024"), ("2024",)}
    assert all(line["session_id"].startswith("session_") for line in lines)
    assert emulator.calls["PATCH /sessions/{id}"] == 4, "one PATCH per session"
    assert emulator.calls["GET /sessions"] <= 12, "a few listings, never one per project"
    assert len(emulator.imported_paths()) == 4, "the adopted session is not sent"
    wait_until(lambda: status(config)["tags"]["tagged"] == 4, timeout=40)
    assert status(config)["tags"] == {"pending": 0, "waiting_for_session": 0, "tagged": 4}
    assert proc.stop() == 0


def test_a_kill_between_the_persist_and_the_patch_tags_once_after_the_restart(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    song = write_als(studio / "Song.als", name="Song")
    config = write_config([{"path": str(studio), "tags": ["Client A"]}])
    emulator.patch_hold = "before"  # the PATCH reaches SessionDock and is never applied
    proc = daemon(config)
    emulator.wait_for(lambda: emulator.calls["PATCH /sessions/{id}"] == 1, timeout=60)
    proc.kill9()
    assert tags_at(emulator, song) == []
    assert status(config)["tags"]["pending"] == 1, "the tag work survives the kill"
    emulator.patch_hold = None
    emulator.release_hung()
    proc = daemon(config)
    proc.wait_for("session_tagged", timeout=40)
    assert tags_at(emulator, song) == ["Client A"]
    assert len(emulator.imported_paths()) == 1
    assert proc.stop() == 0


def test_a_kill_after_the_patch_was_applied_does_not_tag_twice(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    song = write_als(studio / "Song.als", name="Song")
    config = write_config([{"path": str(studio), "tags": ["Client A"]}])
    emulator.patch_hold = "after"  # applied, then the answer never comes
    proc = daemon(config)
    emulator.wait_for(lambda: emulator.calls["PATCH /sessions/{id}"] == 1, timeout=60)
    proc.kill9()
    assert tags_at(emulator, song) == ["Client A"]
    emulator.patch_hold = None
    emulator.release_hung()
    proc = daemon(config)
    wait_until(lambda: status(config)["tags"]["pending"] == 0, timeout=40)
    assert emulator.calls["PATCH /sessions/{id}"] == 1, "it had the tag: no second PATCH"
    assert tags_at(emulator, song) == ["Client A"]
    assert not proc.events("session_tagged")
    assert proc.stop() == 0


def test_read_only_pauses_tag_writes_and_they_resume_by_themselves(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    song = write_als(studio / "Song.als", name="Song")
    config = write_config([{"path": str(studio), "tags": ["Client A"]}])
    emulator.visible_after_seconds = 1.5
    proc = daemon(config)
    emulator.wait_for_paths(1, timeout=60)
    emulator.effective_mode = "read-only"  # downgraded before the session appeared
    proc.wait_for("sending_paused", reason="read-only", timeout=40)
    assert tags_at(emulator, song) == []
    assert status(config)["tags"]["pending"] == 1
    emulator.effective_mode = None
    proc.wait_for("sending_resumed", timeout=40)
    proc.wait_for("session_tagged", timeout=40)
    assert tags_at(emulator, song) == ["Client A"]
    assert proc.stop() == 0


def test_tags_added_later_reach_existing_sessions_and_a_deleted_one_is_dropped(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    kept = write_als(studio / "Kept.als", name="Kept")
    deleted = write_als(studio / "Deleted.als", name="Deleted")
    config = write_config([studio])
    proc = daemon(config)
    emulator.wait_for_paths(2, timeout=60)
    proc.wait_for("session_ids_learned", timeout=40)  # both ids are in the state
    assert proc.stop() == 0
    emulator.library.delete(emulator.library.by_path(str(deleted))[0]["id"])  # by the user

    config = write_config([{"path": str(studio), "tags": ["Client A"]}])
    proc = daemon(config)
    proc.wait_for("session_tagged", timeout=40)
    assert tags_at(emulator, kept) == ["Client A"]
    [dropped] = proc.wait_for("tags_dropped", timeout=40)
    assert dropped["path"] == str(deleted) and dropped["level"] == "warning"
    assert status(config)["tags"]["pending"] == 0
    assert len(emulator.imported_paths()) == 2, "the deleted session is not imported again"
    assert proc.stop() == 0


def test_a_first_run_against_a_library_that_has_everything_sends_nothing(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    for n in range(400):
        song = write_als(studio / f"Client {n % 8}" / f"Song {n}.als", name=f"Song {n}")
        emulator.library.add(str(song), title=f"Song {n}")
    config = write_config([studio])
    proc = daemon(config)
    proc.wait_for("library_adopted", timeout=90)
    wait_until(lambda: status(config)["counts"]["imported"] == 400, timeout=90)
    assert emulator.items() == [], "0 items sent"
    assert emulator.calls["GET /sessions"] == 2, "one listing of 2 pages gives paths and ids"
    assert emulator.calls["PATCH /sessions/{id}"] == 0
    assert proc.stop() == 0
