"""The thread that runs change-detector passes for the observer.

Polled folders get a pass every `interval` seconds (their own, or the default), and
each change found is handed to the sink like a native event. Natively watched folders
also get a pass at the slow verify interval; what it finds is compared, after a grace
period for events still in watchdog's queue, with the native events that arrived, and
changes no event accounts for are handed on as `Unreported`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from watcher.detector import Change, Detector, unreported
from watcher.memory import trim_after_pass

GRACE_SECONDS = 2.0
"""How long an event may lag its change: watchdog's inotify buffer holds events 0.5 s."""

PASS_BUDGET = 0.05
"""The share of one core polling may use: a folder whose pass costs more CPU than this
share of its interval (a library of a million files at 2 s) is polled less often."""

VERIFY_FILES_EVERY = 4
"""A verification pass stats every folder, but the project files of a folder whose
listing did not change only one pass in this many: a new, removed or renamed project
is seen at the next pass, a project rewritten in place with no event within this many
passes. Those stats were a third of a pass, and verification must stay well under
0.1 % of a core while idle."""

MAX_RECORDED = 200_000
"""Native event paths kept for verification; beyond this a flood is assumed seen."""


@dataclass(frozen=True)
class Unreported:
    """Changes the detector found in a natively watched folder that no native event
    reported: act on them, and count the folder's native events as unreliable."""

    folder: Path
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class DetectorFailed:
    """A pass raised (an unreadable share in a state the detector did not expect)."""

    folder: Path
    detail: str


Report = Callable[["Change | Unreported | DetectorFailed"], None]


@dataclass
class _Job:
    detector: Detector
    interval: float
    verify: bool
    due: float
    last_pass: float | None = None
    passes: int = 0
    pending: list[tuple[float, float, list[Change]]] = field(default_factory=list)
    """Verification finds waiting out the grace period: (judge at, since, changes)."""
    failed: bool = False


def next_wait(interval: float, pass_cpu: float, budget: float = PASS_BUDGET) -> float:
    """Seconds until a folder's next pass: its interval, or longer when a pass costs
    more than `budget` of a core at that interval."""
    return max(interval, pass_cpu / budget)


class Poller:
    """Detector jobs per folder, run on one thread; `schedule`/`cancel` from any thread."""

    def __init__(self, report: Report, clock: Callable[[], float] = time.monotonic) -> None:
        self._report = report
        self._clock = clock
        self._jobs: dict[Path, _Job] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reported: dict[Path, float] = {}
        self._flood_at = float("-inf")

    # --- from other threads ---------------------------------------------------------

    def schedule(self, folder: Path, detector: Detector, interval: float, verify: bool) -> None:
        with self._lock:
            self._jobs[folder] = _Job(detector, interval, verify, due=self._clock())
        self._ensure_thread()
        self._wake.set()

    def retime(self, folder: Path, interval: float) -> None:
        """A reloaded config changed the folder's interval: the next pass is due one new
        interval after the last (the baseline and the job's findings are kept)."""
        with self._lock:
            job = self._jobs.get(folder)
            if job is None or job.interval == interval:
                return
            job.interval = interval
            if job.last_pass is not None:
                job.due = job.last_pass + interval
        self._wake.set()

    def renew(self, folder: Path, detector: Detector) -> None:
        """A reloaded config changed the DAW table (`kinds:`): the folder's passes go on
        with a detector of the new rules, whose first pass is a new baseline. Kept, a
        detector of the old table would pass other files, and a walk (which takes
        listings only from a pass of the table in use) would list every folder again."""
        with self._lock:
            job = self._jobs.get(folder)
            if job is not None:
                job.detector = detector
        self._wake.set()

    def cancel(self, folder: Path) -> None:
        with self._lock:
            self._jobs.pop(folder, None)

    def detector(self, folder: Path) -> Detector | None:
        job = self._jobs.get(folder)
        return job.detector if job is not None else None

    def has(self, folder: Path) -> bool:
        return folder in self._jobs

    def ready(self, folder: Path) -> bool:
        """Its first pass (the baseline later passes compare with) is done."""
        job = self._jobs.get(folder)
        return job is not None and job.last_pass is not None

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def record(self, path: Path, at: float) -> None:
        """A native event arrived (watchdog's thread); kept only while verifying."""
        if not any(job.verify for job in list(self._jobs.values())):
            return
        with self._lock:
            if len(self._reported) >= MAX_RECORDED:
                self._reported.clear()
                self._flood_at = at
            self._reported[path] = at

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._stop.is_set() or self.alive():
                return
            self._thread = threading.Thread(target=self._run, name="observer-polling", daemon=True)
            self._thread.start()

    # --- the thread -----------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            now = self._clock()
            with self._lock:
                jobs = list(self._jobs.items())
            for folder, job in jobs:
                if self._stop.is_set():
                    return
                self._judge(folder, job, now)
                if now >= job.due:
                    self._pass(folder, job, now)
            self._forget_old(now)
            wakes = [j.due for _, j in jobs] + [p[0] for _, j in jobs for p in j.pending]
            timeout = min(wakes, default=now + 60.0) - self._clock()
            self._wake.wait(max(timeout, 0.01))
            self._wake.clear()

    def _pass(self, folder: Path, job: _Job, now: float) -> None:
        started = time.thread_time()
        share = (job.passes % VERIFY_FILES_EVERY, VERIFY_FILES_EVERY) if job.verify else None
        job.passes += 1
        try:
            changes = job.detector.poll(now, share)
        except Exception as exc:  # noqa: BLE001 - one folder's surprise must not stop the rest
            if not job.failed:
                job.failed = True
                self._report(DetectorFailed(folder, f"{type(exc).__name__}: {exc}"))
            return
        finally:
            cost = time.thread_time() - started if job.last_pass is not None else 0.0
            job.due = now + next_wait(job.interval, cost)  # the baseline lists everything
        job.failed = False
        trim_after_pass()  # the last pass's snapshot was just freed
        since, job.last_pass = job.last_pass, now
        if not self.has(folder) or not changes:
            return
        if not job.verify:
            for change in changes:
                self._report(change)
        elif since is not None:
            job.pending.append((now + GRACE_SECONDS, since - GRACE_SECONDS, changes))

    def _judge(self, folder: Path, job: _Job, now: float) -> None:
        ready = [p for p in job.pending if p[0] <= now]
        if not ready:
            return
        job.pending = [p for p in job.pending if p[0] > now]
        with self._lock:
            reported = dict(self._reported)
            flood = self._flood_at
        for _, since, changes in ready:
            if flood >= since:
                continue  # a flood of events was seen: they were arriving
            # The folder itself going away or coming back is the offline check's business
            # (an unplugged drive is not a missed event).
            missed = unreported([c for c in changes if c.path != folder], reported, since)
            if missed and self.has(folder):
                self._report(Unreported(folder, tuple(missed)))

    def _forget_old(self, now: float) -> None:
        with self._lock:
            verifying = [j.interval for j in self._jobs.values() if j.verify]
            if not verifying:
                self._reported.clear()
                return
            horizon = now - 2 * max(verifying) - 4 * GRACE_SECONDS
            if self._reported and min(self._reported.values()) < horizon:
                self._reported = {p: t for p, t in self._reported.items() if t >= horizon}
