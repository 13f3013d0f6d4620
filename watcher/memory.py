"""Handing freed memory back to the system once a burst of work is over.

Why: a first walk and import of a large library allocates far more than the daemon
keeps (listings, probe results, requests and answers). glibc keeps what is freed for
reuse, and a daemon that then idles for months shows it as resident memory: 7 MiB of
155 on the million-file benchmark (issue 13's target is 150 MB). `malloc_trim(0)`
returns the free pages. It runs when the loop waits with nothing to do after enough
work, costs a few milliseconds, and does nothing where there is no glibc.
"""

from __future__ import annotations

import ctypes
import sys
import time
from collections.abc import Callable

WORK_BEFORE_TRIM = 1000
"""Inputs handled (timer ticks aside) before an idle moment trims: a burst's worth."""
PASS_TRIM_GAP = 30.0
"""Seconds between trims after change-detector passes (each pass builds a new
snapshot and frees the last: 6 MiB on the million-file library, measured)."""
M_ARENA_MAX = -8
"""mallopt's parameter number (malloc.h): without a cap, each thread that allocates
gets a heap of its own, and each keeps its free memory."""


def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # musl and others: no such call
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_TRIM = _malloc_trim()
_last_trim = 0.0


def limit_arenas(count: int = 2) -> None:
    """Cap glibc's heaps (before the threads start): the prober, importer, observer
    and poller threads otherwise each keep a heap with its own free memory."""
    if _TRIM is None:
        return
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, count)
    except (OSError, AttributeError):
        return


def trim_after_pass(gap: float = PASS_TRIM_GAP) -> bool:
    """After a change-detector pass: hand free memory back, at most once per `gap`."""
    global _last_trim
    now = time.monotonic()
    if _TRIM is None or now - _last_trim < gap:
        return False
    _last_trim = now
    _TRIM(0)
    return True


class Trimmer:
    """Counts work; at an idle moment after enough of it, gives free memory back."""

    def __init__(self, every: int = WORK_BEFORE_TRIM) -> None:
        self._every = every
        self._work = 0
        self._trim = _TRIM
        self.trims = 0

    def worked(self, inputs: int) -> None:
        self._work += inputs

    def idle(self) -> None:
        if self._work < self._every:
            return
        self._work = 0
        if self._trim is not None:
            self._trim(0)
            self.trims += 1
