"""The DAW table and classification: pure rules, no disk (names come from a dict)."""

from __future__ import annotations

import io
from collections.abc import Collection
from pathlib import PurePath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import als_bytes
from tests.daw_fixtures import (
    APPLEDOUBLE,
    ardour_bytes,
    aup_bytes,
    bwproject_bytes,
    cpr_bytes,
    dawproject_bytes,
    flp_bytes,
    logic_project_data,
    mmp_bytes,
    mmpz_bytes,
    ptx_bytes,
    rpp_bytes,
    song_bytes,
    xrns_bytes,
)
from watcher.config import ConfigError, KindOverride
from watcher.daws import FORMATS, Candidate, DawFormat, Registry, Skipped, Verdict, check_generic

ROOT = PurePath("/studio")
REGISTRY = Registry()


def tree(*paths: str) -> dict[PurePath, set[str]]:
    """A directory listing for each folder on the way to each path."""
    listing: dict[PurePath, set[str]] = {}
    for text in paths:
        path = ROOT / text
        for parent in path.parents:
            listing.setdefault(parent, set())
        node = path
        while node != ROOT:
            listing[node.parent].add(node.name)
            node = node.parent
    return listing


def classify(
    path: str, listing: dict[PurePath, set[str]], exclude: tuple[str, ...] = ()
) -> Verdict:
    def names_in(directory: PurePath) -> Collection[str]:
        return listing.get(directory, set())

    return REGISTRY.classify(ROOT / path, ROOT, names_in, exclude)


def kind_of(verdict: object) -> str | None:
    return verdict.daw.kind if isinstance(verdict, Candidate) else None


# --- the table ------------------------------------------------------------------------


EXPECTED_KINDS = {
    ".als": "Ableton", ".logicx": "Logic Pro", ".band": "GarageBand", ".flp": "FL Studio",
    ".ptx": "Pro Tools", ".ptf": "Pro Tools", ".pts": "Pro Tools", ".cpr": "Cubase",
    ".npr": "Nuendo",
    ".rpp": "Reaper", ".song": "Studio One", ".bwproject": "Bitwig Studio",
    ".reason": "Reason", ".ardour": "Ardour", ".aup3": "Audacity", ".aup": "Audacity",
    ".dawproject": "DAWproject", ".xrns": "Renoise", ".mmp": "LMMS", ".mmpz": "LMMS",
    ".cwp": "Cakewalk",
}  # fmt: skip


def test_every_daw_of_the_issue_has_one_row_with_its_kind() -> None:
    table = {ext: daw.kind for daw in FORMATS for ext in daw.extensions}
    assert table == EXPECTED_KINDS
    assert len({d.kind for d in FORMATS}) == len(FORMATS), "one row per DAW"
    assert {d.kind for d in FORMATS if d.bundle} == {"Logic Pro", "GarageBand"}
    for daw in FORMATS:
        assert all(e == e.lower() and e.startswith(".") for e in daw.extensions)
        for folder in (*daw.bounce_dirs, *daw.bundle_bounce_dirs):
            assert not {"samples", "audio files"} & {p.lower() for p in PurePath(folder).parts}


def test_extensions_match_ignoring_case() -> None:
    listing = tree("Show/Show.RPP", "Mix.ALS")
    assert kind_of(classify("Show/Show.RPP", listing)) == "Reaper"
    assert kind_of(classify("Mix.ALS", listing)) == "Ableton"


def test_adding_a_daw_is_one_row() -> None:
    row = DawFormat(kind="Waveform", extensions=(".tracktionedit",), backup_dirs=("Backups",))
    registry = Registry((*FORMATS, row))
    listing = tree("Edit/Edit.tracktionedit", "Edit/Backups/Edit 1.tracktionedit")
    verdict = registry.classify(
        ROOT / "Edit/Edit.tracktionedit", ROOT, lambda d: listing.get(d, set())
    )
    assert isinstance(verdict, Candidate) and verdict.daw is row
    backup = registry.classify(
        ROOT / "Edit/Backups/Edit 1.tracktionedit", ROOT, lambda d: listing.get(d, set())
    )
    assert isinstance(backup, Skipped) and backup.reason == "backup"


