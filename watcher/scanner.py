"""Walking watched folders and probing projects: the disk side of recognition.

`walk` finds every project unit under a folder without descending into payload folders
(`Samples/`, `Audio Files/`) or into bundles. `signature_of` is the fresh stat the
debouncer and the state compare. `probe` runs the content check and builds what is
sent to SessionDock; it may take seconds on a large set, so the daemon runs it on the
prober's threads (watcher/prober.py), never on its loop.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Collection, Iterator
from functools import lru_cache
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from watcher.config import ImportSettings, ScanSettings, WatchFolder
from watcher.core.records import Project, Signature
from watcher.daws import (
    ALTERNATIVES,
    DEFAULT_LIMITS,
    HEAVY_DIRS,
    Candidate,
    ContentCheck,
    DawFormat,
    Limits,
    Registry,
    Skipped,
    SkipReason,
    TooLarge,
    check_generic,
    is_junk_name,
    is_nosync,
    junk_reason,
    project_type,
    title_for,
)
from watcher.mounts import is_virtual_root, virtual_mount_points
from watcher.names import BAD_NAME, is_valid, printable
from watcher.previews import find_preview

if TYPE_CHECKING:
    from watcher.dryrun import Share

BUNDLE_WALK_LIMIT = 20_000
"""Entries a bundle's signature looks at, at most. A real `.logicx` holds a few hundred
(thousands with its recordings inside); past the limit the signature stops counting,
so a bundle stuffed with a huge tree costs a bounded walk, never a frozen loop."""


def listdir_names(directory: PurePath) -> Collection[str]:
    try:
        return frozenset(os.listdir(directory))
    except OSError:
        return frozenset()


def cached_names_in() -> Callable[[PurePath], Collection[str]]:
    """A directory-listing lookup for one burst of classifications."""
    return lru_cache(maxsize=4096)(listdir_names)


def _bundle_signature(bundle: Path, daw: DawFormat) -> Signature | None:
    """None for a bundle that is a link: it is not followed out of the folder it sits in
    (it may lead anywhere, `/` included); the real bundle is found where it lives."""
    skip = {d.lower() for d in daw.backup_dirs}
    size = newest = count = seen = 0
    try:
        top = bundle.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(top.st_mode):
        return None
    for dirpath, dirnames, filenames in os.walk(bundle):  # never follows links inside
        seen += len(dirnames) + len(filenames)
        if seen > BUNDLE_WALK_LIMIT:
            break
        dirnames[:] = [
            d
            for d in dirnames
            if d.lower() not in skip and not is_nosync(d) and not is_junk_name(d)
        ]
        for name in filenames:
            if is_junk_name(name):
                continue
            try:
                info = os.lstat(os.path.join(dirpath, name))
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
    folder: WatchFolder,
    registry: Registry,
    explain: bool = False,
    skip: Collection[Path] = frozenset(),
    on_unreadable: Callable[[Path, OSError], None] | None = None,
    share: Share | None = None,
) -> Iterator[Candidate | Skipped]:
    """Every project unit under a watched folder; with `explain`, the skipped ones too.

    A walk never descends into bundles (they are one project), junk folders, heavy
    payload folders or a DAW's backup folders (unless explaining, to list what they
    hold), which keeps it close to the cost of `find` on a large library: most entries
    (audio, samples) are dropped while listing, with one suffix lookup and no `Path`.
    Nor into links, virtual file systems (`/proc`...), or `skip`: watched folders
    nested in this one, which their own entries walk. A folder it cannot list is
    reported to `on_unreadable` (and listed with `explain`) and is tried again at the
    next walk. With `share`, only some top-level folders are entered (`scan --dry-run`
    splits them between two processes: watcher/dryrun.py).
    """
    root = folder.path
    if is_virtual_root(root):
        return
    bundle_extensions = registry.bundle_extensions
    relevant = registry.relevant_extensions
    backup_names = registry.backup_dir_names
    recursive = folder.recursive
    skipped = {str(p) for p in skip}
    virtual = virtual_mount_points()
    top = str(root)
    stack = [top]
    while stack:
        directory = stack.pop()
        names: list[str] = []
        kept: list[tuple[str, str]] = []  # (name, "unit" | "folder" | "link")
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
                        if suffix in bundle_extensions and entry.is_symlink():
                            kept.append((name, "link"))
                        elif suffix in relevant:
                            kept.append((name, "unit"))
                    elif suffix in bundle_extensions:
                        kept.append((name, "unit"))  # a bundle is one project unit
                    elif recursive and name.lower() not in HEAVY_DIRS:
                        kept.append((name, "folder"))
        except OSError as exc:
            if share is not None and not share.lead and directory == top:
                continue  # the lead reports the top level
            if on_unreadable is not None:
                on_unreadable(Path(directory), exc)
            if explain and not isinstance(exc, FileNotFoundError):
                yield Skipped(
                    Path(directory),
                    "unreadable",
                    unreadable_folder_advice(Path(directory), exc),
                )
            continue
        listing = _Listing(directory, names)
        if directory != top and ALTERNATIVES in names:
            found = registry.classify(Path(directory), root, listing.names_in, folder.exclude)
            if found is not None:  # a bundle that lost its suffix: one project, not a tree
                if isinstance(found, Candidate) or explain:
                    yield found
                continue
        subdirs: list[str] = []
        prefix = directory if directory.endswith(os.sep) else directory + os.sep
        ordered = sorted(kept)
        lead, owned = True, None
        if share is not None and directory == top:
            lead = share.lead
            owned = frozenset(share.mine([name for name, what in ordered if what == "folder"]))
        for name, what in ordered:
            path = prefix + name
            if not lead and what != "folder":
                continue
            if what == "link":
                if explain:
                    target = os.path.realpath(path)
                    yield Skipped(Path(path), "link", f"a link to {target}: links are not followed")
                continue
            if what == "folder":
                if path in skipped or path in virtual:
                    continue
                junk = junk_reason(name)
                if junk:
                    if explain and lead:
                        yield Skipped(Path(path), "junk", f"folder {name!r} is {junk}")
                    continue
                if (
                    not explain
                    and name.lower() in backup_names
                    and registry.backup_dir_reason(Path(path), listing.names_in)
                ):
                    continue
                if owned is None or name in owned:
                    subdirs.append(path)
                continue
            verdict = registry.classify(Path(path), root, listing.names_in, folder.exclude)
            if isinstance(verdict, Candidate) or (explain and verdict is not None):
                yield verdict
        stack.extend(reversed(subdirs))


def unreadable_folder_advice(folder: Path, exc: OSError) -> str:
    return (
        f"cannot read folder {folder}: {exc.strerror or exc}; give this user read access "
        f"(e.g. chmod u+rx); it is tried again when it changes and at each reconciliation"
    )


def unreadable_reason(candidate: Candidate) -> str | None:
    """Why the project's bytes cannot be read now (permissions, I/O), or None.

    A read error is not a verdict on the bytes: the caller must not remember it as an
    invalid project (that memory is keyed by a signature `chmod` does not change), but
    try again when the project changes and at the next reconciliation.
    """
    path = _path_of(candidate)
    daw = candidate.daw
    try:
        if not daw.bundle:
            with open(path, "rb"):
                return None
        os.listdir(path)
        for pattern in daw.content_files:
            parts = PurePath(pattern).parts
            for depth in range(1, len(parts)):
                for inside in path.glob(str(PurePath(*parts[:depth]))):
                    if inside.is_dir() and not inside.is_symlink():
                        os.listdir(inside)
        for target in _content_targets(path, daw.content_files):
            with open(target, "rb"):
                pass
    except OSError as exc:
        where = exc.filename or path
        return (
            f"cannot read {where}: {exc.strerror or exc}; give this user read access "
            f"(e.g. chmod u+r); it is tried again when it changes and at each reconciliation"
        )
    return None


class _Listing:
    """One folder's names for classification, as a set only when a rule asks."""

    def __init__(self, directory: str, names: list[str]) -> None:
        self._directory = directory
        self._names = names
        self._set: frozenset[str] | None = None

    def names_in(self, path: PurePath) -> Collection[str]:
        if str(path) == self._directory:
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


