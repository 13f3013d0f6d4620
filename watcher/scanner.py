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
    ContentCheck,
    DawFormat,
    Registry,
    Skipped,
    check_generic,
    is_junk_name,
    is_nosync,
    junk_reason,
    project_type,
    suffix_of,
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
            d
            for d in dirnames
            if d.lower() not in skip and not is_nosync(d) and not is_junk_name(d)
        ]
        for name in filenames:
            if is_junk_name(name):
                continue
            try:
                info = os.stat(os.path.join(dirpath, name))
            except OSError:
                continue
            size += info.st_size
            newest = max(newest, info.st_mtime_ns)
            count += 1
    return Signature(size=size + count, mtime_ns=max(newest, top.st_mtime_ns), inode=top.st_ino)


def signature_of(path: Path, daw: DawFormat) -> Signature | None:
    """A fresh stat of the project; None when it no longer exists.

    A file's open markers (Audacity's `-wal`) are part of its state: the database is
    the main file plus its log, so the log vanishing on close is a change to retry on.
    """
    if daw.bundle:
        return _bundle_signature(path, daw)
    try:
        info = path.stat()
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    size, mtime_ns = info.st_size, info.st_mtime_ns
    for suffix in daw.open_while:
        try:
            extra = os.stat(str(path) + suffix)
        except OSError:
            continue
        size += extra.st_size + 1
        mtime_ns = max(mtime_ns, extra.st_mtime_ns)
    return Signature(size=size, mtime_ns=mtime_ns, inode=info.st_ino)


def walk(
    folder: WatchFolder, registry: Registry, explain: bool = False
) -> Iterator[Candidate | Skipped]:
    """Every project unit under a watched folder; with `explain`, the skipped ones too.

    A walk never descends into bundles (they are one project), junk folders, heavy
    payload folders or a DAW's backup folders (unless explaining, to list what they
    hold), which keeps it close to the cost of `find` on a large library.
    """
    root = folder.path
    bundle_extensions = registry.bundle_extensions
    relevant = registry.relevant_extensions
    recursive = folder.recursive
    stack = [root]
    while stack:
        directory = stack.pop()
        names: list[str] = []
        kept: list[tuple[str, bool]] = []  # (name, is a folder to walk into)
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    name = entry.name
                    names.append(name)
                    try:
                        is_dir = entry.is_dir(follow_symlinks=False)
                    except OSError:
                        continue
                    # A superset of `suffix_of` (no dot: the last letter, never an
                    # extension), so most entries (audio, samples) end with one lookup.
                    suffix = name[name.rfind(".") :].lower()
                    if not is_dir:
                        if suffix in relevant:
                            kept.append((name, False))
                    elif suffix in bundle_extensions:
                        kept.append((name, False))  # a bundle is one project unit
                    elif recursive and name.lower() not in HEAVY_DIRS:
                        kept.append((name, True))
        except OSError:
            continue
        listing = _Listing(directory, names)
        subdirs: list[Path] = []
        for name, walk_into in sorted(kept):
            if walk_into:
                path = directory / name
                junk = junk_reason(name)
                if junk:
                    if explain:
                        yield Skipped(path, "junk", f"folder {name!r} is {junk}")
                    continue
                if not explain and registry.backup_dir_reason(path, listing.names_in):
                    continue
                subdirs.append(path)
                continue
            verdict = registry.classify(directory / name, root, listing.names_in, folder.exclude)
            if isinstance(verdict, Candidate) or (explain and verdict is not None):
                yield verdict
        stack.extend(reversed(subdirs))


class _Listing:
    """One folder's names for classification, as a set only when a rule asks."""

    def __init__(self, directory: Path, names: list[str]) -> None:
        self._directory = directory
        self._names = names
        self._set: frozenset[str] | None = None

    def names_in(self, path: PurePath) -> Collection[str]:
        if path == self._directory:
            if self._set is None:
                self._set = frozenset(self._names)
            return self._set
        return listdir_names(path)


def _content_targets(bundle: Path, patterns: tuple[str, ...]) -> list[Path]:
    """Every file the first matching pattern finds (each Logic alternative's data)."""
    for pattern in patterns:
        found = sorted(p for p in bundle.glob(pattern) if p.is_file())
        if found:
            return found
    return []


def _check_file(target: Path, check: ContentCheck | None) -> str | None:
    try:
        with open(target, "rb") as stream:
            return check_generic(stream) or (check(stream) if check else None)
    except OSError as exc:
        return f"cannot read {target.name}: {exc.strerror}"


def check_content(candidate: Candidate) -> str | None:
    """Run the DAW's content check on the project's main file(s); None when it passes.

    The generic checks (empty file, AppleDouble) run for every DAW, including those
    whose own format is unknown.
    """
    daw = candidate.daw
    path = Path(candidate.path)
    if not daw.bundle:
        return _check_file(path, daw.check)
    if not daw.content_files:
        return None
    targets = _content_targets(path, daw.content_files)
    if not targets:
        return f"no {' or '.join(daw.content_files)} inside the bundle"
    for target in targets:
        problem = _check_file(target, daw.check)
        if problem:
            return f"{target.relative_to(path)}: {problem}"
    return None


def open_reason(candidate: Candidate) -> str | None:
    """Why the DAW has the project open right now (its `-wal` exists), or None."""
    path = Path(candidate.path)
    for suffix in candidate.daw.open_while:
        marker = path.with_name(path.name + suffix)
        if marker.exists():
            return f"open in {candidate.daw.kind} ({marker.name} exists); sent once it is closed"
    return None


def _audio_files(place: Path) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(place) as entries:
            for entry in entries:
                if (
                    suffix_of(entry.name) in AUDIO_EXTENSIONS
                    and not is_junk_name(entry.name)
                    and entry.is_file(follow_symlinks=True)
                ):
                    yield entry
    except OSError:
        return


def _bounce_places(project: Path, daw: DawFormat) -> list[Path]:
    """The DAW's bounce folders beside the project and (for bundles) inside it.

    Payload folders (`Samples/`, `Audio Files/`) are never among them: they hold
    sources and recordings, not mixes.
    """
    places = [project.parent / d for d in daw.bounce_dirs]
    if daw.bundle:
        for pattern in daw.bundle_bounce_dirs:
            places += sorted(p for p in project.glob(pattern) if p.is_dir())
    return [p for p in places if not HEAVY_DIRS.intersection(x.lower() for x in p.parts)]


def find_preview(project: Path, daw: DawFormat) -> Path | None:
    """A rendered mix: named like the project beside it, or in the DAW's bounce folder.

    Same-named files win, then the newest. Samples and recordings folders are never
    looked in: they hold sources, not mixes.
    """
    stem = project.stem.lower()
    found: list[tuple[bool, int, str]] = []
    places = [(project.parent, False), *((p, True) for p in _bounce_places(project, daw))]
    for place, any_name in places:
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
    busy = open_reason(candidate)
    if busy:
        return Skipped(candidate.path, "open", busy)
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
