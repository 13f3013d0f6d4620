"""7. Relinks (issue 12): a renamed client folder, and a first run against a full library.

Both with the real daemon (a subprocess, the shipped defaults) and the emulator.

- rename: a client folder of 1,000 projects, imported, is renamed. Measured: requests
  by route after the rename, seconds from the rename until every session points at its
  new path, imports sent (must be 0) and whether every session kept its id.
- adopt: 2,000 projects on disk that SessionDock already has (the emulator's library is
  seeded with them), a first run with an empty state. Measured: requests by route,
  import items sent (must be 0), seconds until the state records all 2,000.

    python -m bench.relink [--quick]
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from bench.common import (
    CheckingEmulator,
    Daemon,
    arguments,
    machine,
    remove,
    save_result,
    scratch,
    start_emulator,
    write_config,
)
from tests.conftest import cli, write_als
from tests.emulator_library import Library


class CountingLibrary(Library):
    """The emulator's library, counting the requests that reach it by route."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: Counter[str] = Counter()

    def listing(self, query: Any) -> dict[str, Any]:
        self.routes["GET /sessions"] += 1
        return super().listing(query)

    def get(self, session_id: str) -> dict[str, Any]:
        self.routes["GET /sessions/{id}"] += 1
        return super().get(session_id)

    def patch(self, session_id: str, body: Any) -> dict[str, Any]:
        self.routes["PATCH /sessions/{id}"] += 1
        return super().patch(session_id, body)


def _routes(emulator: CheckingEmulator, library: CountingLibrary) -> Counter[str]:
    routes = Counter(library.routes)
    routes["POST /import"] = len(emulator.imports)
    routes["import items"] = sum(len(r.items) for r in emulator.imports)
    routes["GET /health"] = emulator.health_calls
    return routes


def _wait(condition: Any, timeout: float, what: str, daemon: Daemon) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{what}: not after {timeout}s: {daemon.tail()}")
        time.sleep(0.05)
    return time.monotonic() - started


def rename(count: int) -> dict[str, Any]:
    where = scratch("relink-rename")
    studio = where / "studio"
    client = studio / "Client A"
    for n in range(count):
        write_als(client / f"Song {n:04}.als", name=f"Song {n}")
    emulator = start_emulator()
    library = CountingLibrary()
    emulator.library = library
    daemon = Daemon(write_config(where, emulator, [{"path": str(studio)}]), where / "daemon.log")
    try:
        _wait(lambda: len(emulator.library) >= count, 600, "all imported", daemon)
        before = {s["projectPath"]: s["id"] for s in emulator.library.all()}
        sent_before = _routes(emulator, library)
        renamed = studio / "Client B"
        started = time.monotonic()
        client.rename(renamed)

        def all_moved() -> bool:
            with emulator._lock:  # a consistent read of the library
                paths = [s["projectPath"] for s in emulator.library.all()]
            return all(p.startswith(str(renamed) + "/") for p in paths)

        seconds = _wait(all_moved, 600, "every session at its new path", daemon)
        del started
        after = {s["projectPath"]: s["id"] for s in emulator.library.all()}
        time.sleep(2.0)  # anything sent late still counts
        routes = _routes(emulator, library) - sent_before
        same_ids = all(
            after.get(old.replace(str(client), str(renamed), 1)) == sid
            for old, sid in before.items()
        )
        relinked = len(daemon.events("project_relinked"))
    finally:
        daemon.stop()
        emulator.stop()
        remove(where)
    return {
        "projects": count,
        "seconds_until_all_relinked": round(seconds, 2),
        "requests_by_route": dict(routes),
        "imports_after_rename": routes.get("import items", 0),
        "same_ids": same_ids,
        "project_relinked_lines": relinked,
    }


def adopt(count: int) -> dict[str, Any]:
    where = scratch("relink-adopt")
    studio = where / "studio"
    emulator = start_emulator()
    library = CountingLibrary()
    emulator.library = library
    for n in range(count):
        path = write_als(studio / f"Client {n % 20}" / f"Song {n:04}.als", name=f"Song {n}")
        library.add(str(path), title=f"Song {n:04}")
    config = write_config(where, emulator, [{"path": str(studio)}])
    started = time.monotonic()
    daemon = Daemon(config, where / "daemon.log")

    def recorded() -> bool:
        result = cli("status", "--json", "--config", str(config))
        try:
            counts = json.loads(result.stdout)["counts"]
        except (ValueError, KeyError):
            return False
        return int(counts.get("imported", 0)) >= count

    try:
        daemon.wait_for("watching", 120)
        _wait(recorded, 600, "all recorded as imported", daemon)
        seconds = time.monotonic() - started
        time.sleep(2.0)
        routes = _routes(emulator, library)
    finally:
        daemon.stop()
        emulator.stop()
        remove(where)
    return {
        "sessions": count,
        "seconds_until_recorded": round(seconds, 2),
        "requests_by_route": dict(routes),
        "import_items_sent": routes.get("import items", 0),
    }


def run(quick: bool = False) -> dict[str, Any]:
    result = {
        "name": "relink",
        "machine": machine(),
        "rename": rename(200 if quick else 1000),
        "adopt": adopt(400 if quick else 2000),
    }
    save_result("relink", result)
    return result


def report(result: dict[str, Any]) -> str:
    r, a = result["rename"], result["adopt"]
    return (
        f"rename of a client folder of {r['projects']}: every session at its new path "
        f"{r['seconds_until_all_relinked']} s after the rename; requests "
        f"{r['requests_by_route']}; imports {r['imports_after_rename']}; same ids "
        f"{r['same_ids']}\n"
        f"first run against {a['sessions']} sessions SessionDock has: requests "
        f"{a['requests_by_route']}; import items sent {a['import_items_sent']}; all recorded "
        f"after {a['seconds_until_recorded']} s"
    )


def main() -> None:
    args = arguments(__doc__ or "")
    print(report(run(args.quick)))


if __name__ == "__main__":
    main()
