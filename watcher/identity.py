"""A project's identity on disk: size and content digest, the I/O behind watcher.relink.

Recorded when a project is imported, so a project that later turns up elsewhere (moved
while the daemon was stopped, or copied to another volume and deleted, which changes
its inode and often its mtime) can be recognised without importing it again. A bundle's
identity covers the files its content check reads (every Logic alternative's
`ProjectData`), not its recordings: those are large and do not tell sets apart.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from watcher.daws import DawFormat
from watcher.relink import Identity

CHUNK = 1 << 20


def _digest_file(path: Path, into: hashlib._Hash) -> int:
    """Feed a file into `into` in chunks (bounded memory); returns its size."""
    size = 0
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            into.update(chunk)
            size += len(chunk)
    return size


def identity_of(path: Path, daw: DawFormat) -> Identity | None:
    """The identity of the project at `path`; None when it cannot be read."""
    try:
        if not daw.bundle:
            digest = hashlib.sha256()
            size = _digest_file(path, digest)
            return Identity(size, digest.hexdigest())
        files: list[Path] = []
        for pattern in daw.content_files:
            files = sorted(p for p in path.glob(pattern) if p.is_file() and not p.is_symlink())
            if files:
                break
        if not files:
            return None
        total = hashlib.sha256()
        size = 0
        for file in files:
            part = hashlib.sha256()
            size += _digest_file(file, part)
            total.update(f"{file.relative_to(path).as_posix()}\0{part.hexdigest()}\n".encode())
        return Identity(size, total.hexdigest())
    except OSError:
        return None
