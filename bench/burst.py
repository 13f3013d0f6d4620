"""2. Burst: 5,000 new projects written as fast as possible into a watched folder.

The daemon runs with the shipped defaults (quiet_seconds 5, batch_size 50,
batch_window_seconds 2) against the emulator. Projects cycle over every DAW kind the
watcher recognises at run time (file and bundle kinds alike). Measured: time from the
last write to the last import answered, POST requests, duplicates, projects missing,
half-written projects sent, the daemon's peak RSS (the kernel's VmHWM) and CPU time.
The figure is the median of several runs; the timeline of the median run is plotted.

This module also holds the workload runners shared with `bench.naive`.

    python -m bench.burst [--quick] [--runs N] [--count 5000]
"""

from __future__ import annotations

import contextlib
import math
import shlex
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.common import (
    REPO,
    CheckingEmulator,
    Daemon,
    arguments,
    machine,
    median,
    peak_rss_mib,
    recognised_extensions,
    remove,
    save_result,
    scratch,
    start_emulator,
    wait_quiet,
    write_config,
)
from bench.library import KINDS, Kind, project_name, sized_bytes, write_project
from tests.conftest import TOKEN, clean_env

DEFAULTS = {"quiet_seconds": 5.0, "batch_size": 50, "batch_window_seconds": 2.0}


def recognised_kinds(files_only: bool = False) -> list[Kind]:
    """The library's kinds that the watcher recognises now (one per extension)."""
    known = recognised_extensions()
    kinds = [k for k in KINDS if k.ext in known and known[k.ext][1] == k.bundle]
    return [k for k in kinds if not (files_only and k.bundle)]


# --- workloads ----------------------------------------------------------------------------


@dataclass
class Written:
    """What a workload wrote: project units, their final sizes, and when."""

    units: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    done_at: list[float] = field(default_factory=list)
    """Wall time each project's last byte was written, in `units` order."""
    kinds: Counter[str] = field(default_factory=Counter)

    @property
    def first(self) -> float:
        return min(self.done_at)

    @property
    def last(self) -> float:
        return max(self.done_at)


Workload = Callable[[Path, CheckingEmulator], Written]


def burst_workload(count: int, kinds: Sequence[Kind]) -> Workload:
    """`count` new project folders, one after the other, as fast as Python writes."""

    def write(folder: Path, emulator: CheckingEmulator) -> Written:
        written = Written()
        for index in range(count):
            kind = kinds[index % len(kinds)]
            unit = write_project(folder / "Restored Drive", index, kind)
            written.done_at.append(time.time())
            key = str(unit)
            written.units.append(key)
            written.kinds[kind.name] += 1
            if not kind.bundle:
                written.sizes[key] = unit.stat().st_size
        emulator.expected.update(written.sizes)
        return written

    return write


def slow_workload(
    count: int, kinds: Sequence[Kind], size: int, chunks: int, gap: float
) -> Workload:
    """`count` projects saved at once, each in `chunks` writes `gap` seconds apart
    (a DAW writing a big set, a copy from a slow share): half-written for a while."""

    def write(folder: Path, emulator: CheckingEmulator) -> Written:
        written = Written()
        streams = []
        datas = []
        for index in range(count):
            kind = kinds[index % len(kinds)]
            project = folder / "Slow Saves" / project_name(index, kind)
            project.mkdir(parents=True, exist_ok=True)
            unit = project / f"{project_name(index, kind)}{kind.ext}"
            data = sized_bytes(kind.ext, size, seed=index)
            key = str(unit)
            written.units.append(key)
            written.sizes[key] = len(data)
            written.kinds[kind.name] += 1
            datas.append(data)
        emulator.expected.update(written.sizes)
        for key in written.units:
            streams.append(open(key, "wb"))  # noqa: SIM115 - closed below
        step = [math.ceil(len(d) / chunks) for d in datas]
        written.done_at = [0.0] * count
        for part in range(chunks):
            for i, stream in enumerate(streams):
                stream.write(datas[i][part * step[i] : (part + 1) * step[i]])
                stream.flush()
                written.done_at[i] = time.time()
            if part < chunks - 1:
                time.sleep(gap)
        for i, stream in enumerate(streams):
            stream.close()
            written.done_at[i] = time.time()
        return written

    return write


# --- who watches --------------------------------------------------------------------------


class Watcher:
    name: str
    pid: int

    def stop(self) -> None: ...


