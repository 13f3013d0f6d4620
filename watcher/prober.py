"""Content checks off the daemon's loop, on a few threads of their own.

A content check reads the whole compressed set to prove it complete, which takes
seconds on a large one and up to `scan.content_check_seconds` on a hostile one. Run on
the loop, that froze everything else: no other project moved and the systemd watchdog
went unanswered. Here the daemon hands over a `ProbeJob` and gets a `Probed` back in its
inbox, like the importer. There are several workers so one slow file does not hold
back the others; zlib releases the GIL while it inflates, so the loop keeps its turns.
The daemon decides what a result means (the file may have changed meanwhile).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from watcher.config import ImportSettings, WatchFolder
from watcher.core.records import Project, Signature
from watcher.daws import Candidate, Limits, Skipped
from watcher.logging import get_logger
from watcher.scanner import probe

log = get_logger("watcher.prober")

WORKERS = 3


@dataclass(frozen=True)
class ProbeJob:
    candidate: Candidate
    folder: WatchFolder
    settings: ImportSettings
    signature: Signature
    """The fresh stat the project was found ready with; the result is judged against it."""
    limits: Limits


@dataclass(frozen=True)
class Probed:
    job: ProbeJob
    result: Project | Skipped


def run_job(job: ProbeJob) -> Probed:
    """One probe; a bug in it becomes a skipped project, never a lost job."""
    try:
        result = probe(job.candidate, job.folder, job.settings, job.signature, job.limits)
    except Exception as exc:
        log.exception("probe_failed", path=str(job.candidate.path))
        result = Skipped(job.candidate.path, "bad-content", f"internal error: {exc!r}")
    return Probed(job, result)


class Prober:
    """Worker threads that run probes; each result goes to `post`."""

    def __init__(self, post: Callable[[Probed], None], workers: int = WORKERS) -> None:
        self._post = post
        self._stopping = threading.Event()
        self._jobs: queue.SimpleQueue[ProbeJob | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"prober-{n}", daemon=True)
            for n in range(workers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def submit(self, job: ProbeJob) -> None:
        self._jobs.put(job)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            if self._stopping.is_set():
                continue
            self._post(run_job(replace(job, limits=replace(job.limits, cancelled=self.stopping))))

    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self, timeout: float) -> bool:
        """Cancel what is queued or running; True when the workers ended within `timeout`.

        A running check stops at its next piece (a file read stuck on a dead share may
        not, and is abandoned: daemon threads). Its project was never queued, so the
        next start's walk finds it again.
        """
        self._stopping.set()
        for _ in self._threads:
            self._jobs.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)
