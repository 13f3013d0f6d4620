"""6. Scale (issue 13): change detection whose cost follows change, not library size.

Parts, each also alone with `--only NAME`:
- `scan`: `scan --dry-run` vs `find` (wall time, peak RSS) on the 2,000-project library
  and on the 20,000-project, ~1,000,000-file one.
- `big`: the daemon on the 20,000-project library, natively and with `polling: true`
  at the default interval: initial import, then idle CPU/RSS/inotify watches over
  `--seconds`, then single saves (save -> import request latency).
- `poll2k`: the same, polling only, on the 2,000-project (~10,000-folder) library.
- `native2k`: the 2,000-project library watched natively with verification on (idle).
- `fuse`: the 2,000-project library behind a bindfs mount, no `polling:`, default
  settings: saves written to the backing folder, latency until each is imported.

Libraries are built once under `--libraries` (default /work/bench-lib, else bench/results).
Saves use quiet_seconds 1 s except in `fuse`, which runs the shipped defaults.

    python -m bench.scale [--only big] [--seconds 60] [--saves 20] [--code DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import yaml

from bench.burst import recognised_kinds
from bench.common import (
    REPO,
    inotify_watches,
    machine,
    median,
    peak_rss_mib,
    percentile,
    remove,
    save_result,
    scratch,
    start_emulator,
    wait_quiet,
)
from bench.library import build_library, write_project
from tests.conftest import TOKEN, clean_env

SLICE = 10.0


def _library(projects: int, where: Path) -> Any:
    return build_library(projects, root=where / f"library-{projects}")


def _run_rusage(argv: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a child. The RSS comes from GNU time where
    it is installed: a forked child's own ru_maxrss counts the parent's pages it
    inherited before exec (36 MiB of this Python process even for `find`)."""
    measure = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    with tempfile.NamedTemporaryFile("r") as report:
        prefix = [measure, "-f", "%M", "-o", report.name] if measure else []
        started = time.perf_counter()
        done = subprocess.run(
            [*prefix, *argv], stdout=subprocess.DEVNULL, cwd=cwd, env=clean_env(), check=False
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"{argv} exited {done.returncode}")
        text = report.read().strip().splitlines()
    kib = float(text[-1]) if measure and text else float("nan")
    return wall, kib / 1024


def scan(root: Path, runs: int, code: Path) -> dict[str, Any]:
    work = scratch("scale-scan-")
    config = work / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "sessiondock": {"base_url": "http://127.0.0.1:9/api/v1", "token": TOKEN},
                "watch": [{"path": str(root)}],
                "state": {"path": str(work / "state.sqlite3")},
            }
        )
    )
    try:
        dry = [sys.executable, "-m", "watcher", "scan", "--dry-run", "--config", str(config)]
        _run_rusage(["find", str(root)], code)  # warm the cache, untimed
        _run_rusage(dry, code)
        rows = []
        for _ in range(runs):
            find_s, find_mib = _run_rusage(["find", str(root)], code)
            scan_s, scan_mib = _run_rusage(dry, code)
            rows.append((find_s, scan_s, find_mib, scan_mib))
        start_s, _ = _run_rusage([sys.executable, "-c", "pass"], code)
        import_s, _ = _run_rusage(
            [sys.executable, "-c", "import watcher.cli, watcher.scanner"], code
        )
        return {
            "root": str(root),
            "find_s": median(r[0] for r in rows),
            "scan_s": median(r[1] for r in rows),
            "ratio": median(r[1] / r[0] for r in rows),
            "ratios": [r[1] / r[0] for r in rows],
            "find_rss_mib": median(r[2] for r in rows),
            "scan_rss_mib": median(r[3] for r in rows),
            "python_start_s": start_s,
            "python_start_and_imports_s": import_s,
        }
    finally:
        remove(work)


