"""`scan --dry-run` split across two processes (watcher/drysplit.py) prints exactly what
one process walking alone prints, in the same order, and still does when the helper
process is gone."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import ConfigWriter, cli, write_als
from tests.daw_fixtures import mixed_tree, write
from watcher.cli import dry_run
from watcher.config import load_config
from watcher.drysplit import Split, _LeadShare, _RestShare


def _studio(root: Path) -> None:
    """Top-level projects, junk and links beside many client folders, so both halves
    of the split hold projects and the top level is reported once."""
    write_als(root / "Loose Set Project" / "Loose Set.als")
    write_als(root / "Top.als")
    write(root / "._Top.als", b"\x00\x05\x16\x07")
    (root / ".Trashes").mkdir()
    os.symlink(root / "Top.als", root / "Linked.als")
    for client in range(7):
        for song in range(3):
            write_als(root / f"Client {client}" / f"Song {song} Project" / f"Song {song}.als")
        write(root / f"Client {client}" / "Samples" / "kick.wav", b"RIFF")
    scratch = root.parent / f"scratch-{root.name}"
    scratch.mkdir()
    mixed_tree(root / "Client 3" / "Mixed", scratch)


def _serial(config: Path, capsys: pytest.CaptureFixture[str], split: Split | None) -> list[str]:
    capsys.readouterr()
    assert dry_run(load_config(config), explain=True, split=split) == 0
    return capsys.readouterr().out.splitlines()


def test_the_split_prints_what_one_walk_prints_in_the_same_order(
    tmp_path: Path, write_config: ConfigWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "studio", tmp_path / "archive"
    _studio(first)
    _studio(second)
    config = write_config([first, tmp_path / "not mounted", second])
    alone = _serial(config, capsys, None)
    result = cli("scan", "--dry-run", "--explain", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == alone
    lines = [json.loads(line) for line in alone]
    sent = [x["projectPath"] for x in lines if "projectPath" in x]
    assert len(sent) == len(set(sent)) > 2 * 7 * 3  # each project once, both halves there
    assert sum(1 for x in lines if x.get("skipped") == "offline") == 1


def test_without_its_helper_the_lead_walks_the_helpers_share(
    tmp_path: Path, write_config: ConfigWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    """The helper never started (its pipes are closed) or died after taking the
    boundary: the lead prints the whole folder itself."""
    studio = tmp_path / "studio"
    _studio(studio)
    config = write_config([studio, tmp_path / "not mounted", studio / "Client 5"])
    alone = _serial(config, capsys, None)

    def orphaned(reader_open: bool) -> Split:
        down_r, down_w = os.pipe()
        up_r, up_w = os.pipe()
        os.close(up_w)  # the helper never reports
        if not reader_open:
            os.close(down_r)  # and never reads the boundary
        return Split(True, down_w, up_r, open(tmp_path / f"out-{reader_open}", "w+b"))

    assert _serial(config, capsys, orphaned(reader_open=False)) == alone
    assert _serial(config, capsys, orphaned(reader_open=True)) == alone


def test_the_boundary_halves_the_folders_the_lead_has_not_reached_when_the_helper_is_ready() -> (
    None
):
    """Until the helper is ready the lead takes each folder it reaches; then the rest
    is halved, and every folder is walked by exactly one of the two."""
    folders = [f"Client {n:02d}" for n in range(10)]
    ready_after = 3  # the helper's first word arrives while the lead walks the third
    asked: list[str] = []
    sent: list[str | None] = []

    def ready() -> bool:
        return len(asked) > ready_after

    def send(boundary: str | None) -> bool:
        sent.append(boundary)
        return True

    lead = _LeadShare(ready, send)
    lead.begin(folders)
    walked_by_lead = []
    for name in folders:
        asked.append(name)
        if lead.enters(name):
            walked_by_lead.append(name)
    assert sent == ["Client 07"]  # 3 taken alone; at the 4th, 7 left: 4 to the lead
    helper = _RestShare(sent[0])
    helper.begin(folders)
    walked_by_helper = [name for name in folders if helper.enters(name)]
    assert walked_by_lead == folders[:7]
    assert walked_by_helper == folders[7:]


def test_a_lead_whose_helper_is_never_ready_walks_every_folder() -> None:
    lead = _LeadShare(lambda: False, lambda boundary: True)
    lead.begin(["a", "b", "c"])
    assert [lead.enters(name) for name in "abc"] == [True, True, True]
    assert not lead.sent  # the helper gets None at the end (Split.done): it walks nothing
