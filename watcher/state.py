"""Durable state: every known project and where it stands, in one SQLite file.

The core (`watcher.core`) decides every record's state and hands its changes out as
`Persist` effects; this module writes them, one transaction per loop turn, before the
effects that act on them are carried out, and loads them back at the next start. So
after a crash or `kill -9` at any moment, whatever was pending or in flight is sent
again (in-flight ones after asking SessionDock) and nothing detected is forgotten.

One connection writes (the daemon's main loop, in the one process that owns the file:
watcher/owner.py); `status` opens the file read-only, which WAL mode allows while the
daemon runs.

What can go wrong with the file is told apart by SQLite's error code
(watcher/state_faults.py); a damaged file is moved aside and rebuilt (`open_repairing`).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from watcher.core.records import STATES, ProjectRecord, Signature, StateName
from watcher.core.sessions import tag_work
from watcher.core.settings import Settings
from watcher.names import path_key, path_of_key, printable_value
from watcher.state_faults import (
    StateCorrupt,
    StateError,
    StateUnavailable,
    classify,
    move_aside,
)
from watcher.state_rows import SCHEMA_VERSION, UPSERT, columns, migrate, record_of, values_of

if TYPE_CHECKING:  # the core's effects cost 30 ms to import: not on `scan --dry-run`'s path
    from watcher.core.effects import Persist

__all__ = [
    "State",
    "StateCorrupt",
    "StateError",
    "StateUnavailable",
    "classify",
    "move_aside",
    "open_repairing",
]


@dataclass(frozen=True)
class Known:
    """What the state remembers of a project, enough to tell whether it changed."""

    state: StateName
    signature: Signature
    last_error: str | None


@dataclass(frozen=True)
class Row:
    path: str
    root: str
    kind: str
    title: str
    project_type: str
    project_path: str
    preview_path: str | None
    generate_previews: bool
    state: StateName
    attempts: int
    queued_at: float | None
    last_error: str | None
    last_import_id: str | None
    imported_at: float | None
    updated_at: float


BUSY_TIMEOUT_SECONDS = 2.0
"""How long one statement waits for another program's lock before the daemon calls the
state unavailable (and retries later): short, since the main loop waits with it."""


# How long the write-ahead log may grow, in pages, before it is folded back.
WAL_PAGES = 64


class State:
    """The project table. Not thread-safe: one owner thread, by design.

    Opening runs SQLite's `quick_check`, so a damaged file is found at once (as
    `StateCorrupt`) rather than on the first unlucky read months later.
    """

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        try:
            if readonly:
                uri = f"{path.resolve().as_uri()}?mode=ro"
                self._db = sqlite3.connect(
                    uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS
                )
                self._verify()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS)
                self._verify()
                self.db.execute("PRAGMA journal_mode=WAL")
                # FULL: a commit survives power loss, not only a crash; commits are few
                # (one per loop turn), so the fsync is cheap.
                self.db.execute("PRAGMA synchronous=FULL")
                # SQLite folds the log back every 1,000 pages (4 MiB) by default: on a
                # nearly full disk the log alone can use up the space. Fold it back
                # sooner, and truncate it when it is folded back.
                self.db.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
                self.db.execute(f"PRAGMA journal_size_limit={WAL_PAGES * 4096}")
                migrate(self.db)
                self.db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
        except (sqlite3.Error, OSError) as exc:
            if self._db is not None:
                self.db.close()
            known = classify(path, exc)
            if known is not None:
                raise known from None
            raise StateError(f"cannot open state database {path}: {exc}") from None
        self.db.row_factory = sqlite3.Row
        self._depth = 0

    def _verify(self) -> None:
        assert self._db is not None
        rows = self.db.execute("PRAGMA quick_check(1)").fetchall()
        if rows != [("ok",)]:
            detail = " ".join(str(rows[0][0]).split()) if rows else "quick_check failed"
            raise StateCorrupt(self.path, detail)

    @property
    def db(self) -> sqlite3.Connection:
        assert self._db is not None
        return self._db

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.db.close()

    def error(self, exc: BaseException) -> StateError | None:
        """What an error from this database means (see `classify`)."""
        return classify(self.path, exc)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes into one commit; nested uses join the outer transaction.

        A lock, a full disk or damage raises `StateUnavailable` or `StateCorrupt` after
        rolling back, so nothing of a failed turn is half written.
        """
        if self._depth == 0:
            try:
                self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise (self.error(exc) or exc) from None
        self._depth += 1
        try:
            yield
        except BaseException as exc:
            self._depth -= 1
            if self._depth == 0:
                self._rollback()
            if isinstance(exc, sqlite3.Error) and (known := self.error(exc)) is not None:
                raise known from None
            raise
        self._depth -= 1
        if self._depth == 0:
            try:
                self.db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise (self.error(exc) or exc) from None

    def _rollback(self) -> None:
        if self.db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")

    def _write(
        self, sql: str, params: Sequence[Any] | Iterable[Sequence[Any]] = (), many: bool = False
    ) -> int:
        with self.transaction():
            cursor = self.db.executemany(sql, params) if many else self.db.execute(sql, params)  # type: ignore[arg-type]
            return cursor.rowcount

    # --- reading ----------------------------------------------------------------------

    def known(self, path: Path) -> Known | None:
        row = self.db.execute(
            "SELECT state, size, mtime_ns, inode, digest, last_error FROM projects WHERE path = ?",
            (path_key(path),),
        ).fetchone()
        if row is None:
            return None
        return Known(
            state=row["state"],
            signature=Signature(row["size"], row["mtime_ns"], row["inode"], row["digest"]),
            last_error=row["last_error"],
        )

    def rows_in(self, state: StateName, limit: int = 100) -> list[Row]:
        cursor = self.db.execute(
            "SELECT * FROM projects WHERE state = ? ORDER BY updated_at LIMIT ?", (state, limit)
        )
        return [_row(r) for r in cursor]

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(STATES, 0)
        for r in self.db.execute("SELECT state, COUNT(*) AS n FROM projects GROUP BY state"):
            counts[r["state"]] = r["n"]
        return counts

    def oldest_waiting(self) -> Row | None:
        """The project waiting longest for delivery: pending, or in a request right now.

        Both count: while SessionDock is down each retry moves the row to in_flight for
        the length of one attempt, and `status` must not lose sight of it then.
        """
        r = self.db.execute(
            "SELECT * FROM projects WHERE state IN ('pending', 'in_flight') "
            "ORDER BY COALESCE(queued_at, updated_at) LIMIT 1"
        ).fetchone()
        return None if r is None else _row(r)

    def missing(self, limit: int = 20) -> tuple[int, list[tuple[str, float]]]:
        """Imported projects gone from disk (their sessions kept): how many, and the
        most recently missed `(path, since)`. An older database has none."""
        if "missing_since" not in columns(self.db):
            return 0, []
        where = "FROM projects WHERE missing_since IS NOT NULL"
        count = self.db.execute(f"SELECT COUNT(*) {where}").fetchone()[0]
        rows = self.db.execute(
            f"SELECT path, missing_since {where} ORDER BY missing_since DESC LIMIT ?", (limit,)
        )
        return int(count), [(path_of_key(r["path"]), float(r["missing_since"])) for r in rows]

    def relinking(self, limit: int = 20) -> tuple[int, list[tuple[str, str]]]:
        """Projects whose session waits for its relink: how many, and the longest
        waiting `(path, where the session still points)`. A guessed relink waits while
        that path's folder is offline, and only `status` can tell a person why."""
        if "moved_from" not in columns(self.db):
            return 0, []
        where = "FROM projects WHERE state = 'relinking' AND moved_from IS NOT NULL"
        count = self.db.execute(f"SELECT COUNT(*) {where}").fetchone()[0]
        rows = self.db.execute(
            f"SELECT path, moved_from {where} ORDER BY updated_at LIMIT ?", (limit,)
        )
        return int(count), [(path_of_key(r["path"]), str(r["moved_from"])) for r in rows]

    def tag_work(self, folder_tags: dict[str, tuple[str, ...]]) -> dict[str, int]:
        """Sessions still to get their folder's tags (`watch[].tags`): how many, and how
        many of those SessionDock has not listed yet (their session id is unknown)."""
        work = {"pending": 0, "waiting_for_session": 0}
        if not folder_tags or "tags_done" not in columns(self.db):
            return work
        settings = Settings(folder_tags=tuple(folder_tags.items()))
        for row in self.db.execute("SELECT * FROM projects WHERE state = 'imported'"):
            if row["root"] not in folder_tags:
                continue
            record = record_of(row)
            if tag_work(record, settings):  # the core's own rule, not a copy
                work["pending"] += 1
                work["waiting_for_session"] += record.session_id is None
        return work

    def last_imported(self) -> Row | None:
        r = self.db.execute(
            "SELECT * FROM projects WHERE state = 'imported' ORDER BY imported_at DESC LIMIT 1"
        ).fetchone()
        return None if r is None else _row(r)

    def get_meta(self, key: str) -> Any:
        r = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if r is None else json.loads(r["value"])

    # --- writing ----------------------------------------------------------------------

    def set_meta(self, key: str, value: Any) -> None:
        self._write("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def load(self) -> tuple[list[ProjectRecord], dict[str, Any]]:
        """Everything the core persisted, for `Core.restore`."""
        records = [record_of(r) for r in self.db.execute("SELECT * FROM projects")]
        meta = {
            r["key"]: json.loads(r["value"])
            for r in self.db.execute("SELECT key, value FROM meta")
            if r["key"] != "schema_version"
        }
        return records, meta

    def apply(self, persists: Iterable[Persist]) -> None:
        """Write the core's `Persist` effects, in order, in one transaction."""
        now = time.time()
        with self.transaction():
            for persist in persists:
                if persist.upserts:
                    self.db.executemany(UPSERT, [values_of(r, now) for r in persist.upserts])
                if persist.deletes:
                    self.db.executemany(
                        "DELETE FROM projects WHERE path = ?",
                        [(path_key(p),) for p in persist.deletes],
                    )
                if persist.meta:
                    self.db.executemany(
                        "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                        [(key, json.dumps(printable_value(v))) for key, v in persist.meta],
                    )

    def retry_now(self) -> None:
        """A first write at start, which proves the file can be written (old versions
        left backoff deadlines in rows; nothing reads them any more)."""
        self._write("UPDATE projects SET next_attempt_at = 0 WHERE state = 'pending'")


def open_repairing(database: Path) -> tuple[State, Path | None, StateCorrupt | None]:
    """Open the state for writing; a damaged file is moved aside and a new one made.

    Returns the state, where the damaged file went (None when it was sound) and what was
    wrong with it. Only the owner of the database (watcher/owner.py) may call this.
    """
    try:
        return State(database), None, None
    except StateCorrupt as exc:
        try:
            moved = move_aside(database)
        except OSError as err:
            raise StateUnavailable(database, "io", f"cannot move it aside: {err}") from None
        return State(database), moved, exc


def _row(r: sqlite3.Row) -> Row:
    return Row(
        path=r["path"],
        root=r["root"],
        kind=r["kind"],
        title=r["title"],
        project_type=r["project_type"],
        project_path=r["project_path"],
        preview_path=r["preview_path"],
        generate_previews=bool(r["generate_previews"]),
        state=r["state"],
        attempts=r["attempts"],
        queued_at=r["queued_at"],
        last_error=r["last_error"],
        last_import_id=r["last_import_id"],
        imported_at=r["imported_at"],
        updated_at=r["updated_at"],
    )
