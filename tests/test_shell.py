"""The shell's own parts, on real files: what the core persisted comes back from SQLite
unchanged, a write that fails carries out nothing after it, and watchdog changes are
classified into the core's inputs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from watcher.bridge import classify_change, failure_of
from watcher.client import ApiError, NoToken, Rejected, Unauthorized, Unreachable
from watcher.config import parse_config
from watcher.core.effects import Log, Persist, Send, SendItem, Stat
from watcher.core.inputs import (
    DirectoryChanged,
    DirectoryGone,
    Input,
    PersistFailed,
    ProjectChanged,
    ProjectGone,
    Statted,
)
from watcher.core.policy import fingerprint
from watcher.core.records import ProjectRecord, Signature
from watcher.daws import Registry
from watcher.executor import Executor
from watcher.observer import Change
from watcher.state import State
from watcher.workers import Disk


def record(path: str, state: str = "pending") -> ProjectRecord:
    return ProjectRecord(
        path=path,
        root="/studio",
        kind="Ableton",
        title="Song",
        project_type="als",
        project_path=path,
        preview_path=None,
        generate_previews=True,
        signature=Signature(10, 20, 30),
        state=state,  # type: ignore[arg-type]
        attempts=2,
        queued_at=1.5,
        last_error="x",
        import_id="imp",
        imported_at=2.5,
    )


def test_what_the_core_persisted_comes_back_unchanged(tmp_path: Path) -> None:
    state = State(tmp_path / "state.sqlite3")
    a, b = record("/studio/a.als"), record("/studio/b.als", "in_flight")
    state.apply([Persist(upserts=(a, b), meta=(("last_error", {"message": "m"}),))])
    state.apply([Persist(deletes=("/studio/a.als",))])
    state.close()
    records, meta = State(tmp_path / "state.sqlite3").load()
    assert records == [b]
    assert meta["last_error"] == {"message": "m"}


def _executor(tmp_path: Path, answers: list[Input]) -> tuple[Executor, list[object]]:
    config = parse_config({"watch": [{"path": str(tmp_path)}]})
    registry = Registry.configured({})
    submitted: list[object] = []

    class Importer:
        def submit(self, job: object) -> None:
            submitted.append(job)

    executor = Executor(
        config=config,
        registry=registry,
        state=State(tmp_path / "state.sqlite3"),
        importer=Importer(),  # type: ignore[arg-type]
        disk=Disk(config, registry, answers.append),
        watchers=None,
        answer=answers.append,
    )
    return executor, submitted


def test_a_write_that_fails_carries_out_nothing_after_it(tmp_path: Path) -> None:
    answers: list[Input] = []
    executor, submitted = _executor(tmp_path, answers)
    executor.state.db.execute("PRAGMA busy_timeout = 50")
    other = sqlite3.connect(tmp_path / "state.sqlite3", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another program holds the database
    persist = Persist(upserts=(record("/studio/a.als", "in_flight"),))
    send = Send(1, "Ableton", True, (SendItem("/studio/a.als", "/studio/a.als", "a", "als", None),))
    executor.run([persist, send, Log("x")])
    assert submitted == []
    [failed] = answers
    assert isinstance(failed, PersistFailed)
    assert failed.persist == persist
    assert failed.dropped == (send, Log("x"))
    assert "lock" in failed.message and failed.advice
    other.execute("ROLLBACK")
    other.close()


def test_a_turn_writes_before_it_sends(tmp_path: Path) -> None:
    answers: list[Input] = []
    executor, submitted = _executor(tmp_path, answers)
    send = Send(1, "Ableton", True, (SendItem("/studio/a.als", "/studio/a.als", "a", "als", None),))
    executor.run([send, Persist(upserts=(record("/studio/a.als", "in_flight"),))])
    assert submitted == [send]
    records, _ = executor.state.load()
    assert [r.state for r in records] == ["in_flight"]


def test_a_stat_is_answered_at_once(tmp_path: Path) -> None:
    answers: list[Input] = []
    executor, _ = _executor(tmp_path, answers)
    (tmp_path / "a.als").write_bytes(b"x" * 7)
    executor.run([Stat(str(tmp_path / "a.als"), False), Stat(str(tmp_path / "b.als"), False)])
    first, second = answers
    assert isinstance(first, Statted) and isinstance(second, Statted)
    assert first.signature is not None and first.signature.size == 7
    assert second.signature is None


def test_changes_are_classified_into_the_core_s_inputs(tmp_path: Path) -> None:
    config = parse_config({"watch": [{"path": str(tmp_path)}]})
    registry = Registry.configured({})
    root = str(tmp_path)
    (tmp_path / "Song Project" / "Backup").mkdir(parents=True)
    (tmp_path / "Song Project" / "Song.als").write_bytes(b"")
    bundle = tmp_path / "Tune.logicx" / "Alternatives" / "000"
    bundle.mkdir(parents=True)

    def classify(path: Path, gone: bool = False, is_dir: bool = False) -> object:
        return classify_change(Change(path, gone, is_dir, 1.0), config.watch, registry)

    song = tmp_path / "Song Project" / "Song.als"
    assert classify(song) == ProjectChanged(root, str(song), False, 1.0)
    assert classify(song, gone=True) == ProjectGone(root, str(song), 1.0)
    assert classify(bundle / "ProjectData") == ProjectChanged(
        root, str(tmp_path / "Tune.logicx"), True, 1.0
    )
    assert classify(tmp_path / "Song Project" / "Backup" / "Song [2024].als") is None
    assert classify(tmp_path / "Song Project" / "Audio.wav") is None
    new = tmp_path / "Moved In"
    assert classify(new, is_dir=True) == DirectoryChanged(root, str(new), 1.0)
    assert classify(new, gone=True, is_dir=True) == DirectoryGone(root, str(new), 1.0)
    assert classify(tmp_path, gone=True, is_dir=True) == DirectoryGone(root, root, 1.0)
    assert classify(tmp_path.parent / "elsewhere.als") is None


def test_client_errors_become_failures_without_the_token() -> None:
    refused = failure_of(Unauthorized(401, "unauthorized", "no"), token="s3cret-token")
    assert refused.kind == "auth"
    assert refused.token_fingerprint == fingerprint("s3cret-token")
    assert "s3cret" not in repr(refused)
    assert failure_of(NoToken("gone")).token_fingerprint is None
    assert failure_of(Rejected(400, "invalid_json", "bad path")).message == "bad path"
    assert failure_of(ApiError(403, "forbidden", "x")).kind == "read_only"
    assert failure_of(ApiError(503, "busy", "x", retry_after=3)).retry_after == 3
    assert failure_of(Unreachable("down")).kind == "unreachable"


def test_a_non_utf8_path_comes_back_from_its_state_key_as_it_was() -> None:
    import os

    from watcher.names import path_key, path_of_key

    for raw in (b"/studio/caf\xe9.rpp", b"/a\\xe9/M\xfcller/x\\.rpp", b"/plain/Song.als"):
        path = os.fsdecode(raw)
        assert path_of_key(path_key(path)) == path
