"""Change detection whose cost follows change, not library size.

A folder's modification time changes when an entry is added, removed or renamed in
it, and a project file's own stat changes when it is rewritten in place. So a pass
stats every folder it knows (one stat each), lists only the folders whose stat moved,
and stats only project candidates: project files, their open markers, and the files
a bundle's content check reads. Recordings, samples and bounces are never stat'ed,
and pruned folders (payload, junk, DAW backups) are never entered.

`take_snapshot` is the thin I/O part; `diff` turns two snapshots into the `Change`
values the observer delivers and is pure; `unreported` picks the changes no native
event accounted for (what to poll after repeated misses is the core's decision:
watcher/core/folders.py).
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TypeAlias

from watcher.daws import (
    HEAVY_DIRS,
    DawFormat,
    Registry,
    is_junk_name,
    is_nosync,
    never_holds_projects,
)


@dataclass(frozen=True)
class Change:
    """Something happened at `path`: it exists now (`gone` False) or no longer does.

    Native events and detector passes both produce these (defined here so the
    detector needs no watchdog; `watcher.observer` re-exports it)."""

    path: Path
    gone: bool
    is_directory: bool
    at: float
    """Monotonic time the change was seen, so queueing delays do not skew debouncing."""
    attrib: bool = False
    """Only its metadata changed (chmod, touch): the contents are as before."""


StatResult = int
"""A hash of (size, mtime_ns, inode): equal values mean "not rewritten". A hash, not
the tuple, because a million-file library keeps ~90,000 of them (8 MiB saved)."""

Stat = Callable[[str], os.stat_result]
Scandir = Callable[[str], "Iterable[os.DirEntry[str]]"]

RACY_NS = 2_000_000_000
"""A folder modified this recently may change again within the same timestamp tick
(coarse clocks: FAT 2 s, some shares 1 s), so it is listed again next pass."""


Child: TypeAlias = str | tuple[str, DawFormat, str]
"""A folder to visit: its path, or inside a bundle (path, the bundle's format, its path
inside the bundle such as `Alternatives/000/`, which content patterns match)."""


@dataclass(frozen=True, slots=True)
class Listing:
    """What one folder held when it was last listed, and the stat that listing matched."""

    stamp: StatResult | None
    """None when the folder was still settling: list it again next pass."""
    dirs: tuple[Child, ...]
    """Subfolders descended into (pruned ones are left out), ready to push."""
    files: tuple[str, ...]
    """Full paths of candidate files, stat'ed on every pass."""
    whole: bool = True
    """Nothing a walk (watcher.scanner) would find a project in was left out: a
    reconciliation may take this listing for the folder's (watcher/walkmemo.py)."""


@dataclass
class Snapshot:
    folders: dict[str, Listing] = field(default_factory=dict)
    stats: dict[str, StatResult] = field(default_factory=dict)


@dataclass(frozen=True)
class Rules:
    """Which names a pass descends into and which files it stats, from the DAW table."""

    registry: Registry
    recursive: bool = True
    skip: Callable[[str], bool] = lambda _path: False
    """Folders left to others: watched folders nested in this one, virtual file systems."""
    _markers: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        markers = tuple({m for daw in self.registry.formats for m in daw.open_while})
        object.__setattr__(self, "_markers", markers)

    def project_format(self, name: str) -> DawFormat | None:
        return self.registry.format_for(name)

    def is_candidate(self, name: str) -> bool:
        """A project file or an open marker (`X.aup3-wal`) outside bundles."""
        suffix = name[name.rfind(".") :].lower()  # a superset of the extension
        if suffix in self.registry.relevant_extensions:
            daw = self.registry.format_for(name)
            return daw is not None and not daw.bundle
        lowered = name.lower()
        if not lowered.endswith(self._markers):
            return False  # audio, samples, documents: most files end here
        return any(
            lowered.endswith(marker) and self.registry.format_for(name[: -len(marker)]) is daw
            for daw in self.registry.formats
            for marker in daw.open_while
        )

    def prunes(self, folder: str, name: str, names: Collection[str]) -> bool:
        """Folders never entered outside bundles: payload, junk, a DAW's backups."""
        if never_holds_projects(name) or self.skip(os.path.join(folder, name)):
            return True
        directory = PurePath(folder, name)
        return self.registry.backup_dir_reason(directory, lambda _p: names) is not None

    def walk_enters(self, folder: str, name: str, names: Collection[str]) -> bool:
        """A folder `prunes` leaves out that a walk enters (a watched folder nested
        here, `Ableton Project Info`, a `.nosync` folder): not worth a poll, but a
        walk would find a project saved there."""
        lowered = name.lower()
        if lowered in HEAVY_DIRS or is_junk_name(name):
            return False
        if self.skip(os.path.join(folder, name)):
            return True
        directory = PurePath(folder, name)
        return self.registry.backup_dir_reason(directory, lambda _p: names) is None


