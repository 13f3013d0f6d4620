"""File names that are not valid UTF-8, and how they are shown and stored.

On POSIX a file name is bytes; Python hands names that do not decode as UTF-8 over as
`str` with lone surrogates (`caf\\udce9.rpp` for the Latin-1 bytes `caf\\xe9.rpp`). Such
a string cannot be encoded as UTF-8: SQLite, JSON on stdout, a UTF-8 log file and
SessionDock (whose API is JSON, which has no bytes) all refuse it. So these names are
never sent: the project is skipped with reason `bad-name`, shown in a readable escaped
form (`caf\\xe9.rpp`), and stored under an escaped key that cannot collide with a real
path. This module imports nothing from the package: every stage may use it.
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any, Final

BAD_NAME: Final = "bad-name"
BAD_NAME_ACTION = (
    "rename it (or the folder holding it) to valid UTF-8; it is imported under the new name"
)
KEY_PREFIX = "bad-name:"
"""State keys of non-UTF-8 paths start with this; a real key is an absolute path
(`/...`, `C:\\...`, `\\\\server\\...`), so the two can never be equal."""

_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_one(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # a byte that did not decode (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"  # a lone surrogate from a Windows name or an escape sequence


def is_valid(text: str | PurePath) -> bool:
    """Whether the name is valid Unicode text, so it can be stored, logged and sent."""
    return _SURROGATE.search(str(text)) is None


def printable(text: str | PurePath) -> str:
    """The name with every undecodable byte shown as `\\xNN`: valid UTF-8, readable."""
    text = str(text)
    return text if is_valid(text) else _SURROGATE.sub(_escape_one, text)


def printable_value(value: Any) -> Any:
    """`printable` applied to every string inside a JSON-like value."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable_value(k): printable_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable_value(v) for v in value]
    return value


def path_key(path: str | PurePath) -> str:
    """The state key of a path: the path itself, or an escaped, prefixed form.

    Backslashes are doubled before escaping, so the escaped form is one-to-one (a real
    backslash followed by `xe9` stays distinct from the byte 0xE9), and the prefix keeps
    it apart from every valid path. Valid paths keep their plain form, so existing
    state databases need no migration.
    """
    text = str(path)
    if is_valid(text):
        return text
    return KEY_PREFIX + printable(text.replace("\\", "\\\\"))


_ESCAPE = re.compile(r"\\\\|\\x([0-9a-f]{2})|\\u([0-9a-f]{4})")


def path_of_key(key: str) -> str:
    """The path a state key was made from (`path_key`'s inverse): what the file system
    hands over for that name again, so a stored non-UTF-8 path is recognised."""
    if not key.startswith(KEY_PREFIX):
        return key

    def one(match: re.Match[str]) -> str:
        if match.group(1):
            return chr(0xDC00 + int(match.group(1), 16))
        if match.group(2):
            return chr(int(match.group(2), 16))
        return "\\"

    return _ESCAPE.sub(one, key[len(KEY_PREFIX) :])
