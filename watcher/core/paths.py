"""When two spellings of a path are one path, as the volumes SessionDock runs on see it.

macOS file systems hand back a name in NFC or NFD form (HFS+ stores NFD, APFS keeps
what the writing app gave, and an event and a listing may disagree): both open the
same file and look the same, so they are one project, kept under the spelling seen
first. APFS and NTFS are case-insensitive by default: `song.als` and `Song.als` are one
file there, and a rename that only changes case is a rename (the user sees the new
name), so the core relinks it rather than importing a copy. Whether a folder is
case-insensitive is the shell's finding (`FolderChecked.case_insensitive`) or the
config's (`watch[].case_sensitive`). And which of several identical missing projects a
new one is, by what a move keeps of a path (`closest`). Pure: no file system is asked.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


def nfc(path: str) -> str:
    """`path` in NFC form (an ASCII path is its own, without the cost of normalizing)."""
    return path if path.isascii() else unicodedata.normalize("NFC", path)


def path_key(path: str, case_insensitive: bool) -> str:
    """The form every spelling of one path shares on a volume."""
    return nfc(path).casefold() if case_insensitive else nfc(path)


def same_path(a: str, b: str, case_insensitive: bool) -> bool:
    """One path in two spellings: NFC and NFD, and letter case on a case-insensitive
    volume."""
    return a == b or path_key(a, case_insensitive) == path_key(b, case_insensitive)


def loose_key(path: str) -> str:
    """The widest of the keys (NFC and case folded): what an index of recorded paths is
    keyed by, so either rule can look up the spellings it may call one path."""
    return path_key(path, case_insensitive=True)


def closest(new: str, candidates: Sequence[str]) -> str | None:
    """The one candidate whose path differs least from `new`, or None on a tie.

    Identical projects (copies of one template, a set and its copy) share an identity.
    What a move kept tells them apart: the names below a renamed folder
    (`Client/Song/Song.als` -> `Moved/Song/Song.als`, not `Client/Copy/Song.als`) or the
    folders above a renamed project (`Client/Song/Take 2.als`, not `Other/Song.als`).
    The score is the count of leading plus trailing path parts in common; two
    candidates with the best score are not guessed between."""
    mine = _parts(new)
    scored = sorted(((_in_common(mine, _parts(c)), c) for c in candidates), reverse=True)
    if not scored or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    return scored[0][1]


def _parts(path: str) -> list[str]:
    return [p for p in nfc(path).replace("\\", "/").split("/") if p]


def _in_common(a: list[str], b: list[str]) -> int:
    shortest = min(len(a), len(b))
    head = 0
    while head < shortest and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < shortest - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    return head + tail