def _bundle_prunes(daw: DawFormat, inner: str, name: str) -> bool:
    """Inside a bundle only the folders on the way to the files its content check reads
    are entered (`Alternatives/000/`, not `Resources/` or `Media/`)."""
    lowered = name.lower()
    if daw.content_files:
        depth = inner.count("/")
        on_the_way = any(
            len(parts) > depth + 1 and fnmatch.fnmatchcase(lowered, parts[depth].lower())
            for parts in (p.split("/") for p in daw.content_files)
        )
        if not on_the_way:
            return True
    return (
        lowered in {d.lower() for d in daw.backup_dirs}
        or is_nosync(name)
        or is_junk_name(name)
        or never_holds_projects(name)
    )


def _bundle_reads(daw: DawFormat, relative: str) -> bool:
    """The files a bundle's content check reads (every file, if it names none)."""
    if not daw.content_files:
        return True
    return any(fnmatch.fnmatchcase(relative.lower(), p.lower()) for p in daw.content_files)


def _list(folder: str, scandir: Scandir) -> tuple[list[str], list[str]] | None:
    dirs: list[str] = []
    files: list[str] = []
    try:
        for entry in scandir(folder):
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            (dirs if is_dir else files).append(entry.name)
    except OSError:
        return None
    return dirs, files


def take_snapshot(
    root: str,
    rules: Rules,
    previous: Snapshot,
    stat: Stat = os.stat,
    scandir: Scandir = os.scandir,
    now_ns: Callable[[], int] = time.time_ns,
    share: tuple[int, int] | None = None,
) -> Snapshot:
    """One pass: a stat per known folder, a listing per folder whose stat moved, a stat
    per candidate. Folders that vanish or cannot be read are simply absent.

    With `share` (k, n), the candidates of a folder whose listing did not change are
    stat'ed only in one pass of n (folders hashed into n groups, group k this time),
    and so are folders that hold nothing a pass looks at (bounce folders, most of the
    folders of a library); the others keep their last stat. A project added, removed
    or renamed in a folder that holds projects or project folders shows at once (that
    folder's own stat moves); one rewritten in place, or saved into an empty bounce
    folder, within n passes."""
    snap = Snapshot()
    folders, stats = snap.folders, snap.stats
    known, before = previous.folders, previous.stats
    now = now_ns()
    stack: list[Child] = [root]
    while stack:
        child = stack.pop()
        folder = child if isinstance(child, str) else child[0]
        listing = known.get(folder)
        if (
            share is not None
            and listing is not None
            and listing.stamp is not None
            and not listing.dirs
            and not listing.files
            and hash(folder) % share[1] != share[0]
        ):
            folders[folder] = listing  # an empty leaf (a bounce folder): its turn is later
            continue
        try:
            info = stat(folder)
        except OSError:
            continue
        stamp = stamp_of(info)
        skim = False
        if listing is None or listing.stamp != stamp:
            listed = _list(folder, scandir)
            if listed is None:
                continue
            settled = abs(now - info.st_mtime_ns) >= RACY_NS
            listing = _select(child, listed, rules, stamp if settled else None)
        elif share is not None and listing.files:
            skim = hash(folder) % share[1] != share[0]
        folders[folder] = listing
        for path in listing.files:
            if skim and path in before:
                stats[path] = before[path]
                continue
            try:
                info = stat(path)
            except OSError:
                continue
            stats[path] = hash((info.st_size, info.st_mtime_ns, info.st_ino))
        stack.extend(listing.dirs)
    return snap


def stamp_of(info: os.stat_result) -> StatResult:
    """The stamp a pass keeps for a folder or a candidate."""
    return hash((info.st_size, info.st_mtime_ns, info.st_ino))