def _config(work: Path, emulator: Any, watch: dict[str, Any], quiet: float | None) -> Path:
    token = work / "token"
    token.write_text(TOKEN + "\n")
    token.chmod(0o600)
    config: dict[str, Any] = {
        "sessiondock": {"base_url": emulator.base_url, "token_file": str(token)},
        "watch": [watch],
        "state": {"path": str(work / "state.sqlite3")},
        "log": {"level": "info", "format": "json"},
    }
    if quiet is not None:
        config["debounce"] = {"quiet_seconds": quiet, "max_wait_seconds": 120}
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def session(
    root: Path,
    *,
    polling: bool,
    seconds: float,
    saves: int,
    quiet: float | None,
    code: Path,
    write_root: Path | None = None,
    spacing: float = 4.0,
    import_timeout: float = 1800.0,
    expected: int = 0,
) -> dict[str, Any]:
    """One daemon: initial import, idle window, then `saves` single saves."""
    emulator = start_emulator()
    work = scratch("scale-")
    saves_dir = f"Saves {os.getpid()}"
    log = work / "daemon.log"
    out = open(log, "ab")  # noqa: SIM115 - closed below
    config = _config(work, emulator, {"path": str(root), "polling": polling}, quiet)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "run", "--config", str(config)],
        stdout=out, stderr=out, env=clean_env(), cwd=code,
    )  # fmt: skip
    try:
        # Every project first (a slow start is not "quiet"), then 10 s without arrivals.
        # A project the daemon skips (a library built before a generator fix holds
        # LMMS sets the content check rightly calls truncated) counts as dealt with.
        deadline = time.monotonic() + import_timeout
        skipped = _Skipped(log)
        while len({a.path for a in list(emulator.arrivals)}) + skipped.count() < expected:
            if time.monotonic() > deadline or proc.poll() is not None:
                break
            time.sleep(0.5)
        settled, _ = wait_quiet(lambda: len(emulator.arrivals), 10.0, import_timeout)
        initial = time.monotonic() - started - 10.0
        ps = psutil.Process(proc.pid)
        cpu0 = last = sum(ps.cpu_times()[:2])
        t0 = time.monotonic()
        slices = []
        while time.monotonic() - t0 < seconds - 1e-3:
            time.sleep(min(SLICE, seconds - (time.monotonic() - t0)))
            now = sum(ps.cpu_times()[:2])
            slices.append(now - last)
            last = now
        elapsed = time.monotonic() - t0
        idle = {
            "seconds": elapsed,
            "cpu_seconds": last - cpu0,
            "cpu_percent": 100 * (last - cpu0) / elapsed,
            "slices_percent": [100 * s / SLICE for s in slices],
            "rss_mib": ps.memory_info().rss / 2**20,
            "peak_rss_mib": peak_rss_mib(proc.pid),
            "inotify_watches": inotify_watches(proc.pid),
            "threads": ps.num_threads(),
        }
        kinds = recognised_kinds(files_only=True)
        written: dict[str, float] = {}
        base = (write_root or root) / saves_dir
        for index in range(saves):
            unit = write_project(base, index, kinds[index % len(kinds)])
            shown = root / saves_dir / unit.relative_to(base)
            written[str(shown)] = time.time()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and str(shown) not in {
                a.path for a in list(emulator.arrivals)
            }:
                time.sleep(0.02)
            # a random phase, so saves do not lock onto the polling interval
            pause = spacing + random.uniform(0.0, 2.0) - (time.time() - written[str(shown)])
            time.sleep(max(0.0, pause))
        first: dict[str, float] = {}
        for arrival in emulator.arrivals:
            first.setdefault(arrival.path, arrival.at)
        delays = [first[p] - t for p, t in written.items() if p in first]
        return {
            "mode": "polling" if polling else "native",
            "initial_import_s": initial,
            "initial_import_settled": settled,
            "projects_imported": len({a.path for a in emulator.arrivals}),
            "idle": idle,
            "saves": saves,
            "received": len(delays),
            "delays": delays,
            "p50": percentile(delays, 50) if delays else None,
            "p99": percentile(delays, 99) if delays else None,
            "max": max(delays) if delays else None,
            "log_events": _events(log),
        }
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        out.close()
        emulator.stop()
        shutil.rmtree((write_root or root) / saves_dir, ignore_errors=True)
        remove(work)


class _Skipped:
    """`project_skipped` lines in a daemon's log so far, read as the log grows."""

    def __init__(self, log: Path) -> None:
        self._log, self._offset, self._count, self._rest = log, 0, 0, b""

    def count(self) -> int:
        with open(self._log, "rb") as stream:
            stream.seek(self._offset)
            data = self._rest + stream.read()
            self._offset = stream.tell()
        lines = data.split(b"\n")
        self._rest = lines.pop()
        self._count += sum(1 for line in lines if b'"project_skipped"' in line)
        return self._count


