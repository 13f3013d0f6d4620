"""`check`, the doctor: one line per check, then a verdict; exit 0 only when ready.

Every check runs even after one fails, so a technician sees everything that is wrong
in one go. The exit code is the most serious failure: 78 config (a missing token
included, as `run` treats it), 77 token rejected or SessionDock not in Full
Automation, 69 SessionDock unreachable, 1 anything else that stops imports (an
unreadable folder, an unwritable state database). Warnings (a missing folder, service
not installed, inotify headroom, a token file others can read) leave the exit code
alone: `check` also runs before the service is installed, and the daemon copes with
them (a missing folder is offline, watched once it appears, as `init` says).
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import TextIO

from watcher import logging as watcher_logging
from watcher import service
from watcher.checkup import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_NOPERM,
    EXIT_UNAVAILABLE,
    Report,
    check_logs,
    check_service,
    check_state,
    daemon_folders,
)
from watcher.config import (
    TOKEN_ENV,
    Config,
    ConfigError,
    WatchFolder,
    default_config_path,
)
from watcher.daws import never_holds_projects
from watcher.mounts import (
    SYSTEM_FOLDERS,
    inner_roots,
    is_network_share,
    is_virtual_dir,
    is_virtual_root,
    overlaps,
)
from watcher.mounts import real_path as _real_path
from watcher.starter import command_hint
from watcher.volumes import SAMPLES, remounted

INOTIFY_WATCHES = Path("/proc/sys/fs/inotify/max_user_watches")
INOTIFY_HEADROOM = 0.8
"""Warn above this share of the limit: other programs (editors, IDEs, sync) use it too."""


def check(
    config: Config,
    *,
    platform: service.Platform | None = None,
    runner: service.Runner | None = None,
    out: TextIO | None = None,
) -> int:
    report = Report(out if out is not None else sys.stdout)
    report.ok(f"config {config.source} ({len(config.watch)} folder(s) to watch)")
    token = _check_token(report, config)
    if token is not None:
        _check_sessiondock(report, config, token)
    observed = daemon_folders(config.state.database())
    for folder in config.watch:
        _check_folder(report, folder, observed.get(str(folder.path), {}))
    _check_remounted(report, config)
    _check_overlaps(report, config)
    _check_inotify(report, config)
    check_state(report, config)
    check_logs(report, config)
    check_service(report, platform, runner, config.source)
    return report.verdict()


def _check_token(report: Report, config: Config) -> str | None:
    settings = config.sessiondock
    try:
        token = settings.resolve_token()
    except ConfigError as exc:
        default = config.source in (None, default_config_path())
        report.fail(
            f"token: {exc}",
            f"`{command_hint(config.source, 'init', '--force', '--token-stdin')}` stores it "
            "with the right permissions"
            if default
            else "paste the token into that file, readable only by you (chmod 600)",
            EXIT_CONFIG,
        )
        return None
    watcher_logging.register_secret(token)
    source = settings.token_source()
    if source == "env":
        report.ok(f"token from ${TOKEN_ENV}")
    elif source == "config":
        report.ok("token from the config file (sessiondock.token)")
    else:
        path = settings.token_path()
        mode = stat.S_IMODE(path.stat().st_mode)
        if os.name == "posix" and mode & 0o077:
            report.warn(
                f"token file {path} can be read by others (mode {mode:04o})", f"chmod 600 {path}"
            )
        else:
            report.ok(f"token file {path}")
    return token


def _check_sessiondock(report: Report, config: Config, token: str) -> None:
    from watcher.client import SessionDockClient, SessionDockError, Unauthorized, Unreachable

    url = config.sessiondock.base_url
    with closing(
        SessionDockClient(
            url,
            lambda: token,
            config.sessiondock.timeout_seconds,
            deadline=config.sessiondock.request_deadline_seconds,
        )
    ) as client:
        try:
            health = client.health()
        except SessionDockError as exc:
            status = getattr(exc, "status", 0)
            if isinstance(exc, Unauthorized) or status == 401:
                report.fail(
                    f"SessionDock at {url}: token rejected ({exc})",
                    config.sessiondock.rejected_advice(),
                    EXIT_NOPERM,
                )
            elif status == 403:
                report.fail(f"SessionDock at {url}: {exc}", exc.advice, EXIT_NOPERM)
            else:
                advice = (
                    "start SessionDock (the Local API runs inside the desktop app) and check "
                    "sessiondock.base_url"
                    if isinstance(exc, Unreachable)
                    else exc.advice
                )
                report.fail(f"SessionDock at {url}: {exc}", advice, EXIT_UNAVAILABLE)
            return
    report.ok(f"SessionDock at {url} answers; token accepted")
    if health.can_import:
        report.ok(f"SessionDock mode {health.effective_mode}")
    else:
        configured = (
            f" (configured {health.configured_mode})"
            if health.configured_mode and health.configured_mode != health.effective_mode
            else ""
        )
        report.fail(
            f"SessionDock mode is {health.effective_mode}{configured}: imports need Full "
            "Automation",
            "enable Full Automation in SessionDock > Settings > Local API",
            EXIT_NOPERM,
        )


def _check_folder(
    report: Report, folder: WatchFolder, observed: dict[str, str] | None = None
) -> None:
    path = folder.path
    if not path.exists():
        report.warn(
            f"folder {path}: missing or not mounted; watched once it appears",
            "create it, plug in the drive or mount the share if it should be there now; "
            "a drive now mounted elsewhere: point watch[].path there (sessions are kept)",
        )
        return
    if not path.is_dir():
        report.fail(f"folder {path}: not a folder", "point watch[].path at a folder", EXIT_FAILED)
        return
    try:
        with os.scandir(path) as entries:
            next(entries, None)
    except OSError as exc:
        report.fail(f"folder {path}: cannot be read ({exc.strerror})", _read_advice(exc), 1)
        return
    real = _real_path(path)
    if _too_wide(report, path, real):
        return
    if folder.polling:
        mode = "polling (polling: true in the config)"
    elif is_network_share(real):
        mode = "polling (network file system: native events do not arrive)"
    else:
        mode = "native file events"
    seen = observed or {}
    if mode == "native file events" and seen.get("mode") == "polling":
        report.warn(
            f"folder {path}: polled by the running daemon ({seen.get('note', '')})",
            "set polling: true for this folder, so it is polled from the start",
        )
        return
    if real != path:
        report.ok(f"folder {path} is a link to {real}: {mode}, watched at {real}")
    else:
        report.ok(f"folder {path}: {mode}")


def _check_remounted(report: Report, config: Config) -> None:
    """One line per watched folder whose recorded projects are all gone from it and
    all found under another mount point (a drive back under another name)."""
    from watcher.state import State, StateError

    database = config.state.database()
    if not database.exists():
        return
    try:
        state = State(database, readonly=True)
        try:
            records = state.load()[0]
        finally:
            state.close()
    except (StateError, sqlite3.Error):
        return  # check_state says what is wrong with it
    by_root: dict[str, list[str]] = {}
    for record in records:
        if record.state in ("imported", "relinking"):
            by_root.setdefault(record.root, []).append(record.path)
    for folder in config.watch:
        recorded = by_root.get(str(folder.path), [])
        if not recorded or any(os.path.lexists(p) for p in recorded[:SAMPLES]):
            continue
        elsewhere = remounted(folder.path, recorded)
        if elsewhere is not None:
            report.warn(
                f"folder {folder.path}: its projects are at {elsewhere} "
                "(the drive came back under another name?)",
                f'set watch[].path to "{elsewhere}" and reload (SIGHUP) or restart: '
                "their sessions are relinked, not imported again",
            )


def _too_wide(report: Report, path: Path, real: Path) -> bool:
    """Warn about folders no studio keeps projects in directly; True when not watched."""
    if is_virtual_root(real):
        report.warn(
            f"folder {path}: a virtual file system (/proc, /sys, /dev, /run); never watched",
            "point watch[].path at the folder that holds your projects",
        )
        return True
    home = _real_path(Path.home())
    if real == Path(real.anchor) or real == home or str(real) in SYSTEM_FOLDERS:
        what = "your whole home folder" if real == home else "the whole file system"
        report.warn(
            f"folder {path}: {what}; every change anywhere in it wakes the daemon and "
            "costs a watch per folder (/proc, /sys, /dev and /run are never entered)",
            "point watch[].path at the folder that holds your projects, e.g. ~/Music/Projects",
        )
    return False


def _check_overlaps(report: Report, config: Config) -> None:
    """One line per nested pair: which entry owns the inner folder (the innermost)."""
    watched = [f for f in config.watch if not is_virtual_root(_real_path(f.path))]
    settings = {f.path: f.model_dump(exclude={"path"}) for f in watched}
    outers = [f.path for f in watched if f.recursive]
    for outer, inner in overlaps(settings, outers):
        real = _real_path(inner)
        link = f" (a link to {real})" if real != inner else ""
        text = (
            f"folder {inner}{link} is inside {outer}: its own entry's settings apply there, "
            f"and {outer} is walked and watched around it"
        )
        if settings[outer] == settings[inner]:
            report.warn(text, f"the same settings: remove the entry for {inner}")
        else:
            report.ok(text)


def _read_advice(exc: OSError) -> str:
    if sys.platform == "darwin" and exc.errno == errno.EPERM:
        return (
            f"macOS privacy: allow {sys.executable} in System Settings > Privacy & Security "
            "> Full Disk Access (external volumes, Documents, Desktop)"
        )
    return "give this user read access to the folder"


def _native_roots(config: Config) -> Iterator[WatchFolder]:
    for folder in config.watch:
        real = _real_path(folder.path)
        if folder.polling or not real.is_dir() or is_network_share(real) or is_virtual_root(real):
            continue
        yield folder


def count_directories(
    root: Path, recursive: bool, limit: int, skip: frozenset[Path] = frozenset()
) -> int:
    """Directories the daemon would watch under `root` (one watch each), up to `limit`.

    The observer skips folders that never hold a project (`Samples/`, `.git`...),
    virtual file systems and other watched folders nested inside (`skip`), so the
    count skips them by the same rules.
    """
    if not recursive:
        return 1
    count = 0
    skipped = {str(p) for p in skip}
    for dirpath, dirnames, _files in os.walk(root):
        dirnames[:] = [
            d
            for d in dirnames
            if not never_holds_projects(d)
            and os.path.join(dirpath, d) not in skipped
            and not is_virtual_dir(os.path.join(dirpath, d))
        ]
        count += 1
        if count > limit:
            break
    return count


def _check_inotify(report: Report, config: Config) -> None:
    if not sys.platform.startswith("linux"):
        return
    roots = list(_native_roots(config))
    if not roots:
        return
    try:
        limit = int(INOTIFY_WATCHES.read_text().strip())
    except (OSError, ValueError):
        return
    inner = inner_roots(f.path for f in config.watch)
    needed = sum(
        count_directories(f.path, f.recursive, limit, inner.get(f.path, frozenset())) for f in roots
    )
    advice = (
        "raise it: `sudo sysctl fs.inotify.max_user_watches=524288`, and persist it in "
        "/etc/sysctl.d/90-inotify.conf; or set polling: true for the biggest folder"
    )
    if needed > limit:
        report.warn(
            f"inotify: more than {limit} folders to watch, over the limit "
            "(native watching fails; the daemon polls instead, which is slower)",
            advice,
        )
    elif needed > limit * INOTIFY_HEADROOM:
        report.warn(f"inotify: {needed} folders to watch, close to the limit of {limit}", advice)
    else:
        report.ok(f"inotify: {needed} folder(s) to watch, limit {limit}")
