"""ruff and mypy as part of the test command, so CI and a developer run the same checks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(
    "argv", [("check", "."), ("format", "--check", ".")], ids=["ruff-lint", "ruff-format"]
)
def test_ruff(argv: tuple[str, ...]) -> None:
    result = _run(sys.executable, "-m", "ruff", *argv)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = _run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_module_under_watcher_reads_in_one_sitting() -> None:
    """Issue 11: no module under `watcher/` over 400 lines (one stage, one place)."""
    long = {
        str(path.relative_to(REPO)): lines
        for path in sorted((REPO / "watcher").rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert not long, long