def content_limits(scan: ScanSettings) -> Limits:
    """The bounds of one content check, from `scan:` in the config."""
    return Limits(
        max_inflated_bytes=scan.max_inflated_bytes,
        max_inflate_ratio=scan.max_inflate_ratio,
        seconds=scan.content_check_seconds,
    )


Problem = tuple[SkipReason, str]
"""Why a project's content is not imported: `bad-content` or `too-large`, and the detail."""


def _check_file(target: Path, check: ContentCheck | None, limits: Limits) -> Problem | None:
    """Open without blocking (a FIFO swapped in for the file must not hang a prober)
    and run the checks; a check that hits a limit is `too-large`."""
    try:
        fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return "bad-content", f"cannot read {target.name}: {exc.strerror}"
    with os.fdopen(fd, "rb") as stream:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return "bad-content", f"{target.name} is not a regular file"
            problem = check_generic(stream) or (check(stream, limits) if check else None)
        except TooLarge as exc:
            return "too-large", str(exc)
        except OSError as exc:
            return "bad-content", f"cannot read {target.name}: {exc.strerror}"
    return ("bad-content", problem) if problem else None


def content_problem(candidate: Candidate, limits: Limits = DEFAULT_LIMITS) -> Problem | None:
    """Run the DAW's content check on the project's main file(s); None when it passes.

    The generic checks (empty file, AppleDouble) run for every DAW, including those
    whose own format is unknown. Memory stays bounded whatever the file holds.
    """
    daw = candidate.daw
    path = _path_of(candidate)
    if not daw.bundle:
        return _check_file(path, daw.check, limits)
    if not daw.content_files:
        return None
    targets = _content_targets(path, daw.content_files)
    if not targets:
        return "bad-content", f"no {' or '.join(daw.content_files)} inside the bundle"
    for target in targets:
        problem = _check_file(target, daw.check, limits)
        if problem:
            return problem[0], f"{target.relative_to(path)}: {problem[1]}"
    return None


