"""Names that are never a project wherever they sit: OS, sync-client and download junk,
and the payload folders no walk or watch needs to enter."""

from __future__ import annotations

import os
import re

_SEPARATORS = (os.sep, os.altsep) if os.altsep else (os.sep,)


def suffix_of(name: str) -> str:
    """The lower-case extension, without building a path: walks call it per entry.

    `os.path.splitext`'s, with its common case done here (a dot after a name that is
    not all dots, and no separator after it): a third of the time."""
    dot = name.rfind(".")
    if dot > 0 and name[dot - 1] != ".":
        tail = name[dot:]
        if not any(sep in tail for sep in _SEPARATORS):
            return tail.lower()
    return os.path.splitext(name)[1].lower()


def is_nosync(name: str) -> bool:
    return name.lower().endswith(".nosync")


HEAVY_DIRS = frozenset(
    {
        "samples", "audio files", "freeze files", "freeze files.nosync", "rendered files",
        "fade files", "video files", "peaks", "interchange",
    }
)  # fmt: skip
"""Payload folders that never hold a project; not descended into by walks or watches."""


_JUNK_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rule, re.IGNORECASE), why)
    for rule, why in (
        (r"^\._", "an AppleDouble sidecar (macOS resource fork on SMB/NFS/exFAT)"),
        (r"^\..*\.icloud$", "an iCloud placeholder (not downloaded)"),
        (r".* \([^)]*conflicted copy[^)]*\)", "a Dropbox conflict copy"),
        (r".* \((Case|Unicode Encoding) Conflict\)", "a Dropbox conflict copy"),
        (r"\.sync-conflict-", "a Syncthing conflict copy"),
        (r"^\.", "a hidden or temporary file (dot-prefixed)"),
        (r"^~\$", "an Office-style lock file"),
        (r"^(#recycle|\$RECYCLE\.BIN|\.Trashes)$", "a recycle bin"),
        (r"^(@.*|#snapshot|System Volume Information)$", "NAS or OS metadata"),
        (r"^(Thumbs\.db|ehthumbs\.db|desktop\.ini|Icon\r|__MACOSX)$", "OS metadata"),
        (r"~$", "an editor backup"),
        (
            r"\.(part|partial|crdownload|download|tmp|temp|icloud)$",
            "an incomplete download or temp file",
        ),
    )
)


_ANY_JUNK = re.compile(
    "|".join(f"(?:{rule.pattern.removeprefix('.*')})" for rule, _ in _JUNK_RULES), re.IGNORECASE
)
"""All the rules in one pattern: most names are not junk, and one search says so (a
leading `.*` only slows a search down)."""


def junk_reason(name: str) -> str | None:
    """Why a name is OS, sync-client or download junk (never a project wherever it sits)."""
    if not _ANY_JUNK.search(name):
        return None
    for rule, why in _JUNK_RULES:
        if rule.search(name):
            return why
    return None


def is_junk_name(name: str) -> bool:
    return junk_reason(name) is not None


def never_holds_projects(folder_name: str) -> bool:
    """Folders not worth a watch or a poll: payload (`Samples/`), DAW bookkeeping that
    never holds a project (`Ableton Project Info`, Logic's `*.nosync`), and OS junk."""
    lowered = folder_name.lower()
    return (
        lowered in HEAVY_DIRS
        or lowered == "ableton project info"
        or is_nosync(folder_name)
        or is_junk_name(folder_name)
    )
