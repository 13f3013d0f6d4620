"""Volumes as macOS and Windows have them, on this machine (issue 12, item 7).

What the shell finds out (whether a folder's volume finds names in any case, where a
drive came back) on real folders, and a drive back under another mount point end to
end: a real daemon, the emulator, a folder renamed as a remount renames the mount
point, and the config edited as README says.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import yaml

from tests.conftest import ConfigWriter, DaemonFactory, cli, wait_until, write_als
from tests.emulator import Emulator
from watcher.volumes import case_insensitive, remounted


def test_a_case_sensitive_volume_is_found_so(tmp_path: Path) -> None:
    """This machine's file system (ext4, overlay) tells `Song.als` from `sONG.ALS`."""
    studio = tmp_path / "Studio"
    studio.mkdir()
    assert case_insensitive(studio) is False, "an empty folder: its own name is tried"
    (studio / "123").mkdir()
    (studio / "Song.als").write_bytes(b"x")
    assert case_insensitive(studio) is False
    digits = tmp_path / "2024"
    (digits / "01").mkdir(parents=True)
    assert case_insensitive(digits) is None, "no name with letters to try"
    assert case_insensitive(tmp_path / "gone") is None


def test_a_name_found_in_the_other_case_as_the_same_file_is_a_case_insensitive_volume(
    tmp_path: Path,
) -> None:
    """What APFS and NTFS answer for `sONG.ALS` (the very same file) is made here with a
    hard link, the one way ext4 gives a second name to one inode; a different file under
    the other case says the volume tells them apart."""
    studio = tmp_path / "Studio"
    studio.mkdir()
    (studio / "Song.als").write_bytes(b"x")
    os.link(studio / "Song.als", studio / "sONG.ALS")
    assert case_insensitive(studio) is True
    other = tmp_path / "Other"
    other.mkdir()
    (other / "Song.als").write_bytes(b"x")
    (other / "sONG.ALS").write_bytes(b"x")
    assert case_insensitive(other) is False


def _library(root: Path, names: list[str]) -> list[str]:
    paths = []
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        paths.append(str(path))
    return paths


def test_a_library_back_under_another_mount_point_is_found(tmp_path: Path) -> None:
    volumes = tmp_path / "Volumes"
    (volumes / "Backup").mkdir(parents=True)
    root = volumes / "Studio" / "Projects"
    names = [f"Client {c}/Song {n}.als" for c in "AB" for n in range(6)]
    recorded = _library(root, names)
    (volumes / "Studio").rename(volumes / "Studio 1")
    assert remounted(root, recorded) == volumes / "Studio 1" / "Projects"
    assert remounted(root, []) is None
    # the same library twice (a backup drive too): which one is it? not guessed
    _library(volumes / "Backup" / "Projects", names)
    assert remounted(root, recorded) is None
    # found nowhere
    assert remounted(tmp_path / "Elsewhere" / "Projects", recorded) is None


def test_a_drive_back_under_another_mount_point_keeps_its_sessions(
    tmp_path: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    """The drive mounted at `Studio` comes back as `Studio 1` while the daemon is
    stopped: `check` names the new mount point, the user sets `watch[].path` to it,
    and the daemon relinks every project: same ids, 0 imports. Then live: it comes back
    as `Studio 2` while the daemon runs, and the config is reloaded (SIGHUP)."""
    volumes = tmp_path / "Volumes"
    studio = volumes / "Studio"
    for n in range(20):
        write_als(studio / "Client" / f"Song {n}.als", name=f"Song {n}")
    config = write_config([studio])
    proc = daemon(config)
    emulator.wait_for_paths(20, timeout=60)
    wait_until(lambda: len(emulator.library) == 20, what="20 sessions")
    ids = {s["id"] for s in emulator.library.all()}
    assert proc.stop() == 0

    studio.rename(volumes / "Studio 1")
    result = cli("check", "--config", str(config))
    lines = result.stdout.splitlines()
    hint = next(i for i, line in enumerate(lines) if "its projects are at" in line)
    assert lines[hint].startswith(
        f"warn  folder {studio}: its projects are at {volumes / 'Studio 1'}"
    )
    assert "set watch[].path to" in lines[hint + 1], result.stdout

    settings = yaml.safe_load(config.read_text())
    settings["watch"][0]["path"] = str(volumes / "Studio 1")
    config.write_text(yaml.safe_dump(settings))
    proc = daemon(config)
    proc.wait_for("project_relinked", count=20, timeout=60)
    assert {s["id"] for s in emulator.library.all()} == ids, "the same sessions"
    assert all(
        s["projectPath"].startswith(str(volumes / "Studio 1")) for s in emulator.library.all()
    )
    assert len(emulator.imported_paths()) == 20, "0 imports"

    (volumes / "Studio 1").rename(volumes / "Studio 2")
    settings["watch"][0]["path"] = str(volumes / "Studio 2")
    config.write_text(yaml.safe_dump(settings))
    proc.send(signal.SIGHUP)
    proc.wait_for("project_relinked", count=40, timeout=60)
    assert {s["id"] for s in emulator.library.all()} == ids
    assert all(
        s["projectPath"].startswith(str(volumes / "Studio 2")) for s in emulator.library.all()
    )
    assert len(emulator.imported_paths()) == 20, "0 imports"
    assert proc.stop() == 0


def test_a_session_listed_in_the_other_form_is_found_for_its_relink(emulator: Emulator) -> None:
    """SessionDock (a macOS app) may hand back a path in NFD form; the daemon recorded it
    in NFC. The relink finds the session all the same, instead of calling it deleted."""
    import unicodedata

    from tests.conftest import TOKEN
    from watcher.client import SessionDockClient
    from watcher.core.effects import Relink, RelinkItem
    from watcher.relinker import relink

    nfc = unicodedata.normalize("NFC", "/Music/Caf\u00e9/Song.als")
    session = emulator.library.add(unicodedata.normalize("NFD", nfc), title="Song")
    client = SessionDockClient(emulator.base_url, lambda: TOKEN, timeout=5)
    try:
        item = RelinkItem(nfc + "2", None, nfc, "/Music/Done/Song.als", "Song", "Song")
        answered = relink(client, Relink(1, (item,)))
    finally:
        client.close()
    assert answered.failure is None
    assert answered.outcome.done == ((item.key, session["id"]),)
    assert emulator.library.all()[0]["projectPath"] == "/Music/Done/Song.als"