def _events(log: Path) -> dict[str, Any]:
    """The few log lines that explain a run: mode switches and missed events."""
    import json

    wanted = {"folder_watched", "native_events_missed", "change_check_failed"}
    found: list[dict[str, Any]] = []
    for raw in log.read_text(errors="replace").splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if line.get("event") in wanted:
            found.append({k: line.get(k) for k in ("event", "mode", "why", "times", "timestamp")})
    return {"lines": found}


def fuse(root: Path, saves: int, code: Path, seconds: float, expected: int) -> dict[str, Any]:
    if shutil.which("bindfs") is None or not Path("/dev/fuse").exists():
        return {"skipped": "bindfs or /dev/fuse unavailable"}
    mount = scratch("scale-fuse-")
    subprocess.run(["bindfs", "--no-allow-other", str(root), str(mount)], check=True)
    try:
        result = session(
            mount, polling=False, seconds=seconds, saves=saves, quiet=None, code=code,
            write_root=root, spacing=2.0, expected=expected,
        )  # fmt: skip
        result["mount"] = "bindfs (fuse)"
        return result
    finally:
        subprocess.run(["fusermount", "-u", str(mount)], check=False)
        remove(mount)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else "")
    parser.add_argument("--only", choices=["scan", "big", "poll2k", "native2k", "fuse"])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--code", type=Path, default=REPO, help="the checkout to run")
    parser.add_argument("--libraries", type=Path, default=Path("/work/bench-lib"))
    parser.add_argument("--modes", default="native,polling", help="for big")
    parser.add_argument("--tag", default="", help="suffix of the result file name")
    args = parser.parse_args()
    where = args.libraries if args.libraries.parent.is_dir() else REPO / "bench" / "results"
    where.mkdir(parents=True, exist_ok=True)
    small: Any = _library(2000, where)
    big: Any = None
    result: dict[str, Any] = {
        "name": "scale",
        "machine": machine(small.root),
        "code": str(args.code),
    }
    parts = [args.only] if args.only else ["scan", "poll2k", "native2k", "fuse", "big"]
    for part in parts:
        print(f"--- {part}", flush=True)
        if part in ("scan", "big"):
            big = big or _library(20000, where)
            result["library_big"] = {"projects": big.projects, "files": big.files, "dirs": big.dirs}
        if part == "scan":
            result["scan"] = {
                "small": scan(small.root, args.runs, args.code),
                "big": scan(big.root, args.runs, args.code),
            }
        elif part == "big":
            result["big"] = {
                mode: session(
                    big.root,
                    polling=mode == "polling",
                    seconds=args.seconds,
                    saves=args.saves,
                    quiet=1.0,
                    code=args.code,
                    expected=big.projects,
                )
                for mode in args.modes.split(",")
            }
        elif part == "poll2k":
            result["poll2k"] = session(
                small.root, polling=True, seconds=args.seconds, saves=args.saves,
                quiet=1.0, code=args.code, expected=small.projects,
            )  # fmt: skip
        elif part == "native2k":
            result["native2k"] = session(
                small.root, polling=False, seconds=max(args.seconds, 90.0), saves=0,
                quiet=1.0, code=args.code, expected=small.projects,
            )  # fmt: skip
        elif part == "fuse":
            result["fuse"] = fuse(small.root, min(args.saves, 6), args.code, 20.0, small.projects)
        print(_brief(result.get(part)), flush=True)
    save_result(f"scale{args.tag}{'-' + args.only if args.only else ''}", result)


def _brief(part: Any) -> str:
    """One readable summary of a part's result, without the raw delay lists."""
    if not isinstance(part, dict):
        return str(part)
    skip = {"delays", "slices_percent", "ratios"}
    return yaml.safe_dump(
        {k: _brief_value(v, skip) for k, v in part.items() if k not in skip}, width=100
    )


def _brief_value(value: Any, skip: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _brief_value(v, skip) for k, v in value.items() if k not in skip}
    if isinstance(value, float):
        return round(value, 3)
    return value


if __name__ == "__main__":
    main()
