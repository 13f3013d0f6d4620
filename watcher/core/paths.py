"""When two spellings of a path are one path, as the volumes SessionDock runs on see it.

macOS file systems hand back a name in NFC or NFD form (HFS+ stores NFD, APFS keeps
what the writing app gave, and an event and a listing may disagree): both open the
same file and look the same, so they are one project, kept under the spelling seen
first. APFS and NTFS are case-insensitive by default: `song.als` and `Song.als` are one
file there, and a rename that only changes case is a rename (the user sees the new
name), so the core relinks it rather than importing a copy. Whether a folder is
case-insensitive is the shell's finding (`FolderChecked.case_insensitive`) or the
config's (`watch[].case_sensitive`). Pure: no file system is asked.
"""

from __future__ import annotations

import unicodedata


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
