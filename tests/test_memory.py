"""After a burst of work, an idle moment hands freed memory back (watcher/memory.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from watcher.memory import Trimmer


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")
def test_an_idle_moment_after_a_burst_trims_once() -> None:
    trimmer = Trimmer(every=10)
    trimmer.worked(9)
    trimmer.idle()
    assert trimmer.trims == 0  # not enough work yet: idle ticks cost nothing
    trimmer.worked(5)
    trimmer.idle()
    trimmer.idle()
    assert trimmer.trims == 1  # once per burst, not at every idle tick


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")
def test_trims_after_detector_passes_are_spaced() -> None:
    """A polled folder passes every 2 s; its freed snapshots are handed back at most
    once per gap, not at every pass."""
    from watcher.memory import trim_after_pass

    trim_after_pass(gap=0.0)  # whatever came before
    assert not trim_after_pass(gap=3600.0)
    assert trim_after_pass(gap=0.0)


def test_records_share_the_strings_many_of_them_hold(tmp_path: Path) -> None:
    """Read back from the state, `project_path` equal to the path is the path's own
    string and `root`/`kind`/`project_type` are one string for all records (sqlite3
    hands each column back as a new one): ~6 MB on 20,000 projects."""
    from watcher.core.effects import Persist
    from watcher.core.records import ProjectRecord, Signature
    from watcher.state import State

    def record(name: str) -> ProjectRecord:
        path = f"/studio/{name}/Song.als"
        return ProjectRecord(
            path=path, root="/studio", kind="Ableton", title="Song", project_type="als",
            project_path=path, preview_path=None, generate_previews=True,
            signature=Signature(1, 1, 1), state="imported",
        )  # fmt: skip

    state = State(tmp_path / "state.sqlite3")
    try:
        state.apply([Persist(upserts=(record("a"), record("b")), deletes=(), meta=())])
        first, second = state.load()[0]
    finally:
        state.close()
    assert first.project_path is first.path
    assert first.root is second.root and first.kind is second.kind
    assert first.project_type is second.project_type
