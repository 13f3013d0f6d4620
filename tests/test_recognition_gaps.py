"""Recognition gaps from issue 10: Pro Tools 5-6 `.pts`, and Logic/GarageBand bundles
that lost their suffix on a share or in an archive."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path, PurePath
from typing import Any

import pytest

from tests.conftest import ConfigWriter, DaemonFactory, cli
from tests.daw_fixtures import logic_files, logic_project_data, ptx_bytes, write
from tests.emulator import Emulator
from watcher.config import WatchFolder
from watcher.daws import Candidate, Registry, Skipped
from watcher.scanner import check_content, listdir_names, walk


def dry_run(config: Path, *extra: str) -> list[dict[str, Any]]:
    result = cli("scan", "--dry-run", *extra, "--config", str(config))
    assert result.returncode == 0, result.stderr
    return [json.loads(x) for x in result.stdout.splitlines()]


def test_pro_tools_5_to_6_sessions_are_recognised(
    tmp_path: Path, write_config: ConfigWriter
) -> None:
    studio = tmp_path / "studio"
    session = write(studio / "Old Session" / "Old Session.pts", ptx_bytes())
    write(studio / "Old Session" / "Not A Session.pts", b"RIFF\x00\x00\x00\x04WAVE")
    lines = dry_run(write_config([studio]), "--explain")
    sent = [x for x in lines if "projectPath" in x]
    assert sent == [
        {
            "projectPath": str(session),
            "kind": "Pro Tools",
            "title": "Old Session",
            "projectType": "pts",
        }
    ]
    assert [x["skipped"] for x in lines if "skipped" in x] == ["bad-content"]


def unsuffixed_logic(base: Path, name: str = "Film Score v1.2") -> Path:
    bundle = base / name
    for path, data in logic_files(bundle):
        write(path, data)
    return bundle


def names_from_disk(directory: PurePath) -> Collection[str]:
    return listdir_names(directory)


def test_an_unsuffixed_bundle_is_explained_by_default(tmp_path: Path) -> None:
    bundle = unsuffixed_logic(tmp_path)
    registry = Registry()
    for inner in ("", "Alternatives/000/ProjectData", "Media/Audio Files/Film Score.wav"):
        path = bundle / inner if inner else bundle
        verdict = registry.classify(path, tmp_path, names_from_disk)
        assert isinstance(verdict, Skipped) and verdict.reason == "unsuffixed", inner
        assert verdict.path == bundle
        assert "rename it to Film Score v1.2.logicx" in verdict.detail
    assert list(walk(WatchFolder(path=tmp_path), registry)) == []


def test_an_unsuffixed_bundle_is_a_project_when_enabled(tmp_path: Path) -> None:
    logic = unsuffixed_logic(tmp_path)
    band = tmp_path / "Demo"
    write(band / "projectData", b"bplist00")
    write(band / "Alternatives" / "001" / "ProjectData", logic_project_data())
    registry = Registry.configured({}, unsuffixed_bundles=True)
    found = {
        Path(v.path).name: v.daw.kind
        for v in walk(WatchFolder(path=tmp_path), registry)
        if isinstance(v, Candidate)
    }
    assert found == {"Film Score v1.2": "Logic Pro", "Demo": "GarageBand"}
    inside = registry.classify(logic / "Alternatives/000/ProjectData", tmp_path, names_from_disk)
    assert isinstance(inside, Candidate) and inside.path == logic
    backup = logic / "Alternatives/000/Project File Backups/00/ProjectData"
    verdict = registry.classify(backup, tmp_path, names_from_disk)
    assert isinstance(verdict, Skipped) and verdict.reason == "backup"
    (logic / "Alternatives/000/ProjectData").write_bytes(b"not logic at all")
    problem = check_content(Candidate(logic, registry.format_for("x.logicx")))  # type: ignore[arg-type]
    assert problem is not None and "23 47 C0 AB" in problem


def test_a_folder_called_alternatives_hides_nothing(tmp_path: Path) -> None:
    write(tmp_path / "Mixes" / "Alternatives" / "000" / "cover.jpg", b"\xff\xd8")
    take = write(tmp_path / "Mixes" / "Alternatives" / "Take.rpp", b"<REAPER_PROJECT\n>\n")
    for registry in (Registry(), Registry.configured({}, unsuffixed_bundles=True)):
        found = [v.path for v in walk(WatchFolder(path=tmp_path), registry, explain=True)]
        assert found == [take]


@pytest.mark.parametrize("enabled", [False, True])
def test_dry_run_says_what_it_does_with_an_unsuffixed_bundle(
    tmp_path: Path, write_config: ConfigWriter, enabled: bool
) -> None:
    studio = tmp_path / "studio"
    bundle = unsuffixed_logic(studio)
    lines = dry_run(write_config([studio], scan={"unsuffixed_bundles": enabled}), "--explain")
    if enabled:
        assert lines == [
            {
                "projectPath": str(bundle),
                "kind": "Logic Pro",
                "title": "Film Score v1.2",
                "projectType": "logicx",
            }
        ]
    else:
        assert [(x["path"], x["skipped"]) for x in lines] == [(str(bundle), "unsuffixed")]
        assert "scan.unsuffixed_bundles" in lines[0]["why"]


@pytest.mark.daemon
def test_the_daemon_imports_an_unsuffixed_bundle_moved_in_when_enabled(
    studio: Path,
    tmp_path: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
) -> None:
    proc = daemon(write_config([studio], scan={"unsuffixed_bundles": True}))
    proc.wait_watching()
    staged = unsuffixed_logic(tmp_path / "staging", "Cue 12")
    staged.rename(studio / "Cue 12")
    emulator.wait_for_paths(1, timeout=20)
    assert emulator.imported_paths() == [str(studio / "Cue 12")]
    assert emulator.items()[0]["projectType"] == "logicx"
    assert proc.stop() == 0
