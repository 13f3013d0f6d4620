"""The shell's disk work (classify an event, stat, probe, walk) over the simulated disk.

These mirror `watcher/scanner.py` and the observer's classification step for step, but
read `SimFS` instead of `os`; the decisions inside them are the real ones: the
`Registry` table and `classify`, the junk, backup and payload-folder rules, and every
DAW's content check running on the real bytes the world wrote.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
from collections.abc import Collection
from pathlib import PurePath

from tests.simulation.fs import Event, P, SimFS
from watcher.core.inputs import (
    DirectoryChanged,
    DirectoryGone,
    Found,
    NotAProject,
    ProjectChanged,
    ProjectGone,
)
from watcher.core.records import Project, Signature
from watcher.core.settings import FolderSettings
from watcher.daws import (
    HEAVY_DIRS,
    Candidate,
    DawFormat,
    Registry,
    check_generic,
    is_junk_name,
    is_nosync,
    junk_reason,
    project_type,
    suffix_of,
    title_for,
)
from watcher.scanner import DIGEST_MASK, file_stamp

AUDIO = frozenset({".wav", ".aif", ".aiff", ".flac", ".mp3", ".m4a"})

FsInput = ProjectChanged | ProjectGone | DirectoryChanged | DirectoryGone


def classify_event(
    fs: SimFS, registry: Registry, folder: FolderSettings, event: Event, at: float
) -> FsInput | None:
    """What the shell feeds the core for one file event under `folder`, if anything."""
    root = P(folder.root)
    path = event.path
    if path == root:
        return DirectoryGone(folder.root, folder.root, at) if event.gone else None
    verdict = registry.classify(path, root, fs.listdir, folder.exclude)
    if isinstance(verdict, Candidate):
        unit = str(verdict.path)
        if event.gone and verdict.path == path:
            return ProjectGone(folder.root, unit, at)
        return ProjectChanged(folder.root, unit, verdict.daw.bundle, at)
    if event.is_directory and verdict is None:
        if event.gone:
            return DirectoryGone(folder.root, str(path), at)
        if folder.recursive:
            return DirectoryChanged(folder.root, str(path), at)
    return None


def _daw(registry: Registry, path: P) -> DawFormat | None:
    return registry.format_for(path.name)


def signature(fs: SimFS, registry: Registry, path: str, bundle: bool) -> Signature | None:
    """`scanner.signature_of`: a file's stat (plus open markers), or a bundle's sum."""
    unit = P(path)
    daw = _daw(registry, unit)
    top = fs.stat(unit)
    if daw is None or top is None or top.is_dir != bundle:
        return None
    if not bundle:
        size, mtime = top.size, top.mtime_ns
        for suffix in daw.open_while:
            extra = fs.stat(P(path + suffix))
            if extra is not None:
                size, mtime = size + extra.size + 1, max(mtime, extra.mtime_ns)
        return Signature(size, mtime, top.inode)
    skip = {d.lower() for d in daw.backup_dirs}
    size = newest = count = digest = 0
    stack = [unit]
    while stack:
        directory = stack.pop()
        for name in sorted(fs.listdir(directory)):
            child = directory / name
            info = fs.stat(child)
            if info is None:
                continue
            if info.is_dir:
                if name.lower() not in skip and not is_nosync(name) and not is_junk_name(name):
                    stack.append(child)
            elif not is_junk_name(name):
                size, newest, count = size + info.size, max(newest, info.mtime_ns), count + 1
                digest += file_stamp(str(child)[len(path) + 1 :], info.size, info.mtime_ns)
    return Signature(size + count, max(newest, top.mtime_ns), top.inode, digest & DIGEST_MASK)


def content(fs: SimFS, registry: Registry, path: str, bundle: bool) -> bytes | None:
    """A digest of the bytes SessionDock reads as the project at `path` (offline or not:
    what the drive holds): the file's, or a bundle's files the signature counts (junk
    and backups inside it are not the project, and never make it look changed)."""
    unit = P(path)
    daw = _daw(registry, unit)
    if daw is None or not bundle:
        return fs.digest(unit) if fs.data(unit) is not None else None
    skip = {d.lower() for d in daw.backup_dirs}
    h = hashlib.blake2b(digest_size=16)
    found = False
    for child in fs.walk_files(unit):
        parts = child.relative_to(unit).parts
        dirs, name = parts[:-1], parts[-1]
        if is_junk_name(name) or any(
            d.lower() in skip or is_nosync(d) or is_junk_name(d) for d in dirs
        ):
            continue
        found = True
        h.update("/".join(parts).encode() + b"\0" + (fs.data(child) or b"") + b"\0")
    return h.digest() if found else None


def _bundle_files(fs: SimFS, bundle: P, pattern: str) -> list[P]:
    parts = pattern.split("/")
    found = [bundle]
    for part in parts:
        found = [d / n for d in found for n in sorted(fs.listdir(d)) if fnmatch.fnmatch(n, part)]
    return [f for f in found if (s := fs.stat(f)) is not None and not s.is_dir]


def _check(fs: SimFS, target: P, daw: DawFormat) -> str | None:
    data = fs.read(target)
    if data is None:
        return f"cannot read {target.name}"
    stream = io.BytesIO(data)
    return check_generic(stream) or (daw.check(stream) if daw.check else None)


def _content_problem(fs: SimFS, unit: P, daw: DawFormat) -> str | None:
    """`scanner.check_content`."""
    if not daw.bundle:
        return _check(fs, unit, daw)
    if not daw.content_files:
        return None
    for pattern in daw.content_files:
        targets = _bundle_files(fs, unit, pattern)
        if targets:
            for target in targets:
                problem = _check(fs, target, daw)
                if problem:
                    return f"{target.relative_to(unit)}: {problem}"
            return None
    return f"no {' or '.join(daw.content_files)} inside the bundle"


def identity(fs: SimFS, unit: P, daw: DawFormat) -> str | None:
    """`watcher.identity.identity_of`: size and digest of the file, or of a bundle's
    content files."""
    files = [unit]
    if daw.bundle:
        files = []
        for pattern in daw.content_files:
            files = sorted(_bundle_files(fs, unit, pattern))
            if files:
                break
    digest, size = hashlib.sha256(), 0
    for file in files:
        data = fs.read(file)
        if data is None:
            return None
        digest.update(str(file.relative_to(unit)).encode() + b"\0" + data)
        size += len(data)
    return f"{size}:{digest.hexdigest()}" if files else None


def probe(
    fs: SimFS, registry: Registry, folder: FolderSettings, path: str, sig: Signature
) -> Project | NotAProject:
    """`scanner.probe`: open marker, content check, then what would be sent."""
    unit = P(path)
    daw = _daw(registry, unit)
    if daw is None or fs.stat(unit) is None:
        return NotAProject("bad-content", f"cannot read {unit.name}: No such file or directory")
    for suffix in daw.open_while:
        if fs.stat(P(path + suffix)) is not None:
            return NotAProject("open", f"open in {daw.kind}")
    problem = _content_problem(fs, unit, daw)
    if problem:
        return NotAProject("bad-content", problem)
    stem = unit.stem.lower()
    previews = sorted(
        n
        for n in fs.listdir(unit.parent)
        if suffix_of(n) in AUDIO and not is_junk_name(n) and n.rsplit(".", 1)[0].lower() == stem
    )
    return Project(
        path=path,
        root=folder.root,
        kind=folder.kind or daw.kind,
        title=title_for(unit, "file"),
        project_type=project_type(unit),
        project_path=path,
        preview_path=str(unit.parent / previews[0]) if previews else None,
        generate_previews=folder.generate_previews,
        signature=sig,
        identity=identity(fs, unit, daw),
    )


def walk(fs: SimFS, registry: Registry, folder: FolderSettings, under: str | None) -> list[Found]:
    """`scanner.walk`: every project unit below the folder, pruned as the real walk prunes."""
    root = P(folder.root)
    found: list[Found] = []
    stack = [P(under) if under else root]
    while stack:
        directory = stack.pop()
        names = fs.listdir(directory)

        def names_in(
            path: PurePath, _d: P = directory, _n: Collection[str] = names
        ) -> Collection[str]:
            return _n if path == _d else fs.listdir(P(str(path)))

        subdirs: list[P] = []
        for name in sorted(names):
            path = directory / name
            info = fs.stat(path)
            if info is None:
                continue
            suffix = suffix_of(name)
            if not info.is_dir and suffix not in registry.relevant_extensions:
                continue
            if info.is_dir and suffix not in registry.bundle_extensions:
                if name.lower() in HEAVY_DIRS or not folder.recursive or junk_reason(name):
                    continue
                if registry.backup_dir_reason(path, names_in):
                    continue
                subdirs.append(path)
                continue
            verdict = registry.classify(path, root, names_in, folder.exclude)
            if isinstance(verdict, Candidate):
                bundle = verdict.daw.bundle
                found.append(Found(str(path), bundle, signature(fs, registry, str(path), bundle)))
        stack.extend(reversed(subdirs))
    return found
