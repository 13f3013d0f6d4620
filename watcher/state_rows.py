"""The project table's SQL: its schema, its migrations, and a record as a row.

Kept apart from watcher/state.py (the connection, transactions and faults) so each
reads on its own. A database written by an older version gains the new columns at
the next start (`migrate`); their empty values mean "not known yet".
"""

from __future__ import annotations

import json
import sqlite3
import sys
from typing import Any

from watcher.core.records import ProjectRecord, Signature
from watcher.names import path_key, path_of_key, printable

SCHEMA = """
CREATE TABLE IF NOT EXISTS projects (
    path              TEXT PRIMARY KEY,
    root              TEXT NOT NULL,
    kind              TEXT NOT NULL,
    title             TEXT NOT NULL,
    project_type      TEXT NOT NULL,
    project_path      TEXT NOT NULL,
    preview_path      TEXT,
    generate_previews INTEGER NOT NULL,
    size              INTEGER NOT NULL,
    mtime_ns          INTEGER NOT NULL,
    inode             INTEGER NOT NULL,
    state             TEXT NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   REAL NOT NULL DEFAULT 0,
    queued_at         REAL,
    last_error        TEXT,
    last_import_id    TEXT,
    imported_at       REAL,
    updated_at        REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS projects_by_state ON projects (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
SCHEMA_VERSION = 10

ADDED_COLUMNS: tuple[tuple[str, str], ...] = (
    # version 2 (issue 12, relinking moved projects)
    ("identity", "TEXT"),
    ("session_id", "TEXT"),
    ("missing_since", "REAL"),
    ("moved_from", "TEXT"),
    ("moved_title", "TEXT"),
    # version 3 (issue 12, folder tags): {"session": id, "tags": [the tags added to it]}
    ("tags_done", "TEXT"),
    # version 4: a bundle's digest of its files (Signature.digest); NULL for a file, and
    # for a record written before (it agrees on size, time and inode alone)
    ("digest", "INTEGER"),
    # version 5 (issue 12): the identity a relink was decided for (`moved_identity`)
    ("moved_identity", "TEXT"),
    # version 6 (issue 12): the inode the project had where a relink moves it from
    ("moved_inode", "INTEGER"),
    # version 7 (issue 12): when a request that may have made its session went unheard
    ("unheard_at", "REAL"),
    # version 8 (issue 12): other paths a relink's session may be at (JSON list)
    ("moved_also", "TEXT"),
    # version 9 (issue 12): PATCHes a relink counted before a copy was taken for it
    ("arrived_with", "INTEGER"),
    # version 10 (issue 12): when `queued_at` was set, in an order no clock step changes
    ("queued_order", "INTEGER"),
)


def columns(db: sqlite3.Connection) -> set[str]:
    return {str(row[1]) for row in db.execute("PRAGMA table_info(projects)")}


def migrate(db: sqlite3.Connection) -> None:
    """Create the tables, and add the columns a database of an older version lacks."""
    db.executescript(SCHEMA)
    have = columns(db)
    for name, kind in ADDED_COLUMNS:
        if name not in have:
            db.execute(f"ALTER TABLE projects ADD COLUMN {name} {kind}")
    db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))


UPSERT = """
INSERT OR REPLACE INTO projects (path, root, kind, title, project_type, project_path,
    preview_path, generate_previews, size, mtime_ns, inode, state, attempts,
    next_attempt_at, queued_at, last_error, last_import_id, imported_at, updated_at,
    identity, session_id, missing_since, moved_from, moved_title, tags_done, digest,
    moved_identity, moved_inode, unheard_at, moved_also, arrived_with, queued_order)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
    ?)
"""


def values_of(r: ProjectRecord, now: float) -> tuple[Any, ...]:
    """A record as a row. A non-UTF-8 path (only ever `invalid`: such names are never
    sent) is stored under its escaped key, its text fields in their printable form."""
    sig = r.signature
    return (
        path_key(r.path),
        printable(r.root),
        r.kind,
        printable(r.title),
        r.project_type,
        printable(r.project_path),
        None if r.preview_path is None else printable(r.preview_path),
        int(r.generate_previews),
        sig.size,
        sig.mtime_ns,
        sig.inode,
        r.state,
        r.attempts,
        r.queued_at,
        None if r.last_error is None else printable(r.last_error),
        r.import_id,
        r.imported_at,
        now,
        r.identity,
        r.session_id,
        r.missing_since,
        None if r.moved_from is None else printable(r.moved_from),
        None if r.moved_title is None else printable(r.moved_title),
        json.dumps({"session": r.tags_session, "tags": list(r.tags_done)}) if r.tags_done else None,
        sig.digest,
        r.moved_identity,
        r.moved_inode,
        r.unheard_at,
        json.dumps([printable(p) for p in r.moved_also]) if r.moved_also else None,
        r.arrived_with or None,
        r.queued_order or None,
    )


def record_of(r: sqlite3.Row) -> ProjectRecord:
    """Each column read is a new string: values shared by many records are interned,
    and a `project_path` equal to the path is the path (20,000 records: ~6 MB)."""
    path = path_of_key(r["path"])
    project_path = r["project_path"]
    return ProjectRecord(
        path=path,
        root=_shared(r["root"]),
        kind=_shared(r["kind"]),
        title=r["title"],
        project_type=_shared(r["project_type"]),
        project_path=path if project_path == path else project_path,
        preview_path=r["preview_path"],
        generate_previews=bool(r["generate_previews"]),
        signature=Signature(r["size"], r["mtime_ns"], r["inode"], r["digest"]),
        state=r["state"],
        attempts=r["attempts"],
        queued_at=r["queued_at"],
        last_error=r["last_error"],
        import_id=r["last_import_id"],
        imported_at=r["imported_at"],
        identity=r["identity"],
        session_id=r["session_id"],
        missing_since=r["missing_since"],
        moved_from=r["moved_from"],
        moved_title=r["moved_title"],
        **_tags(r["tags_done"]),
        moved_identity=r["moved_identity"],
        moved_inode=r["moved_inode"],
        unheard_at=r["unheard_at"],
        moved_also=_paths(r["moved_also"]),
        arrived_with=_count(r["arrived_with"]),
        queued_order=_count(r["queued_order"]),
    )


def _shared(value: Any) -> Any:
    """A string many records hold, one object for all (sqlite3 may hand back another
    type from a damaged database: that is the loader's to judge, not a crash here)."""
    return sys.intern(value) if type(value) is str else value


def _tags(raw: str | None) -> dict[str, Any]:
    """The stored tags done; anything unreadable counts as none (adding is idempotent)."""
    try:
        done = json.loads(raw) if raw else None
    except ValueError:
        done = None
    if not isinstance(done, dict) or not isinstance(done.get("tags"), list):
        return {}
    session = done.get("session")
    return {
        "tags_done": tuple(t for t in done["tags"] if isinstance(t, str)),
        "tags_session": session if isinstance(session, str) else None,
    }


def _paths(raw: str | None) -> tuple[str, ...]:
    """The stored `moved_also`; anything unreadable counts as none (as before schema 8:
    the relink then looks where it did then)."""
    try:
        paths = json.loads(raw) if raw else None
    except ValueError:
        paths = None
    if not isinstance(paths, list):
        return ()
    return tuple(p for p in paths if isinstance(p, str))


def _count(raw: Any) -> int:
    """A stored count (`arrived_with`, `queued_order`); NULL (written before its schema)
    or anything unreadable counts as none: the rule then works as it did before it."""
    return raw if type(raw) is int and raw > 0 else 0
