"""Preview audio: the rendered mix SessionDock shows beside a project.

A file named like the project beside it wins, then the newest in the DAW's bounce
folders (beside the project and, for bundles, inside it). Samples and recordings
folders are never looked in: they hold sources, not mixes. Names that are not valid
UTF-8 are left out, since JSON cannot carry them.

This runs once per project on every scan, so it works on strings, not paths, and
tests the cheap things (the suffix, the name) before the costly ones.
"""

from __future__ import annotations

import os
from pathlib import Path

from watcher.daws import HEAVY_DIRS, DawFormat, is_junk_name
from watcher.names import is_valid
from watcher.walking import expand

AUDIO_EXTENSIONS = frozenset({".wav", ".aif", ".aiff", ".flac", ".mp3", ".m4a"})

Found = tuple[bool, int, str]
"""(named like the project, modification time, path): the best is the largest."""


def _audio_files(place: str, stem: str, any_name: bool, found: list[Found]) -> None:
    """Add the audio files in `place` to `found`: all of them with `any_name`, else
    only those named like the project (`stem`, lower case)."""
    try:
        with os.scandir(place) as entries:
            for entry in entries:
                name = entry.name
                dot = name.rfind(".")
                # A name that starts with a dot is junk (and has no suffix): skipped here.
                if dot <= 0 or name[dot:].lower() not in AUDIO_EXTENSIONS:
                    continue
                same_name = name[:dot].lower() == stem
                if not (same_name or any_name) or is_junk_name(name) or not is_valid(name):
                    continue  # JSON cannot carry an invalid name
                try:
                    if entry.is_file(follow_symlinks=True):
                        found.append((same_name, entry.stat().st_mtime_ns, entry.path))
                except OSError:
                    continue
    except OSError:
        return


def _bounce_places(project: str, parent: str, daw: DawFormat) -> list[str]:
    """The DAW's bounce folders beside the project and (for bundles) inside it.

    Payload folders (`Samples/`, `Audio Files/`) are never among them: they hold
    sources and recordings, not mixes.
    """
    if _in_heavy(parent):
        return []
    places = [os.path.join(parent, d) for d in daw.bounce_dirs if not _in_heavy(d)]
    if daw.bundle:
        inside = len(project)
        for pattern in daw.bundle_bounce_dirs:
            found = sorted(p for p in expand(project, pattern) if os.path.isdir(p))
            places += [p for p in found if not _in_heavy(p[inside:])]
    return places


def _in_heavy(place: str) -> bool:
    return any(part.lower() in HEAVY_DIRS for part in place.replace(os.sep, "/").split("/"))


def find_preview(project: Path, daw: DawFormat) -> str | None:
    """A rendered mix: named like the project beside it, or in the DAW's bounce folder.

    Same-named files win, then the newest. Samples and recordings folders are never
    looked in: they hold sources, not mixes.
    """
    stem = project.stem.lower()
    text = str(project)
    parent = os.path.dirname(text)
    found: list[Found] = []
    _audio_files(parent, stem, False, found)
    for place in _bounce_places(text, parent, daw):
        _audio_files(place, stem, True, found)
    return max(found)[2] if found else None
