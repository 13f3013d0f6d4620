"""Studio trees that look like real ones: exactly the real projects are sent.

Each tree is checked through `scan --dry-run` (what would be sent, and with
`--explain` why everything else was skipped) and the whole set through the real
daemon against the emulator.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ConfigWriter, DaemonFactory, cli, write_als
from tests.daw_fixtures import (
    TREES,
    Expected,
    aup3_bytes,
    flp_bytes,
    logic_files,
    mixed_tree,
    write,
)
from tests.emulator import Emulator
from watcher.daws import HEAVY_DIRS, Registry, junk_reason


def dry_run(config: Path, *extra: str) -> list[dict[str, Any]]:
    result = cli("scan", "--dry-run", *extra, "--config", str(config))
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def sent(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((x for x in lines if "projectPath" in x), key=lambda x: x["projectPath"])


def by_path(expected: list[Expected]) -> list[Expected]:
    return sorted(expected, key=lambda x: x["projectPath"])


@pytest.mark.parametrize("tree", sorted(TREES))
def test_each_studio_tree_sends_exactly_its_real_projects(
    tree: str, studio: Path, write_config: ConfigWriter
) -> None:
    expected = TREES[tree](studio)
    assert sent(dry_run(write_config([studio]))) == by_path(expected)


def test_every_other_daw_is_recognised_with_its_kind_and_preview(
    studio: Path, tmp_path: Path, write_config: ConfigWriter
) -> None:
    expected = mixed_tree(studio, tmp_path)
    assert sent(dry_run(write_config([studio]))) == by_path(expected)


def _looks_like_a_project(path: Path, registry: Registry) -> bool:
    return registry.is_relevant(path.name) and not HEAVY_DIRS.intersection(
        p.lower() for p in path.parts
    )


def test_explain_says_why_every_other_file_was_skipped(
    studio: Path, tmp_path: Path, write_config: ConfigWriter
) -> None:
    expected = mixed_tree(studio / "mixed", tmp_path)
    for name, build in TREES.items():
        expected += build(studio / name)
    write(studio / "Broken" / "Empty.als", b"")
    write(studio / "Broken" / "Half.flp", flp_bytes()[:60])
    write(studio / "Broken" / "._Ghost.als", b"\x00\x05\x16\x07")
    write(studio / "Open" / "Talk.aup3", aup3_bytes(tmp_path))
    write(studio / "Open" / "Talk.aup3-wal", b"\x37\x7f\x06\x82")
    write_als(studio / "Archive" / "Old.als")

    lines = dry_run(write_config([{"path": str(studio), "exclude": ["Archive/**"]}]), "--explain")

    assert sent(lines) == by_path(expected)
    skipped = {Path(x["path"]): x for x in lines if "skipped" in x}
    assert all(x["why"] for x in skipped.values())
    reasons = {p.relative_to(studio).as_posix(): x["skipped"] for p, x in skipped.items()}
    assert reasons["Broken/Empty.als"] == "bad-content"
    assert reasons["Broken/Half.flp"] == "bad-content"
    assert reasons["Broken/._Ghost.als"] == "junk"
    assert reasons["Open/Talk.aup3"] == "open"
    assert reasons["Archive/Old.als"] == "excluded"
    assert reasons["smb-share/Share/#recycle"] == "junk"
    assert reasons["reaper/Podcast 42/Podcast 42.RPP-bak"] == "backup"
    assert reasons["mixed/Ballad/History/Ballad (Autosaved).song"] == "backup"
    backups = [r for r in reasons if r.startswith("ableton/Launch Cue Project/Backup/")]
    assert len(backups) == 6 and {reasons[r] for r in backups} == {"backup"}

    # Every file that looks like a project is sent, or listed with a reason, or sits in
    # a junk folder that is listed.
    registry = Registry()
    sent_paths = {Path(x["projectPath"]) for x in sent(lines)}
    for path in studio.rglob("*"):
        if ".logicx" in str(path) or ".band" in str(path) or not path.is_file():
            continue
        if not _looks_like_a_project(path.relative_to(studio), registry):
            continue
        listed = path in sent_paths or path in skipped
        in_junk = any(
            junk_reason(part)
            and (studio / Path(*path.relative_to(studio).parts[: i + 1])) in skipped
            for i, part in enumerate(path.relative_to(studio).parts[:-1])
        )
        assert listed or in_junk, f"{path} neither sent nor explained"


def test_title_and_project_path_from_the_folder(studio: Path, write_config: ConfigWriter) -> None:
    TREES["ableton"](studio)
    TREES["pro-tools"](studio)
    config = write_config([studio], import_={"title_from": "folder", "project_path": "folder"})
    lines = sent(dry_run(config))
    got = [(Path(x["projectPath"]).relative_to(studio).as_posix(), x["title"]) for x in lines]
    assert sorted(got) == [
        ("Backup", "Backup"),
        ("Launch Cue Project", "Launch Cue"),  # Live's "X Project" folder -> "X"
        ("Launch Cue Project", "Launch Cue"),  # its second set: same project folder
        ("Old Session", "Old Session"),
        ("Vocal Session", "Vocal Session"),
    ]


def test_kinds_rename_and_extra_extension(studio: Path, write_config: ConfigWriter) -> None:
    write(studio / "Show.rpp", b'<REAPER_PROJECT 0.1 "7.0"\n>\n')
    write(studio / "Show Template.rpp-tmpl", b'<REAPER_PROJECT 0.1 "7.0"\n>\n')
    write_als(studio / "Set.als")
    config = write_config(
        [studio],
        kinds={
            "Reaper": {"kind": "REAPER", "extensions": [".rpp-tmpl"]},
            "ableton": {"kind": "Live"},
        },
    )
    lines = sent(dry_run(config))
    assert [(Path(x["projectPath"]).name, x["kind"], x["projectType"]) for x in lines] == [
        ("Set.als", "Live", "als"),
        ("Show Template.rpp-tmpl", "REAPER", "rpp-tmpl"),
        ("Show.rpp", "REAPER", "rpp"),
    ]


def test_kinds_naming_an_unknown_daw_is_a_config_error(
    studio: Path, write_config: ConfigWriter
) -> None:
    result = cli(
        "scan", "--dry-run", "--config", str(write_config([studio], kinds={"Garageband 2": {}}))
    )
    assert result.returncode == 78
    assert "kinds" in result.stderr and "Logic Pro" in result.stderr
    assert "config.yaml" in result.stderr, "the message names the config file"
    assert len(result.stderr.strip().splitlines()) == 1


# --- the real daemon ------------------------------------------------------------------


def _received(emulator: Emulator) -> list[dict[str, Any]]:
    """Every item SessionDock accepted, with its request's kind, as dry-run prints it."""
    return sorted(
        ({**i, "kind": r.kind} for r in emulator.accepted() for i in r.items),
        key=lambda x: x["projectPath"],
    )


