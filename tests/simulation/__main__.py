"""`python -m tests.simulation --seeds N --first S`: run seeds, report violations.

Each failing seed prints its violations and the last steps of its trace (inputs fed to
the core, effects it asked for, HTTP answers, world happenings), and for a violation
found at the end, the last steps that name its project; rerunning with
`--first SEED --seeds 1` reproduces it exactly. The last line is always
`simulation: N seeds, V violations`; the exit status is 1 when V > 0.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter

from tests.simulation import invariants
from tests.simulation.shell import run_seed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.simulation")
    parser.add_argument("--seeds", type=int, default=300, help="how many seeds to run")
    parser.add_argument("--first", type=int, default=1, help="the first seed")
    parser.add_argument("--quiet", action="store_true", help="no timing line")
    parser.add_argument("--trace", type=int, default=40, help="steps of trace to print")
    parser.add_argument("--show", action="store_true", help="print the trace of passing seeds too")
    parser.add_argument("--stats", action="store_true", help="what the seeds exercised")
    parser.add_argument(
        "--progress", type=int, default=0, help="a line on stderr every N seeds (long runs)"
    )
    parser.add_argument(
        "--strict-identity",
        action="store_true",
        help="(the default) check one session per project identity: moves relinked",
    )
    parser.add_argument(
        "--loose-identity",
        action="store_true",
        help="do not check one session per project identity (only one per path)",
    )
    args = parser.parse_args(argv)
    invariants.ONE_SESSION_PER_IDENTITY = not args.loose_identity
    violations = 0
    stats: Counter[str] = Counter()
    started = time.perf_counter()
    for done, seed in enumerate(range(args.first, args.first + args.seeds), 1):
        outcome = run_seed(seed, args.trace)
        stats.update(outcome.stats)
        if args.progress and done % args.progress == 0:
            spent = time.perf_counter() - started
            print(f"{done} seeds, {violations} violations, {spent:.0f}s", file=sys.stderr)
        if args.show and not outcome.violations:
            print(f"seed {seed}: no violations; last {len(outcome.trace)} steps:")
            print("\n".join(f"    {line}" for line in outcome.trace))
        if outcome.violations:
            violations += len(outcome.violations)
            print(f"seed {seed}: {len(outcome.violations)} violation(s)")
            for text in outcome.violations:
                print(f"  VIOLATION {text}")
            print(f"  last {len(outcome.trace)} steps:")
            for line in outcome.trace:
                print(f"    {line}")
            _print_histories(seed, outcome.violations)
            print(f"  rerun: python -m tests.simulation --seeds 1 --first {seed}")
            sys.stdout.flush()
    elapsed = time.perf_counter() - started
    if args.stats:
        for what, count in sorted(stats.items()):
            print(f"  {what}: {count}")
    if not args.quiet:
        print(f"({elapsed:.1f}s, {1000 * elapsed / max(args.seeds, 1):.1f} ms per seed)")
    print(f"simulation: {args.seeds} seeds, {violations} violations")
    return 1 if violations else 0


_AT_END = re.compile(r"^complete project #\d+ (/sim/.+?)(?: is | has |: )")
HISTORY = 20


def _print_histories(seed: int, violations: list[str]) -> None:
    """An end-of-run violation's last steps are idle checks; what happened to its
    project is earlier. The seed reruns identically, so rerun it with a full trace and
    show the last steps that name the project."""
    paths = [m.group(1) for v in violations if (m := _AT_END.match(v))]
    if not paths:
        return
    full = run_seed(seed, trace_len=10**7).trace
    for path in dict.fromkeys(paths):
        # Its own steps, and what the world did to a folder holding it (offline, moved).
        folders = [path[: i + 1].rstrip("/") + " " for i, c in enumerate(path) if c == "/"][2:]
        mine = [
            line
            for line in full
            if path in line or (" world " in line and any(f in line for f in folders))
        ][-HISTORY:]
        print(f"  last {len(mine)} steps naming {path}:")
        for line in mine:
            print(f"    {line}")


if __name__ == "__main__":
    sys.exit(main())
