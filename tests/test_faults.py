"""Nothing lost: every fault the issue lists, against the real daemon and the emulator.

Each test asserts exactly what reached SessionDock: every project once, nothing lost,
nothing sent twice where SessionDock answered.
"""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import (
    TOKEN,
    ConfigWriter,
    DaemonFactory,
    DaemonProcess,
    cli,
    wait_until,
    write_als,
)
from tests.emulator import Emulator
from watcher.core.effects import Persist
from watcher.core.records import ProjectRecord, Signature
from watcher.state import State

pytestmark = pytest.mark.daemon


def test_sessiondock_down_at_start_then_coming_up(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    emulator.stop()
    proc = daemon(write_config([studio]))
    proc.wait_watching()
    project = write_als(studio / "Offline Song.als")
    proc.wait_for("project_queued")
    proc.wait_for("sending_paused")
    emulator.start()
    emulator.wait_for_paths(1, timeout=20)
    proc.wait_for("sending_resumed")
    assert proc.stop() == 0
    assert emulator.imported_paths() == [str(project)]
    paused = proc.events("sending_paused")
    assert len(paused) == 1, "one log line per state change, not one per retry"
    assert "start SessionDock" in paused[0]["advice"]


def test_kill9_while_pending_then_restart(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    emulator.stop()
    config = write_config([studio])
    first = daemon(config)
    first.wait_watching()
    projects = [write_als(studio / f"Pending {n}.als") for n in range(3)]
    first.wait_for("project_queued", count=3)
    first.kill9()

    emulator.start()
    second = daemon(config)
    emulator.wait_for_paths(3)
    second.wait_for("import_answered")
    assert second.stop() == 0
    assert sorted(emulator.imported_paths()) == sorted(map(str, projects))


def _request_held_open(
    emulator: Emulator, daemon: DaemonFactory, config: Path, project: Path
) -> DaemonProcess:
    """Start a daemon and save `project`; SessionDock holds the import request open."""
    emulator.faults = ["hang"]
    emulator.hang_seconds = 60
    proc = daemon(config)
    proc.wait_watching()
    write_als(project)
    emulator.wait_for(lambda: len(emulator.imports) == 1)
    return proc


def test_kill9_while_a_request_is_in_flight(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    config = write_config([studio])
    project = studio / "In Flight.als"
    _request_held_open(emulator, daemon, config, project).kill9()
    emulator.release_hung()  # SessionDock finishes the import the dead daemon asked for
    emulator.wait_for(lambda: emulator.imports[0].status == 202)

    second = daemon(config)
    recovered = second.wait_for("in_flight_recovered")[0]
    assert recovered["already_in_library"] == 1 and recovered["to_resend"] == 0
    assert second.stop() == 0
    assert emulator.imported_paths() == [str(project)], "SessionDock had it: not sent again"


def test_kill9_in_flight_before_sessiondock_took_it_resends(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    config = write_config([studio])
    project = studio / "Lost Request.als"
    _request_held_open(emulator, daemon, config, project).kill9()
    emulator.stop()  # SessionDock quit before answering: the request is lost
    emulator.imports.clear()
    emulator.start()

    second = daemon(config)
    emulator.wait_for_paths(1)
    assert second.wait_for("in_flight_recovered")[0]["to_resend"] == 1
    assert second.stop() == 0
    assert emulator.imported_paths() == [str(project)]


def test_catch_up_after_downtime_without_a_reimport_flood(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    config = write_config([studio])
    first = daemon(config)
    first.wait_watching()
    kept = write_als(studio / "Kept.als")
    changed = write_als(studio / "Changed.als")
    emulator.wait_for_paths(2)
    first.wait_for("import_answered", count=len(emulator.accepted()))
    assert first.stop() == 0

    new = write_als(studio / "Made While Stopped" / "New.als")
    write_als(changed, padding=100)  # saved again while the daemon was down
    before = len(emulator.accepted())
    second = daemon(config)
    emulator.wait_for_paths(4)
    second.wait_for("import_answered", count=len(emulator.accepted()) - before)
    assert second.stop() == 0
    paths = emulator.imported_paths()
    assert sorted(paths[2:]) == sorted([str(new), str(changed)])
    assert paths.count(str(kept)) == 1


def test_wrong_token_fixed_by_rewriting_the_token_file(
    studio: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
    token_file: Path,
) -> None:
    real = token_file.read_text()
    token_file.write_text("an-old-regenerated-token\n")
    proc = daemon(write_config([studio]))
    proc.wait_watching()
    project = write_als(studio / "Token.als")
    paused = proc.wait_for("sending_paused", reason="token rejected")[0]
    assert "regenerate it in SessionDock" in paused["advice"] and "token_file" in paused["advice"]
    assert emulator.imported_paths() == []

    token_file.write_text(real)
    emulator.wait_for_paths(1)
    proc.wait_for("token_changed")
    assert proc.stop() == 0
    assert emulator.imported_paths() == [str(project)]
    assert "an-old-regenerated-token" not in proc.log_path.read_text()


def test_token_file_deleted_while_running_pauses_then_resumes(
    studio: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
    token_file: Path,
) -> None:
    proc = daemon(write_config([studio]))
    proc.wait_watching()
    token_file.unlink()
    project = write_als(studio / "No Token.als")
    paused = proc.wait_for("sending_paused")[0]
    assert paused["reason"] == "token rejected" and "token_file" in paused["advice"]
    token_file.write_text(TOKEN)
    emulator.wait_for_paths(1)
    assert proc.stop() == 0
    assert emulator.imported_paths() == [str(project)]


def test_read_only_until_full_automation_is_enabled(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    emulator.effective_mode = "read-only"
    proc = daemon(write_config([studio]))
    proc.wait_watching()
    project = write_als(studio / "Read Only.als")
    paused = proc.wait_for("sending_paused", reason="read-only")[0]
    assert "enable Full Automation" in paused["advice"]
    calls = emulator.health_calls
    emulator.wait_for(lambda: emulator.health_calls > calls, timeout=15)  # it polls /health

    emulator.effective_mode = None
    emulator.wait_for_paths(1, timeout=20)
    assert proc.stop() == 0
    assert emulator.imported_paths() == [str(project)]
    assert len(proc.events("sending_paused")) == 1


def test_a_run_of_failures_before_success(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    emulator.faults = [500, 503, "drop", "garbage", 501]
    emulator.retry_after = 0.2
    proc = daemon(write_config([studio]))
    proc.wait_watching()
    project = write_als(studio / "Stubborn.als")
    emulator.wait_for_paths(1, timeout=30)
    proc.wait_for("import_answered")
    assert proc.stop() == 0
    assert [r.status for r in emulator.imports] == [500, 503, -1, 200, 501, 202]
    assert emulator.imported_paths() == [str(project)]
    assert len(proc.events("sending_paused")) == 1
    assert len(proc.events("sending_resumed")) == 1


def test_one_poisoned_item_in_a_batch_of_seven(
    studio: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
    tmp_path: Path,
) -> None:
    staging = tmp_path / "staging"
    projects = [write_als(staging / f"Track {n}.als") for n in range(7)]
    poisoned = studio / "Track 3.als"
    emulator.reject_paths = {str(poisoned)}
    config = write_config([studio], import_={"batch_window_seconds": 1})
    proc = daemon(config)
    proc.wait_watching()
    for path in projects:
        path.rename(studio / path.name)

    rejected = proc.wait_for("project_rejected")[0]
    assert rejected["path"] == str(poisoned) and "not a project" in rejected["message"]
    emulator.wait_for_paths(6)
    assert sorted(emulator.imported_paths()) == sorted(
        str(studio / p.name) for p in projects if p.name != poisoned.name
    )

    status = json.loads(cli("status", "--json", "--config", str(config)).stdout)
    assert status["counts"]["rejected"] == 1 and status["counts"]["imported"] == 6
    assert status["rejected"][0]["path"] == str(poisoned)

    # Rejected projects are tried again only when they change.
    emulator.reject_paths = set()
    write_als(poisoned, padding=50)
    emulator.wait_for_paths(7)
    assert proc.stop() == 0
    assert emulator.imported_paths().count(str(poisoned)) == 1


def test_done_false_is_delivered_and_not_sent_again(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    emulator.faults = ["done-false"]
    proc = daemon(write_config([studio]))
    proc.wait_watching()
    project = write_als(studio / "Background.als")
    line = proc.wait_for("import_answered")[0]
    assert line["done"] is False and line["accepted"] == 1
    assert proc.stop() == 0
    assert emulator.imported_paths() == [str(project)]


def test_skipped_items_count_as_delivered(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    proc = daemon(write_config([studio]))
    proc.wait_for("library_adopted")  # a library known at the first start is not resent
    project = studio / "Already There.als"
    emulator.library.add(str(project))
    write_als(project)
    line = proc.wait_for("import_answered")[0]
    assert line["skipped"] == 1 and line["completed"] == 0
    assert proc.stop() == 0
    assert emulator.imported_paths() == [str(project)]


def test_watched_folder_created_only_after_start(
    tmp_path: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    later = tmp_path / "Drive" / "Projects"
    proc = daemon(write_config([later]))
    proc.wait_watching()
    offline = proc.wait_for("folder_offline")[0]
    assert offline["folder"] == str(later)
    later.mkdir(parents=True)
    proc.wait_for("folder_online")
    proc.wait_for("folder_watched", folder=str(later))
    project = write_als(later / "Plugged In.als")
    emulator.wait_for_paths(1)
    assert proc.stop() == 0
    assert emulator.imported_paths() == [str(project)]


def test_folder_removed_and_restored_while_running(
    tmp_path: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    drive = tmp_path / "Drive"
    folder = drive / "Projects"
    first = write_als(folder / "Before.als")
    config = write_config([folder])
    proc = daemon(config)
    emulator.wait_for_paths(1)

    drive.rename(tmp_path / "Unplugged")  # the drive goes away, projects and all
    proc.wait_for("folder_offline", folder=str(folder))
    status = json.loads(cli("status", "--json", "--config", str(config)).stdout)
    assert status["folders"][str(folder)]["mode"] == "offline"
    assert status["counts"]["imported"] == 1, "an offline folder's projects are not deleted"

    (tmp_path / "Unplugged").rename(drive)
    write_als(folder / "While Away.als")  # lands as the drive comes back
    proc.wait_for("folder_online")
    emulator.wait_for_paths(2)
    proc.wait_for("import_answered", count=len(emulator.accepted()))
    assert proc.stop() == 0
    assert sorted(emulator.imported_paths()) == sorted([str(first), str(folder / "While Away.als")])


def test_sighup_adds_a_folder_without_losing_pending_work(
    tmp_path: Path,
    studio: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
) -> None:
    emulator.stop()  # keep the first project pending across the reload
    config = write_config([studio])
    proc = daemon(config)
    proc.wait_watching()
    pending = write_als(studio / "Pending.als")
    proc.wait_for("project_queued")

    second = tmp_path / "Second"
    second.mkdir()
    data = yaml.safe_load(config.read_text())
    data["watch"].append({"path": str(second)})
    config.write_text(yaml.safe_dump(data))
    proc.send(signal.SIGHUP)
    proc.wait_for("config_reloaded")
    added = write_als(second / "Added.als")
    emulator.start()
    emulator.wait_for_paths(2)
    assert proc.stop() == 0
    assert sorted(emulator.imported_paths()) == sorted([str(pending), str(added)])


def test_sighup_with_a_broken_config_keeps_running(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    config = write_config([studio])
    proc = daemon(config)
    proc.wait_watching()
    config.write_text("watch: [\n")
    proc.send(signal.SIGHUP)
    failed = proc.wait_for("reload_failed")[0]
    assert "YAML syntax error" in failed["error"]
    project = write_als(studio / "Still Watching.als")
    emulator.wait_for_paths(1)
    assert proc.stop() == 0
    assert emulator.imported_paths() == [str(project)]


def test_sigterm_during_an_outage_keeps_the_rest_for_next_time(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    config = write_config([studio])
    project = studio / "Stuck.als"
    proc = _request_held_open(emulator, daemon, config, project)
    started = time.monotonic()
    assert proc.stop() == 0
    assert time.monotonic() - started < 8, "a hung request must not hold up the stop"

    emulator.stop()
    emulator.imports.clear()
    emulator.start()
    again = daemon(config)
    emulator.wait_for_paths(1)
    assert again.stop() == 0
    assert emulator.imported_paths() == [str(project)]


def test_status_shows_the_truth(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    config = write_config([studio])
    assert cli("status", "--config", str(config)).returncode == 3  # no state yet
    emulator.stop()
    proc = daemon(config)
    proc.wait_watching()
    write_als(studio / "Waiting.als")
    proc.wait_for("project_queued")

    def report() -> dict[str, object] | None:
        data: dict[str, object] = json.loads(
            cli("status", "--json", "--config", str(config)).stdout
        )
        return data if data.get("last_error") else None

    status = wait_until(report, what="status with the last error")
    assert status["running"] is True
    assert status["counts"]["pending"] + status["counts"]["in_flight"] == 1
    assert status["oldest_pending"]["path"] == str(studio / "Waiting.als")
    assert "start SessionDock" in status["last_error"]["advice"]
    assert status["folders"] == {str(studio): {"mode": "native", "note": "local file system"}}

    human = cli("status", "--config", str(config))
    assert human.returncode == 0
    waiting = re.search(r"(\d+) pending, (\d+) in flight", human.stdout)
    assert waiting and int(waiting[1]) + int(waiting[2]) == 1, human.stdout
    assert "start SessionDock" in human.stdout
    assert proc.stop() == 0
    stopped = cli("status", "--config", str(config))
    assert stopped.returncode == 3 and "not running" in stopped.stdout


def test_status_counts_a_project_in_a_request_as_waiting(
    tmp_path: Path, write_config: ConfigWriter
) -> None:
    """The cause of a flake: while SessionDock is down each retry holds the row in flight
    for one attempt, and `status` read at that moment showed no oldest waiting project."""
    config = write_config([tmp_path])
    project = ProjectRecord(
        path=str(tmp_path / "Mid Attempt.als"),
        root=str(tmp_path),
        kind="Ableton",
        title="Mid Attempt",
        project_type="als",
        project_path=str(tmp_path / "Mid Attempt.als"),
        preview_path=None,
        generate_previews=True,
        signature=Signature(10, 1, 1),
        state="in_flight",
        attempts=1,
        queued_at=time.time(),
    )
    state = State(tmp_path / "state.sqlite3")
    state.apply([Persist(upserts=(project,))])
    state.close()
    status = json.loads(cli("status", "--json", "--config", str(config)).stdout)
    assert status["counts"]["in_flight"] == 1
    assert status["oldest_pending"]["path"] == str(project.path)


def test_lost_events_trigger_a_reconciliation(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    """Freeze the daemon, overflow the kernel's inotify queue, then save a project last:
    its events are dropped by the kernel, so only the reconciliation can find it."""
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    if limit > 50_000:
        pytest.skip(f"fs.inotify.max_queued_events is {limit}: too large to overflow quickly")
    proc = daemon(write_config([studio]))
    proc.wait_for("walked")
    # "watching" is logged once the watch is asked for; watchdog sets it up on a thread
    # of its own. A first save made after the first walk can only be found by its event,
    # so its import proves the kernel watch is live: stopped before that, the daemon had
    # no queue to overflow (seen under load).
    first = write_als(studio / "Before The Flood.als")
    emulator.wait_for_paths(1, timeout=30)
    with proc.frozen():
        # Each new file queues at least two events (created, closed): twice the limit.
        for n in range(limit + 100):
            (studio / f"noise-{n}.txt").write_bytes(b"")
        project = write_als(studio / "After The Flood.als")
    lost = proc.wait_for("events_lost", timeout=30)[0]
    assert "overflow" in lost["detail"].lower()
    emulator.wait_for_paths(2, timeout=30)
    assert proc.stop() == 0
    assert sorted(emulator.imported_paths()) == sorted([str(first), str(project)])
