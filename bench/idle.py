"""4. Idle cost: the daemon watching the ~10,000-directory library with nothing changing.

The daemon starts on the synthetic library (fresh state, so it first imports every
project it recognises; that initial import is timed too), then, once SessionDock has
heard nothing new for 5 s, it is left alone for `duration` seconds (60 by default).
Measured over that window: CPU seconds (user + system, from /proc via psutil), split
into 10 s slices whose median is the figure; RSS; context switches (wake-ups); and
inotify watches held, counted from the `inotify wd:` lines of /proc/PID/fdinfo.
Run natively and with `polling: true` (polling_interval_seconds default 2 s).

    python -m bench.idle [--quick] [--seconds 60]
"""

from __future__ import annotations

import time
from typing import Any

import psutil

from bench.burst import Ours
from bench.common import (
    arguments,
    inotify_watches,
    machine,
    median,
    peak_rss_mib,
    remove,
    save_result,
    scratch,
    start_emulator,
    wait_quiet,
)
from bench.library import build_library

TARGET_PERCENT = 0.5
SLICE = 10.0


def one_mode(root: Any, polling: bool, seconds: float) -> dict[str, Any]:
    emulator = start_emulator()
    work = scratch("idle-")
    try:
        started = time.monotonic()
        watcher = Ours(work, root, emulator, polling=polling)
        try:
            settled, _waited = wait_quiet(lambda: len(emulator.arrivals), 5.0, 240.0)
            initial_import_s = time.monotonic() - started - 5.0
            proc = psutil.Process(watcher.pid)
            slices: list[float] = []
            switches0 = sum(proc.num_ctx_switches())
            cpu0 = sum(proc.cpu_times()[:2])
            t0 = time.monotonic()
            last = cpu0
            while time.monotonic() - t0 < seconds - 1e-3:
                time.sleep(min(SLICE, seconds - (time.monotonic() - t0)))
                now = sum(proc.cpu_times()[:2])
                slices.append(now - last)
                last = now
            elapsed = time.monotonic() - t0
            cpu = last - cpu0
            switches = sum(proc.num_ctx_switches()) - switches0
            rss = proc.memory_info().rss / 2**20
            watches = inotify_watches(watcher.pid)
            threads = proc.num_threads()
            peak = peak_rss_mib(watcher.pid)
            requests_while_idle = len(emulator.imports)
        finally:
            watcher.stop()
        slice_percent = [100 * s / SLICE for s in slices]
        return {
            "mode": "polling" if polling else "native",
            "initial_import_s": initial_import_s,
            "initial_import_settled": settled,
            "projects_imported": len({a.path for a in emulator.arrivals}),
            "requests": requests_while_idle,
            "seconds": elapsed,
            "cpu_seconds": cpu,
            "cpu_percent_of_one_core": 100 * cpu / elapsed,
            "cpu_percent_median_slice": median(slice_percent),
            "slices_percent": slice_percent,
            "context_switches_per_s": switches / elapsed,
            "rss_mib": rss,
            "peak_rss_mib": peak,
            "inotify_watches": watches,
            "threads": threads,
        }
    finally:
        emulator.stop()
        remove(work)


def run(quick: bool = False, seconds: float | None = None) -> dict[str, Any]:
    library = build_library(2000)
    seconds = seconds or (20.0 if quick else 60.0)
    native = one_mode(library.root, False, seconds)
    polling = one_mode(library.root, True, seconds)
    result = {
        "name": "idle",
        "machine": machine(library.root),
        "library": {"projects": library.projects, "files": library.files, "dirs": library.dirs},
        "native": native,
        "polling": polling,
        "target": {"native_cpu_percent_max": TARGET_PERCENT},
        "met": native["cpu_percent_median_slice"] < TARGET_PERCENT,
    }
    save_result("idle", result)
    return result


def report(result: dict[str, Any]) -> str:
    lines = []
    for mode in ("native", "polling"):
        r = result[mode]
        lines.append(
            f"idle {mode}: {r['cpu_seconds']:.2f} CPU s in {r['seconds']:.0f}s "
            f"({r['cpu_percent_of_one_core']:.2f}% of a core, median 10 s slice "
            f"{r['cpu_percent_median_slice']:.2f}%), {r['context_switches_per_s']:.1f} "
            f"switches/s, RSS {r['rss_mib']:.1f} MiB (peak {r['peak_rss_mib']:.1f}), "
            f"{r['inotify_watches']} inotify watches, initial import of "
            f"{r['projects_imported']} projects {r['initial_import_s']:.1f}s"
        )
    lines.append(f"target native < {TARGET_PERCENT}%: {'met' if result['met'] else 'MISSED'}")
    return "\n".join(lines)


def main() -> None:
    def extra(parser):
        parser.add_argument("--seconds", type=float)

    args = arguments(__doc__ or "", extra)
    print(report(run(args.quick, args.seconds)))


if __name__ == "__main__":
    main()
