"""Which paths are DAW projects: `Registry.classify` and the pure rules around it.

Nothing here touches the disk except through the injected `names_in`. `classify` maps
any path an event or a walk produces to the project unit it belongs to (the file, or
the bundle root for packages such as `.logicx`), or says why it is skipped.

What is known about each format, and how sure we are, is in `../shared/daw-formats.md`
(sections 1 and 7); comments say "unconfirmed" wherever a rule rests on less than a
source or a real file, so nobody mistakes a guess for a fact.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import PurePath, PurePosixPath
from typing import TYPE_CHECKING, Literal

from watcher.daws.base import DawFormat, NamesIn, SkipReason
from watcher.daws.junk import HEAVY_DIRS, is_nosync, junk_reason, suffix_of
from watcher.daws.logic import (
    ALTERNATIVES,
    BUNDLE_TOP_LEVEL,
    looks_like_unsuffixed_bundle,
    unsuffixed_extension,
)
from watcher.daws.table import FORMATS
from watcher.places import ConfigError

if TYPE_CHECKING:  # pydantic: not on the dry run's path (watcher/dryconfig.py)
    from watcher.config import KindOverride


@dataclass(frozen=True)
class Candidate:
    """A project unit: the file or bundle root that is imported as one project."""

    path: PurePath
    daw: DawFormat


@dataclass(frozen=True)
class Skipped:
    """A path that looks like a project but is not imported, and why."""

    path: PurePath
    reason: SkipReason
    detail: str


Verdict = Candidate | Skipped | None


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as a regex over `/`-separated paths: `*` and `?` stay within one name,
    `**` spans folders (`Archive/**` is everything below `Archive`)."""
    out, index, text = [], 0, pattern.strip("/")
    while index < len(text):
        if text.startswith("**/", index):
            out.append("(?:[^/]*/)*")
            index += 3
        elif text.startswith("**", index):
            out.append(".*")
            index += 2
        elif text[index] == "*":
            out.append("[^/]*")
            index += 1
        elif text[index] == "?":
            out.append("[^/]")
            index += 1
        elif text[index] == "[" and "]" in text[index + 1 :]:
            end = text.index("]", index + 1)
            body = text[index + 1 : end].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
            index = end + 1
        else:
            out.append(re.escape(text[index]))
            index += 1
    return re.compile("".join(out), re.IGNORECASE)


def _relative_parts(path: PurePath, root: PurePath) -> tuple[str, ...] | None:
    """`path.relative_to(root).parts`, or None when it is not under `root`; by string
    for POSIX paths, which walks and events produce normalised (relative_to parses both
    paths again, a third of a walk's time)."""
    if isinstance(path, PurePosixPath) and isinstance(root, PurePosixPath):
        text, top = str(path), str(root)
        if text == top:
            return ()
        prefix = top if top.endswith("/") else top + "/"
        if text.startswith(prefix):
            return tuple(text[len(prefix) :].split("/"))
    try:
        return path.relative_to(root).parts
    except ValueError:
        return None


def _glob_match(path: PurePath, pattern: str) -> bool:
    """`exclude` globs match the name or any trailing part of the path (`**/` implied)."""
    regex = _glob_regex(pattern)
    parts = path.parts
    return any(regex.fullmatch("/".join(parts[start:])) for start in range(len(parts)))


