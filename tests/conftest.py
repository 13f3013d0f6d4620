"""Shared fixtures: the SessionDock emulator, studio folders, configs and the daemon.

Everything is real: folders on disk, watchdog observers, an HTTP server on 127.0.0.1,
and the daemon as a subprocess that gets real signals. Waits poll a condition with a
deadline; nothing sleeps for a fixed time to let events arrive.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
import yaml

from tests.emulator import Emulator

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO.parent / "shared" / "real-daw-samples"
TOKEN = "tok-" + "s3cr3t-" * 4  # long and distinctive, so a leak is easy to find


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The suite runs on two xdist workers (pyproject's `addopts`). The tests that run the
    daemon or mount a FUSE share wait on real time, and were written to run one at a
    time: they share one worker, in turn (`--dist loadgroup`), while the rest (the
    pure core, the simulator, ruff and mypy) run beside them. A FUSE share's test, run
    beside another daemon's, once missed its deadline."""
    for item in items:
        if item.get_closest_marker("daemon") or "fuse_share" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("real_time"))


def wait_until(condition: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
    """Poll until `condition()` is truthy and return it; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")


def als_bytes(name: str = "Set", gzipped: bool = True, padding: int = 0) -> bytes:
    """An Ableton Live set as Live writes it: gzip-compressed XML with an <Ableton> root."""
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Ableton MajorVersion="5" MinorVersion="11.0_11300" Creator="Ableton Live 11.3.10">'
        f'<LiveSet><Name Value="{name}"/>'
        f"<Padding>{'x' * padding}</Padding></LiveSet></Ableton>\n"
    ).encode()
    return gzip.compress(xml) if gzipped else xml


def write_als(path: Path, name: str | None = None, **kwargs: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(als_bytes(name or path.stem, **kwargs))
    return path


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    yield
    structlog.reset_defaults()


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator(token=TOKEN).start()
    yield emu
    emu.stop()


@pytest.fixture
def studio(tmp_path: Path) -> Path:
    """A watched folder, empty, on the local disk."""
    folder = tmp_path / "Projects"
    folder.mkdir()
    return folder


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


ConfigWriter = Callable[..., Path]


@pytest.fixture
def write_config(tmp_path: Path, emulator: Emulator, token_file: Path) -> ConfigWriter:
    """Write a config for the emulator; keyword sections override the fast defaults."""

    def write(
        folders: list[Path | dict[str, Any]], name: str = "config.yaml", **sections: Any
    ) -> Path:
        config: dict[str, Any] = {
            "sessiondock": {"base_url": emulator.base_url, "token_file": str(token_file)},
            "watch": [f if isinstance(f, dict) else {"path": str(f)} for f in folders],
            "debounce": {"quiet_seconds": 0.5, "max_wait_seconds": 10},
            "import": {"batch_size": 50, "batch_window_seconds": 0.3, "retry_max_seconds": 1},
            "scan": {"offline_check_seconds": 0.5, "polling_interval_seconds": 0.3},
            "state": {"path": str(tmp_path / "state.sqlite3")},
            "log": {"level": "debug", "format": "json"},
        }
        for key, value in sections.items():
            key = "import" if key == "import_" else key
            if isinstance(value, dict) and isinstance(config.get(key), dict):
                config[key] = {**config[key], **value}
            else:
                config[key] = value
        path = tmp_path / name
        path.write_text(yaml.safe_dump(config))
        return path

    return write


def clean_env(**extra: str) -> dict[str, str]:
    """The environment a user's shell would give, minus our variables and proxies."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SESSIONDOCK", "NOTIFY_SOCKET", "WATCHDOG_"))
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `python -m watcher ARGS` as a user would, capturing both streams."""
    return subprocess.run(
        [sys.executable, "-m", "watcher", *args],
        capture_output=True,
        text=True,
        env=env or clean_env(),
        timeout=timeout,
        cwd=REPO,
        check=False,
    )


class DaemonProcess:
    """`sessiondock-watcher run` as a subprocess, with its JSON log parsed as it grows."""

    def __init__(self, config: Path, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "watcher", "run", "--config", str(config)],
            stdout=self._log,
            stderr=self._log,
            env=env or clean_env(),
            cwd=REPO,
        )

    def lines(self) -> list[dict[str, Any]]:
        events = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            try:
                events.append(json.loads(raw))
            except ValueError:
                events.append({"event": "(not json)", "raw": raw})
        return events

    def events(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.lines() if e.get("event") == name]

    def wait_for(
        self, name: str, count: int = 1, timeout: float = 20.0, **match: Any
    ) -> list[dict[str, Any]]:
        def found() -> list[dict[str, Any]] | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited {self.proc.returncode}:\n{self.log_text()}")
            hits = [e for e in self.events(name) if all(e.get(k) == v for k, v in match.items())]
            return hits if len(hits) >= count else None

        try:
            return wait_until(found, timeout, what=f"{count}x log event {name} {match}")  # type: ignore[no-any-return]
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- daemon log ---\n{self.log_text()}") from None

    def wait_watching(self, timeout: float = 20.0) -> None:
        self.wait_for("watching", timeout=timeout)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")[-8000:]

    def send(self, signum: int) -> None:
        self.proc.send_signal(signum)

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """SIGSTOP the daemon and wait until every one of its threads has stopped: the
        signal is delivered asynchronously, and a thread still running (watchdog's
        reader, under load) would go on draining the very queue a test means to fill."""

        def stopped() -> bool:
            tasks = Path(f"/proc/{self.proc.pid}/task")
            states = []
            for task in tasks.iterdir():
                with contextlib.suppress(OSError):
                    states.append((task / "stat").read_text().rpartition(")")[2].split()[0])
            return bool(states) and all(state in ("T", "t") for state in states)

        self.send(signal.SIGSTOP)
        try:
            wait_until(stopped, 10, what="every thread of the daemon stopped")
            yield
        finally:
            self.send(signal.SIGCONT)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._log.close()
        return code

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self._log.close()


DaemonFactory = Callable[..., DaemonProcess]


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonFactory]:
    """Start daemons; any still running at the end of the test are stopped."""
    started: list[DaemonProcess] = []

    def start(config: Path, env: dict[str, str] | None = None) -> DaemonProcess:
        proc = DaemonProcess(config, tmp_path / f"daemon-{len(started)}.log", env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.proc.poll() is None:
            proc.stop()
        log = proc.log_path.read_text(errors="replace")
        assert TOKEN not in log, "the bearer token leaked into the daemon's log"
        assert "Traceback" not in log, f"a traceback reached the log:\n{log[-4000:]}"
