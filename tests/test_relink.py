"""The relink rules: when a vanished and an appeared project are one, titles and tags."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import write_als
from tests.daw_fixtures import logic_files, logic_project_data
from watcher.core.paths import path_key, same_path
from watcher.daws import FORMATS, DawFormat
from watcher.identity import identity_of
from watcher.relink import (
    Appeared,
    Identity,
    Move,
    Vanished,
    could_match,
    match_moves,
    merged_tags,
    relinked_title,
    remap_root,
)

A = Identity(100, "aa")
B = Identity(200, "bb")


def test_one_vanished_and_one_appeared_with_one_identity_is_a_move() -> None:
    moves, ambiguous = match_moves(
        [Vanished("/old/Song.als", A), Vanished("/old/Other.als", B)],
        [Appeared("/new/Song.als", A), Appeared("/new/Fresh.als", Identity(100, "cc"))],
    )
    assert moves == [Move("/old/Song.als", "/new/Song.als")]
    assert ambiguous == []


def test_a_copy_beside_its_original_matches_nothing() -> None:
    """The original is still there, so it is not among the vanished: the copy is new."""
    moves, ambiguous = match_moves([], [Appeared("/p/Song copy.als", A)])
    assert moves == [] and ambiguous == []


def test_several_candidates_on_either_side_are_never_guessed() -> None:
    two_gone = match_moves([Vanished("/a.als", A), Vanished("/b.als", A)], [Appeared("/c.als", A)])
    assert two_gone[0] == [] and two_gone[1][0].keys == ("/c.als",)
    two_new = match_moves([Vanished("/a.als", A)], [Appeared("/c.als", A), Appeared("/d.als", A)])
    assert two_new[0] == [] and two_new[1][0].keys == ("/c.als", "/d.als")
    assert "imported as new" in two_new[1][0].reason


def test_a_digest_is_computed_only_when_a_vanished_project_has_the_size() -> None:
    assert could_match(100, [100, 200])
    assert not could_match(101, [100, 200])


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


@given(
    st.lists(st.tuples(st.text(min_size=1, max_size=4), st.integers(0, 3)), max_size=8),
    st.lists(st.tuples(st.text(min_size=1, max_size=4), st.integers(0, 3)), max_size=8),
)
def test_every_key_is_in_at_most_one_move(
    gone: list[tuple[str, int]], new: list[tuple[str, int]]
) -> None:
    vanished = [Vanished("old/" + k, Identity(n, str(n))) for k, n in dict(gone).items()]
    appeared = [Appeared("new/" + k, Identity(n, str(n))) for k, n in dict(new).items()]
    moves, ambiguous = match_moves(vanished, appeared)
    olds = [m.old for m in moves]
    news = [m.new for m in moves] + [k for a in ambiguous for k in a.keys]
    assert len(olds) == len(set(olds)) and len(news) == len(set(news))
    for move in moves:
        old = next(v for v in vanished if v.key == move.old)
        assert next(a for a in appeared if a.key == move.new).identity == old.identity


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
