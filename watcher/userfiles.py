"""Files a person edits (the config's YAML, the token file), read so that a hostile,
mistyped or editor-mangled file is one clear line.

Both are read bounded (a config or token is kilobytes; `--config /dev/zero` must not
eat memory) and decoded as UTF-8 with or without a BOM, or UTF-16 with a BOM, which is
what Notepad and PowerShell 5 write. A token must then be one line of ASCII, since it
goes into an HTTP header.

PyYAML's SafeLoader is safe from code execution but not from the rest: a sub-kilobyte
"billion laughs" file of nested aliases expands to gigabytes once pydantic walks it,
deep nesting overflows Python's stack, a repeated key (`watch:` twice) silently
replaces the first, and a key that lost its colon is reported lines below the mistake
(the scanner skips blank and comment lines before it notices). This loader refuses the
first three with the line they are on and points syntax errors at the line to fix.
Aliases themselves stay allowed (`<<: *defaults` is a fair way to share watch
settings); only their expansion is bounded. Imports nothing from the package; the
config module turns `UnusableText` into its `ConfigError`.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_BYTES = 1024 * 1024
MAX_TOKEN_BYTES = 64 * 1024
"""A config is a few kilobytes; a megabyte leaves room for thousands of watch entries."""
MAX_DEPTH = 64
"""A config nests four levels deep; 64 leaves room without nearing the stack limit."""
MAX_VALUES = 100_000
"""Values after every alias is expanded: far above any real config, far below a bomb."""

_MERGE_TAG = "tag:yaml.org,2002:merge"
_KEY_WITHOUT_COLON = re.compile(r"^\s*(?:-\s+)?[\w.-]+[ \t]+[^\s#:][^:]*$")


class UnusableText(Exception):
    """The file (or token) cannot be used; the message is one line saying where and why."""


def read_bounded(path: Path, limit: int) -> bytes | None:
    """At most `limit` bytes of a file; None when it holds more (or never ends)."""
    with open(path, "rb") as stream:
        data = stream.read(limit + 1)
    return None if len(data) > limit else data


def decode_text(raw: bytes, where: str) -> str:
    """UTF-8 (with or without a BOM), or UTF-16 with a BOM (Notepad's "Unicode")."""
    try:
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return raw.decode("utf-16")
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnusableText(
            f"{where} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8"
        ) from None


def clean_token(raw: str, where: str) -> str:
    """Strip whitespace and a BOM; refuse control characters and non-ASCII.

    The message says which character and where it is, never the token itself.
    """
    token = raw.strip().removeprefix("\ufeff").strip()
    for index, char in enumerate(token, start=1):
        if unicodedata.category(char) == "Cc":
            name = {"\n": "a line break", "\r": "a line break", "\x00": "a NUL byte"}.get(
                char, f"control character U+{ord(char):04X}"
            )
            raise UnusableText(
                f"{where}: the token holds {name} at character {index}; "
                "it must be one line: paste only the token"
            )
        if not char.isascii():
            raise UnusableText(
                f"{where}: the token holds a non-ASCII character (U+{ord(char):04X}) at "
                f"character {index}; HTTP headers carry only ASCII: paste only the token"
            )
    return token


def _at(mark: yaml.Mark | None) -> str:
    return f"at line {mark.line + 1}, column {mark.column + 1}: " if mark else ""


class _Loader(yaml.SafeLoader):
    """SafeLoader with a nesting bound, an alias expansion bound and duplicate-key checks."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise UnusableText(f"{_at(mark)}nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def get_single_node(self) -> Node | None:
        node = super().get_single_node()
        if node is not None:
            _check_expansion(node)
        return node

    def compose_mapping_node(self, anchor: Any) -> MappingNode:
        """Checked as written, before `<<` merges are flattened (a merged key may be
        overridden on purpose; a key written twice is a mistake)."""
        node: MappingNode = super().compose_mapping_node(anchor)
        seen: dict[str, yaml.Mark] = {}
        for key_node, _value in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            first = seen.setdefault(key_node.value, key_node.start_mark)
            if first is not key_node.start_mark:
                raise UnusableText(
                    f"{_at(key_node.start_mark)}duplicate key '{key_node.value}' (first at "
                    f"line {first.line + 1}); the second would silently replace the first: "
                    "keep one"
                )
        return node


def _check_expansion(root: Node) -> None:
    """Count the values the document holds once every alias is expanded, iteratively.

    An alias is the same node object met again, so sizes are memoised by node: the
    count costs time linear in the file, not in the expansion it measures.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        children = _children(node)
        if children_done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[key] > MAX_VALUES:
                raise UnusableText(
                    f"{_at(node.start_mark)}the aliases (*name) here expand to more than "
                    f"{MAX_VALUES} values; a config needs a few dozen: write it out"
                )
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise UnusableText(f"{_at(node.start_mark)}an alias (*name) refers to itself")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _syntax_message(text: str, exc: yaml.MarkedYAMLError) -> str:
    """Point at the line to fix, which is often above the one the parser stopped at.

    A key that lost its colon (`quiet_seconds 5`) is read as a plain value; the parser
    notices only at the next key, after any blank and comment lines between them.
    """
    problem = exc.problem or str(exc).splitlines()[0]
    if exc.context == "while scanning a simple key" and exc.context_mark is not None:
        return f"{_at(exc.context_mark)}{problem} (a key without its ':'?)"
    mark = exc.problem_mark
    if mark is None:
        return f"({problem})"
    lines = text.splitlines()
    for number in range(min(mark.line, len(lines)) - 1, -1, -1):
        line = lines[number]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if _KEY_WITHOUT_COLON.match(line):
            return f"at line {number + 1}: '{line.strip()}' has no ':' after its key"
        break
    return f"{_at(mark)}{problem}"


def load_yaml(text: str) -> Any:
    """Parse one YAML document; every refusal is a `UnusableText` naming its line."""
    if len(text) > MAX_BYTES:
        raise UnusableText(f"the file is over {MAX_BYTES // 1024} KiB; a config is a few KiB")
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        raise UnusableText(f"YAML syntax error {_syntax_message(text, exc)}") from None
    except yaml.YAMLError as exc:
        raise UnusableText(f"YAML syntax error: {str(exc).splitlines()[0]}") from None
    except RecursionError:  # a safety net below MAX_DEPTH's bound; never expected
        raise UnusableText(f"nested too deeply (more than {MAX_DEPTH} levels)") from None
    finally:
        loader.dispose()
