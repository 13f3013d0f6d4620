"""`status` shows relinks still waiting, and why: a guessed relink (a project's bytes
found elsewhere under another inode) waits while the folder its session still points at
is offline, since the original may be back there unseen. Without this line a person
whose old drive is gone for good saw nothing waiting and no way on."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from tests.conftest import ConfigWriter, cli
from tests.test_shell import record
from watcher.core.effects import Persist
from watcher.state import State


def test_status_lists_a_relink_waiting_on_an_offline_folder(
    tmp_path: Path, write_config: ConfigWriter
) -> None:
    drive, studio = tmp_path / "Drive", tmp_path / "Studio"
    studio.mkdir()
    config = write_config([studio, drive])
    new, old = str(studio / "Song.als"), str(drive / "Song.als")
    state = State(tmp_path / "state.sqlite3")
    waiting = replace(record(new, "relinking"), root=str(studio), moved_from=old, session_id="s1")
    state.apply([Persist(upserts=(waiting,))])
    folders = {str(studio): {"mode": "native", "note": ""}, str(drive): {"mode": "offline"}}
    state.set_meta("daemon", {"pid": 1, "folders": folders})
    state.close()

    report = json.loads(cli("status", "--json", "--config", str(config)).stdout)
    assert report["relinking"] == {"count": 1, "projects": [{"path": new, "from": old}]}
    text = cli("status", "--config", str(config)).stdout
    line = next(x for x in text.splitlines() if x.startswith("relinking:"))
    assert line == (
        f"relinking: {new}, its session at {old} "
        f"(waits until {drive} is back; gone for good: remove it from watch: and the session follows)"
    )
