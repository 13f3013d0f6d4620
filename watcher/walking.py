"""Walking a watched folder: every project unit in it, found at close to `find`'s cost.

`walk` never descends into payload folders (`Samples/`, `Audio Files/`), bundles,
junk or a DAW's backups, and drops most entries (audio, samples) while listing, with
one suffix lookup and no `Path`. Split from watcher/scanner.py (the probes), which
re-exports what it had.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from watcher.daws import (
    ALTERNATIVES,
    HEAVY_DIRS,
    Candidate,
    Registry,
    Skipped,
    junk_reason,
)
from watcher.mounts import is_virtual_root, virtual_mount_points

if TYPE_CHECKING:
    from watcher.config import WatchFolder
    from watcher.drysplit import Share
    from watcher.walkmemo import WalkMemo


def listdir_names(directory: PurePath) -> Collection[str]:
    try:
        return frozenset(os.listdir(directory))
    except OSError:
        return frozenset()


def cached_names_in() -> Callable[[PurePath], Collection[str]]:
    """A directory-listing lookup for one burst of classifications."""
    return lru_cache(maxsize=4096)(listdir_names)


_WILDCARDS = frozenset("*?[")


def expand(base: str, pattern: str) -> list[str]:
    """The paths under `base` that `pattern` (a DAW table's `Alternatives/*/ProjectData`)
    names, as `Path.glob` finds them (every part but the last must be a folder, links
    followed; `*` matches hidden names too; case as the OS compares it), in listing
    order, on strings: a probe expands a bundle's patterns per project, and
    `Path.glob` costs five times as much (issue 13). `**` goes to `Path.glob`."""
    if "**" in pattern:
        return [str(p) for p in Path(base).glob(pattern)]
    found = [base]
    parts = pattern.split("/")
    for depth, part in enumerate(parts):
        folders_only = depth < len(parts) - 1
        step: list[str] = []
        for parent in found:
            if not _WILDCARDS.intersection(part):
                path = os.path.join(parent, part)
                if os.path.isdir(path) if folders_only else os.path.exists(path):
                    step.append(path)
                continue
            try:
                with os.scandir(parent) as entries:
                    for entry in entries:
                        if not _matches(entry.name, part):
                            continue
                        try:
                            if folders_only and not entry.is_dir():
                                continue
                        except OSError:
                            continue
                        step.append(entry.path)
            except OSError:
                continue
        found = step
    return found


_FOLDS_CASE = os.path.normcase("A") == "a"  # Windows


def _matches(name: str, part: str) -> bool:
    """`Path.glob`'s test of one name: case-insensitive where the OS's paths are."""
    if _FOLDS_CASE:
        return fnmatchcase(name.lower(), part.lower())
    return fnmatchcase(name, part)


def walk(
    folder: WatchFolder,
    registry: Registry,
    explain: bool = False,
    skip: Collection[Path] = frozenset(),
    on_unreadable: Callable[[Path, OSError], None] | None = None,
    share: Share | None = None,
    memo: WalkMemo | None = None,
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
    splits them between two processes: watcher/drysplit.py). With `memo`, a folder whose
    stat has not moved since the last walk is not listed again (watcher/walkmemo.py).
    """
    root = folder.path
    if is_virtual_root(root):
        return
    bundle_extensions = registry.bundle_extensions
    relevant = registry.relevant_extensions if explain else registry.project_extensions
    backup_names = registry.backup_dir_names
    recursive = folder.recursive
    skipped = {str(p) for p in skip}
    virtual = virtual_mount_points()
    top = str(root)
    stack = [top]
    shared: dict[str, str] = {}  # with `share`: the top-level folders, by path
    while stack:
        directory = stack.pop()
        if directory in shared and share is not None and not share.enters(shared[directory]):
            continue  # the other process of a split dry run walks this one
        info, memory = memo.recall(directory) if memo is not None else (None, None)
        names: list[str] | None = None
        if memory is not None:  # its stat has not moved since the last walk listed it
            alternatives, ordered = memory
        else:
            try:
                names, kept = _kept_entries(directory, bundle_extensions, relevant, recursive)
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
            alternatives, ordered = ALTERNATIVES in names, tuple(sorted(kept))
            if memo is not None:
                memo.remember(directory, info, alternatives, ordered)
        listing = _Listing(directory, names)
        if directory != top and alternatives:
            found = registry.classify(Path(directory), root, listing.names_in, folder.exclude)
            if found is not None:  # a bundle that lost its suffix: one project, not a tree
                if isinstance(found, Candidate) or explain:
                    yield found
                continue
        subdirs: list[str] = []
        prefix = directory if directory.endswith(os.sep) else directory + os.sep
        lead = True
        if share is not None and directory == top:
            lead = share.lead
            share.begin([name for name, what in ordered if what == "folder"])
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
                if share is not None and directory == top:
                    shared[path] = name
                subdirs.append(path)
                continue
            verdict = registry.classify(Path(path), root, listing.names_in, folder.exclude)
            if isinstance(verdict, Candidate) or (explain and verdict is not None):
                yield verdict
        stack.extend(reversed(subdirs))


def _kept_entries(
    directory: str, bundle_extensions: Collection[str], relevant: Collection[str], recursive: bool
) -> tuple[list[str], list[tuple[str, str]]]:
    """A folder's names, and the entries a walk keeps: (name, "unit" | "folder" | "link")."""
    names: list[str] = []
    kept: list[tuple[str, str]] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            name = entry.name
            names.append(name)
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            # A superset of `suffix_of` (no dot: the last letter, never an extension),
            # so most entries (audio, samples) end with one lookup.
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
    return names, kept


def unreadable_folder_advice(folder: Path, exc: OSError) -> str:
    return (
        f"cannot read folder {folder}: {exc.strerror or exc}; give this user read access "
        f"(e.g. chmod u+rx); it is tried again when it changes and at each reconciliation"
    )


class _Listing:
    """One folder's names for classification, as a set only when a rule asks (read
    again only when a walk's memo had the folder's entries, not its names)."""

    def __init__(self, directory: str, names: list[str] | None) -> None:
        self._directory = directory
        self._names = names
        self._set: frozenset[str] | None = None

    def names_in(self, path: PurePath) -> Collection[str]:
        if str(path) == self._directory:
            if self._set is None:
                names = self._names
                self._set = (
                    frozenset(names) if names is not None else frozenset(listdir_names(path))
                )
            return self._set
        return listdir_names(path)
