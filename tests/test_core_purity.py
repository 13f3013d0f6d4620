"""The core stays sans-I/O: no module of `watcher/core/` imports anything that could
read a clock, touch the disk or the network, start a thread, or pull in a watcher
module that does. Checked on the source with `ast`, so a lazy import inside a function
is caught too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parent.parent / "watcher" / "core"

FORBIDDEN = frozenset(
    {
        "threading", "_thread", "time", "os", "pathlib", "sqlite3", "httpx", "watchdog",
        "queue", "socket", "subprocess", "signal", "asyncio", "shutil", "glob", "io",
        "tempfile", "select", "selectors", "multiprocessing", "concurrent", "random",
        "datetime", "urllib", "http", "ssl", "platform", "structlog", "logging", "sys",
        "builtins", "importlib", "ctypes", "mmap", "fcntl", "yaml", "pydantic",
        "platformdirs",
    }
)  # fmt: skip
"""`random` and `datetime` too: the core's only sources of time and chance are its inputs."""


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.append((node.lineno, "watcher.core." + (node.module or "")))
            else:
                found.append((node.lineno, node.module or ""))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("__import__", "open"):
            found.append((node.lineno, f"{node.func.id}()"))  # type: ignore[attr-defined]
    return found


def _problem(name: str) -> str | None:
    top = name.split(".")[0]
    if name.endswith("()"):
        return "calls " + name
    if top in FORBIDDEN:
        return f"imports {name}"
    if top == "watcher" and not (name == "watcher.core" or name.startswith("watcher.core.")):
        return f"imports {name} (only watcher.core.* may be used by the core)"
    return None


MODULES = sorted(CORE.rglob("*.py"))


def test_the_core_has_modules() -> None:
    assert len(MODULES) >= 5, MODULES


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_a_core_module_imports_nothing_that_does_io(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"), filename=str(module))
    problems = [
        f"{module.name}:{line}: {why}"
        for line, name in _imports(tree)
        if (why := _problem(name)) is not None
    ]
    assert not problems, "\n".join(problems)


def test_the_check_catches_a_forbidden_import() -> None:
    tree = ast.parse("import os\nfrom time import monotonic\nfrom watcher.client import X\n")
    found = [_problem(name) for _, name in _imports(tree)]
    assert all(found), found
