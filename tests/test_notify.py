"""sd_notify against real AF_UNIX datagram sockets, and the daemon as systemd runs it."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ConfigWriter, DaemonFactory, clean_env, wait_until, write_als
from tests.emulator import Emulator
from watcher import notify

pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no AF_UNIX sockets")


class Manager:
    """The service manager's end: a bound datagram socket collecting messages."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.sock.setblocking(False)
        self.messages: list[str] = []

    def receive(self) -> list[str]:
        while True:
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return self.messages

    def fields(self) -> list[str]:
        return [line for message in self.receive() for line in message.splitlines()]

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def path_manager() -> Iterator[Manager]:
    folder = tempfile.mkdtemp(prefix="sdn-")  # short: sun_path holds 108 bytes
    manager = Manager(os.path.join(folder, "notify"))
    yield manager
    manager.close()
    os.unlink(manager.address)
    os.rmdir(folder)


@pytest.fixture
def abstract_manager() -> Iterator[Manager]:
    if not sys.platform.startswith("linux"):
        pytest.skip("abstract sockets are Linux-only")
    manager = Manager(f"@sessiondock-watcher-test-{uuid.uuid4().hex}")
    yield manager
    manager.close()


def test_fields_arrive_as_one_datagram(
    path_manager: Manager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", path_manager.address)
    assert notify.notify("READY=1", "STATUS=watching 2 folders")
    assert wait_until(path_manager.receive) == ["READY=1\nSTATUS=watching 2 folders"]


def test_abstract_namespace_socket(
    abstract_manager: Manager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", abstract_manager.address)
    assert notify.notify("WATCHDOG=1")
    assert wait_until(abstract_manager.receive) == ["WATCHDOG=1"]


def test_without_a_manager_it_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify.notify("READY=1") is False
    monkeypatch.setenv("NOTIFY_SOCKET", "/nonexistent/notify.sock")
    assert notify.notify("READY=1") is False  # the manager went away: never an exception


def test_a_manager_that_stopped_reading_never_blocks_a_ping(
    path_manager: Manager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its queue fills; a ping then is dropped at once, never waited on: a blocking send
    hung the daemon's loop (seen when a test's manager stopped reading under load)."""
    monkeypatch.setenv("NOTIFY_SOCKET", path_manager.address)
    answers: list[bool] = []

    def ping_until_dropped() -> None:
        for _ in range(100_000):
            answers.append(notify.notify("WATCHDOG=1"))
            if not answers[-1]:
                return

    pinger = threading.Thread(target=ping_until_dropped, daemon=True)
    pinger.start()
    pinger.join(timeout=30)
    assert not pinger.is_alive(), "a ping blocked on a full queue"
    assert answers[-1] is False and all(answers[:-1])
    path_manager.receive()  # the manager reads again: pings go through
    assert notify.notify("WATCHDOG=1")


def test_watchdog_period_is_half_the_interval_for_this_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert notify.watchdog_period() is None
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    assert notify.watchdog_period() == 15.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert notify.watchdog_period() == 15.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert notify.watchdog_period() is None, "the pings belong to another process"


@pytest.mark.daemon
def test_daemon_tells_systemd_ready_alive_and_stopping(
    studio: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
    path_manager: Manager,
) -> None:
    env = clean_env(NOTIFY_SOCKET=path_manager.address, WATCHDOG_USEC="400000")
    proc = daemon(write_config([studio]), env=env)

    wait_until(lambda: "READY=1" in path_manager.fields(), what="READY=1")
    # READY=1 means the folders are watched: a project saved right now is seen.
    project = write_als(studio / "After Ready.als")
    emulator.wait_for_paths(1)
    assert emulator.imported_paths() == [str(project)]
    wait_until(
        lambda: path_manager.fields().count("WATCHDOG=1") >= 3, what="watchdog pings every 0.2s"
    )
    assert any(f.startswith("STATUS=") for f in path_manager.fields())
    assert "STOPPING=1" not in path_manager.fields()

    assert proc.stop() == 0
    fields = path_manager.fields()
    assert "STOPPING=1" in fields
    assert fields.index("READY=1") < fields.index("STOPPING=1")
