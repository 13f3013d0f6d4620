"""Run every benchmark, write the plots and a summary (bench/results/summary.md).

    python -m bench.run_all            # full: about 12 minutes on 2 cores
    python -m bench.run_all --quick    # smaller workloads, fewer runs: about 5 minutes

Results (JSON per benchmark) and the generated library go under bench/results/
(gitignored); plots go to bench/plots/, referenced from BENCHMARKS.md.
"""

from __future__ import annotations

import time

from bench import burst, idle, latency, naive, relink, scan
from bench.common import RESULTS, arguments, machine, machine_line
from bench.plots import burst_timeline, latency_histogram


def main() -> None:
    args = arguments(__doc__ or "")
    started = time.monotonic()
    lines = [f"# Benchmark summary ({'quick' if args.quick else 'full'})", ""]
    lines.append(f"Machine: {machine_line(machine())}")
    lines.append("")

    steps = [
        ("1. initial scan", lambda: scan.report(scan.run(args.quick, args.runs))),
        ("2. burst", lambda: burst.report(burst.run(args.quick, args.runs))),
        ("7. relinks", lambda: relink.report(relink.run(args.quick))),
    ]
    for title, step in steps:
        t = time.monotonic()
        text = step()
        print(f"{title}: {text}  [{time.monotonic() - t:.0f}s]", flush=True)
        lines += [f"## {title}", "", text, ""]

    t = time.monotonic()
    lat = latency.run(args.quick)
    print(f"3. latency: {latency.report(lat)}  [{time.monotonic() - t:.0f}s]", flush=True)
    lines += ["## 3. latency", "", latency.report(lat), ""]

    t = time.monotonic()
    idl = idle.run(args.quick)
    print(f"4. idle:\n{idle.report(idl)}  [{time.monotonic() - t:.0f}s]", flush=True)
    lines += ["## 4. idle", "", idle.report(idl), ""]

    t = time.monotonic()
    nai = naive.run(args.quick)
    print(f"5. naive:\n{naive.report(nai)}  [{time.monotonic() - t:.0f}s]", flush=True)
    lines += ["## 5. against watchmedo + curl", "", "```", naive.report(nai), "```", ""]

    if not args.no_plots:
        import json

        burst_result = json.loads((RESULTS / "burst.json").read_text())
        print(
            latency_histogram(lat), burst_timeline(burst_result, nai["workloads"]["burst"]["naive"])
        )
    total = time.monotonic() - started
    lines.append(f"Total {total:.0f}s.")
    (RESULTS / "summary.md").write_text("\n".join(lines) + "\n")
    print(f"total {total:.0f}s; summary in {RESULTS / 'summary.md'}")


if __name__ == "__main__":
    main()