def bad_name(candidate: Candidate) -> Skipped | None:
    """A project whose path is not valid UTF-8 cannot be sent (JSON has no bytes).

    It is skipped rather than sent under a guessed name: SessionDock would store a path
    that does not exist. Renaming it makes it a new, valid project.
    """
    if is_valid(candidate.path):
        return None
    return Skipped(
        candidate.path,
        BAD_NAME,
        f"the path is not valid UTF-8: {printable(candidate.path)}",
    )


def check_content(candidate: Candidate, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """`content_problem`'s detail alone: None when the content passes."""
    problem = content_problem(candidate, limits)
    return problem[1] if problem else None


def open_reason(candidate: Candidate) -> str | None:
    """Why the DAW has the project open right now (its `-wal` exists), or None."""
    path = str(candidate.path)
    for suffix in candidate.daw.open_while:
        if os.path.exists(path + suffix):
            name = candidate.path.name + suffix
            return f"open in {candidate.daw.kind} ({name} exists); sent once it is closed"
    return None


def _path_of(candidate: Candidate) -> Path:
    """The candidate's path as a `Path`, not parsed again when it is one already."""
    path = candidate.path
    return path if isinstance(path, Path) else Path(path)


def probe(
    candidate: Candidate,
    folder: WatchFolder,
    settings: ImportSettings,
    signature: Signature,
    limits: Limits = DEFAULT_LIMITS,
) -> Project | Skipped:
    """Content-check a ready candidate and build what is sent; I/O happens here."""
    bad = bad_name(candidate)
    if bad is not None:
        return bad
    busy = open_reason(candidate)
    if busy:
        return Skipped(candidate.path, "open", busy)
    unreadable = unreadable_reason(candidate)
    if unreadable:
        return Skipped(candidate.path, "unreadable", unreadable)
    problem = content_problem(candidate, limits)
    if problem:
        return Skipped(candidate.path, problem[0], problem[1])
    path = _path_of(candidate)
    daw = candidate.daw
    preview = find_preview(path, daw)
    return Project(
        path=str(path),
        root=str(folder.path),
        kind=folder.kind or daw.kind,
        title=title_for(path, settings.title_from, daw),
        project_type=project_type(path, daw),
        project_path=str(path.parent if settings.project_path == "folder" else path),
        preview_path=str(preview) if preview else None,
        generate_previews=folder.generate_previews,
        signature=signature,
    )