class Ours(Watcher):
    name = "sessiondock-watcher"

    def __init__(self, work: Path, folder: Path, emulator: CheckingEmulator, **config: Any):
        debounce = {"quiet_seconds": config.get("quiet_seconds", DEFAULTS["quiet_seconds"])}
        debounce["max_wait_seconds"] = max(120.0, debounce["quiet_seconds"])
        imports = {
            "batch_size": config.get("batch_size", DEFAULTS["batch_size"]),
            "batch_window_seconds": config.get(
                "batch_window_seconds", DEFAULTS["batch_window_seconds"]
            ),
        }
        watch: dict[str, Any] = {"path": str(folder), "polling": config.get("polling", False)}
        path = write_config(work, emulator, [watch], debounce=debounce, **{"import": imports})
        self.daemon = Daemon(path, work / "daemon.log")
        self.pid = self.daemon.pid
        try:
            self.daemon.wait_for("watching")
        except BaseException:
            self.daemon.stop()
            raise
        # the empty folder's first reconcile and the health call are over in a moment
        time.sleep(0.5)

    def stop(self) -> None:
        self.daemon.stop()


class Naive(Watcher):
    """watchdog's `watchmedo shell-command`: one `curl` import per matching event."""

    name = "watchmedo + curl"

    def __init__(self, folder: Path, emulator: CheckingEmulator, extensions: Sequence[str]):
        body = (
            '{"kind":"Ableton","items":[{"projectPath":"${watch_src_path}",'
            '"title":"naive","projectType":"als"}]}'
        )
        self.codes = folder.parent / "curl-codes.txt"
        command = (
            f"curl -s -o /dev/null -w '%{{http_code}}\\n' -X POST {emulator.base_url}/import "
            f"-H {shlex.quote('Authorization: Bearer ' + TOKEN)} "
            "-H 'Content-Type: application/json' "
            f"--data-binary '{body}' >> {shlex.quote(str(self.codes))}"
        )
        watchmedo = str(Path(REPO / ".venv/bin/watchmedo"))
        if not Path(watchmedo).exists():
            watchmedo = "watchmedo"
        self.proc = subprocess.Popen(
            [
                watchmedo,
                "shell-command",
                "--recursive",
                "--patterns",
                ";".join(f"**/*{e}" for e in extensions),
                "--command",
                command,
                str(folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=clean_env(),
        )
        self.pid = self.proc.pid
        time.sleep(2.0)  # watchmedo says nothing when its watch is up

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --- one run ------------------------------------------------------------------------------


class Sampler(threading.Thread):
    """RSS and CPU of a process tree, every `period` seconds."""

    def __init__(self, pid: int, period: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.period = period
        self.samples: list[tuple[float, float, float]] = []
        self.peak_tree_rss = 0.0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                rss = 0.0
                for p in procs:
                    with contextlib.suppress(psutil.Error):
                        rss += p.memory_info().rss
                own = self.proc.memory_info().rss / 2**20
                cpu = sum(self.proc.cpu_times()[:2])
            except psutil.Error:
                return
            self.peak_tree_rss = max(self.peak_tree_rss, rss / 2**20)
            self.samples.append((time.time(), own, cpu))
            self._halt.wait(self.period)

    def stop(self) -> None:
        self._halt.set()
        self.join(2)


def measure(
    workload: Workload,
    who: str,
    *,
    expect_all: bool = True,
    settle: float = 5.0,
    timeout: float = 120.0,
    extensions: Sequence[str] = (),
    **config: Any,
) -> dict[str, Any]:
    """Start a watcher on an empty folder, run the workload, wait for it to finish."""
    emulator = start_emulator()
    work = scratch(f"{who}-")
    folder = (work / "Projects").resolve()
    folder.mkdir()
    watcher: Watcher | None = None
    try:
        if who == "ours":
            watcher = Ours(work, folder, emulator, **config)
        else:
            watcher = Naive(folder, emulator, extensions)
        sampler = Sampler(watcher.pid)
        cpu_before = sum(psutil.Process(watcher.pid).cpu_times()[:2])
        sampler.start()
        written = workload(folder, emulator)
        expected = set(written.units)

        def arrived() -> int:
            return len(emulator.arrivals)

        deadline = time.monotonic() + timeout
        if expect_all:
            while time.monotonic() < deadline:
                if expected <= {a.path for a in list(emulator.arrivals)}:
                    break
                time.sleep(0.05)
        settled, _ = wait_quiet(arrived, settle, max(1.0, deadline - time.monotonic()))
        cpu = sum(psutil.Process(watcher.pid).cpu_times()[:2]) - cpu_before
        if who == "naive":
            cpu += sum(psutil.Process(watcher.pid).cpu_times()[2:4])  # children (curl)
        peak = peak_rss_mib(watcher.pid)
        if isinstance(watcher, Naive):
            time.sleep(1.0)  # curls still running write their code on exit
            codes = Counter(watcher.codes.read_text().split()) if watcher.codes.exists() else {}
            config["curl_codes"] = dict(codes)
        sampler.stop()
        watcher.stop()
        watcher = None
        summary = summarise(who, written, emulator, peak, sampler, cpu, settled)
        summary["curl_codes"] = config.get("curl_codes")
        return summary
    finally:
        if watcher is not None:
            watcher.stop()
        emulator.stop()
        remove(work)


def summarise(
    who: str,
    written: Written,
    emulator: CheckingEmulator,
    peak: float | None,
    sampler: Sampler,
    cpu: float,
    settled: bool,
) -> dict[str, Any]:
    arrivals = list(emulator.arrivals)
    expected = set(written.units)
    sent = Counter(a.path for a in arrivals)
    requests = len(emulator.imports)
    answered = [r.at for r in emulator.imports]
    last_answer = max(emulator.answered_at, default=float("nan"))
    first_complete: dict[str, float] = {}
    for a in arrivals:
        if a.complete and a.path in expected:
            first_complete.setdefault(a.path, a.at)
    return {
        "who": who,
        "projects": len(expected),
        "kinds": dict(written.kinds),
        "requests": requests,
        "items_sent": len(arrivals),
        "imported_unique": len(expected & set(sent)),
        "missing": len(expected - set(sent)),
        "duplicates": sum(n - 1 for n in sent.values() if n > 1),
        "not_a_project": sum(n for p, n in sent.items() if p not in expected),
        "half_written": sum(1 for a in arrivals if not a.complete),
        "projects_complete": len(first_complete),
        "write_seconds": written.last - written.first,
        "last_write_to_last_answer_s": last_answer - written.last,
        "last_write_to_all_complete_s": (
            max(first_complete.values()) - written.last
            if len(first_complete) == len(expected)
            else None
        ),
        "peak_rss_mib": peak,
        "peak_rss_with_children_mib": sampler.peak_tree_rss,
        "cpu_seconds": cpu,
        "settled": settled,
        "timeline": {
            "t0": written.first,
            "written": sorted(t - written.first for t in written.done_at),
            "imported": sorted(
                t - written.first
                for p, t in ((a.path, a.at) for a in arrivals)
                if p in expected and first_complete.get(p) == t
            ),
            "requests": [t - written.first for t in answered],
            "rss": [(t - written.first, r) for t, r, _ in sampler.samples],
        },
    }


# --- the benchmark ------------------------------------------------------------------------


def run(quick: bool = False, runs: int | None = None, count: int | None = None) -> dict[str, Any]:
    count = count or (2000 if quick else 5000)
    runs = runs or (1 if quick else 3)
    kinds = recognised_kinds()
    batch = DEFAULTS["batch_size"]
    quiet = DEFAULTS["quiet_seconds"]
    results = [
        measure(burst_workload(count, kinds), "ours", timeout=quiet + 120) for _ in range(runs)
    ]
    done = median(r["last_write_to_last_answer_s"] for r in results)
    peak = median(r["peak_rss_mib"] or 0 for r in results)
    requests = median(r["requests"] for r in results)
    limit_requests = math.ceil(count / batch) + 5
    checks = {
        "all_imported": all(r["missing"] == 0 for r in results),
        "no_duplicates": all(r["duplicates"] == 0 for r in results),
        "requests": requests <= limit_requests,
        "time": done <= quiet + 10,
        "peak_rss": peak < 150,
        "no_half_written": all(r["half_written"] == 0 for r in results),
    }
    result = {
        "name": "burst",
        "machine": machine(),
        "count": count,
        "config": DEFAULTS,
        "kinds": [k.name + " " + k.ext for k in kinds],
        "runs": results,
        "median": {
            "last_write_to_last_answer_s": done,
            "requests": requests,
            "peak_rss_mib": peak,
            "cpu_seconds": median(r["cpu_seconds"] for r in results),
            "write_seconds": median(r["write_seconds"] for r in results),
            "duplicates": median(r["duplicates"] for r in results),
            "missing": median(r["missing"] for r in results),
        },
        "target": {
            "requests_max": limit_requests,
            "seconds_max": quiet + 10,
            "peak_rss_mib_max": 150,
        },
        "checks": checks,
        "met": all(checks.values()),
    }
    save_result("burst", result)
    return result


def report(result: dict[str, Any]) -> str:
    m = result["median"]
    return (
        f"burst of {result['count']}: last write -> last answer {m['last_write_to_last_answer_s']:.2f}s "
        f"(target <= {result['target']['seconds_max']:g}), requests {m['requests']:g} (<= "
        f"{result['target']['requests_max']}), duplicates {m['duplicates']:g}, missing "
        f"{m['missing']:g}, peak RSS {m['peak_rss_mib']:.1f} MiB, CPU {m['cpu_seconds']:.1f}s, "
        f"write {m['write_seconds']:.1f}s; checks {result['checks']}"
    )


def main() -> None:
    def extra(parser):
        parser.add_argument("--count", type=int)

    args = arguments(__doc__ or "", extra)
    result = run(args.quick, args.runs, args.count)
    print(report(result))
    if not args.no_plots:
        from bench.plots import burst_timeline

        burst_timeline(result)


if __name__ == "__main__":
    main()
