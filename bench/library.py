"""Synthetic studio libraries: every DAW kind of issue 3, with plausible bytes and payload.

Project files carry the first bytes each DAW really writes (`shared/daw-formats.md`
section 7): gzip XML for Ableton, `FLhd`/`FLdt` for FL Studio, `03` + `0010111100101011`
for Pro Tools, RIFF/NUND/ROOT for Cubase and Nuendo, `<REAPER_PROJECT`, zips for Studio
One, DAWproject and Renoise, `BtWg` for Bitwig, SQLite for Audacity 3, and bundles
whose `Alternatives/000/ProjectData` starts `23 47 c0 ab` for Logic and GarageBand.
Reason and Cakewalk have no confirmed signature; they get a stand-in header.

Around each project sits what studios keep there: recordings and samples, backups and
autosaves in each DAW's own convention, bounces. The library is built once per shape
and cached (a marker file records the shape), so re-runs start at once.

    python -m bench.library [--projects 2000] [--root PATH]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import shutil
import struct
import time
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bench.common import RESULTS

LIBRARY_VERSION = 5
WAV_HEADER = (
    b"RIFF\x24\x01\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x02\x00\x80\xbb\x00\x00"
    b"\x00\xee\x02\x00\x04\x00\x10\x00data\x00\x01\x00\x00"
)
WAV = WAV_HEADER + bytes(256)


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name, (2024, 3, 1, 12, 0, 0)), data)
    return out.getvalue()


def _xml(root: str, body: str = "") -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{root}{body}\n'.encode()


FILLER = "<Track/>" * 200


@cache
def project_bytes(ext: str, name: str = "Song") -> bytes:
    """The bytes of a project file of this extension, as its DAW writes the start."""
    if ext == ".als":
        xml = _xml(
            '<Ableton MajorVersion="5" MinorVersion="11.0_11300" Creator="Ableton Live 11.3">',
            f'<LiveSet><Name Value="{name}"/>{FILLER}</LiveSet></Ableton>',
        )
        return gzip.compress(xml, mtime=0)
    if ext == ".flp":
        header = b"FLhd" + struct.pack("<IhhH", 6, 0, 1, 96)
        data = b"\xc7\x0520.8.4\x00" + bytes(1500)
        return header + b"FLdt" + struct.pack("<I", len(data)) + data
    if ext in (".ptx", ".ptf"):
        return b"\x03" + b"0010111100101011" + b"\x00\x01" + bytes(2000)
    if ext in (".cpr", ".npr"):
        body = b"NUND" + b"ROOT" + bytes(2000)
        return b"RIFF" + struct.pack(">I", len(body)) + body
    if ext == ".rpp":
        return (
            f'<REAPER_PROJECT 0.1 "7.11/linux-x86_64" 1709294400\r\n  TITLE "{name}"\r\n'
            + "  <TRACK\r\n  >\r\n" * 40
            + ">\r\n"
        ).encode()
    if ext == ".song":
        return _zip(
            {
                "metainfo.xml": _xml("<MetaInformation/>"),
                "Song/song.xml": _xml(f'<Song title="{name}">', FILLER + "</Song>"),
            }
        )
    if ext == ".bwproject":
        return b"BtWg0001" + b"000400a5" + bytes(2000)
    if ext == ".reason":  # unconfirmed signature: a stand-in RIFF-style header
        return b"FORM" + struct.pack(">I", 2000) + b"RSN1" + bytes(2000)
    if ext == ".ardour":
        return _xml(f'<Session version="7003" name="{name}" sample-rate="48000">', "</Session>")
    if ext == ".aup3":
        return b"SQLite format 3\x00" + b"\x10\x00\x02\x02" + bytes(4076)
    if ext == ".aup":
        return _xml(
            f'<project xmlns="http://audacity.sourceforge.net/xml/" projname="{name}_data">',
            "</project>",
        )
    if ext == ".dawproject":
        return _zip(
            {"metadata.xml": _xml("<MetaData/>"), "project.xml": _xml("<Project/>", FILLER)}
        )
    if ext == ".xrns":
        return _zip({"Song.xml": _xml('<RenoiseSong doc_version="63">', "</RenoiseSong>")})
    if ext in (".mmp", ".mmpz"):
        xml = _xml('<!DOCTYPE lmms-project>\n<lmms-project version="1.0" creator="LMMS">', FILLER)
        xml += b"</lmms-project>\n"  # LMMS closes its root in both forms, as real sets show
        if ext == ".mmp":
            return xml
        return struct.pack(">I", len(xml)) + zlib.compress(xml)
    if ext == ".cwp":  # unconfirmed signature: a stand-in header
        return b"CWP\x00" + bytes(2000)
    if ext == ".logicx-data":  # the u32 at 0x10 is the file size minus 24
        return b"\x23\x47\xc0\xab" + bytes(12) + struct.pack("<I", 4000) + bytes(4004)
    raise ValueError(ext)


SIZEABLE = (".als", ".flp", ".ptx", ".cpr", ".bwproject", ".aup3", ".song", ".dawproject")
"""Kinds whose files can be made any size while staying valid (for slow-write runs)."""


def sized_bytes(ext: str, size: int, seed: int = 0) -> bytes:
    """A valid project of about `size` bytes: random payload inside the format."""
    noise = random.Random(seed).randbytes(size)
    if ext == ".als":
        xml = _xml('<Ableton MajorVersion="5" Creator="Ableton Live 11.3">', "<LiveSet>")
        return gzip.compress(xml + noise.hex().encode()[:size] + b"</LiveSet></Ableton>", mtime=0)
    if ext in (".song", ".dawproject"):
        inner = "Song/song.xml" if ext == ".song" else "project.xml"
        entries = {"metadata.xml": _xml("<MetaData/>"), inner: _xml("<Project/>")}
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
            for name, data in {**entries, "Media/take.bin": noise}.items():
                archive.writestr(zipfile.ZipInfo(name, (2024, 3, 1, 12, 0, 0)), data)
        return out.getvalue()
    if ext == ".flp":
        header = b"FLhd" + struct.pack("<IhhH", 6, 0, 1, 96)
        return header + b"FLdt" + struct.pack("<I", len(noise)) + noise
    if ext == ".cpr":
        body = b"NUND" + b"ROOT" + noise
        return b"RIFF" + struct.pack(">I", len(body)) + body
    if ext == ".aup3":
        pages = max(1, size // 4096)
        head = b"SQLite format 3\x00" + struct.pack(">HBB", 4096, 1, 1) + bytes(4)
        head += struct.pack(">II", 1, pages) + bytes(92 - 32) + struct.pack(">I", 1)
        return (head + noise)[: pages * 4096].ljust(pages * 4096, b"\x00")
    if ext in SIZEABLE:
        return project_bytes(ext) + noise
    raise ValueError(f"{ext} cannot be padded")


@dataclass(frozen=True)
class Kind:
    """How one DAW lays out a project folder."""

    name: str
    ext: str
    bundle: bool = False
    payload: str = "Audio"
    """The folder holding recordings and samples."""
    backups: tuple[str, ...] = ()
    """Backup/autosave paths relative to the project folder; `{n}` is the name, `{i}` 1..."""
    bounce: str | None = None
    """Folder of rendered mixes, relative to the project folder (None: next to it)."""
    extra_dirs: tuple[str, ...] = ()


KINDS: tuple[Kind, ...] = (
    Kind("Ableton", ".als", payload="Samples/Recorded",
         backups=("Backup/{n} [2024-03-0{i} 120000].als",), extra_dirs=("Ableton Project Info",)),
    Kind("Logic Pro", ".logicx", bundle=True, payload="Audio Files", bounce="Bounces"),
    Kind("GarageBand", ".band", bundle=True, payload="Audio Files", bounce="Bounces"),
    Kind("FL Studio", ".flp", payload="Audio", bounce="Output",
         backups=("{n} (autosave).flp", "Backup/{n} (overwritten at {i}h0{i}).flp")),
    Kind("Pro Tools", ".ptx", payload="Audio Files", bounce="Bounced Files",
         backups=("Session File Backups/{n}.bak.00{i}.ptx",)),
    Kind("Pro Tools", ".ptf", payload="Audio Files", bounce="Bounced Files",
         backups=("Session File Backups/{n}.bak.00{i}.ptf",)),
    Kind("Cubase", ".cpr", payload="Audio", bounce="Mixdown",
         backups=("{n}-0{i}.bak", "Auto Saves/{n}-0{i}.cpr")),
    Kind("Nuendo", ".npr", payload="Audio", bounce="Mixdown",
         backups=("{n}-0{i}.bak", "Auto Saves/{n}-0{i}.npr")),
    Kind("Reaper", ".rpp", payload="Media", bounce="Output",
         backups=("{n}.rpp-bak", "Backups/{n}-2024-03-0{i}_1200.rpp", "{n}.rpp-undo")),
    Kind("Studio One", ".song", payload="Media", bounce="Mixdown",
         backups=("History/{n} (2024-03-0{i} 12-00-00).song",), extra_dirs=("Cache",)),
    Kind("Bitwig Studio", ".bwproject", payload="samples", bounce="bounce",
         extra_dirs=("recordings",)),
    Kind("Reason", ".reason", payload="Samples", bounce="Mixdown"),
    Kind("Ardour", ".ardour", payload="interchange/{n}/audiofiles", bounce="export",
         backups=("{n}.ardour.bak", "{n}.history", "{n}.pending"), extra_dirs=("peaks",)),
    Kind("Audacity", ".aup3", payload="Audio", bounce="export", backups=("{n}.aup3-shm",)),
    Kind("Audacity", ".aup", payload="{n}_data/e00", bounce="export"),
    Kind("DAWproject", ".dawproject", payload="Audio", bounce="export"),
    Kind("Renoise", ".xrns", payload="Samples", bounce="Output"),
    Kind("LMMS", ".mmpz", payload="samples", bounce="export", backups=("{n}.mmpz.bak",)),
    Kind("LMMS", ".mmp", payload="samples", bounce="export", backups=("{n}.mmp.bak",)),
    Kind("Cakewalk", ".cwp", payload="Audio", bounce="Mixdown",
         backups=("Auto Save Version of {n}.cwp",)),
)  # fmt: skip

WEIGHTS = {".als": 5, ".logicx": 4, ".flp": 3, ".ptx": 3, ".cpr": 2, ".rpp": 2, ".song": 2}
"""Relative frequency in a library; every other kind counts 1."""


def mix(count: int, kinds: Iterable[Kind] = KINDS) -> list[Kind]:
    """`count` kinds, interleaved by weight, deterministic."""
    pool = [k for k in kinds for _ in range(WEIGHTS.get(k.ext, 1))]
    return [pool[(i * 7) % len(pool)] for i in range(count)]


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as stream:
        stream.write(data)


def bundle_files(kind: Kind, backups: int) -> dict[str, bytes]:
    """A Logic/GarageBand package as those apps lay it out."""
    data = project_bytes(".logicx-data")
    files = {
        "Alternatives/000/ProjectData": data,
        "Alternatives/000/MetaData.plist": _xml("<plist/>"),
        "Alternatives/000/Undo Data.nosync/0.undo": bytes(64),
        "Resources/ProjectInformation.plist": _xml("<plist/>"),
    }
    if kind.ext == ".band":
        files["projectData"] = _xml("<plist/>")
    for i in range(backups):
        files[f"Alternatives/000/Project File Backups/0{i}/ProjectData"] = data
    return files


def project_name(index: int, kind: Kind) -> str:
    return f"Song {index:05d} {kind.name.split()[0]}"


def write_project(parent: Path, index: int, kind: Kind, files: int = 0, dirs: int = 0) -> Path:
    """One project folder; `files`/`dirs` > 0 add payload to reach about that many.

    Returns the project unit (file or bundle) path.
    """
    name = project_name(index, kind)
    folder = parent / (f"{name} Project" if kind.ext == ".als" else name)
    folder.mkdir(parents=True, exist_ok=True)
    unit = folder / f"{name}{kind.ext}"
    written_files = 0
    made_dirs = 1
    if kind.bundle:
        for relative, data in bundle_files(kind, backups=2 if files else 0).items():
            target = unit / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            _write(target, data)
        written_files += 5
        made_dirs += 6
    else:
        _write(unit, project_bytes(kind.ext, name))
        written_files += 1
    if not files:
        return unit
    for directory in kind.extra_dirs:
        (folder / directory.format(n=name)).mkdir(parents=True, exist_ok=True)
        made_dirs += 1
    if kind.ext == ".als":
        _write(folder / "Ableton Project Info" / "Project8_1.cfg", bytes(64))
        written_files += 1
    for pattern in kind.backups:
        for i in range(1, 4 if "{i}" in pattern else 2):
            target = folder / pattern.format(n=name, i=i)
            if not target.parent.exists():
                target.parent.mkdir(parents=True)
                made_dirs += 1
            source = unit / "Alternatives/000/ProjectData" if kind.bundle else unit
            _write(target, source.read_bytes())
            written_files += 1
    bounce = folder / kind.bounce if kind.bounce else folder
    bounce.mkdir(exist_ok=True)
    made_dirs += 1 if kind.bounce else 0
    _write(bounce / f"{name}.wav", WAV)
    written_files += 1
    payload = folder / kind.payload.format(n=name)
    payload.mkdir(parents=True, exist_ok=True)
    takes = dirs - made_dirs - len(kind.payload.split("/"))
    subdirs = [payload / f"Take {j}" for j in range(takes)] or [payload]
    for sub in subdirs:
        sub.mkdir(parents=True, exist_ok=True)
    remaining = max(0, files - written_files)
    for j in range(remaining):
        _write(subdirs[j % len(subdirs)] / f"{name} Audio {j:03d}.wav", WAV)
    return unit


@dataclass(frozen=True)
class Library:
    root: Path
    projects: int
    files: int
    dirs: int
    by_ext: dict[str, int]
    seconds_to_build: float


def count_tree(root: Path) -> tuple[int, int]:
    files = dirs = 0
    for _, dirnames, filenames in os.walk(root):
        dirs += len(dirnames)
        files += len(filenames)
    return files, dirs


def build_library(
    projects: int = 2000,
    files_per_project: int = 50,
    dirs_per_project: int = 4,
    per_client: int = 20,
    root: Path | None = None,
) -> Library:
    """The studio library (cached): `projects` projects in client folders with payload."""
    root = root or RESULTS / f"library-{projects}"
    marker = root.with_name(root.name + ".json")
    shape = {
        "version": LIBRARY_VERSION,
        "projects": projects,
        "files_per_project": files_per_project,
        "dirs_per_project": dirs_per_project,
    }
    if marker.exists() and root.is_dir():
        cached = json.loads(marker.read_text())
        if cached.get("shape") == shape:
            return Library(root, projects, cached["files"], cached["dirs"], cached["by_ext"], 0.0)
    shutil.rmtree(root, ignore_errors=True)
    building = root.with_name(f"{root.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    started = time.perf_counter()
    by_ext: dict[str, int] = {}
    for index, kind in enumerate(mix(projects)):
        client = building / f"Client {index // per_client:03d}"
        write_project(client, index, kind, files_per_project, dirs_per_project)
        by_ext[kind.ext] = by_ext.get(kind.ext, 0) + 1
    seconds = time.perf_counter() - started
    files, dirs = count_tree(building)
    building.rename(root)  # atomic: a concurrent reader sees no tree or the whole tree
    marker.write_text(json.dumps({"shape": shape, "files": files, "dirs": dirs, "by_ext": by_ext}))
    return Library(root, projects, files, dirs, by_ext, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description="Build (or reuse) the synthetic library.")
    parser.add_argument("--projects", type=int, default=2000)
    parser.add_argument("--root", type=Path)
    args = parser.parse_args()
    library = build_library(args.projects, root=args.root)
    print(
        f"{library.root}: {library.projects} projects, {library.files} files, "
        f"{library.dirs} dirs (built in {library.seconds_to_build:.1f}s; 0 = cached)"
    )
    print(json.dumps(library.by_ext, sort_keys=True))


if __name__ == "__main__":
    main()
