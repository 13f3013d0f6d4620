"""The project records in memory, their indexes, and the changes not yet persisted.

`Table` (table.py) holds the rules of how a record moves from state to state; this is
what every rule needs underneath: one `_put` or `_drop` per change, which keeps the
counts, the pending groups (one request's worth each), the identities (relink
candidates) and the spellings (paths.py) in step, and collects changed paths until
`take_changes` turns them into one `Persist`. A record is a frozen value of about 20
fields: 20,000 projects are a few MB.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Generic, TypeVar

from watcher.core.batching import Queued
from watcher.core.effects import Persist
from watcher.core.paths import loose_key
from watcher.core.records import STATES, Project, ProjectRecord, StateName

LIVE: frozenset[StateName] = frozenset({"imported", "pending", "in_flight", "relinking"})
"""States of a project that has (or is about to have) a session."""

K = TypeVar("K", bound=Hashable)


class PathIndex(Generic[K]):
    """key -> the recorded paths that share it, held as the bare path while there is
    one (almost every key): a set per record costs 216 bytes, 4 MB per index on a
    20,000-project library (issue 13's memory target)."""

    __slots__ = ("_map",)

    def __init__(self) -> None:
        self._map: dict[K, str | set[str]] = {}

    def get(self, key: K, default: Collection[str] = ()) -> Collection[str]:
        held = self._map.get(key)
        if held is None:
            return default
        return (held,) if isinstance(held, str) else held

    def add(self, key: K, path: str) -> None:
        held = self._map.get(key)
        if held is None:
            self._map[key] = path
        elif isinstance(held, str):
            if held != path:
                self._map[key] = {held, path}
        else:
            held.add(path)

    def discard(self, key: K, path: str) -> None:
        held = self._map.get(key)
        if held is None:
            return
        if isinstance(held, str):
            if held == path:
                del self._map[key]
            return
        held.discard(path)
        if len(held) == 1:
            self._map[key] = next(iter(held))
        elif not held:
            del self._map[key]

    def __len__(self) -> int:
        return len(self._map)


def has_session(record: ProjectRecord) -> bool:
    """SessionDock has (or had) a session for it: imported once, or found in its library."""
    return record.imported_at is not None or record.session_id is not None


def unheard(record: ProjectRecord) -> bool:
    """A request that may have made its session went unheard (`unheard_at`), and no
    session is known: gone, it is looked up before it is forgotten."""
    return record.unheard_at is not None and not has_session(record)


def same_file(record: ProjectRecord, project: Project) -> bool:
    """The record's file may be the project's: its inode on the project's volume (an
    inode means something on one volume only; a watched folder stands for its volume
    here, as elsewhere), or in another watched folder with the size and time it had
    too (the same file moved across one volume: as `_original_elsewhere`, seed 8008535)."""
    if record.signature.inode != project.signature.inode:
        return False
    return record.root == project.root or record.signature.agrees(project.signature)


def base_name(path: str) -> str:
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def is_under(path: str, directory: str) -> bool:
    """`path` is `directory` or inside it (either separator; no file system involved)."""
    if path == directory:
        return True
    head = directory.rstrip("/\\")
    return len(path) > len(head) and path.startswith(head) and path[len(head)] in "/\\"


class Rows(Mapping[str, ProjectRecord]):
    def __init__(self, records: Iterable[ProjectRecord] = ()) -> None:
        self._rows: dict[str, ProjectRecord] = {r.path: r for r in records}
        self._pending: set[str] = set()
        self._groups: dict[tuple[str, bool], int] = {}
        """Pending projects per (kind, generate_previews): one request's worth each."""
        for r in self._rows.values():
            if r.state == "pending":
                self._add_pending(r)
        self._counts: dict[str, int] = dict.fromkeys(STATES, 0)
        for r in self._rows.values():
            self._counts[r.state] += 1
        self._changed: set[str] = set()
        self._last_order = max((r.queued_order for r in self._rows.values()), default=0)
        """The last `queued_order` given: never behind a stored one, so a restart keeps
        the order; `_order_wall` is the `queued_at` it was given for."""
        self._order_wall: float | None = float("nan")  # equal to none: a new order first
        self.revision = 0
        """Bumped by every change (what is derived from the records can be cached)."""
        self._missing: PathIndex[str] = PathIndex()
        """identity -> paths of records gone from disk (the relink candidates)."""
        self._identities: PathIndex[str] = PathIndex()
        """identity -> paths of every record that has one (copies and moves)."""
        for r in self._rows.values():
            self._index_missing(r, add=True)
        self._spellings: PathIndex[int] = PathIndex()
        """hash of loose_key -> recorded paths: the spellings that may be one path
        (paths.py). A hash, not the key: a case-folded copy of every path is 2 MB on
        20,000 projects; `spellings` compares the keys themselves."""
        for path in self._rows:
            self._index_spelling(path, add=True)
        self._moving_from: PathIndex[str] = PathIndex()
        """`moved_from` (and `moved_also`) -> paths of the relinking records whose
        session may be listed there."""
        for r in self._rows.values():
            self._index_moving(r, add=True)

    # --- reading ----------------------------------------------------------------------

    def __getitem__(self, path: str) -> ProjectRecord:
        return self._rows[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def in_state(self, state: StateName) -> list[ProjectRecord]:
        """Every record in `state`; a look at the counts first, since callers ask each
        loop turn (relinks) and a scan of 20,000 records is most of an idle daemon's CPU."""
        if not self._counts.get(state):
            return []
        return [r for r in self._rows.values() if r.state == state]

    def sendable(self) -> list[Queued[str]]:
        rows = (self._rows[p] for p in self._pending)
        return [Queued(r.path, r.kind, r.generate_previews, r.queued_at or 0.0) for r in rows]

    def oldest_pending(self) -> ProjectRecord | None:
        rows = (self._rows[p] for p in self._pending)
        return min(rows, key=lambda r: (r.queued_at or 0.0, r.path), default=None)

    # --- writing ----------------------------------------------------------------------

    def fullest_group(self) -> int:
        return max(self._groups.values(), default=0)

    def _add_pending(self, record: ProjectRecord) -> None:
        self._pending.add(record.path)
        group = (record.kind, record.generate_previews)
        self._groups[group] = self._groups.get(group, 0) + 1

    def _remove_pending(self, record: ProjectRecord) -> None:
        self._pending.discard(record.path)
        group = (record.kind, record.generate_previews)
        left = self._groups[group] - 1
        if left:
            self._groups[group] = left
        else:
            del self._groups[group]

    def _index_missing(self, record: ProjectRecord, add: bool) -> None:
        if record.identity is None:
            return
        if add:
            self._identities.add(record.identity, record.path)
        else:
            self._identities.discard(record.identity, record.path)
        if record.missing_since is None:
            return
        if add:
            self._missing.add(record.identity, record.path)
        else:
            self._missing.discard(record.identity, record.path)

    def _index_moving(self, record: ProjectRecord, add: bool) -> None:
        if record.state != "relinking" or record.moved_from is None:
            return
        for place in (record.moved_from, *record.moved_also):
            if add:
                self._moving_from.add(place, record.path)
            else:
                self._moving_from.discard(place, record.path)

    def moving_from(self, path: str) -> list[ProjectRecord]:
        """Relinking records whose session SessionDock may still list at `path`."""
        return [self._rows[p] for p in sorted(self._moving_from.get(path, ()))]

    def vanished_like(self, identity: str) -> list[ProjectRecord]:
        """Projects with a session, gone from disk, whose identity is `identity`: imported
        ones, and moved ones whose PATCH is not answered yet (moved again)."""
        rows = (self._rows[p] for p in sorted(self._missing.get(identity, ())))
        return [r for r in rows if r.state in ("imported", "relinking")]

    def gone_in_flight_like(self, identity: str) -> list[ProjectRecord]:
        """Projects gone from disk while a request carried them: whether they have a
        session is known only once it is answered."""
        rows = (self._rows[p] for p in sorted(self._missing.get(identity, ())))
        return [r for r in rows if r.state == "in_flight"]

    def present_like(self, identity: str) -> list[ProjectRecord]:
        """Projects not known to be gone whose identity is `identity`, imported or on
        their way (a gone event may be lost, or not handled yet)."""
        rows = (self._rows[p] for p in sorted(self._identities.get(identity, ())))
        return [r for r in rows if r.state in LIVE and r.missing_since is None]

    def spellings(self, path: str) -> list[str]:
        """Recorded paths other than `path` that differ from it at most in Unicode
        normalization and letter case (the caller knows which of those count)."""
        key = loose_key(path)
        found = self._spellings.get(hash(key))
        return sorted(p for p in found if p != path and loose_key(p) == key)

    def _index_spelling(self, path: str, add: bool) -> None:
        key = hash(loose_key(path))
        if add:
            self._spellings.add(key, path)
        else:
            self._spellings.discard(key, path)

    def missing_count(self) -> int:
        return sum(1 for r in self._rows.values() if r.missing_since is not None)

    def carried(self, paths: Iterable[str]) -> None:
        """A request carries these records, and may act though its answer is lost
        (`attempts`; for a relink, see `Spellings._relink_undone`)."""
        for path in paths:
            old = self._rows.get(path)
            if old is not None:
                self._put(replace(old, attempts=old.attempts + 1))

    def set_unheard(self, paths: Iterable[str], wall: float) -> None:
        """In flight at a crash: the request may have made their sessions just now."""
        for path in paths:
            old = self._rows.get(path)
            if old is not None:
                self._put(replace(old, unheard_at=wall))

    def heard(self, paths: Iterable[str]) -> None:
        """A request carrying these was answered with a refusal or an error (heard, as
        `test_core_unheard` has it): those changed while it was out (pending again,
        `unheard` till now: `Table.enqueue`) no longer wait on its verdict."""
        for path in paths:
            old = self._rows.get(path)
            if old is not None and old.state == "pending" and unheard(old):
                self._put(replace(old, unheard_at=None))

    def unsent(self, paths: Iterable[str], before: Mapping[str, tuple[int, str | None]]) -> None:
        """Marked in flight (`mark_in_flight`), these were not carried after all (the
        request refused unread: read-only, a bad token; or a part never sent): their
        `attempts` and held bytes as before, lest a session of older bytes (an unheard
        request's) be taken to hold theirs (simulator seed 100031487)."""
        for path in paths:
            old = self._rows.get(path)
            if old is not None and old.state == "in_flight" and path in before:
                attempts, held = before[path]
                self._put(replace(old, attempts=attempts, moved_identity=held))

    def uncarried(self, paths: Iterable[str]) -> None:
        """The request that carried these relinking records was refused: it did not act."""
        for path in paths:
            old = self._rows.get(path)
            if old is not None and old.state == "relinking" and old.attempts:
                self._put(replace(old, attempts=old.attempts - 1))

    def _put(self, record: ProjectRecord) -> None:
        old = self._rows.get(record.path)
        if old is None or record.queued_at != old.queued_at:
            if record.queued_at != self._order_wall:  # queued at one instant: one order
                self._order_wall = record.queued_at
                self._last_order += 1
            record = replace(record, queued_order=self._last_order)
        elif record.queued_order != old.queued_order:
            record = replace(record, queued_order=old.queued_order)  # rebuilt, not queued
        if old is not None:
            self._index_missing(old, add=False)
            self._index_moving(old, add=False)
            self._counts[old.state] -= 1
            if old.state == "pending":
                self._remove_pending(old)
        else:
            self._index_spelling(record.path, add=True)
        self._counts[record.state] += 1
        self._rows[record.path] = record
        self._index_missing(record, add=True)
        self._index_moving(record, add=True)
        if record.state == "pending":
            self._add_pending(record)
        self._changed.add(record.path)
        self.revision += 1

    def _drop(self, path: str) -> None:
        old = self._rows.pop(path)
        self._index_spelling(path, add=False)
        self._index_missing(old, add=False)
        self._index_moving(old, add=False)
        self._counts[old.state] -= 1
        if old.state == "pending":
            self._remove_pending(old)
        self._changed.add(path)
        self.revision += 1

    def touch_keys(self, paths: Iterable[str]) -> None:
        """Write these records again (their last write failed)."""
        self._changed.update(paths)

    def take_changes(self, meta: Iterable[tuple[str, object]] = ()) -> Persist | None:
        """Everything changed since the last call, as one `Persist` (None: nothing)."""
        meta = tuple(meta)
        if not self._changed and not meta:
            return None
        changed, self._changed = sorted(self._changed), set()
        upserts = tuple(self._rows[p] for p in changed if p in self._rows)
        deletes = tuple(p for p in changed if p not in self._rows)
        return Persist(upserts=upserts, deletes=deletes, meta=meta)
