"""What `status` reports: the state database read without disturbing the daemon, as a
dict for `--json` and as the lines a person reads. Kept out of `cli` so that the
report's shape and its wording are one place to read."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from watcher.core.store import is_under

if TYPE_CHECKING:
    from watcher.config import Config
    from watcher.state import State


def _ago(at: float | None) -> str:
    if not at:
        return "never"
    seconds = max(0, int(time.time() - at))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def status_report(state: State, config: Config) -> dict[str, Any]:
    daemon = state.get_meta("daemon") or {}
    from watcher.owner import daemon_running

    running = daemon_running(daemon)
    oldest = state.oldest_waiting()
    last = state.last_imported()
    missing, relinking = state.missing(), state.relinking()
    return {
        "running": running,
        "pid": daemon.get("pid") if running else None,
        "sending": daemon.get("sending") if running else None,
        "request": daemon.get("request") if running else None,
        "counts": state.counts(),
        "oldest_pending": None
        if oldest is None
        else {"path": oldest.path, "queued_at": oldest.queued_at, "last_error": oldest.last_error},
        "last_import": None
        if last is None
        else {"path": last.path, "at": last.imported_at, "import_id": last.last_import_id},
        "last_error": state.get_meta("last_error"),
        "rejected": [
            {"path": r.path, "reason": r.last_error} for r in state.rows_in("rejected", 20)
        ],
        "missing": {
            "count": missing[0],
            "projects": [{"path": p, "since": t} for p, t in missing[1]],
        },
        "relinked": int(state.get_meta("relinked") or 0),
        "relinking": {
            "count": relinking[0],
            "projects": [{"path": p, "from": f} for p, f in relinking[1]],
        },
        "tags": state.tag_work({str(f.path): tuple(f.tags) for f in config.watch if f.tags})
        | {"tagged": int(state.get_meta("tagged") or 0)},
        "folders": daemon.get("folders", {}),
        "unreadable": daemon.get("unreadable", []) if running else [],
        "state": str(state.path),
    }


def print_status(report: dict[str, Any]) -> None:
    counts = report["counts"]
    if report["running"]:
        print(f"daemon:    running (pid {report['pid']}), {report['sending']}")
    else:
        print("daemon:    not running")
    request = report["request"]
    if request:
        left = max(0, int(request["give_up_at"] - time.time()))
        print(
            f"request:   {request['method']} {request['path']} sent "
            f"{_ago(request['started_at'])}, given up in {left}s if unanswered "
            "(sessiondock.request_deadline_seconds)"
        )
    print(
        f"projects:  {counts['pending']} pending, {counts['in_flight']} in flight, "
        f"{counts['imported']} imported, {counts['rejected']} rejected, "
        f"{counts['invalid']} not valid projects"
    )
    oldest = report["oldest_pending"]
    if oldest:
        why = f" ({oldest['last_error']})" if oldest["last_error"] else ""
        print(f"oldest:    {oldest['path']}, queued {_ago(oldest['queued_at'])}{why}")
    last = report["last_import"]
    print(
        f"imported:  {'last ' + last['path'] + ', ' + _ago(last['at']) if last else 'nothing yet'}"
    )
    error = report["last_error"]
    if error and error.get("resolved_at"):
        print(
            f"error:     none now (last: {error['message']}, {_ago(error['at'])}; "
            f"resolved {_ago(error['resolved_at'])})"
        )
    elif error:
        print(f"error:     {error['message']} ({_ago(error['at'])})")
        if error.get("advice"):
            print(f"           -> {error['advice']}")
    for path, folder in report["folders"].items():
        note = f" ({folder['note']})" if folder.get("note") else ""
        print(f"folder:    {path}: {folder['mode']}{note}")
    for entry in report["unreadable"]:
        print(f"unreadable: {entry['path']}\n           -> {entry['advice']}")
    for rejected in report["rejected"]:
        print(f"rejected:  {rejected['path']}: {rejected['reason']}")
    print(f"moves:     {report['relinked']} relinked, {report['missing']['count']} missing")
    folders = report["folders"]
    for entry in report["relinking"]["projects"]:
        away = [
            r for r, f in folders.items() if f["mode"] == "offline" and is_under(entry["from"], r)
        ]
        why = (
            f" (waits until {away[0]} is back; gone for good: remove it from watch: and the session follows)"
            if away
            else ""
        )
        print(f"relinking: {entry['path']}, its session at {entry['from']}{why}")
    tags = report["tags"]
    if tags["pending"] or tags["tagged"]:
        print(
            f"tags:      {tags['tagged']} sessions tagged, {tags['pending']} to tag "
            f"({tags['waiting_for_session']} not listed by SessionDock yet)"
        )
    for entry in report["missing"]["projects"]:
        print(f"missing:   {entry['path']}, since {_ago(entry['since'])} (session kept)")
    print(f"state:     {report['state']}")
