"""Walking watched folders and probing projects: the disk side of recognition.

`walk` finds every project unit under a folder without descending into payload folders
(`Samples/`, `Audio Files/`) or into bundles. `signature_of` is the fresh stat the
debouncer and the state compare. `probe` runs the content check and builds what is
sent to SessionDock; it may take seconds on a large set, so the daemon runs it on the
prober's threads (watcher/prober.py), never on its loop.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING

from watcher.core.records import Project, Signature
from watcher.daws import (
    DEFAULT_LIMITS,
    Candidate,
    ContentCheck,
    DawFormat,
    Limits,
    Skipped,
    SkipReason,
    TooLarge,
    check_generic,
    is_junk_name,
    is_nosync,
    project_type,
    title_for,
)
from watcher.names import BAD_NAME, is_valid, printable
from watcher.previews import find_preview
from watcher.walking import (
    cached_names_in,
    expand,
    listdir_names,
    unreadable_folder_advice,
    walk,
)

if TYPE_CHECKING:
    from watcher.config import ImportSettings, ScanSettings, WatchFolder
    from watcher.walkmemo import WalkMemo

__all__ = [  # the walk moved to watcher/walking.py; imported from here as before
    "BUNDLE_WALK_LIMIT",
    "Problem",
    "bad_name",
    "cached_names_in",
    "check_content",
    "content_limits",
    "content_problem",
    "listdir_names",
    "open_reason",
    "path_of",
    "probe",
    "remembered_signature",
    "signature_of",
    "unreadable_folder_advice",
    "unreadable_reason",
    "walk",
]

BUNDLE_WALK_LIMIT = 20_000
"""Entries a bundle's signature looks at, at most. A real `.logicx` holds a few hundred
(thousands with its recordings inside); past the limit the signature stops counting,
so a bundle stuffed with a huge tree costs a bounded walk, never a frozen loop."""


DIGEST_MASK = (1 << 63) - 1
"""A bundle's digest fits SQLite's signed 64-bit INTEGER."""


def file_stamp(relative: str, size: int, mtime_ns: int) -> int:
    """One file's part of its bundle's digest. The parts are summed, so the walk's order
    does not matter; names are relative to the bundle, so a move keeps the digest. A
    stable hash (not `hash()`, salted per process): the digest outlives the process."""
    text = f"{size}\0{mtime_ns}\0".encode() + os.fsencode(relative)
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def _bundle_signature(
    bundle: Path, daw: DawFormat, noted: list[str] | None = None
) -> Signature | None:
    """None for a bundle that is a link: it is not followed out of the folder it sits in
    (it may lead anywhere, `/` included); the real bundle is found where it lives.

    `noted` gets the folders walked and the files the content check reads: while none
    of them changes its stat, a walk's memo keeps the signature (watcher/walkmemo.py)."""
    skip = {d.lower() for d in daw.backup_dirs}
    reads = [p.lower() for p in daw.content_files]
    size = newest = count = seen = digest = 0
    try:
        top = bundle.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(top.st_mode):
        return None
    text = str(bundle)
    inside = len(text) + 1
    stack = [text]
    while stack:  # `os.walk`'s order and links rule, with no path built per entry
        dirpath = stack.pop()
        folders: list[os.DirEntry[str]] = []
        files: list[os.DirEntry[str]] = []
        try:
            with os.scandir(dirpath) as entries:
                for entry in entries:
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    (folders if is_dir else files).append(entry)
        except OSError:
            continue
        seen += len(folders) + len(files)
        if seen > BUNDLE_WALK_LIMIT:
            break
        if noted is not None:
            noted.append(dirpath)
        for entry in files:
            if is_junk_name(entry.name):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            path = entry.path
            size += info.st_size
            newest = max(newest, info.st_mtime_ns)
            count += 1
            digest += file_stamp(path[inside:], info.st_size, info.st_mtime_ns)
            if noted is not None and (
                not reads or any(fnmatchcase(path[inside:].lower(), p) for p in reads)
            ):
                noted.append(path)
        stack.extend(entry.path for entry in reversed(folders) if _enters(entry, skip))
    return Signature(
        size=size + count,
        mtime_ns=max(newest, top.st_mtime_ns),
        inode=top.st_ino,
        digest=digest & DIGEST_MASK,
    )


def _enters(folder: os.DirEntry[str], skip: set[str]) -> bool:
    """Whether a bundle's signature counts what `folder` holds: not its DAW's backups,
    junk or `.nosync` data, and never through a link (it may lead anywhere)."""
    name = folder.name
    if name.lower() in skip or is_nosync(name) or is_junk_name(name):
        return False
    try:
        return not folder.is_symlink()
    except OSError:  # as `os.walk`: a folder it cannot tell is entered, and fails there
        return True