def test_kinds_config_renames_any_kind_and_adds_extensions() -> None:
    registry = Registry.configured(
        {
            "Logic Pro": KindOverride(kind="Logic"),
            "reaper": KindOverride(kind="REAPER", extensions=[".rpp-tmpl"]),
            "Pro Tools": KindOverride(extensions=[".ptt"]),
        }
    )
    assert registry.format_for("x.logicx").kind == "Logic"  # type: ignore[union-attr]
    assert registry.format_for("x.RPP-TMPL").kind == "REAPER"  # type: ignore[union-attr]
    assert registry.format_for("x.ptt").kind == "Pro Tools"  # type: ignore[union-attr]
    assert registry.format_for("x.als").kind == "Ableton"  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match=r"at 'kinds\.Luna': unknown DAW"):
        Registry.configured({"Luna": KindOverride()})


# --- bundles --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "inner",
    ["", "Alternatives/000/ProjectData", "Resources/ProjectInformation.plist",
     "Alternatives/001/MetaData.plist", "Media/Audio Files/Take 1.wav", "Bounces/Mix.wav"],
)  # fmt: skip
def test_every_event_inside_a_bundle_maps_to_the_bundle(inner: str) -> None:
    path = "Film/Score.logicx/" + inner if inner else "Film/Score.logicx"
    verdict = classify(path.rstrip("/"), tree(path))
    assert isinstance(verdict, Candidate)
    assert verdict.path == ROOT / "Film/Score.logicx"


@pytest.mark.parametrize(
    "inner",
    ["Alternatives/000/Project File Backups/03/ProjectData", "Alternatives/000/Autosave/x",
     "Alternatives/000/Undo Data.nosync/1.undo", "Media/Freeze Files.nosync/a.wav",
     "Alternatives/000/.DS_Store", "Alternatives/000/._ProjectData"],
)  # fmt: skip
@pytest.mark.parametrize("bundle", ["Song.logicx", "Song.band"])
def test_backups_and_junk_inside_a_bundle_never_touch_it(bundle: str, inner: str) -> None:
    verdict = classify(f"{bundle}/{inner}", tree(f"{bundle}/{inner}"))
    assert isinstance(verdict, Skipped), verdict
    assert verdict.reason in ("backup", "junk")


def test_a_bundle_inside_a_bundle_is_not_a_project_of_its_own() -> None:
    path = "Outer.logicx/Media/Inner.logicx/Alternatives/000/ProjectData"
    verdict = classify(path, tree(path))
    assert isinstance(verdict, Candidate) and verdict.path == ROOT / "Outer.logicx"


# --- scoped backup folders ------------------------------------------------------------


def test_live_backup_folder_is_a_backup_only_inside_a_live_project() -> None:
    listing = tree(
        "Song Project/Song.als",
        "Song Project/Ableton Project Info/AProject.ico",
        "Song Project/Backup/Song [2024-05-01 101500].als",
        "Backup/Mine.als",  # the user's own folder called Backup
        "Marker Only Project/Ableton Project Info/AProject.ico",
        "Marker Only Project/Backup/Lost [2024].als",
    )
    backup = classify("Song Project/Backup/Song [2024-05-01 101500].als", listing)
    assert isinstance(backup, Skipped) and backup.reason == "backup"
    assert "Backup/" in backup.detail
    assert kind_of(classify("Backup/Mine.als", listing)) == "Ableton"
    marker_only = classify("Marker Only Project/Backup/Lost [2024].als", listing)
    assert isinstance(marker_only, Skipped)


@pytest.mark.parametrize(
    ("backup", "real", "user_folder"),
    [
        ("Session/Session File Backups/Session.bak.0001.ptx", "Session/Session.ptx",
         "Session File Backups/Mine.ptx"),
        ("Film/Auto Saves/Film-03.cpr", "Film/Film.cpr", "Auto Saves/Other.cpr"),
        ("Post/Auto Saves/Post-01.npr", "Post/Post.npr", "Auto Saves/Post.npr"),
        ("Ballad/History/Ballad (Autosaved).song", "Ballad/Ballad.song", "History/Old.song"),
        ("Ballad/Cache/x.song", "Ballad/Ballad.song", "Cache/Y.song"),
        ("Mix/Backups/Mix-2024-03-01_1200.rpp", "Mix/Mix.rpp", "Backups/Kept.rpp"),
    ],
)  # fmt: skip
def test_daw_backup_folders_are_scoped_to_that_daws_project(
    backup: str, real: str, user_folder: str
) -> None:
    listing = tree(backup, real, user_folder)
    skipped = classify(backup, listing)
    assert isinstance(skipped, Skipped) and skipped.reason == "backup"
    assert isinstance(classify(real, listing), Candidate)
    assert isinstance(classify(user_folder, listing), Candidate), "a user folder is not hidden"


