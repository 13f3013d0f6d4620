"""Bytes each DAW writes, and studio trees built from them, for the recognition tests.

The byte builders follow the layouts in ../shared/daw-formats.md section 7 (checked
against the real samples in test_samples.py), so a tree built here is recognised for
the same reasons a real studio is. Each tree builder returns exactly the dry-run lines
it expects: which projects are sent, with which kind, title, type, path and preview.
"""

from __future__ import annotations

import io
import os
import sqlite3
import struct
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import als_bytes

Expected = dict[str, Any]

_PT_HEADER = b"\x03" + b"0010111100101011" + b"\x00\x01\x50"


def logic_project_data(payload: bytes = b"\x00" * 200) -> bytes:
    """Logic's header: magic, version bytes, then the u32 payload length at 0x10."""
    header = b"\x23\x47\xc0\xab" + b"\xae\x06\x02\x00\x04\x00\x00\x00\x01\x00\x08\x00"
    return header + struct.pack("<I", len(payload)) + b"\x00" * 4 + payload


def flp_bytes(payload: bytes = b"\x01\x02" * 100) -> bytes:
    header = b"FLhd" + struct.pack("<IhhH", 6, 0, 4, 96)
    return header + b"FLdt" + struct.pack("<I", len(payload)) + payload


def ptx_bytes(size: int = 400) -> bytes:
    return _PT_HEADER + bytes(range(256)) * (size // 256 + 1)


def cpr_bytes(payload: bytes = b"ROOT" + b"\x00" * 300) -> bytes:
    return b"RIFF" + struct.pack(">I", len(payload)) + b"NUND" + payload


def rpp_bytes(name: str = "Song") -> bytes:
    return (
        '<REAPER_PROJECT 0.1 "7.11/x64" 1714557600\r\n'
        f'  TITLE "{name}"\r\n  RIPPLE 0\r\n  <TRACK\r\n    NAME Vox\r\n  >\r\n>\r\n'
    ).encode()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def song_bytes() -> bytes:
    return _zip({"Song/song.xml": b"<Song/>", "Song/editor.xml": b"<Editor/>"})


def dawproject_bytes() -> bytes:
    return _zip({"project.xml": b"<Project/>", "metadata.xml": b"<MetaData/>"})


def xrns_bytes() -> bytes:
    return _zip({"Song.xml": b"<RenoiseSong/>"})


def bwproject_bytes() -> bytes:
    return b"BtWg000100020086" + b"0" * 24 + b"\x00\x00\x00\x04meta" + b"\x01" * 200


def ardour_bytes() -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n<Session version="3001">\n</Session>\n'


def aup_bytes() -> bytes:
    return b'<?xml version="1.0" standalone="no" ?>\n<project projname="x_data">\n</project>\n'


def aup3_bytes(tmp: Path) -> bytes:
    """A real SQLite database, as Audacity 3 saves one (closed, no WAL left)."""
    path = tmp / "scratch.aup3"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE project (id INTEGER PRIMARY KEY, doc BLOB)")
    connection.execute("INSERT INTO project (doc) VALUES (?)", (b"x" * 5000,))
    connection.commit()
    connection.close()
    data = path.read_bytes()
    path.unlink()
    return data


def mmp_bytes() -> bytes:
    return b'<?xml version="1.0"?>\n<!DOCTYPE lmms-project>\n<lmms-project>\n</lmms-project>\n'


def mmpz_bytes() -> bytes:
    xml = mmp_bytes()
    return struct.pack(">I", len(xml)) + zlib.compress(xml)


APPLEDOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00" + b"Mac OS X        " + b"\x00" * 60


def write(path: Path, data: bytes, mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def item(
    path: Path, kind: str, title: str, project_type: str, preview: Path | None = None
) -> Expected:
    line: Expected = {
        "projectPath": str(path),
        "kind": kind,
        "title": title,
        "projectType": project_type,
    }
    if preview is not None:
        line["previewAudioPath"] = str(preview)
    return line


# --- studio trees ---------------------------------------------------------------------
#
# Each builder takes the folder to build in and returns the dry-run lines expected.

_HOUR = 3600.0


def ableton_tree(base: Path) -> list[Expected]:
    """A Live project with Backup/ full of timestamped sets, samples and a bounce."""
    project = base / "Launch Cue Project"
    write(project / "Ableton Project Info" / "AProject.ico", b"\x00\x00\x01\x00")
    main = write(project / "Launch Cue.als", als_bytes("Launch Cue"))
    alt = write(project / "Launch Cue (Radio Edit).als", als_bytes("Radio"))
    for n in range(6):
        write(project / "Backup" / f"Launch Cue [2024-05-0{n + 1} 10150{n}].als", als_bytes())
    write(project / "Samples" / "Recorded" / "Launch Cue.wav", b"RIFF" + b"\x00" * 40)
    write(project / "Samples" / "Imported" / "Other.als", als_bytes())  # never a project
    write(project / "Launch Cue.als.asd", b"asd")
    mix = write(project / "Launch Cue.wav", b"RIFF" + b"\x00" * 40)
    # A user folder called Backup outside any Live project must not hide its sets.
    user_backup = write(base / "Backup" / "Old Song.als", als_bytes("Old"))
    return [
        item(main, "Ableton", "Launch Cue", "als", mix),
        item(alt, "Ableton", "Launch Cue (Radio Edit)", "als"),
        item(user_backup, "Ableton", "Old Song", "als"),
    ]


def logic_files(bundle: Path) -> list[tuple[Path, bytes]]:
    """A Logic bundle's files in the order a save might write them, backups included."""
    return [
        (bundle / "Resources" / "ProjectInformation.plist", b"bplist00\x00\x01"),
        (bundle / "Alternatives" / "000" / "Project File Backups" / "00" / "ProjectData",
         logic_project_data(b"\x01" * 150)),
        (bundle / "Alternatives" / "000" / "Autosave" / "ProjectData", logic_project_data()),
        (bundle / "Alternatives" / "000" / "Undo Data.nosync" / "0001.undo", b"undo"),
        (bundle / "Alternatives" / "000" / "MetaData.plist", b"<?xml?><plist></plist>"),
        (bundle / "Alternatives" / "000" / "DisplayState.plist", b"bplist00"),
        (bundle / "Media" / "Audio Files" / "Film Score.wav", b"RIFF" + b"\x00" * 40),
        (bundle / "Alternatives" / "000" / "ProjectData", logic_project_data(b"\x02" * 300)),
        (bundle / "Alternatives" / "000" / "WindowImage.jpg", b"\xff\xd8\xff"),
    ]  # fmt: skip


def logic_tree(base: Path) -> list[Expected]:
    bundle = base / "Film Score.logicx"
    for path, data in logic_files(bundle):
        write(path, data)
    mix = write(bundle / "Bounces" / "Film Score v2.wav", b"RIFF" + b"\x00" * 40)
    return [item(bundle, "Logic Pro", "Film Score", "logicx", mix)]


def garageband_tree(base: Path) -> list[Expected]:
    bundle = base / "Demo.band"
    write(bundle / "projectData", b'<?xml version="1.0"?>\n<plist>\n</plist>\n')
    write(bundle / "Alternatives" / "000" / "ProjectData", logic_project_data())
    write(bundle / "Alternatives" / "000" / "Autosave" / "ProjectData", b"\x00")
    write(bundle / "Media" / "Audio Files" / "Demo.aif", b"FORM")
    old = time.time() - _HOUR
    write(bundle / "Alternatives" / "000" / "Previews" / "Output.aif", b"FORM", mtime=old)
    output = write(bundle / "Output" / "Output.aif", b"FORM")
    return [item(bundle, "GarageBand", "Demo", "band", output)]


def pro_tools_tree(base: Path) -> list[Expected]:
    """A session folder with auto-backups, audio, and bounces of several ages."""
    session = base / "Vocal Session"
    main = write(session / "Vocal Session.ptx", ptx_bytes())
    for n in range(3):
        write(session / "Session File Backups" / f"Vocal Session.bak.000{n}.ptx", ptx_bytes())
    write(session / "Audio Files" / "Vocal Session.wav", b"RIFF" + b"\x00" * 40)
    write(session / "Audio Files" / "Vox_01.wav", b"RIFF" + b"\x00" * 40)
    write(session / "WaveCache.wfm", b"wfm")
    old = time.time() - 2 * _HOUR
    write(session / "Bounced Files" / "Vocal Mix v1.wav", b"RIFF", mtime=old)
    newest = write(session / "Bounced Files" / "Vocal Mix v2.wav", b"RIFF")
    legacy = write(base / "Old Session" / "Old Session.ptf", ptx_bytes())
    return [
        item(main, "Pro Tools", "Vocal Session", "ptx", newest),
        item(legacy, "Pro Tools", "Old Session", "ptf"),
    ]


def fl_studio_tree(base: Path) -> list[Expected]:
    beats = base / "Beats"
    main = write(beats / "Trap Beat.flp", flp_bytes())
    write(beats / "Trap Beat (autosave).flp", flp_bytes())
    write(beats / "Trap Beat (overwritten at 1530h).flp", flp_bytes())
    mix = write(beats / "Trap Beat.mp3", b"ID3")
    write(beats / "Stems" / "kick.wav", b"RIFF")
    return [item(main, "FL Studio", "Trap Beat", "flp", mix)]


def reaper_tree(base: Path) -> list[Expected]:
    folder = base / "Podcast 42"
    main = write(folder / "Podcast 42.RPP", rpp_bytes())
    write(folder / "Podcast 42.RPP-bak", rpp_bytes())
    write(folder / "Podcast 42-2024-05-01_1530.rpp-bak", rpp_bytes())
    write(folder / "Podcast 42.rpp-undo", b"<UNDO>")
    write(folder / "Media" / "take.wav.reapeaks", b"peaks")
    return [item(main, "Reaper", "Podcast 42", "rpp")]


def dropbox_tree(base: Path) -> list[Expected]:
    """A shared Dropbox folder: a conflict copy, cache and Syncthing leftovers."""
    folder = base / "Dropbox" / "Collab"
    main = write(folder / "Hook.als", als_bytes("Hook"))
    write(folder / "Hook (Anna's conflicted copy 2024-05-01).als", als_bytes("Hook"))
    write(folder / "Hook (Case Conflict).als", als_bytes("Hook"))
    write(folder / "Hook.sync-conflict-20240501-101010-ABCDEFG.als", als_bytes("Hook"))
    write(base / "Dropbox" / ".dropbox.cache" / "old" / "Hook.als", als_bytes("Hook"))
    write(folder / ".Hook.als.icloud", b"bplist00")
    write(folder / "Hook.als.part", als_bytes("Hook")[:20])
    return [item(main, "Ableton", "Hook", "als")]


def smb_tree(base: Path) -> list[Expected]:
    """A NAS share written by Macs: AppleDouble sidecars, Synology and Windows junk."""
    share = base / "Share"
    song = write(share / "Song.als", als_bytes("Song"))
    beat = write(share / "Beat.flp", flp_bytes())
    write(share / "._Song.als", APPLEDOUBLE)
    write(share / "._Beat.flp", APPLEDOUBLE)
    write(share / ".DS_Store", b"\x00\x00\x00\x01Bud1")
    write(share / "Thumbs.db", b"\xd0\xcf")
    write(share / "desktop.ini", b"[.ShellClassInfo]")
    write(share / "@eaDir" / "Song.als" / "SYNO_EA", b"x")
    write(share / "@eaDir" / "Other.als", als_bytes())
    write(share / "#recycle" / "Deleted.als", als_bytes())
    write(share / "$RECYCLE.BIN" / "S-1-5" / "Gone.flp", flp_bytes())
    write(share / "__MACOSX" / "._Song.als", APPLEDOUBLE)
    write(share / ".Trashes" / "501" / "Trash.als", als_bytes())
    write(share / "~$Song.als", b"lock")
    return [item(song, "Ableton", "Song", "als"), item(beat, "FL Studio", "Beat", "flp")]


def mixed_tree(base: Path, tmp: Path) -> list[Expected]:
    """One project of every other DAW, each with its own backups and leftovers."""
    expected: list[Expected] = []

    def add(rel: str, data: bytes, kind: str, preview: str | None = None) -> Path:
        path = write(base / rel, data)
        title = path.name[: -len(path.suffix)]
        found = base / preview if preview else None
        expected.append(item(path, kind, title, path.suffix.lower().lstrip("."), found))
        return path

    write(base / "Film" / "Mixdown" / "Film.wav", b"RIFF")
    add("Film/Film.cpr", cpr_bytes(), "Cubase", "Film/Mixdown/Film.wav")
    write(base / "Film" / "Film-01.bak", cpr_bytes())
    write(base / "Film" / "Auto Saves" / "Film-02.cpr", cpr_bytes())
    add("Post/Post.npr", cpr_bytes(), "Nuendo")
    add("Ballad/Ballad.song", song_bytes(), "Studio One")
    write(base / "Ballad" / "History" / "Ballad (Autosaved).song", song_bytes())
    write(base / "Ballad" / "Cache" / "snapshot.song", song_bytes())
    add("Groove/Groove.bwproject", bwproject_bytes(), "Bitwig Studio")
    add("Rack/Rack.reason", b"FORM\x00\x00\x10\x00RSN1", "Reason")
    write(base / "Live Set" / "export" / "Live Set.flac", b"fLaC")
    add("Live Set/Live Set.ardour", ardour_bytes(), "Ardour", "Live Set/export/Live Set.flac")
    write(base / "Live Set" / "Live Set.ardour.bak", ardour_bytes())
    write(base / "Live Set" / "Live Set.history", ardour_bytes())
    write(base / "Live Set" / "Live Set.pending", ardour_bytes())
    add("Interview/Interview.aup3", aup3_bytes(tmp), "Audacity")
    add("Old/Old.aup", aup_bytes(), "Audacity")
    add("Exchange/Exchange.dawproject", dawproject_bytes(), "DAWproject")
    add("Tracker/Tracker.xrns", xrns_bytes(), "Renoise")
    add("Chip/Chip.mmp", mmp_bytes(), "LMMS")
    add("Chip/Chip2.mmpz", mmpz_bytes(), "LMMS")
    write(base / "Chip" / "Chip.mmp.bak", mmp_bytes())
    add("Church/Church.cwp", b"\x00\x01cakewalk project", "Cakewalk")
    write(base / "Church" / "Auto Save Version of Church.cwp", b"\x00\x01cakewalk")
    return expected


TREES: dict[str, Callable[[Path], list[Expected]]] = {
    "ableton": ableton_tree,
    "logic": logic_tree,
    "garageband": garageband_tree,
    "pro-tools": pro_tools_tree,
    "fl-studio": fl_studio_tree,
    "reaper": reaper_tree,
    "dropbox": dropbox_tree,
    "smb-share": smb_tree,
}
