"""Moves and renames end to end (issue 12): a real daemon, real folders, the emulator.

A project that moves keeps its one session: the daemon patches `projectPath` instead of
importing it again. A copy beside its original is a new project; a deleted project's
session stays and `status` lists it as missing; a relink whose session the user deleted
becomes an import.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.conftest import (
    ConfigWriter,
    DaemonFactory,
    cli,
    wait_until,
    write_als,
)
from tests.emulator import Emulator


def ids_by_path(emulator: Emulator) -> dict[str, str]:
    return {s["projectPath"]: s["id"] for s in emulator.library.all()}


COUNT = 300
"""Projects in the renamed client folder."""


def test_a_renamed_client_folder_is_relinked_not_imported(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    """A few hundred projects (bench/relink.py does 1,000): same ids, new paths."""
    client = studio / "Client A"
    for n in range(COUNT):
        write_als(client / f"Song {n}.als", name=f"Song {n}")
    proc = daemon(write_config([studio]))
    emulator.wait_for_paths(COUNT, timeout=120)
    wait_until(lambda: len(emulator.library) == COUNT, timeout=60, what="all sessions")
    before = ids_by_path(emulator)

    client.rename(studio / "Client B")
    wait_until(lambda: len(emulator.library.patches) >= COUNT, timeout=120, what="a PATCH each")
    proc.wait_for("project_relinked", count=COUNT, timeout=60)
    after = ids_by_path(emulator)
    for n in range(COUNT):
        old, new = str(client / f"Song {n}.als"), str(studio / "Client B" / f"Song {n}.als")
        assert after[new] == before[old], "the session keeps its id"
    assert len(emulator.library) == COUNT
    assert len(emulator.imported_paths()) == COUNT, "nothing imported again"
    assert len(emulator.library.patches) == COUNT
    line = proc.events("project_relinked")[0]
    assert {"session_id", "from", "to"} <= set(line)
    assert proc.stop() == 0


def test_a_set_moved_into_done_keeps_its_session_and_a_copy_is_new(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    song = write_als(studio / "Song.als", name="Song")
    other = write_als(studio / "Other.als", name="Other")
    proc = daemon(write_config([studio]))
    emulator.wait_for_paths(2)
    wait_until(lambda: len(emulator.library) == 2, what="2 sessions")
    song_id = ids_by_path(emulator)[str(song)]

    (studio / "Done").mkdir()
    song.rename(studio / "Done" / "Song.als")
    proc.wait_for("project_relinked")
    assert ids_by_path(emulator)[str(studio / "Done" / "Song.als")] == song_id

    shutil.copy2(other, studio / "Other copy.als")  # Save As beside the original
    emulator.wait_for_paths(3)
    assert emulator.imported_paths()[-1] == str(studio / "Other copy.als")
    assert len(emulator.library.by_path(str(other))) == 1, "the original keeps its session"
    assert len(emulator.library.patches) == 1
    assert proc.stop() == 0


def test_a_renamed_project_takes_its_new_name_unless_the_user_retitled_it(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    write_als(studio / "Idea.als", name="Idea")
    write_als(studio / "Beat.als", name="Beat")
    proc = daemon(write_config([studio]))
    emulator.wait_for_paths(2)
    wait_until(lambda: len(emulator.library) == 2, what="2 sessions")
    beat = emulator.library.by_path(str(studio / "Beat.als"))[0]
    emulator.library._sessions[beat["id"]]["title"] = "My Beat"  # edited in SessionDock

    (studio / "Idea.als").rename(studio / "Idea v2.als")
    (studio / "Beat.als").rename(studio / "Beat v2.als")
    proc.wait_for("project_relinked", count=2)
    idea = emulator.library.by_path(str(studio / "Idea v2.als"))[0]
    assert idea["title"] == "Idea v2"
    assert emulator.library.by_path(str(studio / "Beat v2.als"))[0]["title"] == "My Beat"
    assert len(emulator.imported_paths()) == 2
    assert proc.stop() == 0


def test_a_deleted_project_is_missing_and_its_session_kept(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    song = write_als(studio / "Gone.als", name="Gone")
    config = write_config([studio])
    proc = daemon(config)
    emulator.wait_for_paths(1)
    wait_until(lambda: len(emulator.library) == 1, what="1 session")
    data = song.read_bytes()
    song.unlink()

    def missing() -> dict[str, Any]:
        status = json.loads(cli("status", "--json", "--config", str(config)).stdout)
        return status["missing"] if status["missing"]["count"] else {}

    report = wait_until(missing, what="missing in status")
    assert report["projects"][0]["path"] == str(song)
    assert "missing:   " + str(song) in cli("status", "--config", str(config)).stdout
    assert len(emulator.library) == 1, "the session is never deleted"

    song.write_bytes(data)  # restored from a backup: recognised, not imported again
    proc.wait_for("project_back")
    assert len(emulator.imported_paths()) == 1
    assert proc.stop() == 0


def test_a_relink_whose_session_was_deleted_imports_the_project_as_new(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    song = write_als(studio / "Song.als", name="Song")
    proc = daemon(write_config([studio]))
    emulator.wait_for_paths(1)
    wait_until(lambda: len(emulator.library) == 1, what="1 session")
    # Its id known first: a session never listed may be one not listed yet, which a
    # relink by path waits for a while (watcher/core/adoption.py, listing lag).
    proc.wait_for("session_ids_learned")
    emulator.library.delete(emulator.library.all()[0]["id"])  # the user deleted it

    song.rename(studio / "Song moved.als")
    proc.wait_for("project_relink_lost")
    emulator.wait_for_paths(2)
    assert emulator.imported_paths()[-1] == str(studio / "Song moved.als")
    assert proc.stop() == 0


def test_a_move_made_while_the_daemon_was_stopped_is_relinked_at_start(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    for n in range(5):
        write_als(studio / "Client" / f"Song {n}.als", name=f"Song {n}")
    config = write_config([studio])
    proc = daemon(config)
    emulator.wait_for_paths(5)
    wait_until(lambda: len(emulator.library) == 5, what="5 sessions")
    before = ids_by_path(emulator)
    assert proc.stop() == 0

    (studio / "Client").rename(studio / "Client (done)")
    proc = daemon(config)
    proc.wait_for("project_relinked", count=5, timeout=40)
    after = ids_by_path(emulator)
    for n in range(5):
        old = str(studio / "Client" / f"Song {n}.als")
        assert after[str(studio / "Client (done)" / f"Song {n}.als")] == before[old]
    assert len(emulator.imported_paths()) == 5 and len(emulator.library) == 5
    assert proc.stop() == 0