def test_pro_tools_backups_hidden_even_when_the_session_file_is_gone() -> None:
    listing = tree("Session/Audio Files/a.wav", "Session/Session File Backups/S.bak.001.ptx")
    skipped = classify("Session/Session File Backups/S.bak.001.ptx", listing)
    assert isinstance(skipped, Skipped) and skipped.reason == "backup"


# --- names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("._Song.als", "junk"), (".Song.als", "junk"), ("~$Song.als", "junk"),
        ("Song (Anna's conflicted copy 2024-05-01).als", "junk"),
        ("Song (Case Conflict).als", "junk"), ("Song (Unicode Encoding Conflict).flp", "junk"),
        ("Song.sync-conflict-20240501-101010-ABCDEFG.als", "junk"),
        ("Beat (autosave).flp", "backup"), ("Beat (overwritten at 1530h).flp", "backup"),
        ("Auto Save Version of Church.cwp", "backup"), ("recover.mmpz", "backup"),
        ("Show.rpp-bak", "backup"), ("Show-2024-05-01_1530.RPP-BAK", "backup"),
        ("Show.rpp-undo", "backup"), ("Film-01.bak", "backup"), ("Live.ardour.bak", "backup"),
        ("Live.pending", "backup"), ("Live.history", "backup"),
    ],
)  # fmt: skip
def test_junk_backup_and_autosave_names(name: str, reason: str) -> None:
    verdict = classify(f"Folder/{name}", tree(f"Folder/{name}"))
    assert isinstance(verdict, Skipped), verdict
    assert verdict.reason == reason


@pytest.mark.parametrize(
    "folder",
    ["__MACOSX", "@eaDir", "#recycle", "$RECYCLE.BIN", ".Trashes", ".stversions", "#snapshot",
     ".dropbox.cache", "System Volume Information"],
)  # fmt: skip
def test_nothing_inside_os_and_sync_folders_is_a_project(folder: str) -> None:
    verdict = classify(f"{folder}/Song.als", tree(f"{folder}/Song.als"))
    assert isinstance(verdict, Skipped) and verdict.reason == "junk"


@pytest.mark.parametrize(
    "name",
    ["Song.als.part", "Song.als.tmp", "Song.als.crdownload", "Thumbs.db", "desktop.ini",
     ".DS_Store", "Icon\r", "Song.aup3-shm", "Peaks.reapeaks", "Song.asd", "Song.wav"],
)  # fmt: skip
def test_non_projects_are_ignored_silently(name: str) -> None:
    assert classify(f"F/{name}", tree(f"F/{name}")) is None


@pytest.mark.parametrize("heavy", ["Samples", "Audio Files", "Freeze Files", "samples"])
def test_nothing_under_payload_folders_is_a_project(heavy: str) -> None:
    assert classify(f"P/{heavy}/Imported/x.als", tree(f"P/{heavy}/Imported/x.als")) is None


def test_audacity_write_ahead_log_events_map_to_the_project() -> None:
    listing = tree("Pod/Talk.aup3", "Pod/Talk.aup3-wal")
    verdict = classify("Pod/Talk.aup3-wal", listing)
    assert isinstance(verdict, Candidate) and verdict.path == ROOT / "Pod/Talk.aup3"


def test_exclude_globs() -> None:
    listing = tree("Archive/2019/Old.als", "Live/Old-draft.als", "Live/New.als")
    for path in ("Archive/2019/Old.als", "Live/Old-draft.als"):
        verdict = classify(path, listing, ("Archive/**", "*-draft.als"))
        assert isinstance(verdict, Skipped) and verdict.reason == "excluded"
    assert isinstance(classify("Live/New.als", listing, ("Archive/**",)), Candidate)


# --- content checks on synthetic bytes -------------------------------------------------

GOOD = {
    ".als": als_bytes(), ".flp": flp_bytes(), ".ptx": ptx_bytes(), ".cpr": cpr_bytes(),
    ".npr": cpr_bytes(), ".rpp": rpp_bytes(), ".song": song_bytes(),
    ".bwproject": bwproject_bytes(), ".ardour": ardour_bytes(), ".aup": aup_bytes(),
    ".dawproject": dawproject_bytes(), ".xrns": xrns_bytes(), ".mmp": mmp_bytes(),
    ".mmpz": mmpz_bytes(), ".logicx": logic_project_data(), ".band": logic_project_data(),
}  # fmt: skip

COMPLETENESS_PROVEN = {
    ".als", ".flp", ".cpr", ".npr", ".rpp", ".song", ".ardour", ".aup", ".dawproject",
    ".xrns", ".mmp", ".mmpz", ".logicx", ".band",
}  # fmt: skip


