"""Walking watched folders and probing projects: the disk side of recognition.

`walk` finds every project unit under a folder without descending into payload folders
(`Samples/`, `Audio Files/`) or into bundles. `signature_of` is the fresh stat the
debouncer and the state compare. `probe` runs the content check and builds what is
sent to SessionDock.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePath

from watcher.config import ImportSettings, WatchFolder
from watcher.daws import (
    HEAVY_DIRS,
    Candidate,
    DawFormat,
    Registry,
    Skipped,
    is_junk_name,
    project_type,
    title_for,
)

AUDIO_EXTENSIONS = frozenset({".wav", ".aif", ".aiff", ".flac", ".mp3", ".m4a"})


@dataclass(frozen=True)
class Signature:
    """What a fresh stat says about a project; equal signatures mean "not changed".

    For a bundle it sums sizes and takes the newest mtime over its files, leaving out
    backup and `.nosync` folders so an autosave does not count as a change.
    """

    size: int
    mtime_ns: int
    inode: int


@dataclass(frozen=True)
class Project:
    """A project ready to import: what SessionDock is sent, and the signature sent."""

    path: Path
    root: Path
    kind: str
    title: str
    project_type: str
    project_path: Path
    preview_path: Path | None
    generate_previews: bool
    signature: Signature


def listdir_names(directory: PurePath) -> Collection[str]:
    try:
        return frozenset(os.listdir(directory))
    except OSError:
        return frozenset()


def cached_names_in() -> Callable[[PurePath], Collection[str]]:
    """A directory-listing lookup for one burst of classifications."""
    return lru_cache(maxsize=4096)(listdir_names)


def _bundle_signature(bundle: Path, daw: DawFormat) -> Signature | None:
    skip = {d.lower() for d in daw.backup_dirs}
    size = newest = count = 0
    try:
        top = bundle.stat()
    except OSError:
        return None
    for dirpath, dirnames, filenames in os.walk(bundle):
        dirnames[:] = [
            d for d in dirnames if d.lower() not in skip and not d.lower().endswith(".nosync")
        ]
        for name in filenames:
            try:
                info = os.stat(os.path.join(dirpath, name))
            except OSError:
                continue
            size += info.st_size
            newest = max(newest, info.st_mtime_ns)
            count += 1
    return Signature(size=size + count, mtime_ns=max(newest, top.st_mtime_ns), inode=top.st_ino)


def signature_of(path: Path, daw: DawFormat) -> Signature | None:
    """A fresh stat of the project; None when it no longer exists."""
    if daw.bundle:
        return _bundle_signature(path, daw)
    try:
        info = path.stat()
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return Signature(size=info.st_size, mtime_ns=info.st_mtime_ns, inode=info.st_ino)


def walk(
    folder: WatchFolder, registry: Registry, explain: bool = False
) -> Iterator[Candidate | Skipped]:
    """Every project unit under a watched folder; with `explain`, the skipped ones too.

    A walk never descends into bundles (they are one project), junk folders or heavy
    payload folders, which keeps it close to the cost of `find` on a large library.
    """
    root = folder.path
    bundle_extensions = registry.bundle_extensions
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as entries:
                listing = list(entries)
        except OSError:
            continue
        names = frozenset(entry.name for entry in listing)

        def names_in(
            path: PurePath, _d: Path = directory, _n: Collection[str] = names
        ) -> Collection[str]:
            return _n if path == _d else listdir_names(path)

        for entry in listing:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            path = Path(entry.path)
            suffix = os.path.splitext(entry.name)[1].lower()
            if is_dir and suffix not in bundle_extensions:
                if is_junk_name(entry.name) or entry.name.lower() in HEAVY_DIRS:
                    continue
                if folder.recursive:
                    stack.append(path)
                continue
            if registry.format_for(entry.name) is None:
                continue
            verdict = registry.classify(path, root, names_in, folder.exclude)
            if isinstance(verdict, Candidate) or (explain and verdict is not None):
                yield verdict


def _find_file(bundle: Path, patterns: tuple[str, ...]) -> Path | None:
    for pattern in patterns:
        found = sorted(bundle.glob(pattern))
        if found:
            return found[0]
    return None


def check_content(candidate: Candidate) -> str | None:
    """Run the DAW's content check on the project's main file; None when it passes."""
    daw = candidate.daw
    path = Path(candidate.path)
    target: Path | None = path
    if daw.bundle:
        target = _find_file(path, daw.content_files) if daw.content_files else None
        if daw.content_files and target is None:
            return f"no {' or '.join(daw.content_files)} inside the bundle"
    if daw.check is None or target is None:
        return None
    try:
        with open(target, "rb") as stream:
            return daw.check(stream)
    except OSError as exc:
        return f"cannot read {target.name}: {exc.strerror}"


def _audio_files(place: Path) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(place) as entries:
            for entry in entries:
                suffix = os.path.splitext(entry.name)[1].lower()
                if suffix in AUDIO_EXTENSIONS and not is_junk_name(entry.name):
                    yield entry
    except OSError:
        return


def find_preview(project: Path, daw: DawFormat) -> Path | None:
    """A rendered mix: named like the project beside it, or in the DAW's bounce folder.

    Same-named files win, then the newest. Samples and recordings folders are never
    looked in: they hold sources, not mixes.
    """
    stem = project.stem.lower()
    folder = project.parent
    bounce_places = [folder / d for d in daw.bounce_dirs]
    if daw.bundle:
        bounce_places += [project / d for d in daw.bounce_dirs]
    found: list[tuple[bool, int, str]] = []
    for place, any_name in [(folder, False), *((p, True) for p in bounce_places)]:
        for entry in _audio_files(place):
            same_name = os.path.splitext(entry.name)[0].lower() == stem
            if same_name or any_name:
                try:
                    found.append((same_name, entry.stat().st_mtime_ns, entry.path))
                except OSError:
                    continue
    return Path(max(found)[2]) if found else None


def probe(
    candidate: Candidate,
    folder: WatchFolder,
    settings: ImportSettings,
    signature: Signature,
) -> Project | Skipped:
    """Content-check a ready candidate and build what is sent; I/O happens here."""
    problem = check_content(candidate)
    if problem:
        return Skipped(candidate.path, "bad-content", problem)
    path = Path(candidate.path)
    daw = candidate.daw
    return Project(
        path=path,
        root=folder.path,
        kind=folder.kind or daw.kind,
        title=title_for(path, settings.title_from),
        project_type=project_type(path),
        project_path=path.parent if settings.project_path == "folder" else path,
        preview_path=find_preview(path, daw),
        generate_previews=folder.generate_previews,
        signature=signature,
    )
