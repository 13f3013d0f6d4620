"""Shared plumbing for the benchmarks: the machine, the emulator, the daemon, statistics.

Every benchmark talks only to 127.0.0.1: SessionDock is `tests.emulator.Emulator`
running in the benchmark's own process, so request arrival times and the bench's own
write times come from the same clock.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import TOKEN, clean_env
from tests.emulator import Emulator

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
PLOTS = REPO / "bench" / "plots"


# --- the machine --------------------------------------------------------------------------


def filesystem_of(path: Path) -> str:
    """The mount type under `path` (ext4, tmpfs, overlay...), read from /proc/mounts."""
    best, fstype = "", "unknown"
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                fields = line.split()
                point = fields[1]
                inside = str(path) == point or str(path).startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best):
                    best, fstype = point, fields[2]
    except OSError:
        pass
    return fstype


def machine(path: Path | None = None) -> dict[str, Any]:
    """What a reader needs to compare figures: cores, memory, kernel, file system."""
    import psutil

    where = path or RESULTS
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "os": platform.system(),
        "filesystem": filesystem_of(where.resolve()),
        "python": platform.python_version(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_line(info: dict[str, Any]) -> str:
    return (
        f"{info['cores']} cores ({info['cpu']}), {info['memory_gib']} GiB, "
        f"Linux {info['kernel']}, {info['filesystem']}, Python {info['python']}"
    )


# --- statistics ---------------------------------------------------------------------------


def median(values: Iterable[float]) -> float:
    data = list(values)
    return statistics.median(data) if data else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100), the plain definition a reader can check."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# --- arguments and results ----------------------------------------------------------------


def arguments(description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fewer runs, smaller workloads")
    parser.add_argument("--runs", type=int, help="override the number of runs")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    if extra:
        extra(parser)
    return parser.parse_args()


def save_result(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, default=str))
    return path


def scratch(prefix: str) -> Path:
    """A fresh directory under bench/results/tmp (same file system as the library)."""
    base = RESULTS / "tmp"
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# --- SessionDock, instrumented -----------------------------------------------------------


def _complete(path: Path) -> bool:
    """Does the project at `path` hold its final bytes, right now?

    The bench writes every project's final size into `expected`; a gzip set must also
    decompress to its end. Bundles are judged by their main data file.
    """
    try:
        data = path.read_bytes()
    except (IsADirectoryError, PermissionError):
        return True
    except OSError:
        return False
    if data[:2] == b"\x1f\x8b":
        try:
            gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return False
    return True


@dataclass
class Arrival:
    at: float
    path: str
    complete: bool


@dataclass
class CheckingEmulator(Emulator):
    """The test emulator, also judging at arrival whether each sent project is whole.

    `expected` maps projectPath -> final size in bytes; an item whose file is missing,
    shorter than that, or whose gzip stream ends early is counted as half-written.
    """

    expected: dict[str, int] = field(default_factory=dict)
    arrivals: list[Arrival] = field(default_factory=list)
    answered_at: list[float] = field(default_factory=list)

    def _import(self, body: dict[str, Any], done: bool) -> tuple[int, dict[str, Any]]:
        now = time.time()
        for item in body["items"]:
            path = str(item["projectPath"])
            self.arrivals.append(Arrival(now, path, self._whole(path)))
        answer = super()._import(body, done)
        self.answered_at.append(time.time())
        return answer

    def _whole(self, path: str) -> bool:
        want = self.expected.get(path)
        if want is None:
            return _complete(Path(path))
        try:
            size = os.stat(path).st_size
        except OSError:
            return False
        return size == want and _complete(Path(path))


def start_emulator() -> CheckingEmulator:
    return CheckingEmulator(token=TOKEN).start()  # type: ignore[return-value]


# --- the daemon ---------------------------------------------------------------------------


def write_config(
    where: Path,
    emulator: Emulator,
    folders: list[dict[str, Any]],
    **sections: dict[str, Any],
) -> Path:
    """A config as a user would write one, pointed at the emulator; defaults unless given."""
    token = where / "token"
    token.write_text(TOKEN + "\n")
    token.chmod(0o600)
    config: dict[str, Any] = {
        "sessiondock": {"base_url": emulator.base_url, "token_file": str(token)},
        "watch": folders,
        "state": {"path": str(where / "state.sqlite3")},
        "log": {"level": "info", "format": "json"},
    }
    for key, value in sections.items():
        config[key] = {**config.get(key, {}), **value}
    path = where / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


class Daemon:
    """`python -m watcher run` as a subprocess, its JSON log in a file."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        self._out = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "watcher", "run", "--config", str(config)],
            stdout=self._out,
            stderr=self._out,
            env=clean_env(),
            cwd=REPO,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def events(self, name: str) -> list[dict[str, Any]]:
        found = []
        for raw in self.log.read_text(errors="replace").splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if line.get("event") == name:
                found.append(line)
        return found

    def wait_for(self, name: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited {self.proc.returncode}: {self.tail()}")
            if self.events(name):
                return
            time.sleep(0.05)
        raise RuntimeError(f"no {name!r} in the daemon log after {timeout}s: {self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
        finally:
            self._out.close()


def peak_rss_mib(pid: int) -> float | None:
    """VmHWM: the process's peak resident set, kept by the kernel (Linux)."""
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def inotify_watches(pid: int) -> int:
    """inotify watches held by `pid`: one `inotify wd:` line per watch in its fdinfo."""
    count = 0
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        fds = list(fd_dir.iterdir())
    except OSError:
        return 0
    for fd in fds:
        try:
            if os.readlink(fd) != "anon_inode:inotify":
                continue
            text = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()
        except OSError:
            continue
        count += sum(1 for line in text.splitlines() if line.startswith("inotify wd:"))
    return count


def wait_quiet(
    count: Callable[[], int], quiet: float, timeout: float, poll: float = 0.05
) -> tuple[bool, float]:
    """Wait until `count()` has not grown for `quiet` seconds; (settled, waited)."""
    start = time.monotonic()
    last, changed = count(), time.monotonic()
    while time.monotonic() - start < timeout:
        time.sleep(poll)
        now_count = count()
        if now_count != last:
            last, changed = now_count, time.monotonic()
        elif time.monotonic() - changed >= quiet:
            return True, time.monotonic() - start
    return False, time.monotonic() - start


def recognised_extensions() -> dict[str, tuple[str, bool]]:
    """Extension -> (kind, is_bundle) for what the watcher recognises right now."""
    from watcher.daws import FORMATS

    return {ext: (daw.kind, daw.bundle) for daw in FORMATS for ext in daw.extensions}
