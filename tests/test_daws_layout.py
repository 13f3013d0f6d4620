"""The `watcher.daws` package stays readable and pure: one DAW family per module, each
under 400 lines, and no module opens files or starts threads (checks read the stream
they are handed)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import watcher.daws

PACKAGE = Path(watcher.daws.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))
FORBIDDEN_IMPORTS = {"threading", "sqlite3", "httpx", "watchdog", "socket", "subprocess"}


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_each_module_is_small_and_pure(module: Path) -> None:
    text = module.read_text()
    assert len(text.splitlines()) <= 400
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names = {(node.module or "").split(".")[0]}
        else:
            names = set()
        assert not names & FORBIDDEN_IMPORTS, f"{module.name} imports {names & FORBIDDEN_IMPORTS}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "open", f"{module.name} opens a file"


def test_the_public_names_other_modules_use_are_still_there() -> None:
    for name in (
        "FORMATS", "HEAVY_DIRS", "Candidate", "ContentCheck", "DawFormat", "Registry",
        "Skipped", "Verdict", "check_generic", "is_junk_name", "is_nosync", "junk_reason",
        "never_holds_projects", "project_type", "suffix_of", "title_for",
    ):  # fmt: skip
        assert hasattr(watcher.daws, name), name
