"""The part of the config the core decides with, as plain values.

The shell builds it from `watcher.config.Config` (`watcher.shell.settings`), so the
core never imports pydantic, YAML or the file system.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LISTING_LAG_SECONDS = 300.0
"""`sessiondock.listing_lag_seconds`' default (`Settings.listing_lag_seconds`)."""
SESSION_ID_PATIENCE_SECONDS = 1800.0
"""`sessiondock.session_id_patience_seconds`' default (`Settings.session_id_patience_seconds`)."""


@dataclass(frozen=True)
class FolderSettings:
    root: str
    recursive: bool = True
    polling: bool = False
    """True forces polling; otherwise native events unless the folder is a network share."""
    kind: str | None = None
    generate_previews: bool = True
    exclude: tuple[str, ...] = ()
    """Kept so that a reload that changes a folder's rules re-attaches it."""
    polling_interval: float | None = None
    """This folder's own polling interval (the shell's observer applies it)."""
    case_sensitive: bool | None = None
    """`watch[].case_sensitive`; None (`auto`): as the shell found the volume."""


@dataclass(frozen=True)
class Settings:
    folders: tuple[FolderSettings, ...] = field(default_factory=tuple)
    quiet_seconds: float = 5.0
    max_wait_seconds: float = 120.0
    batch_size: int = 50
    batch_window_seconds: float = 2.0
    retry_max_seconds: float = 60.0
    reconcile_interval_seconds: float = 3600.0
    offline_check_seconds: float = 5.0
    once: bool = False
    """`scan`: one pass over every folder, wait for the answers, then stop."""
    watchdog_seconds: float | None = None
    """systemd's WatchdogSec halved (the shell reads $WATCHDOG_USEC); None: no pings."""
    folder_tags: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(root, tags) for watched folders with `watch[].tags`: added to the session of
    every project of that folder. Kept out of `FolderSettings` so that changing tags
    on a reload does not re-attach (re-walk) the folder."""

    listing_lag_seconds: float = LISTING_LAG_SECONDS
    """How long a session a request may have made, its answer lost (`unheard`), is not
    taken as never made for not being listed (SessionDock lists it once its background
    import is done; how long that takes is not documented): a record gone from disk
    meanwhile is kept in flight and looked up on a backoff, a project of its content
    found elsewhere waits for the verdict, and a relink by path that finds no session
    for a record whose id was never listed is tried again. Counted on the monotonic
    clock from the first listing that lacked it, in this process: a wall clock step
    must not cut it short (simulator seeds 31027, 300163). Shorter than
    `session_id_patience_seconds`: waiting for an id costs a listing, this holds a
    moved project's import back. Later, the item is taken as failed."""
    session_id_patience_seconds: float = SESSION_ID_PATIENCE_SECONDS
    """How long after its import (wall clock) a session not listed yet is looked for on
    the backoff (sessions.py); later only at each reconciliation (SessionDock may have
    failed that item)."""

    def tags_for(self, root: str) -> tuple[str, ...]:
        return next((tags for r, tags in self.folder_tags if r == root), ())
