"""Recognition on real bytes: one project per DAW, saved by the DAW itself.

The samples live in ../shared/real-daw-samples (see its README for sources). They are
copied into tmp folders first, so the tests can cut, rename and hide them.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, ConfigWriter, DaemonFactory, cli
from tests.emulator import Emulator
from watcher.config import WatchFolder
from watcher.daws import Candidate, Registry, Skipped, check_generic
from watcher.scanner import check_content, listdir_names, walk

pytestmark = [
    pytest.mark.samples,
    pytest.mark.skipif(
        not SAMPLES.is_dir(), reason=f"real DAW samples not found at {SAMPLES} (../shared)"
    ),
]

KINDS = {
    "Ableton-Live/live-tools.als": ("Ableton", "als"),
    "Ableton-Live/ableton_test_project.als": ("Ableton", "als"),
    "Ardour/mantis_3356.ardour": ("Ardour", "ardour"),
    "Audacity/missing_blockfile.aup": ("Audacity", "aup"),
    "Bitwig-Studio/UnitTestsProject.bwproject": ("Bitwig Studio", "bwproject"),
    "Cubase/2audiotracksw2audioparts.cpr": ("Cubase", "cpr"),
    "DAWproject/sends.dawproject": ("DAWproject", "dawproject"),
    "FL-Studio/fl-markers.flp": ("FL Studio", "flp"),
    "GarageBand/fomifomi0207__podcast-test1.band": ("GarageBand", "band"),
    "LMMS/CapDan-ReggaeTry.mmpz": ("LMMS", "mmpz"),
    "Logic-Pro/F22_multimidi.logicx": ("Logic Pro", "logicx"),
    "Pro-Tools/midi345x.ptf": ("Pro Tools", "ptf"),
    "REAPER/empty.rpp": ("Reaper", "rpp"),
    "Renoise/test.xrns": ("Renoise", "xrns"),
}

FILES = sorted(k for k in KINDS if not k.endswith((".logicx", ".band")))
REGISTRY = Registry()


def copy_sample(relative: str, into: Path) -> Path:
    """Copy a sample (file or bundle) as plain writable files."""
    source = SAMPLES / relative
    target = into / relative
    if source.is_dir():
        for dirpath, _dirs, files in os.walk(source):
            folder = target / Path(dirpath).relative_to(source)
            folder.mkdir(parents=True, exist_ok=True)
            for name in files:
                shutil.copyfile(Path(dirpath) / name, folder / name)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return target


def test_the_table_covers_every_sample() -> None:
    found = {
        p.relative_to(SAMPLES).as_posix()
        for p in SAMPLES.glob("*/*")
        if not p.name.startswith(".") and p.name != "README.md"
    }
    assert found == set(KINDS)


def test_every_sample_is_recognised_with_its_kind_and_passes_its_check(tmp_path: Path) -> None:
    for relative in KINDS:
        copy_sample(relative, tmp_path)
    folder = WatchFolder(path=tmp_path)
    found = {}
    for verdict in walk(folder, REGISTRY, explain=True):
        assert isinstance(verdict, Candidate), verdict
        assert check_content(verdict) is None, verdict.path
        found[Path(verdict.path).relative_to(tmp_path).as_posix()] = verdict.daw.kind
    assert found == {k: kind for k, (kind, _) in KINDS.items()}


def test_dry_run_over_the_samples(tmp_path: Path, write_config: ConfigWriter) -> None:
    studio = tmp_path / "studio"
    for relative in KINDS:
        copy_sample(relative, studio)
    result = cli("scan", "--dry-run", "--config", str(write_config([studio])))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    got = {
        Path(x["projectPath"]).relative_to(studio).as_posix(): (x["kind"], x["projectType"])
        for x in lines
    }
    assert got == KINDS
    titles = {x["title"] for x in lines}
    assert {"F22_multimidi", "fomifomi0207__podcast-test1", "live-tools"} <= titles


def _check(relative: str, data: bytes) -> str | None:
    daw = REGISTRY.format_for(relative)
    assert daw is not None and daw.check is not None
    stream = io.BytesIO(data)
    return check_generic(stream) or daw.check(stream)


NO_LENGTH_KNOWN = {"Pro-Tools/midi345x.ptf", "Bitwig-Studio/UnitTestsProject.bwproject"}


@pytest.mark.parametrize("relative", FILES)
def test_a_half_copied_sample_fails_its_check(relative: str) -> None:
    data = (SAMPLES / relative).read_bytes()
    assert _check(relative, data) is None
    assert _check(relative, b"") is not None
    assert _check(relative, b"\x00\x05\x16\x07" + data[4:200]) is not None
    if relative not in NO_LENGTH_KNOWN:
        assert _check(relative, data[: len(data) // 2]) is not None


@pytest.mark.parametrize("relative", FILES)
def test_another_daws_bytes_under_this_extension_fail(relative: str) -> None:
    own = REGISTRY.format_for(relative)
    for other in FILES:
        theirs = REGISTRY.format_for(other)
        if theirs is own:
            continue
        assert _check(relative, (SAMPLES / other).read_bytes()) is not None, other


@pytest.mark.parametrize(
    "bundle", ["Logic-Pro/F22_multimidi.logicx", "GarageBand/fomifomi0207__podcast-test1.band"]
)
def test_real_bundles(bundle: str, tmp_path: Path) -> None:
    root = copy_sample(bundle, tmp_path)
    for path in root.rglob("*"):
        verdict = REGISTRY.classify(path, tmp_path, listdir_names)
        inner = path.relative_to(root).parts
        if "Autosave" in inner:
            assert isinstance(verdict, Skipped) and verdict.reason == "backup"
        else:
            assert isinstance(verdict, Candidate) and verdict.path == root
    data = root / "Alternatives" / "000" / "ProjectData"
    data.write_bytes(data.read_bytes()[:-100])
    problem = check_content(Candidate(root, REGISTRY.format_for(root.name)))  # type: ignore[arg-type]
    assert problem and "truncated" in problem


def test_real_sets_in_a_live_backup_folder_are_backups(tmp_path: Path) -> None:
    project = tmp_path / "Set Project"
    (project / "Ableton Project Info").mkdir(parents=True)
    set_ = copy_sample("Ableton-Live/ableton_test_project.als", tmp_path)
    set_.rename(project / "Set.als")
    backup = project / "Backup" / "Set [2024-05-01 101500].als"
    backup.parent.mkdir()
    shutil.copyfile(project / "Set.als", backup)
    verdicts = list(walk(WatchFolder(path=tmp_path), REGISTRY, explain=True))
    assert [(type(v).__name__, Path(v.path).name) for v in verdicts] == [
        ("Candidate", "Set.als"),
        ("Skipped", backup.name),
    ]


@pytest.mark.daemon
def test_the_daemon_imports_every_sample_once_with_its_kind(
    studio: Path,
    tmp_path: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
) -> None:
    proc = daemon(write_config([studio]))
    proc.wait_watching()
    staging = tmp_path / "staging"
    for relative in KINDS:
        copy_sample(relative, staging)
    for folder in sorted(staging.iterdir()):
        folder.rename(studio / folder.name)

    emulator.wait_for_paths(len(KINDS), timeout=40)
    proc.wait_for("import_answered", count=len(emulator.accepted()))
    assert proc.stop() == 0
    got = {
        Path(i["projectPath"]).relative_to(studio).as_posix(): (r.kind, i["projectType"])
        for r in emulator.accepted()
        for i in r.items
    }
    assert got == KINDS
    assert len(emulator.imported_paths()) == len(KINDS)
