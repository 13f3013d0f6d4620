"""Where walks and watches never go: virtual file systems, and other entries' folders.

Watching `/` (or a folder above `/proc`) would otherwise put tens of thousands of inotify
watches on kernel files that change all the time and never hold a project. The rule is
by file-system type, read once from the mount table, plus the four system folders by
name (macOS and containers mount them differently). Ordinary mounts below a watched
folder (a project drive mounted under `~/Music`) are entered: they hold studio data.

Nested watch entries (`~/Music` and `~/Music/Projects`) are compared by their real
paths: the innermost entry owns its subtree, and the outer entry's walk and watches do
not enter it, so each project is found once, with the settings of the entry that owns it.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path

SYSTEM_FOLDERS = frozenset({"/proc", "/sys", "/dev", "/run"})
VIRTUAL_FSTYPES = frozenset(
    {
        "proc", "sysfs", "devtmpfs", "devfs", "devpts", "cgroup", "cgroup2", "debugfs",
        "tracefs", "securityfs", "pstore", "bpf", "configfs", "fusectl", "mqueue",
        "hugetlbfs", "binfmt_misc", "efivarfs", "rpc_pipefs", "nsfs", "autofs", "selinuxfs",
    }
)  # fmt: skip

_OCTAL = re.compile(r"\\([0-7]{3})")


@lru_cache(maxsize=1)
def _mounts() -> tuple[tuple[str, str], ...]:
    """(mount point, type) pairs from /proc/self/mounts; empty where there is none.

    Read once per process: only virtual mounts matter here, and they are set up at boot
    (a drive mounted later lands on a real file system's type, which is entered anyway).
    """
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="surrogateescape") as table:
            lines = table.read().splitlines()
    except OSError:
        return ()
    found = []
    for line in lines:
        fields = line.split()
        if len(fields) >= 3:
            found.append((_OCTAL.sub(lambda m: chr(int(m.group(1), 8)), fields[1]), fields[2]))
    return tuple(found)


@lru_cache(maxsize=1)
def virtual_mount_points() -> frozenset[str]:
    """The system folders and every mount of a virtual type."""
    return SYSTEM_FOLDERS | {point for point, kind in _mounts() if kind in VIRTUAL_FSTYPES}


def is_virtual_dir(path: str) -> bool:
    """A folder a walk or a watch must not enter (checked for each subfolder: a set lookup)."""
    return path in virtual_mount_points()


def is_virtual_root(path: Path) -> bool:
    """A watched folder that is itself a system folder or lies on a virtual file system."""
    text = str(path)
    if text in SYSTEM_FOLDERS or text in virtual_mount_points():
        return True
    best, kind = "", ""
    for point, fstype in _mounts():
        inside = text == point or text.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fstype
    return kind in VIRTUAL_FSTYPES


def real_path(path: Path) -> Path:
    """The folder a (possibly linked) path leads to; the path itself when it is missing."""
    return Path(os.path.realpath(path))


def inner_roots(paths: Iterable[Path]) -> Mapping[Path, frozenset[Path]]:
    """For each watched folder, the other watched folders inside it, spelled under its
    own configured path (as its walk meets them), so the walk can step around them.

    Compared by real path: `~/Music/Live -> /Volumes/Studio/Live` is inside a watched
    `/Volumes/Studio` even though the two spellings share nothing.
    """
    roots = {p: real_path(p) for p in paths}
    found: dict[Path, frozenset[Path]] = {}
    for outer, real_outer in roots.items():
        inside = {
            outer / real_inner.relative_to(real_outer)
            for inner, real_inner in roots.items()
            if inner != outer and real_inner != real_outer and real_outer in real_inner.parents
        }
        found[outer] = frozenset(inside)
    return found


def overlaps(paths: Iterable[Path], outers: Iterable[Path]) -> list[tuple[Path, Path]]:
    """(outer, inner) pairs, by real path: each folder with the nearest of `outers` that
    holds it (one pair per nested folder; `~/Music/Projects` inside `~/Music` inside
    `/` is reported inside `~/Music` only)."""
    real_outers = {p: real_path(p) for p in outers}
    pairs = []
    for inner in paths:
        real_inner = real_path(inner)
        holding = [(len(r.parts), o) for o, r in real_outers.items() if r in real_inner.parents]
        if holding:
            pairs.append((max(holding)[1], inner))
    return pairs


# --- network shares: polled, since their native events miss other machines' writes ---

NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "afpfs", "afs", "9p",
        "fuse.sshfs", "sshfs", "davfs", "fuse.davfs2", "webdav", "fuse.rclone", "ncpfs",
        "fuse.gvfsd-fuse", "glusterfs", "ceph", "fuse.s3fs",
    }
)  # fmt: skip


_LINUX = sys.platform.startswith("linux")
_WINDOWS = sys.platform == "win32"


def filesystem_type(path: Path) -> str | None:
    """The type of file system `path` lives on, where the OS tells it cheaply."""
    if _LINUX:
        try:
            with open("/proc/self/mounts", encoding="utf-8", errors="replace") as mounts:
                return mount_type(path, mounts)
        except OSError:
            return None
    if _WINDOWS:
        return _windows_filesystem_type(path)
    return None  # macOS: FSEvents does report changes made on this Mac to a share


def mount_type(path: Path, mounts: Iterable[str]) -> str | None:
    """The type of the deepest mount holding `path`, from `/proc/self/mounts` lines."""
    best, fstype = "", None
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[1])
        inside = str(path) == point or str(path).startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, fstype = point, fields[2]
    return fstype


def _windows_filesystem_type(path: Path) -> str | None:
    if str(path).startswith("\\\\"):
        return "smb"  # a UNC path: \\server\share
    import ctypes

    drive = os.path.splitdrive(path)[0] + "\\"
    drive_remote = 4
    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
    return "smb" if kernel32.GetDriveTypeW(drive) == drive_remote else None


def is_network_fstype(fstype: str | None) -> bool:
    """Network and FUSE file systems: inotify does not see changes made elsewhere."""
    return fstype is not None and (fstype in NETWORK_FILESYSTEMS or fstype.startswith("fuse."))


def is_network_share(path: Path) -> bool:
    return is_network_fstype(filesystem_type(path))