@pytest.mark.daemon
def test_studio_trees_dropped_into_a_watched_folder_are_sent_once_each(
    studio: Path,
    tmp_path: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
) -> None:
    proc = daemon(write_config([studio], debounce={"quiet_seconds": 1.0}))
    proc.wait_watching()
    staging = tmp_path / "staging"
    expected = mixed_tree(staging / "mixed", tmp_path)
    for name, build in TREES.items():
        expected += build(staging / name)
    for entry in sorted(staging.iterdir()):
        entry.rename(studio / entry.name)
    moved = [
        {
            **x,
            **{
                k: x[k].replace(str(staging), str(studio))
                for k in ("projectPath", "previewAudioPath")
                if k in x
            },
        }
        for x in expected
    ]

    emulator.wait_for_paths(len(moved), timeout=40)
    proc.wait_for("import_answered", count=len(emulator.accepted()))
    assert proc.stop() == 0
    assert _received(emulator) == by_path(moved)


@pytest.mark.daemon
def test_a_logic_bundle_written_file_by_file_is_imported_once(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    proc = daemon(write_config([studio], debounce={"quiet_seconds": 1.2}))
    proc.wait_watching()
    bundle = studio / "Night Drive.logicx"
    started = time.time()
    for path, data in logic_files(bundle):
        write(path, data)
        time.sleep(0.3)  # a DAW saving over seconds; shorter than quiet_seconds
    written = time.time()
    assert written - started > 2

    emulator.wait_for_paths(1)
    assert emulator.accepted()[0].at >= written, "sent before the save finished"
    assert emulator.items() == [
        {"projectPath": str(bundle), "title": "Night Drive", "projectType": "logicx"}
    ]
    assert emulator.accepted()[0].kind == "Logic Pro"

    # Autosaves and backups inside the bundle do not make it look changed.
    write(bundle / "Alternatives" / "000" / "Autosave" / "ProjectData", b"later autosave")
    write(bundle / "Alternatives" / "000" / "Project File Backups" / "01" / "ProjectData", b"b")
    write(bundle / "Alternatives" / "000" / "Undo Data.nosync" / "0002.undo", b"undo")
    sentinel = write_als(studio / "Sentinel.als")
    emulator.wait_for_paths(2)
    proc.wait_for("import_answered", count=len(emulator.accepted()))
    assert proc.stop() == 0
    assert emulator.imported_paths() == [str(bundle), str(sentinel)]


@pytest.mark.daemon
def test_bad_content_is_reported_once_and_retried_when_it_changes(
    studio: Path,
    tmp_path: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
) -> None:
    proc = daemon(write_config([studio], debounce={"quiet_seconds": 0.5}))
    proc.wait_watching()
    half = write(studio / "Half.flp", flp_bytes()[:40])
    talk = write(studio / "Talk.aup3", aup3_bytes(tmp_path))
    wal = write(studio / "Talk.aup3-wal", b"\x37\x7f\x06\x82" + b"\x00" * 28)

    proc.wait_for("project_skipped", path=str(half), reason="bad-content")
    proc.wait_for("project_skipped", path=str(talk), reason="open")
    assert emulator.imported_paths() == []

    half.write_bytes(flp_bytes())
    wal.unlink()
    emulator.wait_for_paths(2)
    proc.wait_for("import_answered", count=len(emulator.accepted()))
    assert proc.stop() == 0
    assert sorted(emulator.imported_paths()) == [str(half), str(talk)]
    assert len(proc.events("project_skipped")) == 2, "each problem is logged once"
