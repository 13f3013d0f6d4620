"""`scan --dry-run` shows what would be relinked (issue 12, item 9), by the daemon's rules.

Run as a user runs it, against the emulator: the moved projects are one line each
(`relinkFrom`, the new `projectPath`, the session id once known, and the keys of an
import line) and are not listed as imports; a copy beside its original and a new project are imports; nothing reaches
SessionDock and the state database is not written. A real `scan` then does exactly
what the dry run said, and `status` counts the relinks.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from tests.conftest import ConfigWriter, cli, write_als
from tests.emulator import Emulator


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_dry_run_lists_relinks_as_the_scan_then_does_them(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, tmp_path: Path
) -> None:
    for n in range(3):
        write_als(studio / "Client" / f"Song {n}.als", name=f"Song {n}")
    write_als(studio / "Other.als", name="Other")
    config = write_config([studio])
    assert cli("scan", "--config", str(config)).returncode == 0
    assert len(emulator.library) == 4

    (studio / "Client").rename(studio / "Client (done)")
    shutil.copy2(studio / "Other.als", studio / "Other copy.als")  # a copy: new
    write_als(studio / "Fresh.als", name="Fresh")
    database = tmp_path / "state.sqlite3"
    before, requests = _digest(database), emulator.requests
    result = cli("scan", "--dry-run", "--config", str(config))
    assert result.returncode == 0, result.stderr
    lines = _lines(result.stdout)
    relinks = sorted(
        (str(x["relinkFrom"]), str(x["projectPath"])) for x in lines if "relinkFrom" in x
    )
    assert relinks == [
        (str(studio / "Client" / f"Song {n}.als"), str(studio / "Client (done)" / f"Song {n}.als"))
        for n in range(3)
    ]
    imports = sorted(str(x["projectPath"]) for x in lines if "relinkFrom" not in x)
    assert imports == [str(studio / "Fresh.als"), str(studio / "Other copy.als")]
    assert all(x["title"] for x in lines)
    # every line carries the contract's keys, relinks too: a reader of the contract's
    # import lines does not trip over them
    assert all(x["kind"] == "Ableton" and x["projectType"] for x in lines)
    assert emulator.requests == requests, "nothing sent, not even a listing"
    assert _digest(database) == before, "nothing written"

    assert cli("scan", "--config", str(config)).returncode == 0
    paths = sorted(s["projectPath"] for s in emulator.library.all())
    assert paths == sorted([*(new for _, new in relinks), *imports, str(studio / "Other.als")])
    assert len(emulator.library.patches) == 3 and len(emulator.imported_paths()) == 6
    status = json.loads(cli("status", "--json", "--config", str(config)).stdout)
    assert status["relinked"] == 3

    # moved again: the session ids are known now, and the dry run shows them
    ids = {s["projectPath"]: s["id"] for s in emulator.library.all()}
    (studio / "Client (done)").rename(studio / "Archive")
    lines = _lines(cli("scan", "--dry-run", "--config", str(config)).stdout)
    assert sorted(str(x["sessionId"]) for x in lines) == sorted(
        ids[str(studio / "Client (done)" / f"Song {n}.als")] for n in range(3)
    )
