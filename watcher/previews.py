"""Preview audio: the rendered mix SessionDock shows beside a project.

A file named like the project beside it wins, then the newest in the DAW's bounce
folders (beside the project and, for bundles, inside it). Samples and recordings
folders are never looked in: they hold sources, not mixes. Names that are not valid
UTF-8 are left out, since JSON cannot carry them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from watcher.daws import HEAVY_DIRS, DawFormat, is_junk_name, suffix_of
from watcher.names import is_valid

AUDIO_EXTENSIONS = frozenset({".wav", ".aif", ".aiff", ".flac", ".mp3", ".m4a"})


def _audio_files(place: str) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(place) as entries:
            for entry in entries:
                if (
                    suffix_of(entry.name) in AUDIO_EXTENSIONS
                    and not is_junk_name(entry.name)
                    and is_valid(entry.name)  # JSON cannot carry the name
                    and entry.is_file(follow_symlinks=True)
                ):
                    yield entry
    except OSError:
        return


def _bounce_places(project: Path, daw: DawFormat) -> list[str]:
    """The DAW's bounce folders beside the project and (for bundles) inside it.

    Payload folders (`Samples/`, `Audio Files/`) are never among them: they hold
    sources and recordings, not mixes. Strings, not paths: this runs per project.
    """
    parent = str(project.parent)
    if _in_heavy(parent):
        return []
    places = [os.path.join(parent, d) for d in daw.bounce_dirs if not _in_heavy(d)]
    if daw.bundle:
        inside = len(str(project))
        for pattern in daw.bundle_bounce_dirs:
            found = sorted(str(p) for p in project.glob(pattern) if p.is_dir())
            places += [p for p in found if not _in_heavy(p[inside:])]
    return places


def _in_heavy(place: str) -> bool:
    return any(part.lower() in HEAVY_DIRS for part in place.replace(os.sep, "/").split("/"))


def find_preview(project: Path, daw: DawFormat) -> Path | None:
    """A rendered mix: named like the project beside it, or in the DAW's bounce folder.

    Same-named files win, then the newest. Samples and recordings folders are never
    looked in: they hold sources, not mixes.
    """
    stem = project.stem.lower()
    found: list[tuple[bool, int, str]] = []
    places = [(str(project.parent), False), *((p, True) for p in _bounce_places(project, daw))]
    for place, any_name in places:
        for entry in _audio_files(place):
            same_name = os.path.splitext(entry.name)[0].lower() == stem
            if same_name or any_name:
                try:
                    found.append((same_name, entry.stat().st_mtime_ns, entry.path))
                except OSError:
                    continue
    return Path(max(found)[2]) if found else None