def run_check(extension: str, data: bytes) -> str | None:
    daw = REGISTRY.format_for("x" + extension)
    assert daw is not None
    stream = io.BytesIO(data)
    return check_generic(stream) or (daw.check(stream) if daw.check else None)


@pytest.mark.parametrize("extension", sorted(GOOD))
def test_good_bytes_pass_and_foreign_bytes_fail(extension: str) -> None:
    assert run_check(extension, GOOD[extension]) is None
    assert run_check(extension, b"") is not None
    assert run_check(extension, APPLEDOUBLE) is not None
    assert run_check(extension, b"RIFF\x00\x00\x00\x10WAVEfmt " + b"\x00" * 64) is not None


@pytest.mark.parametrize("extension", sorted(COMPLETENESS_PROVEN))
def test_a_copy_cut_short_fails(extension: str) -> None:
    data = GOOD[extension]
    assert run_check(extension, data[: len(data) * 2 // 3]) is not None


def test_unknown_formats_still_reject_placeholders_and_appledouble() -> None:
    for extension in (".reason", ".cwp"):
        assert run_check(extension, b"anything at all") is None
        assert run_check(extension, b"") is not None
        assert run_check(extension, APPLEDOUBLE) is not None


def test_a_wav_renamed_to_cpr_is_not_cubase() -> None:
    assert "NUND" in (run_check(".cpr", b"RIFF\x00\x00\x00\x04WAVE") or "")


# --- properties: junk around a real project never changes what is sent ------------------

_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/\x00", exclude_categories=["Cs"]),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in (".", ".."))
_project_ext = st.sampled_from(sorted(EXPECTED_KINDS))
_junk_name = st.one_of(
    st.builds(lambda n, e: f"._{n}{e}", _text, _project_ext),
    st.builds(lambda n, e: f".{n}{e}", _text, _project_ext),
    st.builds(lambda n, e: f"~${n}{e}", _text, _project_ext),
    st.builds(lambda n, w, e: f"{n} ({w}'s conflicted copy 2024-01-02){e}", _text,
              _text.filter(lambda w: not set(w) & set("()")), _project_ext),
    st.builds(lambda n, e: f"{n}.sync-conflict-20240102-030405-ABC{e}", _text, _project_ext),
    st.builds(lambda n, e, t: f"{n}{e}{t}", _text, _project_ext,
              st.sampled_from([".part", ".tmp", ".crdownload", ".partial", "~"])),
    st.builds(lambda n: f"{n} (autosave).flp", _text),
    st.builds(lambda n: f"{n}.rpp-bak", _text),
    st.builds(lambda n: f"Auto Save Version of {n}.cwp", _text),
    st.sampled_from([".DS_Store", "Thumbs.db", "desktop.ini", "Icon\r", "Song.aup3-shm"]),
    st.builds(lambda n: f"{n}.wav", _text),
)  # fmt: skip
_junk_dir = st.sampled_from(
    ["__MACOSX", "@eaDir", "#recycle", "$RECYCLE.BIN", ".Trashes", ".stversions", "Samples",
     "Audio Files", "Song Project/Backup", "Song Project/Samples/Recorded"]
)  # fmt: skip

REAL = ("Song Project/Song.als", "Song Project/Ableton Project Info/AProject.ico")


def _sent(listing: dict[PurePath, set[str]], files: list[str]) -> set[PurePath]:
    out = set()
    for path in files:
        verdict = classify(path, listing)
        if isinstance(verdict, Candidate):
            out.add(verdict.path)
    return out


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["", "Song Project/"]) | _junk_dir.map(lambda d: d + "/"), _junk_name
        ),
        max_size=12,
    )
)
def test_junk_names_around_a_real_project_never_change_what_is_sent(
    junk: list[tuple[str, str]],
) -> None:
    files = list(REAL) + [folder + name for folder, name in junk]
    listing = tree(*files)
    assert _sent(listing, files) == {ROOT / "Song Project/Song.als"}


@settings(max_examples=100, deadline=None)
@given(st.lists(_junk_name, max_size=8), st.sampled_from(["", "Mix/", "Bounces/"]))
def test_junk_inside_a_bundle_never_adds_a_project(names: list[str], folder: str) -> None:
    files = ["Score.logicx/Alternatives/000/ProjectData"] + [
        f"Score.logicx/{folder}{n}" for n in names
    ]
    listing = tree(*files)
    assert _sent(listing, files) <= {ROOT / "Score.logicx"}
    assert _sent(listing, files[:1]) == {ROOT / "Score.logicx"}
