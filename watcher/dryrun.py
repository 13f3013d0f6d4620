"""`scan --dry-run`: what a scan would import, relink and (with `--explain`) skip, as
JSON lines, sending nothing. On two cores a forked helper walks part of each watched
folder (watcher/drysplit.py); the lines and their order are those of one walk.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pydantic: imported after the fork, by the caller
    from watcher.config import Config, WatchFolder
    from watcher.core.effects import RelinkItem
    from watcher.daws import Registry, Skipped
    from watcher.drysplit import Share, Split
    from watcher.state import State


_ENCODER = json.JSONEncoder(ensure_ascii=False)
"""One encoder for every line: `json.dumps` with an argument builds one per call."""


def _json_line(obj: dict[str, Any]) -> str:
    """One JSON line, always valid UTF-8: a non-UTF-8 file name is shown escaped (the
    escaping pass runs only for a line that needs it: almost none do)."""
    from watcher.names import is_valid, printable_value

    line = _ENCODER.encode(obj)
    if not is_valid(line):
        line = _ENCODER.encode(printable_value(obj))
    return line + "\n"


def _explained(skipped: Skipped) -> dict[str, Any]:
    return {"path": str(skipped.path), "skipped": skipped.reason, "why": skipped.detail}


def dry_run(
    config: Config, explain: bool = False, split: Split | None = None, confirm: Any = None
) -> int | None:
    """Print what a scan would import (and, with `explain`, what it would skip and why).

    With `split` (watcher/drysplit.py) two processes share each folder's top-level
    folders; the lead prints both shares' lines, in the order one walk gives. With
    `confirm` (the lead's own reading of the config: watcher/dryconfig.py), nothing is
    printed until the helper's validated config is seen to have that view; None (and
    the helper stopped) when it is not: the caller runs the normal path."""
    from watcher.daws import Registry
    from watcher.mounts import inner_roots

    registry = Registry.configured(
        config.kinds, config.source, unsuffixed_bundles=config.scan.unsuffixed_bundles
    )
    database = config.state.database()
    state = None
    if database.exists():  # sqlite3 and the state module only when there is a state
        from watcher.state import State

        state = State(database, readonly=True)
    nested = inner_roots(f.path for f in config.watch)  # each project once, by its owner
    lead = split is None or split.lead
    relinks = _planned_relinks(config, registry, state) if lead else []
    moved = {item.new_path for item in relinks}
    would_import: dict[str, dict[str, object]] = {}  # a relinked project's own line
    try:
        for index, folder in enumerate(config.watch):
            share = split.share(index) if split else None
            lines: list[str] = []
            if not folder.path.is_dir():
                if split is None or split.lead:
                    offline = "folder does not exist or is not mounted"
                    folder_line = {"folder": str(folder.path), "skipped": "offline", "why": offline}
                    lines.append(_json_line(folder_line))
            else:
                lines += _dry_run_folder(config, registry, state, folder, nested, explain, share)
            if confirm is not None and split is not None:
                if not split.confirm(confirm):
                    split.abandon()
                    return None
                confirm = None
            if split is not None and share is not None:
                lines += split.done(index, share, lines)
                rest = split.missing(share)
                if rest is not None:  # the helper is gone: its share is walked here
                    lines += _dry_run_folder(config, registry, state, folder, nested, explain, rest)
            if lead:
                out = "".join(lines)
                if moved:  # relinked, not imported: their lines follow, marked so
                    kept = []
                    for line in out.splitlines(keepends=True):
                        planned = json.loads(line)
                        if planned.get("projectPath") in moved:
                            would_import[planned["projectPath"]] = planned
                        else:
                            kept.append(line)
                    out = "".join(kept)
                sys.stdout.write(out)
                sys.stdout.flush()
        for relink in relinks:
            # The contract's keys (kind, projectType...) as its import line had them, so
            # a reader of every line finds them; `relinkFrom` tells it apart.
            relinked = {
                **would_import.get(relink.new_path, {}),
                "projectPath": relink.new_path,
                "relinkFrom": relink.old_path,
                "sessionId": relink.session_id,
                "title": relink.new_title,
            }
            sys.stdout.write(_json_line(relinked))
        sys.stdout.flush()
    finally:
        if state:
            state.close()
        if split:
            split.close()
    return 0


def _dry_run_folder(
    config: Config,
    registry: Registry,
    state: State | None,
    folder: WatchFolder,
    nested: Mapping[Path, frozenset[Path]],
    explain: bool,
    share: Share | None,
) -> list[str]:
    from watcher.daws import Skipped
    from watcher.scanner import bad_name, content_limits, path_of, probe, signature_of, walk

    limits = content_limits(config.scan)
    lines: list[str] = []
    for verdict in walk(folder, registry, explain=explain, skip=nested[folder.path], share=share):
        if isinstance(verdict, Skipped):
            lines.append(_json_line(_explained(verdict)))
            continue
        bad = bad_name(verdict)
        if bad is not None:  # before `unchanged`: a name is wrong whatever the state says
            if explain:
                lines.append(_json_line(_explained(bad)))
            continue
        path = path_of(verdict)
        signature = signature_of(path, verdict.daw)
        if signature is None:
            continue
        known = state.known(path) if state else None
        if known and known.signature.agrees(signature) and known.state != "pending":
            if explain:
                why = f"{known.state}, unchanged since"
                lines.append(_json_line({"path": str(path), "skipped": "unchanged", "why": why}))
            continue
        project = probe(verdict, folder, config.import_, signature, limits)
        if isinstance(project, Skipped):
            if explain:
                lines.append(_json_line(_explained(project)))
            continue
        item = {
            "projectPath": str(project.project_path),
            "kind": project.kind,
            "title": project.title,
            "projectType": project.project_type,
        }
        if project.preview_path:
            item["previewAudioPath"] = str(project.preview_path)
        lines.append(_json_line(item))
    return lines


def _planned_relinks(config: Config, registry: Registry, state: State | None) -> list[RelinkItem]:
    """What the daemon would relink (watcher/dryplan.py runs its core, sending nothing)."""
    if state is None:
        return []
    from watcher.dryplan import plan

    records, meta = state.load()
    if not any(r.session_id or r.imported_at for r in records):
        return []  # nothing has a session: nothing to relink
    return plan(config, registry, records, meta).relinks
