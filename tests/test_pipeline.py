"""The main path end to end: a real daemon process, real folders, the emulator."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.conftest import ConfigWriter, DaemonFactory, write_als
from tests.emulator import Emulator

pytestmark = pytest.mark.daemon


@pytest.mark.parametrize("polling", [False, True], ids=["native", "polling"])
def test_new_set_is_imported_once_with_kind_title_and_path(
    studio: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
    polling: bool,
) -> None:
    proc = daemon(write_config([{"path": str(studio), "polling": polling}]))
    proc.wait_watching()
    project = write_als(studio / "Launch Cue Project" / "Launch Cue.als")

    emulator.wait_for_paths(1)
    proc.wait_for("import_answered")
    request = emulator.accepted()[0]
    assert request.kind == "Ableton"
    assert request.generate_previews is True
    assert request.items == [
        {"projectPath": str(project), "title": "Launch Cue", "projectType": "als"}
    ]
    line = proc.events("import_answered")[0]
    assert {k: line[k] for k in ("kind", "items", "accepted", "completed", "failed", "skipped", "done")} == {
        "kind": "Ableton", "items": 1, "accepted": 1, "completed": 1, "failed": 0, "skipped": 0, "done": True,
    }  # fmt: skip
    assert line["import_id"].startswith("imp_")
    assert {"timestamp", "level"} <= line.keys()

    assert proc.stop() == 0
    assert emulator.imported_paths() == [str(project)]


def test_a_set_written_in_bursts_is_sent_once_and_complete(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    proc = daemon(write_config([studio], debounce={"quiet_seconds": 0.8}))
    proc.wait_watching()
    target = studio / "Slow.als"
    from tests.conftest import als_bytes

    data = als_bytes("Slow", padding=200_000)
    with open(target, "wb") as stream:
        for start in range(0, len(data), len(data) // 6):
            stream.write(data[start : start + len(data) // 6])
            stream.flush()
            time.sleep(0.3)  # a slow writer: shorter gaps than quiet_seconds
    written = time.time()

    emulator.wait_for_paths(1)
    assert emulator.accepted()[0].at >= written, "sent before the last write"
    proc.wait_for("import_answered")
    assert proc.stop() == 0
    assert emulator.imported_paths() == [str(target)]


def test_300_sets_at_once_arrive_in_few_requests_without_duplicates(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    proc = daemon(
        write_config([studio], debounce={"quiet_seconds": 0.5}, import_={"batch_window_seconds": 1})
    )
    proc.wait_watching()
    staging = studio.parent / "staging"
    paths = [write_als(staging / f"Song {n:03d}.als") for n in range(300)]
    for path in paths:
        path.rename(studio / path.name)

    emulator.wait_for_paths(300, timeout=40)
    proc.wait_for("import_answered", count=len(emulator.accepted()))
    imported = emulator.imported_paths()
    assert sorted(imported) == sorted(str(studio / p.name) for p in paths)
    assert len(emulator.accepted()) <= 9
    assert proc.stop() == 0


def test_move_within_and_into_the_folder_and_deletion(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    proc = daemon(write_config([studio], debounce={"quiet_seconds": 1.5}))
    proc.wait_watching()
    doomed = write_als(studio / "Doomed.als")
    moved_in = write_als(studio.parent / "outside" / "Moved In.als")
    moved_in.rename(studio / "Moved In.als")
    renamed = write_als(studio / "Draft.als")
    renamed.rename(studio / "Final.als")
    doomed.unlink()  # within quiet_seconds: nothing should be sent for it

    emulator.wait_for_paths(2)
    proc.wait_for("import_answered", count=len(emulator.accepted()))
    assert proc.stop() == 0
    assert sorted(emulator.imported_paths()) == [
        str(studio / "Final.als"),
        str(studio / "Moved In.als"),
    ]


def test_sigint_stops_cleanly_too(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    proc = daemon(write_config([studio]))
    proc.wait_watching()
    started = time.monotonic()
    assert proc.stop(signal.SIGINT) == 0
    assert time.monotonic() - started < 5
