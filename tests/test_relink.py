"""The relink rules: when a vanished and an appeared project are one, titles and tags."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.conftest import write_als
from tests.daw_fixtures import logic_files, logic_project_data
from watcher.core.paths import path_key, same_path
from watcher.daws import FORMATS, DawFormat
from watcher.identity import identity_of
from watcher.relink import merged_tags, relinked_title, remap_root


def test_nfc_and_nfd_are_one_path_and_case_counts_only_where_the_volume_says() -> None:
    nfc, nfd = "/Music/Caf\u00e9.als", "/Music/Cafe\u0301.als"
    assert same_path(nfc, nfd, case_insensitive=False)
    assert not same_path("/Music/song.als", "/Music/Song.als", case_insensitive=False)
    assert same_path("/Music/song.als", "/Music/Song.als", case_insensitive=True)
    assert path_key(nfd, False) == nfc


def test_a_remounted_volume_swaps_its_root() -> None:
    assert remap_root("/Volumes/Studio/A/Song.als", "/Volumes/Studio", "/Volumes/Studio 1") == (
        "/Volumes/Studio 1/A/Song.als"
    )
    assert remap_root("/Volumes/Studio 2/Song.als", "/Volumes/Studio", "/Volumes/X") is None
    assert remap_root("E:\\Sessions\\Song.als", "E:\\", "F:\\") == "F:\\Sessions\\Song.als"


def test_the_title_follows_the_name_only_while_it_is_ours() -> None:
    assert relinked_title("Song", "Song", "Song v2") == "Song v2"
    assert relinked_title(None, "Song", "Song v2") == "Song v2"
    assert relinked_title("My Best Mix", "Song", "Song v2") is None
    assert relinked_title("Song", "Song", "Song") is None


def test_folder_tags_are_added_never_removed_nor_doubled() -> None:
    assert merged_tags(["mine"], ["Client A"]) == ["mine", "Client A"]
    assert merged_tags(["client a", "mine"], ["Client A"]) is None
    assert merged_tags([], ["x", "x"]) == ["x"]


def _daw(kind: str) -> DawFormat:
    return next(d for d in FORMATS if d.kind == kind)


def test_a_file_keeps_its_identity_across_a_copy_and_a_new_mtime(tmp_path: Path) -> None:
    original = write_als(tmp_path / "a" / "Song.als")
    copy = tmp_path / "b" / "Song.als"
    copy.parent.mkdir()
    shutil.copyfile(original, copy)  # a new inode and mtime, as a copy to another volume
    os.utime(copy, (1, 1))
    ableton = _daw("Ableton")
    assert identity_of(original, ableton) == identity_of(copy, ableton)
    copy.write_bytes(original.read_bytes() + b"\n")
    assert identity_of(original, ableton) != identity_of(copy, ableton)
    assert identity_of(tmp_path / "gone.als", ableton) is None


def test_a_bundle_identity_covers_its_project_data_not_its_recordings(tmp_path: Path) -> None:
    logic = _daw("Logic Pro")
    first, second = tmp_path / "A.logicx", tmp_path / "B.logicx"
    for bundle in (first, second):
        for path, data in logic_files(bundle):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    (second / "Media" / "Audio Files" / "Take 2.wav").write_bytes(b"RIFF" + b"\x01" * 80)
    assert identity_of(first, logic) == identity_of(second, logic)
    (second / "Alternatives" / "000" / "ProjectData").write_bytes(logic_project_data(b"\x09"))
    assert identity_of(first, logic) != identity_of(second, logic)
    assert identity_of(tmp_path / "Empty.logicx", logic) is None
