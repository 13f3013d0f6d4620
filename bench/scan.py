"""1. Initial scan: `scan --dry-run` over the synthetic library versus `find`, same run.

Both walk the same warm tree (one untimed pass of each first); each timed run measures
`find ROOT` and then `python -m watcher scan --dry-run`, and the ratio is taken per run
so load from other processes hits both sides alike. The figure is the median ratio.
Besides the command's wall time (which includes interpreter start-up and imports), the
in-process time of the walk + classify + probe loop is reported, to separate the two.

    python -m bench.scan [--quick]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import (
    REPO,
    arguments,
    machine,
    median,
    remove,
    save_result,
    scratch,
    start_emulator,
    write_config,
)
from bench.library import build_library
from tests.conftest import clean_env

TARGET_RATIO = 2.0


def _timed(argv: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        argv, capture_output=True, text=True, check=True, cwd=REPO, env=clean_env()
    )
    return time.perf_counter() - started, done.stdout


def _in_process(config: Path) -> float:
    """The dry-run's own work, without interpreter start-up: run it in a child that
    times `dry_run` around the call."""
    code = (
        "import time, io, contextlib\n"
        "from pathlib import Path\n"
        "from watcher.config import load_config\n"
        "from watcher.cli import dry_run\n"
        f"config = load_config(Path({str(config)!r}))\n"
        "sink = io.StringIO()\n"
        "t = time.perf_counter()\n"
        "with contextlib.redirect_stdout(sink):\n"
        "    dry_run(config)\n"
        "print(time.perf_counter() - t)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    return float(out.stdout.strip().splitlines()[-1])


def _startup() -> float:
    """Interpreter + `watcher.cli` import, the fixed cost every command pays."""
    seconds, _ = _timed([sys.executable, "-c", "import watcher.cli"])
    return seconds


def run(quick: bool = False, runs: int | None = None) -> dict[str, Any]:
    library = build_library(2000)
    runs = runs or (3 if quick else 5)
    emulator = start_emulator()  # never contacted by --dry-run; the config needs a URL
    work = scratch("scan-")
    try:
        config = write_config(work, emulator, [{"path": str(library.root)}])
        find_argv = ["find", str(library.root)]
        scan_argv = [sys.executable, "-m", "watcher", "scan", "--dry-run", "--config", str(config)]
        _timed(find_argv)  # warm the dentry/inode caches for both
        _, output = _timed(scan_argv)
        found = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
        per_kind = Counter(item.get("kind", "?") for item in found)
        per_type = Counter(item.get("projectType", "?") for item in found)
        rows = []
        for _ in range(runs):
            find_s, find_out = _timed(find_argv)
            scan_s, _ = _timed(scan_argv)
            rows.append(
                {
                    "find_s": find_s,
                    "scan_s": scan_s,
                    "ratio": scan_s / find_s,
                    "in_process_s": _in_process(config),
                    "startup_s": _startup(),
                    "find_entries": find_out.count("\n"),
                }
            )
        ratio = median(r["ratio"] for r in rows)
        in_process = median(r["in_process_s"] for r in rows)
        find_s = median(r["find_s"] for r in rows)
        result = {
            "name": "scan",
            "machine": machine(library.root),
            "library": {
                "root": str(library.root),
                "projects": library.projects,
                "files": library.files,
                "dirs": library.dirs,
                "by_extension": library.by_ext,
            },
            "runs": rows,
            "projects_found": len(found),
            "found_by_kind": dict(per_kind),
            "found_by_type": dict(per_type),
            "median": {
                "find_s": find_s,
                "scan_s": median(r["scan_s"] for r in rows),
                "ratio": ratio,
                "in_process_s": in_process,
                "in_process_ratio": in_process / find_s,
                "startup_s": median(r["startup_s"] for r in rows),
            },
            "target": {"ratio_max": TARGET_RATIO},
            "met": ratio <= TARGET_RATIO,
        }
    finally:
        emulator.stop()
        remove(work)
    save_result("scan", result)
    return result


def report(result: dict[str, Any]) -> str:
    m = result["median"]
    return (
        f"scan: {result['projects_found']} projects found; find {m['find_s']:.3f}s, "
        f"scan --dry-run {m['scan_s']:.3f}s (ratio {m['ratio']:.2f}, target <= "
        f"{TARGET_RATIO}: {'met' if result['met'] else 'MISSED'}); in-process "
        f"{m['in_process_s']:.3f}s ({m['in_process_ratio']:.2f}x find), start-up "
        f"{m['startup_s']:.3f}s; by kind {result['found_by_kind']}"
    )


def main() -> None:
    args = arguments(__doc__ or "")
    print(report(run(args.quick, args.runs)))


if __name__ == "__main__":
    main()
