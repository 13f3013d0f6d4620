"""Which paths are DAW projects: the registry table and the pure rules around it.

Nothing here touches the disk. `Registry.classify` maps any path an event or a walk
produces to the project unit it belongs to (the file, or the bundle root for packages
such as `.logicx`), or says why it is skipped. Content checks take an open binary file
so they run on real bytes in tests without a filesystem. Adding a DAW is one
`DawFormat` row in `FORMATS`.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import BinaryIO, Literal

from watcher.config import KindOverride

ContentCheck = Callable[[BinaryIO], "str | None"]
"""Reads a project's main file; returns None when it is this DAW's format, else why not."""

NamesIn = Callable[[PurePath], Collection[str]]
"""The names inside a directory; injected so classification stays free of I/O."""

SkipReason = Literal["junk", "backup", "excluded", "bad-content", "open", "unrecognised"]


@dataclass(frozen=True)
class DawFormat:
    """One DAW's project format: what a project looks like and what is never one."""

    kind: str
    """The default `kind` sent to SessionDock; users can rename it under `kinds:`."""
    extensions: tuple[str, ...]
    """Lower-case, with the dot. Matched case-insensitively."""
    bundle: bool = False
    """True when the project is a directory (a macOS package) rather than a file."""
    check: ContentCheck | None = None
    content_files: tuple[str, ...] = ()
    """For bundles: glob patterns, relative to the bundle, of the file `check` reads."""
    backup_dirs: tuple[str, ...] = ()
    """Folder names that hold backups/autosaves when they sit inside a project root."""
    backup_files: tuple[str, ...] = ()
    """Regexes (searched, case-insensitive) on file names that are backups or temp files."""
    bounce_dirs: tuple[str, ...] = ()
    """Folders, relative to the project folder, where rendered mixes usually land."""
    marker: str | None = None
    """A folder whose presence marks a project root (e.g. `Ableton Project Info`)."""

    @property
    def backup_file_rules(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(rule, re.IGNORECASE) for rule in self.backup_files)


# --- content checks -------------------------------------------------------------------

_GZIP_MAGIC = b"\x1f\x8b"


def _complete_gzip_head(stream: BinaryIO, limit: int = 64 * 1024) -> bytes | str:
    """Decompress the whole gzip stream to prove it is complete; return its first bytes.

    A truncated copy (an interrupted Finder copy, a half-synced file) has the right magic
    but no end; reading to the end is the only cheap proof, and zlib does ~300 MB/s.
    """
    decompressor = zlib.decompressobj(wbits=31)
    head = b""
    while chunk := stream.read(1 << 20):
        try:
            data = decompressor.decompress(chunk)
        except zlib.error as exc:
            return f"corrupt gzip data ({exc})"
        if len(head) < limit:
            head += data[: limit - len(head)]
        if decompressor.eof:
            return head
    return "truncated: the compressed data ends early"


def check_ableton(stream: BinaryIO) -> str | None:
    """Live writes gzip-compressed XML; some version-control set-ups keep it as plain XML."""
    magic = stream.read(2)
    stream.seek(0)
    if magic == _GZIP_MAGIC:
        head = _complete_gzip_head(stream)
        if isinstance(head, str):
            return head
    else:
        head = stream.read(4096)
    if not head:
        return "empty file"
    if b"<Ableton" not in head[:4096]:
        return "not an Ableton Live set (no <Ableton> root element)"
    return None


# --- generic junk rules ---------------------------------------------------------------

_JUNK_NAMES = re.compile(
    r"""^(
        \._.*                       # AppleDouble sidecars (macOS on SMB, exFAT, NFS)
      | \..*                        # dot-files: .DS_Store, rsync/syncthing temps, .Trashes
      | ~\$.*                       # Office-style owner/lock files
      | \#recycle | @.*             # Synology recycle bin and @eaDir, @SynoResource
      | \$RECYCLE\.BIN | System\ Volume\ Information
      | Thumbs\.db | ehthumbs\.db | desktop\.ini | Icon\r
      | __MACOSX
      | .*~                         # editor backups
      | .*\.(part|partial|crdownload|download|tmp|temp|icloud)
      | .*\ \([^)]*conflicted\ copy[^)]*\).*     # Dropbox conflict copies
      | .*\ \((Case|Unicode\ Encoding)\ Conflict\).*
      | .*\.sync-conflict-.*        # Syncthing conflict copies
    )$""",
    re.IGNORECASE | re.VERBOSE,
)


def is_junk_name(name: str) -> bool:
    """OS, sync-client and download junk, never a project wherever it sits."""
    return bool(_JUNK_NAMES.match(name))


# --- the table ------------------------------------------------------------------------

FORMATS: tuple[DawFormat, ...] = (
    DawFormat(
        kind="Ableton",
        extensions=(".als",),
        check=check_ableton,
        backup_dirs=("Backup",),
        marker="Ableton Project Info",
    ),
)

