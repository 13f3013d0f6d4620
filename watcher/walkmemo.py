"""A walk that costs what changed: the change detector's listings stand in for the
folders that did not change, and a bundle is walked again only when it changed.

The daemon walks every folder at start and at each reconciliation (hourly), to find
what events missed. Most of a library is as it was, and a folder's stat says so: its
modification time moves when an entry is added, removed or renamed in it (the rule
the change detector, watcher/detector.py, rests on). Every polled or verified folder
already has a detector whose last pass holds, per folder, the stat it saw and the
subfolders and project files in it. So a walk given that pass (`scanner.walk(memo=)`)
stats each folder it enters and, where the stat is the one the pass saw and the pass
left nothing out that a walk would enter (`Listing.whole`), takes the folder's
entries from it instead of listing it. The rest of the walk is unchanged: every
project is classified and reported as before, project files stat'ed as before.

A bundle's signature (a walk of the whole bundle, every recording inside included) is
kept with the stats of the paths its walk noted: its folders and the files its content
check reads (`ProjectData`). While none of those moved, the bundle is not walked
again; a recording rewritten in place inside a bundle is no reason to send the project
again, as for the detector. That memory is a few paths per bundle.

So a reconciliation costs a stat per folder and per project candidate, plus a listing
per changed folder, and no memory beyond the detector's own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from watcher.core.records import Signature
from watcher.daws import ALTERNATIVES, Registry
from watcher.detector import Snapshot, stamp_of

RACY_NS = 2_000_000_000
"""A bundle written this recently may change again within its timestamp tick (FAT:
2 s): it is walked again next time rather than remembered."""

Kept = tuple[tuple[str, str], ...]
"""A folder's entries a walk keeps, sorted: (name, "unit" | "folder" | "link")."""

Noted = tuple[int, str, Signature]
"""A bundle's stamp, the paths it covers (below the bundle, `\0`-separated: a million-
file library has ~3,000 bundles), and its signature."""


class WalkMemo:
    """One watched folder's memory between walks: its bundles' signatures, and for one
    walk (`begin`...`end`) the detector pass it may take listings from."""

    def __init__(self, now_ns: Callable[[], int] = time.time_ns) -> None:
        self._now_ns = now_ns
        self._bundles: dict[str, Noted] = {}
        self._seen: dict[str, Noted] | None = None
        self._snapshot: Snapshot | None = None
        self._registry: Registry | None = None
        self.listed = self.recalled = 0
        """Folders listed, and taken from the detector, since `begin`."""

    def begin(self, snapshot: Snapshot | None, registry: Registry, whole: bool) -> None:
        """A walk starts. A `whole` walk replaces the bundles remembered with those it
        meets (the others are gone); a walk of part of the folder only adds to them."""
        self._snapshot, self._registry = snapshot, registry
        self._seen = {} if whole else None
        self.listed = self.recalled = 0

    def end(self) -> None:
        """The walk went through to the end."""
        if self._seen is not None:
            self._bundles = self._seen
        self._seen = None
        self._snapshot = None

    def recall(self, directory: str) -> tuple[os.stat_result | None, tuple[bool, Kept] | None]:
        """The folder's entries as the detector's pass saw them, if its stat is the one
        that pass saw (None: list it; a folder that cannot be stat'ed is listed, which
        reports why)."""
        snapshot, registry = self._snapshot, self._registry
        listing = snapshot.folders.get(directory) if snapshot is not None else None
        if listing is None or listing.stamp is None or not listing.whole or registry is None:
            return None, None
        try:
            info = os.stat(directory)
        except OSError:
            return None, None
        if stamp_of(info) != listing.stamp:
            return info, None
        kept: list[tuple[str, str]] = []
        for child in listing.dirs:
            if isinstance(child, str):
                kept.append((os.path.basename(child), "folder"))
            elif not child[2]:  # a bundle in this folder (not a folder inside one)
                kept.append((os.path.basename(child[0]), "unit"))
        for path in listing.files:
            name = os.path.basename(path)
            if registry.format_for(name) is not None:  # not an open marker
                kept.append((name, "unit"))
        self.recalled += 1
        alternatives = any(n == ALTERNATIVES and w == "folder" for n, w in kept)
        return info, (alternatives, tuple(sorted(kept)))

    def remember(
        self, directory: str, info: os.stat_result | None, alternatives: bool, kept: Kept
    ) -> None:
        """A folder the walk listed (counted: the detector keeps the listings)."""
        del directory, info, alternatives, kept
        self.listed += 1

    def bundle_signature(
        self, path: Path, compute: Callable[[list[str]], Signature | None]
    ) -> Signature | None:
        """The bundle's signature, from memory while none of the paths its last walk
        noted (its folders and the files its content check reads) changed its stat.

        `compute(noted)` walks the bundle and appends those paths to `noted`."""
        key = str(path)
        target = self._bundles if self._seen is None else self._seen
        known = self._bundles.get(key)
        if known is not None:
            paths = [key + inside for inside in known[1].split("\0")]
            if _paths_stamp(paths, self._now_ns()) == known[0]:
                target[key] = known
                return known[2]
        noted: list[str] = []
        signature = compute(noted)
        if signature is None:
            return None
        stamp = _paths_stamp(noted, self._now_ns())
        if stamp is not None and all(p.startswith(key) for p in noted):
            target[key] = (stamp, "\0".join(p[len(key) :] for p in noted), signature)
        return signature

    @property
    def bundles(self) -> int:
        return len(self._bundles)


def _paths_stamp(paths: list[str], now_ns: int) -> int | None:
    """One stamp for all the paths; None when one is missing or was modified too
    recently to be sure it is done (the bundle is walked again next time)."""
    stamps = []
    for path in paths:
        try:
            info = os.lstat(path)
        except OSError:
            return None
        if abs(now_ns - info.st_mtime_ns) < RACY_NS:
            return None
        stamps.append(hash((info.st_size, info.st_mtime_ns, info.st_ino, info.st_mode)))
    return hash(tuple(stamps))
