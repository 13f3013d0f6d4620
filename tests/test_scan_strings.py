"""The scan's string-based walks give what the `pathlib` and `os.walk` code they replaced
gave (issue 13: a probe per project on every scan, so no `Path.glob` and no `os.walk`).

A bundle's signature is stored: if the new walk counted other files, or stopped at its
limit at another place, every large bundle would look changed after an upgrade and be
sent again. So the `os.walk` version is kept here as the oracle and both run over
random bundles with links (to files, folders, nowhere), junk, `.nosync` data, backup
folders and, with a small limit, trees that overflow it.
"""

from __future__ import annotations

import os
import random
import stat
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from watcher import scanner
from watcher.core.records import Signature
from watcher.daws import DawFormat, Registry, is_junk_name, is_nosync
from watcher.walking import expand


def _logic() -> DawFormat:
    daw = Registry().format_for("x.logicx")
    assert daw is not None
    return daw


LOGIC = _logic()


def os_walk_signature(
    bundle: Path, daw: DawFormat, limit: int, noted: list[str]
) -> Signature | None:
    """The signature as the code before issue 13's last scan work took it (os.walk)."""
    skip = {d.lower() for d in daw.backup_dirs}
    reads = [p.lower() for p in daw.content_files]
    size = newest = count = seen = digest = 0
    try:
        top = bundle.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(top.st_mode):
        return None
    inside = len(str(bundle)) + 1
    for dirpath, dirnames, filenames in os.walk(bundle):
        seen += len(dirnames) + len(filenames)
        if seen > limit:
            break
        noted.append(dirpath)
        dirnames[:] = [
            d
            for d in dirnames
            if d.lower() not in skip and not is_nosync(d) and not is_junk_name(d)
        ]
        for name in filenames:
            if is_junk_name(name):
                continue
            path = os.path.join(dirpath, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            size += info.st_size
            newest = max(newest, info.st_mtime_ns)
            count += 1
            digest += scanner.file_stamp(path[inside:], info.st_size, info.st_mtime_ns)
            if not reads or any(fnmatchcase(path[inside:].lower(), p) for p in reads):
                noted.append(path)
    return Signature(
        size=size + count,
        mtime_ns=max(newest, top.st_mtime_ns),
        inode=top.st_ino,
        digest=digest & scanner.DIGEST_MASK,
    )


NAMES = [
    "Alternatives", "000", "001", "ProjectData", "Resources", "Media", "Audio Files",
    "Undo Data.nosync", "Project File Backups", "Bounces", ".DS_Store", "Icon\r", "a",
    "b.wav", "~tmp", "Previews", "Output", "projectData",
]  # fmt: skip


def random_bundle(root: Path, rng: random.Random) -> Path:
    bundle = root / "Song.logicx"
    bundle.mkdir()
    folders = [bundle]
    for _ in range(rng.randint(1, 40)):
        parent = rng.choice(folders)
        path = parent / rng.choice(NAMES)
        if path.exists() or path.is_symlink():
            continue
        roll = rng.random()
        if roll < 0.35:
            path.mkdir()
            folders.append(path)
        elif roll < 0.85:
            path.write_bytes(b"x" * rng.randint(0, 300))
            os.utime(path, ns=(0, rng.randint(1, 10**18)))
        elif roll < 0.92:
            path.symlink_to(rng.choice(folders))  # a link to a folder: never entered
        else:
            path.symlink_to(root / "nowhere")
    return bundle


@pytest.mark.parametrize("seed", range(60))
def test_a_bundle_signature_is_the_one_os_walk_gave(
    tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    bundle = random_bundle(tmp_path, rng)
    limit = rng.choice([3, 8, 20, 10_000])
    monkeypatch.setattr(scanner, "BUNDLE_WALK_LIMIT", limit)
    old_noted: list[str] = []
    new_noted: list[str] = []
    expected = os_walk_signature(bundle, LOGIC, limit, old_noted)
    assert scanner._bundle_signature(bundle, LOGIC, new_noted) == expected
    assert new_noted == old_noted
    assert scanner.signature_of(bundle, LOGIC) == expected


@pytest.mark.parametrize("seed", range(30))
def test_expand_finds_what_path_glob_finds(tmp_path: Path, seed: int) -> None:
    bundle = random_bundle(tmp_path, random.Random(seed))
    for pattern in (*LOGIC.content_files, "Alternatives/*", "Bounces", "Alternatives/*/Previews"):
        found = expand(str(bundle), pattern)
        assert sorted(found) == sorted(str(p) for p in bundle.glob(pattern)), pattern