HEAVY_DIRS = frozenset({"samples", "audio files", "freeze files", "freeze files.nosync"})
"""Payload folders that never hold a project; not descended into by walks or watches."""


# --- classification -------------------------------------------------------------------


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


def _glob_match(path: PurePath, pattern: str) -> bool:
    """`exclude` globs match the name or any trailing part of the path (`**/` implied)."""
    parts = pattern.strip("/").split("/")
    for start in range(len(path.parts)):
        tail = PurePath(*path.parts[start:])
        if len(tail.parts) >= len(parts) and PurePath(*tail.parts[-len(parts) :]).match(
            "/".join(parts)
        ):
            return True
    return False


@dataclass(frozen=True)
class Registry:
    """The DAW table as configured: kind renames and extra extensions applied."""

    formats: tuple[DawFormat, ...] = FORMATS
    _by_extension: Mapping[str, DawFormat] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table = {ext: daw for daw in self.formats for ext in daw.extensions}
        object.__setattr__(self, "_by_extension", table)

    @classmethod
    def configured(cls, overrides: Mapping[str, KindOverride]) -> Registry:
        known = {daw.kind: daw for daw in FORMATS}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise ValueError(f"unknown DAW {unknown[0]!r}; known: {', '.join(sorted(known))}")
        formats = []
        for daw in FORMATS:
            override = overrides.get(daw.kind)
            if override:
                daw = replace(
                    daw,
                    kind=override.kind or daw.kind,
                    extensions=daw.extensions + tuple(override.extensions),
                )
            formats.append(daw)
        return cls(tuple(formats))

    def format_for(self, name: str) -> DawFormat | None:
        suffix = PurePath(name).suffix.lower()
        return self._by_extension.get(suffix) if suffix else None

    @property
    def bundle_extensions(self) -> frozenset[str]:
        return frozenset(e for daw in self.formats if daw.bundle for e in daw.extensions)

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
        try:
            relative = path.relative_to(root)
        except ValueError:
            return None
        parts = relative.parts
        for index, name in enumerate(parts):
            unit = root.joinpath(*parts[: index + 1])
            daw = self.format_for(name)
            if daw and daw.bundle:
                verdict = self._judge(unit, root, names_in, exclude, daw)
                return verdict
            if index < len(parts) - 1 and name.lower() in HEAVY_DIRS:
                return None
        daw = self.format_for(parts[-1]) if parts else None
        if daw is None:
            return None
        return self._judge(path, root, names_in, exclude, daw)

    def _judge(
        self,
        unit: PurePath,
        root: PurePath,
        names_in: NamesIn,
        exclude: Iterable[str],
        daw: DawFormat,
    ) -> Candidate | Skipped:
        relative = unit.relative_to(root)
        for pattern in exclude:
            if _glob_match(relative, pattern):
                return Skipped(unit, "excluded", f"matches exclude pattern {pattern!r}")
        for name in relative.parts:
            if is_junk_name(name):
                return Skipped(unit, "junk", f"{name!r} is OS or sync-client junk")
        for rule in daw.backup_file_rules:
            if rule.search(unit.name):
                return Skipped(unit, "backup", f"{daw.kind} backup or temp file")
        backup = self._inside_backup_dir(unit, root, names_in)
        if backup:
            return Skipped(unit, "backup", backup)
        return Candidate(unit, daw)

    def _inside_backup_dir(self, unit: PurePath, root: PurePath, names_in: NamesIn) -> str | None:
        """Backup folder names count only inside a project root of their own DAW.

        A studio folder that happens to be called `Backup` or `History` must not hide
        the real projects in it, so `X/Backup/Y.als` is a backup only when `X` is an
        Ableton project folder (it holds the marker folder or a set of its own).
        """
        ancestors = unit.relative_to(root).parents
        for relative_dir in ancestors:
            if relative_dir == PurePath("."):
                break
            directory = root / relative_dir
            for daw in self.formats:
                if directory.name.lower() not in {d.lower() for d in daw.backup_dirs}:
                    continue
                if self._is_project_root(directory.parent, daw, names_in):
                    return f"inside {daw.kind}'s {directory.name}/ folder"
        return None

    @staticmethod
    def _is_project_root(directory: PurePath, daw: DawFormat, names_in: NamesIn) -> bool:
        names = names_in(directory)
        if daw.marker and daw.marker in names:
            return True
        return any(PurePath(n).suffix.lower() in daw.extensions for n in names)


def title_for(project: PurePath, title_from: Literal["file", "folder"]) -> str:
    """The file name without its extension, or the enclosing folder's name.

    Ableton's `X Project/` convention loses its ` Project` suffix in folder mode.
    """
    if title_from == "folder" and project.parent.name:
        return project.parent.name.removesuffix(" Project")
    return project.name[: -len(project.suffix)] if project.suffix else project.name


def project_type(project: PurePath) -> str:
    return project.suffix.lower().lstrip(".")
