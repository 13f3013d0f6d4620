"""3. Latency: single saves spaced out; (import request time - last write time).

Each save writes one new project of a recognised file kind in one go (open, write,
close), then waits `spacing` seconds, so every save is alone in the pipeline when it
becomes ready. The delay measured is from the bench's wall clock after `close()` to the
emulator's wall clock on arrival of the request carrying it; the target is relative to
`quiet_seconds`, which the bench sets to 1 s so 200 saves fit in a few minutes (the
default 5 s only shifts every figure by 4 s). batch_window_seconds stays at its default.

    python -m bench.latency [--quick] [--saves 200]
"""

from __future__ import annotations

import time
from typing import Any

from bench.burst import DEFAULTS, Ours, recognised_kinds
from bench.common import (
    arguments,
    machine,
    median,
    percentile,
    remove,
    save_result,
    scratch,
    start_emulator,
)
from bench.library import write_project

QUIET = 1.0
P50_SLACK, P99_SLACK = 0.5, 1.5


def one_run(saves: int, spacing: float, quiet: float, window: float) -> dict[str, Any]:
    emulator = start_emulator()
    work = scratch("latency-")
    folder = (work / "Projects").resolve()
    folder.mkdir()
    kinds = recognised_kinds(files_only=True)
    try:
        watcher = Ours(work, folder, emulator, quiet_seconds=quiet, batch_window_seconds=window)
        written: dict[str, float] = {}
        try:
            for index in range(saves):
                unit = write_project(folder / "Session", index, kinds[index % len(kinds)])
                written[str(unit)] = time.time()
                time.sleep(spacing)
            deadline = time.monotonic() + quiet + window + 30
            while time.monotonic() < deadline:
                if set(written) <= {a.path for a in list(emulator.arrivals)}:
                    break
                time.sleep(0.05)
        finally:
            watcher.stop()
        first: dict[str, float] = {}
        for arrival in emulator.arrivals:
            first.setdefault(arrival.path, arrival.at)
        delays = [first[p] - t for p, t in written.items() if p in first]
        return {
            "saves": saves,
            "received": len(delays),
            "requests": len(emulator.imports),
            "delays": delays,
            "p50": percentile(delays, 50),
            "p90": percentile(delays, 90),
            "p99": percentile(delays, 99),
            "max": max(delays, default=float("nan")),
        }
    finally:
        emulator.stop()
        remove(work)


def run(
    quick: bool = False,
    runs: int | None = None,
    saves: int | None = None,
    window: float | None = None,
) -> dict[str, Any]:
    saves = saves or (60 if quick else 200)
    runs = runs or 1
    window = DEFAULTS["batch_window_seconds"] if window is None else window
    spacing = QUIET + 0.25
    results = [one_run(saves, spacing, QUIET, window) for _ in range(runs)]
    p50 = median(r["p50"] for r in results)
    p99 = median(r["p99"] for r in results)
    result = {
        "name": "latency",
        "machine": machine(),
        "config": {"quiet_seconds": QUIET, "batch_window_seconds": window, "spacing": spacing},
        "runs": results,
        "median": {"p50": p50, "p99": p99, "p90": median(r["p90"] for r in results)},
        "target": {"p50_max": QUIET + P50_SLACK, "p99_max": QUIET + P99_SLACK},
        "met": p50 <= QUIET + P50_SLACK and p99 <= QUIET + P99_SLACK,
    }
    save_result("latency", result)
    return result


def report(result: dict[str, Any]) -> str:
    m, t = result["median"], result["target"]
    r = result["runs"][0]
    return (
        f"latency ({r['received']}/{r['saves']} saves, quiet {result['config']['quiet_seconds']:g}s, "
        f"window {result['config']['batch_window_seconds']:g}s): p50 {m['p50']:.2f}s "
        f"(<= {t['p50_max']:g}), p90 {m['p90']:.2f}s, p99 {m['p99']:.2f}s (<= {t['p99_max']:g}) "
        f"-> {'met' if result['met'] else 'MISSED'}"
    )


def main() -> None:
    def extra(parser):
        parser.add_argument("--saves", type=int)
        parser.add_argument("--window", type=float, help="batch_window_seconds (default 2)")

    args = arguments(__doc__ or "", extra)
    result = run(args.quick, args.runs, args.saves, args.window)
    print(report(result))
    if not args.no_plots:
        from bench.plots import latency_histogram

        latency_histogram(result)


if __name__ == "__main__":
    main()
