"""Translations between the shell's world and the core's plain values.

The shell's types (pydantic config, `pathlib` paths, watchdog changes, client
exceptions) stop here: the core sees `Settings`, `str` paths, classified inputs and
`Failure` values. Nothing here decides what happens next; it only says what was seen.
"""

from __future__ import annotations

from pathlib import Path, PurePath

from watcher.client import ApiError, BadAnswer, NoToken, Rejected, SessionDockError, Unauthorized
from watcher.config import Config, WatchFolder
from watcher.core.inputs import (
    DirectoryChanged,
    DirectoryGone,
    Failure,
    FailureKind,
    Input,
    ProjectChanged,
    ProjectGone,
)
from watcher.core.policy import fingerprint
from watcher.core.settings import FolderSettings, Settings
from watcher.daws import Candidate, DawFormat, Registry
from watcher.observer import Change
from watcher.scanner import cached_names_in


def core_settings(config: Config, once: bool, watchdog_seconds: float | None) -> Settings:
    return Settings(
        folders=tuple(
            FolderSettings(
                root=str(folder.path),
                recursive=folder.recursive,
                polling=folder.polling,
                kind=folder.kind,
                generate_previews=folder.generate_previews,
                exclude=tuple(folder.exclude),
                polling_interval=folder.polling_interval_seconds,
                case_sensitive=None if folder.case_sensitive == "auto" else folder.case_sensitive,
            )
            for folder in config.watch
        ),
        quiet_seconds=config.debounce.quiet_seconds,
        max_wait_seconds=config.debounce.max_wait_seconds,
        batch_size=config.import_.batch_size,
        batch_window_seconds=config.import_.batch_window_seconds,
        retry_max_seconds=config.import_.retry_max_seconds,
        reconcile_interval_seconds=config.scan.reconcile_interval_seconds,
        offline_check_seconds=config.scan.offline_check_seconds,
        listing_lag_seconds=config.sessiondock.listing_lag_seconds,
        session_id_patience_seconds=config.sessiondock.session_id_patience_seconds,
        once=once,
        watchdog_seconds=watchdog_seconds,
        folder_tags=tuple(
            (str(folder.path), tuple(folder.tags)) for folder in config.watch if folder.tags
        ),
    )


def containing(folders: list[WatchFolder], path: Path) -> WatchFolder | None:
    """The innermost watched folder that holds `path`."""
    best: WatchFolder | None = None
    for folder in folders:
        root = folder.path
        if (path == root or root in path.parents) and (
            best is None or len(root.parts) > len(best.path.parts)
        ):
            best = folder
    return best


def classify_change(change: Change, folders: list[WatchFolder], registry: Registry) -> Input | None:
    """What a watchdog change means, in the core's terms (None: nothing to do with us)."""
    folder = containing(folders, change.path)
    if folder is None:
        return None
    root, path = str(folder.path), str(change.path)
    if change.path == folder.path:
        return DirectoryGone(root, path, change.at) if change.gone else None
    verdict = registry.classify(change.path, folder.path, cached_names_in(), folder.exclude)
    if isinstance(verdict, Candidate):
        unit = str(verdict.path)
        if change.gone and unit == path:
            return ProjectGone(root, unit, change.at)
        return ProjectChanged(root, unit, verdict.daw.bundle, change.at)
    if change.is_directory and verdict is None:
        if change.gone:
            return DirectoryGone(root, path, change.at)
        return DirectoryChanged(root, path, change.at, change.attrib)
    return None


def daw_of(path: str, folders: list[WatchFolder], registry: Registry) -> DawFormat | None:
    """The DAW of a project unit the core names (by its suffix, or by classifying it:
    a bundle that lost its suffix is known only by its contents)."""
    daw = registry.format_for(PurePath(path).name)
    if daw is not None:
        return daw
    folder = containing(folders, Path(path))
    if folder is None:
        return None
    verdict = registry.classify(Path(path), folder.path, cached_names_in(), folder.exclude)
    return verdict.daw if isinstance(verdict, Candidate) else None


def failure_of(
    error: SessionDockError, token: str | None = None, auth_advice: str | None = None
) -> Failure:
    """The core's view of a client error; `token` is the one the request carried, and
    `auth_advice` what to do about a refused one (it depends on where it came from)."""
    kind: FailureKind
    message = str(error)
    if isinstance(error, (Unauthorized, NoToken)):
        kind = "auth"
    elif isinstance(error, ApiError) and error.status == 403:
        kind = "read_only"
    elif isinstance(error, Rejected):
        kind, message = "rejected", error.detail
    elif isinstance(error, ApiError):
        kind = "server"
    elif isinstance(error, BadAnswer):
        kind = "bad_answer"
    else:
        kind = "unreachable"
    return Failure(
        kind=kind,
        message=message,
        advice=auth_advice if auth_advice and isinstance(error, Unauthorized) else error.advice,
        retry_after=error.retry_after,
        token_fingerprint=fingerprint(token) if token and kind == "auth" else None,
    )