def _select(
    child: Child,
    listed: tuple[list[str], list[str]],
    rules: Rules,
    stamp: StatResult | None,
) -> Listing:
    folder, bundle, inner = (child, None, "") if isinstance(child, str) else child
    dirs, files = listed
    kept_dirs: list[Child] = []
    if bundle is not None:
        for name in sorted(dirs, reverse=True):
            if not _bundle_prunes(bundle, inner, name):
                kept_dirs.append((os.path.join(folder, name), bundle, f"{inner}{name}/"))
        kept_files = [f for f in files if not is_junk_name(f) and _bundle_reads(bundle, inner + f)]
    else:
        names = frozenset(dirs) | frozenset(files)
        whole = True
        for name in sorted(dirs, reverse=True):
            daw = rules.project_format(name)
            if daw is not None and daw.bundle:  # a project, even where folders are not entered
                kept_dirs.append((os.path.join(folder, name), daw, ""))
            elif not rules.recursive:
                continue  # nor does a walk enter it
            elif not rules.prunes(folder, name, names):
                kept_dirs.append(os.path.join(folder, name))
            elif whole and rules.walk_enters(folder, name, names):
                whole = False
        kept_files = []
        for name in files:
            if rules.is_candidate(name):
                if not is_junk_name(name):
                    kept_files.append(name)
            elif whole and (daw := rules.project_format(name)) is not None and daw.bundle:
                whole = False  # a file named like a bundle: a walk reports it
        paths = tuple(os.path.join(folder, f) for f in sorted(kept_files))
        return Listing(stamp, tuple(kept_dirs), paths, whole)
    paths = tuple(os.path.join(folder, f) for f in sorted(kept_files))
    return Listing(stamp, tuple(kept_dirs), paths)


def _under_any(path: str, tops: Collection[str]) -> bool:
    parent = os.path.dirname(path)
    while parent and parent not in tops:
        up = os.path.dirname(parent)
        if up == parent:
            return False
        parent = up
    return bool(parent)


def diff(old: Snapshot, new: Snapshot, at: float) -> list[Change]:
    """The changes between two passes: topmost new and gone folders, and candidate
    files that appeared, vanished or were rewritten outside those folders."""
    born = new.folders.keys() - old.folders.keys()
    died = old.folders.keys() - new.folders.keys()
    changes: list[Change] = []
    for folder in sorted(died):
        if not _under_any(folder, died):
            changes.append(Change(Path(folder), gone=True, is_directory=True, at=at))
    for folder in sorted(born):
        if not _under_any(folder, born):
            changes.append(Change(Path(folder), gone=False, is_directory=True, at=at))
    before = old.stats
    moved = [path for path, stamp in new.stats.items() if before.get(path) != stamp]
    for path in sorted(moved):  # sorted when found, not all 100,000 each pass
        if not _under_any(path, born):
            changes.append(Change(Path(path), gone=False, is_directory=False, at=at))
    for path in sorted(old.stats.keys() - new.stats.keys()):
        if not _under_any(path, died):
            changes.append(Change(Path(path), gone=True, is_directory=False, at=at))
    return changes


class Detector:
    """One watched folder's passes: the first sets the baseline and reports nothing."""

    def __init__(
        self,
        root: Path,
        rules: Rules,
        stat: Stat = os.stat,
        scandir: Scandir = os.scandir,
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.root = root
        self._rules = rules
        self._stat, self._scandir, self._now_ns = stat, scandir, now_ns
        self._snapshot: Snapshot | None = None

    def poll(self, at: float, share: tuple[int, int] | None = None) -> list[Change]:
        """Changes since the last pass; `share`: see `take_snapshot`."""
        new = take_snapshot(
            str(self.root), self._rules, self._snapshot or Snapshot(),
            self._stat, self._scandir, self._now_ns, share,
        )  # fmt: skip
        old, self._snapshot = self._snapshot, new
        return [] if old is None else diff(old, new, at)

    @property
    def rules(self) -> Rules:
        return self._rules

    @property
    def snapshot(self) -> Snapshot | None:
        """The last pass (replaced whole by each pass, so other threads may read it)."""
        return self._snapshot

    @property
    def size(self) -> tuple[int, int]:
        """Folders and candidates it keeps (memory grows with these, not with files)."""
        snap = self._snapshot or Snapshot()
        return len(snap.folders), len(snap.stats)


# --- did native events report it? ------------------------------------------------------


def unreported(
    changes: Iterable[Change], reported: Mapping[Path, float], since: float
) -> list[Change]:
    """The changes no native event at or after `since` accounts for.

    An event accounts for a change at the same path, below it (a file in a new
    folder) or above it (the new folder a file came with).
    """
    recent = {p for p, t in reported.items() if t >= since}
    missed = []
    for change in changes:
        path = change.path
        if path in recent or any(parent in recent for parent in path.parents):
            continue
        if change.is_directory and any(path in p.parents for p in recent):
            continue
        missed.append(change)
    return missed