@dataclass(frozen=True)
class Registry:
    """The DAW table as configured: kind renames and extra extensions applied."""

    formats: tuple[DawFormat, ...] = FORMATS
    unsuffixed_bundles: bool = False
    """Import a folder laid out like a Logic/GarageBand bundle whose name lost its
    suffix (`scan.unsuffixed_bundles`); when false it is only explained."""
    _by_extension: Mapping[str, DawFormat] = field(init=False, repr=False, compare=False)
    _backup_extensions: Mapping[str, str] = field(init=False, repr=False, compare=False)
    _backup_dirs: Mapping[str, tuple[DawFormat, ...]] = field(init=False, repr=False, compare=False)
    relevant_extensions: frozenset[str] = field(init=False, repr=False, compare=False)
    """Every extension a walk classifies (projects and backups): most of a studio's
    files are audio, and this set rejects them with one lookup."""
    project_extensions: frozenset[str] = field(init=False, repr=False, compare=False)
    """The extensions of projects alone: a walk that only wants projects (not explaining
    what it skips) drops backups (`.bak`, `.rpp-bak`) while listing."""
    bundle_extensions: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table = {ext: daw for daw in self.formats for ext in daw.extensions}
        owners: dict[str, list[str]] = {}
        dirs: dict[str, list[DawFormat]] = {}
        for daw in self.formats:
            for ext in daw.backup_extensions:
                owners.setdefault(ext, []).append(daw.kind)
            if not daw.bundle:
                for name in daw.backup_dirs:
                    dirs.setdefault(name.lower(), []).append(daw)
        object.__setattr__(self, "_by_extension", table)
        object.__setattr__(self, "_backup_extensions", {e: "/".join(k) for e, k in owners.items()})
        object.__setattr__(self, "_backup_dirs", {n: tuple(d) for n, d in dirs.items()})
        object.__setattr__(self, "relevant_extensions", frozenset(table) | frozenset(owners))
        object.__setattr__(self, "project_extensions", frozenset(table))
        bundles = frozenset(e for daw in self.formats if daw.bundle for e in daw.extensions)
        object.__setattr__(self, "bundle_extensions", bundles)

    @classmethod
    def configured(
        cls,
        overrides: Mapping[str, KindOverride],
        source: PurePath | None = None,
        *,
        unsuffixed_bundles: bool = False,
    ) -> Registry:
        """Apply `kinds:`; keys are the default kind strings, matched ignoring case.

        An unknown key is a `ConfigError` naming `source` (the config file), so the CLI
        reports it as a config error without treating every ValueError as one.
        """
        known = {daw.kind.lower(): daw for daw in FORMATS}
        by_kind: dict[str, KindOverride] = {}
        for name, override in overrides.items():
            if name.lower() not in known:
                names = ", ".join(sorted(d.kind for d in FORMATS))
                where = f"config error in {source}: " if source else "config error: "
                raise ConfigError(f"{where}at 'kinds.{name}': unknown DAW; known: {names}")
            by_kind[known[name.lower()].kind] = override
        formats = []
        for daw in FORMATS:
            chosen = by_kind.get(daw.kind)
            if chosen:
                extra = tuple(e for e in chosen.extensions if e not in daw.extensions)
                daw = replace(daw, kind=chosen.kind or daw.kind, extensions=daw.extensions + extra)
            formats.append(daw)
        return cls(tuple(formats), unsuffixed_bundles)

    @property
    def backup_dir_names(self) -> Collection[str]:
        """Lower-case folder names `backup_dir_reason` may call a backup folder: a walk
        looks a name up here before it builds a path (almost no folder is one)."""
        return self._backup_dirs.keys()

    def format_for(self, name: str) -> DawFormat | None:
        suffix = suffix_of(name)
        return self._by_extension.get(suffix) if suffix else None

    def is_relevant(self, name: str) -> bool:
        """A file name a walk classifies: a project or a DAW's backup file.

        Open markers (`X.aup3-wal`) are left out: they stand for their project, which
        the walk meets on its own; events on them are mapped by `classify`.
        """
        return suffix_of(name) in self.relevant_extensions

    def _owner_of_sidecar(self, name: str) -> tuple[DawFormat, str] | None:
        lowered = name.lower()
        for daw in self.formats:
            for suffix in daw.open_while:
                if lowered.endswith(suffix) and self.format_for(name[: -len(suffix)]) is daw:
                    return daw, name[: -len(suffix)]
        return None

    def classify(
        self,
        path: PurePath,
        root: PurePath,
        names_in: NamesIn,
        exclude: Iterable[str] = (),
    ) -> Verdict:
        """Map a path under a watched `root` to its project unit, or say why it is skipped.

        Returns None for paths that have nothing to do with projects (samples, audio,
        unrelated documents), so callers can ignore them silently.
        """
        below = _relative_parts(path, root)
        if not below:
            return None
        parts = below
        for index, name in enumerate(parts):
            daw = self.format_for(name)
            if daw and daw.bundle:
                unit = root.joinpath(*parts[: index + 1])
                inner = self._inside_bundle(daw, parts[index + 1 :])
                if inner is not None:
                    return Skipped(path, inner[0], inner[1])
                return self._judge(unit, root, names_in, exclude, daw, parts[: index + 1])
            if index < len(parts) - 1 and name.lower() in HEAVY_DIRS:
                return None
            if index < len(parts) - 1 and parts[index + 1] in BUNDLE_TOP_LEVEL:
                unit = root.joinpath(*parts[: index + 1])
                if parts[index + 1] != ALTERNATIVES and ALTERNATIVES not in names_in(unit):
                    continue
                found = self._unsuffixed(unit, parts[index + 1 :], root, names_in, exclude)
                if found is not None:
                    return found
        leaf = parts[-1]
        daw = self.format_for(leaf)
        if daw is not None:
            return self._judge(path, root, names_in, exclude, daw, parts)
        sidecar = self._owner_of_sidecar(leaf)
        if sidecar is not None:
            return self._judge(path.with_name(sidecar[1]), root, names_in, exclude, sidecar[0])
        owners = self._backup_extensions.get(suffix_of(leaf))
        if owners is not None:
            return Skipped(path, "backup", f"{owners} backup or undo file")
        if leaf.lower() not in HEAVY_DIRS and ALTERNATIVES in names_in(path):
            return self._unsuffixed(path, (), root, names_in, exclude)
        return None

    def _unsuffixed(
        self,
        unit: PurePath,
        inner: tuple[str, ...],
        root: PurePath,
        names_in: NamesIn,
        exclude: Iterable[str],
    ) -> Verdict:
        """A Logic/GarageBand bundle that lost its suffix, imported or explained.

        Off by default: Logic and Finder treat such a folder as a plain folder, so
        SessionDock would list a project its DAW cannot open until it is renamed.
        """
        if not looks_like_unsuffixed_bundle(unit, names_in):
            return None
        extension = unsuffixed_extension(names_in(unit))
        daw = self.format_for("x" + extension)
        if daw is None:
            return None
        if not self.unsuffixed_bundles:
            return Skipped(
                unit,
                "unsuffixed",
                f"laid out like a {daw.kind} bundle (Alternatives/NNN/ProjectData) but not "
                f"named *{extension}; rename it to {unit.name}{extension}, or set "
                "scan.unsuffixed_bundles: true to import it as it is",
            )
        found = self._inside_bundle(daw, inner)
        if found is not None:
            return Skipped(unit / PurePath(*inner), found[0], found[1])
        return self._judge(unit, root, names_in, exclude, daw)

    @staticmethod
    def _inside_bundle(daw: DawFormat, inner: tuple[str, ...]) -> tuple[SkipReason, str] | None:
        """Backups, undo data and junk inside a bundle never make the bundle change."""
        backups = {d.lower() for d in daw.backup_dirs}
        for name in inner:
            if name.lower() in backups or is_nosync(name):
                return "backup", f"inside {daw.kind}'s {name}/ folder in the bundle"
            why = junk_reason(name)
            if why:
                return "junk", f"{name!r} inside the bundle is {why}"
        return None

    def _judge(
        self,
        unit: PurePath,
        root: PurePath,
        names_in: NamesIn,
        exclude: Iterable[str],
        daw: DawFormat,
        parts: tuple[str, ...] | None = None,
    ) -> Candidate | Skipped:
        """`parts`: the unit's path below `root`, when the caller has it already."""
        if parts is None:
            parts = unit.relative_to(root).parts
        for pattern in exclude:
            if _glob_match(PurePath(*parts), pattern):
                return Skipped(unit, "excluded", f"matches exclude pattern {pattern!r}")
        for name in parts:
            why = junk_reason(name)
            if why:
                return Skipped(unit, "junk", f"{name!r} is {why}")
        for rule in daw.backup_file_rules:
            if rule.search(unit.name):
                return Skipped(unit, "backup", f"a {daw.kind} backup or autosave (by its name)")
        for depth in range(len(parts) - 1, 0, -1):  # the nearest folder first
            if parts[depth - 1].lower() not in self._backup_dirs:
                continue  # no path built for the many folders that are no backup's name
            backup = self.backup_dir_reason(root.joinpath(*parts[:depth]), names_in)
            if backup:
                return Skipped(unit, "backup", backup)
        return Candidate(unit, daw)

    def backup_dir_reason(self, directory: PurePath, names_in: NamesIn) -> str | None:
        """Why `directory` is a DAW's backup folder, or None.

        Backup folder names count only inside a project root of their own DAW. A
        studio folder that happens to be called `Backup` or `History` must not hide
        the real projects in it, so `X/Backup/Y.als` is a backup only when `X` is an
        Ableton project folder (it holds the marker folder or a set of its own).
        """
        owners = self._backup_dirs.get(directory.name.lower())
        if not owners:
            return None
        names = names_in(directory.parent)
        for daw in owners:
            if self._is_project_root(names, daw):
                return f"inside {daw.kind}'s {directory.name}/ folder"
        return None

    @staticmethod
    def _is_project_root(names: Collection[str], daw: DawFormat) -> bool:
        if any(marker in names for marker in daw.markers):
            return True
        return any(suffix_of(n) in daw.extensions for n in names)


def _own_suffix(project: PurePath, daw: DawFormat | None) -> str:
    """The project's suffix, or "" when it is not one of its DAW's (a bundle that lost
    its `.logicx` keeps a name like `Song v1.2`, whose `.2` is no suffix)."""
    suffix = project.suffix.lower()
    return "" if daw is not None and suffix not in daw.extensions else suffix


def title_for(
    project: PurePath, title_from: Literal["file", "folder"], daw: DawFormat | None = None
) -> str:
    """The file name without its extension, or the enclosing folder's name.

    Ableton's `X Project/` convention loses its ` Project` suffix in folder mode.
    """
    if title_from == "folder" and project.parent.name:
        return project.parent.name.removesuffix(" Project")
    suffix = _own_suffix(project, daw)
    return project.name[: -len(suffix)] if suffix else project.name


def project_type(project: PurePath, daw: DawFormat | None = None) -> str:
    """The suffix without its dot; for a bundle that lost it, its DAW's first one."""
    suffix = _own_suffix(project, daw)
    if not suffix and daw is not None:
        return daw.extensions[0].lstrip(".")
    return suffix.lstrip(".")
