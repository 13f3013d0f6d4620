"""Telling a moved project from a new one: pure rules on recorded identities and paths.

SessionDock knows a project by its `projectPath`. When a producer moves a project to
`Done/`, renames its folder, or copies a drive to a new one, the path changes but the
project does not; importing it again would leave two sessions, the old one with its
notes and tags orphaned. These rules decide, without any I/O, when a project that
vanished and one that appeared are the same, what the relinked session's title should
be, which tags to add, and where a project lives when its drive comes back under
another mount point. (When two spellings of a path are one path: watcher.core.paths.)

The identity is recorded when a project is imported: its size and a content digest (for
a bundle, a digest over the files its content check reads), so it survives a copy to
another volume (a new inode, often a new mtime). Matching never guesses: a project
whose original is still present is a copy, and more than one candidate on either side
is ambiguous; both are imported as new (the core applies this: watcher/core/moves.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Identity:
    """What a project is, independent of where it is."""

    size: int
    digest: str
    """Hex digest of the content (file) or of the content files (bundle)."""


def remap_root(path: str, old_root: str, new_root: str) -> str | None:
    """`path` under `old_root` moved under `new_root`; None when it is not under it.

    A drive that comes back at another mount point (`/Volumes/Studio` ->
    `/Volumes/Studio 1`, `E:` -> `F:`) is the same library: its projects keep their
    sessions by swapping the root.
    """
    old = old_root.rstrip("/\\")
    if path == old:
        return new_root
    for sep in ("/", "\\"):
        if path.startswith(old + sep):
            return new_root.rstrip("/\\") + sep + path[len(old) + 1 :]
    return None


def relinked_title(current: str | None, old_derived: str, new_derived: str) -> str | None:
    """The title to send with a relink, or None to leave the session's title alone.

    The title follows the new name only while it is still the one we derived for the
    old path; a title the user edited in SessionDock is theirs.
    """
    if new_derived == old_derived:
        return None
    if current is None or current == old_derived:
        return new_derived
    return None


def merged_tags(existing: Sequence[str], wanted: Iterable[str]) -> list[str] | None:
    """The session's tags plus the folder's, or None when nothing needs adding.

    PATCH replaces the whole list, so the user's tags are always sent back; a tag that
    differs only in case from one the session has is not added again.
    """
    have = {t.casefold() for t in existing}
    added = []
    for tag in wanted:
        if tag.casefold() not in have:
            have.add(tag.casefold())
            added.append(tag)
    return [*existing, *added] if added else None
