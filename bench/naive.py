"""5. Against a naive watcher: watchdog's `watchmedo shell-command` + one `curl` per event.

The same two workloads go through both watchers in the same run, one after the other,
each against a fresh emulator that judges at arrival whether the project it is told
about is whole (final size, and a gzip/zip that ends where it should):
- burst: N new projects written as fast as possible (file kinds only: a shell command
  per event has no notion of a bundle);
- slow writes: projects saved in 10 chunks 0.3 s apart (a DAW writing a big set, a
  copy from a slow share), all at once.
Reported side by side: requests, duplicates, half-written projects sent, projects never
sent whole, time from the last write to the last request answered.

    python -m bench.naive [--quick] [--count 5000]
"""

from __future__ import annotations

from typing import Any

from bench.burst import DEFAULTS, burst_workload, measure, recognised_kinds, slow_workload
from bench.common import arguments, machine, save_result
from bench.library import SIZEABLE

SLOW_COUNT, SLOW_SIZE, SLOW_CHUNKS, SLOW_GAP = 40, 400_000, 10, 0.3
SLOW = {"count": SLOW_COUNT, "size": SLOW_SIZE, "chunks": SLOW_CHUNKS, "gap": SLOW_GAP}


def run(quick: bool = False, count: int | None = None) -> dict[str, Any]:
    count = count or (1000 if quick else 5000)
    kinds = recognised_kinds(files_only=True)
    extensions = sorted({k.ext for k in kinds})
    slow_kinds = [k for k in kinds if k.ext in SIZEABLE]
    quiet = DEFAULTS["quiet_seconds"]
    workloads = {
        "burst": lambda: burst_workload(count, kinds),
        "slow": lambda: slow_workload(SLOW_COUNT, slow_kinds, SLOW_SIZE, SLOW_CHUNKS, SLOW_GAP),
    }
    table: dict[str, dict[str, Any]] = {}
    for name, make in workloads.items():
        table[name] = {}
        for who in ("ours", "naive"):
            table[name][who] = measure(
                make(),
                who,
                # the naive watcher may never send some projects whole: do not wait for it
                expect_all=who == "ours",
                settle=6.0 if who == "naive" else 3.0,
                timeout=quiet + 300,
                extensions=extensions,
            )
    result = {
        "name": "naive",
        "machine": machine(),
        "count": count,
        "slow": SLOW,
        "kinds": [k.name + " " + k.ext for k in kinds],
        "slow_kinds": [k.name + " " + k.ext for k in slow_kinds],
        "workloads": table,
    }
    save_result("naive", result)
    return result


FIELDS = (
    ("projects", "projects written"),
    ("requests", "POST requests"),
    ("items_sent", "items sent"),
    ("duplicates", "duplicates"),
    ("half_written", "half-written projects sent"),
    ("missing", "projects never sent"),
    ("projects_complete", "projects sent whole"),
    ("last_write_to_last_answer_s", "last write -> last request (s)"),
    ("cpu_seconds", "CPU seconds (incl. curl children)"),
)


def report(result: dict[str, Any]) -> str:
    lines = []
    for name, pair in result["workloads"].items():
        lines.append(f"{name}:")
        for key, label in FIELDS:
            ours, naive = pair["ours"][key], pair["naive"][key]
            fmt = "{:.2f}" if isinstance(ours, float) else "{}"
            lines.append(f"  {label:38} {fmt.format(ours):>10} {fmt.format(naive):>10}")
    return "\n".join(lines)


def main() -> None:
    def extra(parser):
        parser.add_argument("--count", type=int)

    args = arguments(__doc__ or "", extra)
    result = run(args.quick, args.count)
    print(report(result))
    if not args.no_plots:
        import json

        from bench.common import RESULTS
        from bench.plots import burst_timeline

        burst_file = RESULTS / "burst.json"
        if burst_file.exists():
            burst_timeline(
                json.loads(burst_file.read_text()), result["workloads"]["burst"]["naive"]
            )


if __name__ == "__main__":
    main()