def remembered_signature(path: Path, daw: DawFormat, memo: WalkMemo | None) -> Signature | None:
    """`signature_of`, with a bundle's taken from `memo` while it has not changed."""
    if memo is None or not daw.bundle:
        return signature_of(path, daw)
    return memo.bundle_signature(path, lambda noted: _bundle_signature(path, daw, noted))


def signature_of(path: Path, daw: DawFormat) -> Signature | None:
    """A fresh stat of the project; None when it no longer exists.

    A file's open markers (Audacity's `-wal`) are part of its state: the database is
    the main file plus its log, so the log vanishing on close is a change to retry on.
    """
    if daw.bundle:
        return _bundle_signature(path, daw)
    try:
        info = os.stat(path)
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


def unreadable_reason(candidate: Candidate, targets: list[Path] | None = None) -> str | None:
    """Why the project's bytes cannot be read now (permissions, I/O), or None.

    A read error is not a verdict on the bytes: the caller must not remember it as an
    invalid project (that memory is keyed by a signature `chmod` does not change), but
    try again when the project changes and at the next reconciliation.
    """
    path = path_of(candidate)
    daw = candidate.daw
    try:
        if not daw.bundle:
            with open(path, "rb"):
                return None
        os.listdir(path)
        text = str(path)
        for pattern in daw.content_files:
            parts = pattern.split("/")
            for depth in range(1, len(parts)):
                for inside in expand(text, "/".join(parts[:depth])):
                    if os.path.isdir(inside) and not os.path.islink(inside):
                        os.listdir(inside)
        if targets is None:  # a probe found them already
            targets = _content_targets(path, daw.content_files)
        for target in targets:
            with open(target, "rb"):
                pass
    except OSError as exc:
        return _unreadable_detail(exc.filename or path, exc)
    return None


def _unreadable_detail(where: object, exc: OSError) -> str:
    return (
        f"cannot read {where}: {exc.strerror or exc}; give this user read access "
        f"(e.g. chmod u+r); it is tried again when it changes and at each reconciliation"
    )


def _content_targets(bundle: Path, patterns: tuple[str, ...]) -> list[Path]:
    """Every file the first matching pattern finds (each Logic alternative's data)."""
    for pattern in patterns:
        found = [p for p in expand(str(bundle), pattern) if os.path.isfile(p)]
        if found:
            return sorted(map(Path, found))
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


def _check_file(
    target: Path, check: ContentCheck | None, limits: Limits, unreadable: bool = False
) -> Problem | None:
    """Open without blocking (a FIFO swapped in for the file must not hang a prober)
    and run the checks; a check that hits a limit is `too-large`. With `unreadable`,
    a file that cannot be opened is `unreadable` (what `unreadable_reason` says, from
    the same open: a probe opens a project file once)."""
    try:
        fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if unreadable:
            return "unreadable", _unreadable_detail(exc.filename or target, exc)
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


def content_problem(
    candidate: Candidate, limits: Limits = DEFAULT_LIMITS, targets: list[Path] | None = None
) -> Problem | None:
    """Run the DAW's content check on the project's main file(s); None when it passes.

    The generic checks (empty file, AppleDouble) run for every DAW, including those
    whose own format is unknown. Memory stays bounded whatever the file holds.
    """
    daw = candidate.daw
    path = path_of(candidate)
    if not daw.bundle:
        return _check_file(path, daw.check, limits)
    if not daw.content_files:
        return None
    if targets is None:
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


def path_of(candidate: Candidate) -> Path:
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
    path = path_of(candidate)
    daw = candidate.daw
    if daw.bundle:
        targets = _content_targets(path, daw.content_files)  # once, for both checks
        unreadable = unreadable_reason(candidate, targets)
        if unreadable:
            return Skipped(candidate.path, "unreadable", unreadable)
        problem = content_problem(candidate, limits, targets)
    else:
        problem = _check_file(path, daw.check, limits, unreadable=True)
    if problem:
        return Skipped(candidate.path, problem[0], problem[1])
    preview = find_preview(path, daw)
    text = str(path)  # one string where two fields hold the same path (RSS: issue 13)
    return Project(
        path=text,
        root=sys.intern(str(folder.path)),
        kind=sys.intern(folder.kind or daw.kind),
        title=title_for(path, settings.title_from, daw),
        project_type=sys.intern(project_type(path, daw)),
        project_path=str(path.parent) if settings.project_path == "folder" else text,
        preview_path=preview,
        generate_previews=folder.generate_previews,
        signature=signature,
    )
