"""After a burst of work, an idle moment hands freed memory back (watcher/memory.py)."""

from __future__ import annotations

import sys

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
