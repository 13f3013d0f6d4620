"""A simulated SessionDock: its library, its modes and token, and its faults.

It answers what the real Local API answers (see ../shared/product.md and
tests/emulator.py): 202 with `done` true or false, 400 on a batch holding a poisoned
item, 401 for a regenerated token (or a 401 that clears by itself), 403 `read_only`,
5xx, and the transport failures a client sees: refused, timed out before or after the
server acted, reset after it acted (so a retry brings the same batch twice).

Like the emulator, an import of a `projectPath` the library already has is skipped, not
a second session: the library is keyed by path. Every request is logged with what the
server did, for the invariants.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from watcher.api import Session as ApiSession
from watcher.bridge import failure_of
from watcher.client import (
    ApiError,
    BadAnswer,
    NoToken,
    ReadOnly,
    Rejected,
    SessionDockError,
    Unauthorized,
    Unreachable,
)
from watcher.core.effects import AskHealth, AskLibrary, Relink, RelinkItem, Send, Tag, TagItem
from watcher.core.inputs import (
    Accepted,
    Failure,
    Health,
    HealthAnswered,
    Library,
    LibraryAnswered,
    RelinkAnswered,
    Relinked,
    SendAnswered,
    TagDone,
    TagsAnswered,
)
from watcher.relink import merged_tags
from watcher.relinker import SessionListing

FULL = "full-automation"
READ_ONLY = "read-only"


@dataclass(frozen=True)
class Item:
    project_path: str
    title: str
    project_type: str
    preview: str | None = None


@dataclass(frozen=True)
class Answer:
    """What the client sees, `delay` seconds after it asked."""

    status: int | None
    """None: no HTTP answer at all (see `failure`)."""
    failure: str | None = None
    """`refused`, `timeout` or `reset` when `status` is None; `bad-json` for a 2xx whose
    body is not the documented JSON."""
    data: Any = None
    code: str = ""
    message: str = ""
    retry_after: float | None = None
    delay: float = 0.05
    acted: bool = False
    """The server changed its library (even if the client never hears of it)."""


@dataclass
class Record:
    """One request as the server saw it (or would have: refused ones too)."""

    n: int
    at: float
    method: str
    token: str | None
    kind: str = ""
    paths: tuple[str, ...] = ()
    answer: Answer | None = None


@dataclass
class Session:
    id: str
    project_path: str
    original_path: str
    kind: str
    title: str
    tags: list[str] = field(default_factory=list)
    visible_at: float = 0.0
    """When the import's background job has made it appear in GET /sessions."""
    user_added: set[str] = field(default_factory=set)
    """Tags the user added in SessionDock (and has not removed since)."""
    user_removed: set[str] = field(default_factory=set)
    """Tags (casefolded) the user removed in SessionDock: the watcher need not keep them."""


@dataclass
class SimSessionDock:
    rng: random.Random
    token: str = "token-1"
    mode: str = FULL
    down: bool = False
    flaky_401: bool = False
    fault_rate: float = 0.0
    """Chance that one request meets a one-off fault (5xx, timeout, reset, slow)."""
    not_done_rate: float = 0.0
    timeout: float = 10.0
    poisoned: set[str] = field(default_factory=set)
    sessions: dict[str, Session] = field(default_factory=dict)
    """By id: two sessions may point at one path (a relink onto a path that has one)."""
    log: list[Record] = field(default_factory=list)
    arrivals: dict[str, int] = field(default_factory=dict)
    """projectPath -> how many import requests carrying it reached the library."""
    visible_delay: float = 0.0
    """How long an import's new sessions take to appear in listings (a background job)."""
    tag_violations: list[str] = field(default_factory=list)
    """PATCHes that removed a tag the session had (the checker reports them)."""
    on_moved: Callable[[str], None] | None = None
    """Told the old path of each session a relink moves (the invariants listen)."""
    on_patched: Callable[[Session, str], None] | None = None
    """Told each session a PATCH finds, and the path it points it at, before it moves."""
    on_imported: Callable[[str], None] | None = None
    """Told each path an import reached the library for (new or skipped): SessionDock
    reads the project there (the invariants keep what each session holds)."""

    @property
    def healthy(self) -> bool:
        return not (self.down or self.flaky_401) and self.mode == FULL and not self.fault_rate

    def answered(self) -> Counter[str]:
        """Requests by what they got: `import -> 202`, `health -> refused`, ..."""
        counts: Counter[str] = Counter()
        for record in self.log:
            answer = record.answer
            what = (answer.status or answer.failure) if answer else "?"
            counts[f"{record.method} -> {what}"] += 1
        return counts

    def _record(self, at: float, method: str, token: str | None, **kw: Any) -> Record:
        record = Record(len(self.log) + 1, at, method, token, **kw)
        self.log.append(record)
        return record

    def _gate(self, token: str | None, write: bool) -> Answer | None:
        """The answer every request gets before its own work: down, auth, mode."""
        if self.down:
            if self.rng.random() < 0.5:
                return Answer(None, "refused", delay=0.001)
            return Answer(503, code="unavailable", message="starting", retry_after=None)
        if token != self.token or self.flaky_401:
            return Answer(401, code="unauthorized", message="Provide Authorization: Bearer")
        if write and self.mode != FULL:
            return Answer(403, code="read_only", message="Local API is read-only")
        return None

    def _fault(self) -> str | None:
        if self.fault_rate and self.rng.random() < self.fault_rate:
            return self.rng.choice(
                [
                    "500",
                    "501",
                    "503",
                    "timeout-before",
                    "timeout-after",
                    "reset-after",
                    "slow",
                    "bad-json-after",
                ]
            )
        return None

    def health(self, at: float, token: str | None) -> Answer:
        record = self._record(at, "health", token)
        answer = self._gate(token, write=False)
        fault = self._fault() if answer is None else None
        if fault in ("500", "501", "503"):
            answer = Answer(int(fault), code="internal", message="try later")
        elif fault in ("timeout-before", "timeout-after"):
            answer = Answer(None, "timeout", delay=self.timeout)
        if answer is None:
            data = {
                "status": "ok",
                "configuredMode": self.mode,
                "effectiveMode": self.mode,
                "running": True,
            }
            answer = Answer(200, data=data, delay=self.rng.uniform(0.001, 0.05))
        record.answer = answer
        return answer

    def list_sessions(self, at: float, token: str | None) -> Answer:
        """Every session's projectPath and projectOriginalPath (all pages, one answer)."""
        record = self._record(at, "sessions", token)
        answer = self._gate(token, write=False)
        if answer is None:
            fault = self._fault()
            if fault in ("timeout-before", "timeout-after"):
                answer = Answer(None, "timeout", delay=self.timeout)
            elif fault in ("500", "503"):
                answer = Answer(int(fault), code="internal", message="try later")
            else:
                rows = [
                    {
                        "id": s.id,
                        "projectPath": s.project_path,
                        "projectOriginalPath": s.original_path,
                    }
                    for s in self.sessions.values()
                    if s.visible_at <= at
                ]
                answer = Answer(200, data=rows, delay=self.rng.uniform(0.005, 0.2))
        record.answer = answer
        return answer

    def relink(
        self, at: float, token: str | None, items: tuple[RelinkItem, ...]
    ) -> tuple[Answer, tuple[tuple[str, str | None], ...], bool]:
        """PATCH /sessions/{id} for each item (the shell's `relinker`), in order; and
        whether a PATCH went out (not when the gate stopped the GET before it)."""
        record = self._record(at, "relink", token, paths=tuple(i.new_path for i in items))
        answer = self._gate(token, write=True)
        sent = answer is None
        done: list[tuple[str, str | None]] = []
        if answer is None:
            for item in items:
                # One PATCH per item: a fault stops the rest, and a timeout or reset after
                # SessionDock acted leaves this one moved without the client hearing it.
                fault = self._fault()
                if fault in ("500", "501", "503"):
                    answer = Answer(503, code="internal", message="try later")
                    break
                if fault == "timeout-before":
                    answer = Answer(None, "timeout", delay=self.timeout)
                    break
                session = self.session_for(item, at)
                if session is None:
                    done.append((item.key, None))
                    continue
                if self.on_patched is not None:
                    self.on_patched(session, item.new_path)
                if self.on_moved is not None:
                    self.on_moved(session.project_path)
                session.project_path = item.new_path
                if session.title == item.old_title:
                    session.title = item.new_title
                if fault in ("timeout-after", "reset-after"):
                    failure = "timeout" if fault == "timeout-after" else "reset"
                    answer = Answer(None, failure, delay=self.timeout, acted=True)
                    break
                done.append((item.key, session.id))
            else:
                answer = Answer(200, delay=0.02, acted=True)
        assert answer is not None
        record.answer = answer
        return answer, tuple(done), sent

    def has(self, path: str) -> bool:
        """Some session points at `path` (the library, as an import sees it)."""
        return any(s.project_path == path for s in self.sessions.values())

    def session_for(self, item: RelinkItem, at: float) -> Session | None:
        """The session a relink moves: by id; else the one at the old path, found in one
        listing as `watcher.relinker` does (by path, then by original path, then at the
        new path: an earlier PATCH went through unheard). Only sessions listed by `at`:
        as in the emulator, an import's session not done yet is neither listed nor
        found by id (`GET /sessions/{id}` says 404), so the relinker never sees it."""
        by_id = {k: s for k, s in self.sessions.items() if s.visible_at <= at}
        if item.session_id is not None:
            return by_id.get(item.session_id)
        listing = [
            ApiSession(s.id, s.title, (), s.project_path, s.original_path) for s in by_id.values()
        ]
        hit = SessionListing(listing).find(item)  # the real relinker's lookup
        return None if hit is None else by_id[hit.id]

    def import_batch(
        self, at: float, token: str | None, kind: str, items: tuple[Item, ...]
    ) -> Answer:
        record = self._record(
            at, "import", token, kind=kind, paths=tuple(i.project_path for i in items)
        )
        answer = self._gate(token, write=True)
        if answer is None:
            answer = self._import(kind, items, at)
        record.answer = answer
        return answer

    def tag(
        self, at: float, token: str | None, items: tuple[TagItem, ...]
    ) -> tuple[Answer, tuple[TagDone, ...]]:
        """The shell's `tagger`: per item GET /sessions/{id}, then a PATCH of its tags
        plus the folder tags it lacks (`merged_tags`, the real rule), in order. A reset
        after acting leaves the tags added and the client without an answer."""
        record = self._record(at, "tag", token, paths=tuple(i.key for i in items))
        answer = self._gate(token, write=True)
        fault = self._fault() if answer is None else None
        if fault in ("500", "503"):
            answer = Answer(503, code="internal", message="try later")
        done: list[TagDone] = []
        if answer is None:
            by_id = {s.id: s for s in self.sessions.values()}
            for item in items:
                # By id, listed or not yet: as the simulated relink finds a session
                # before it is listed, the id it answers must be one that is found.
                session = by_id.get(item.session_id)
                if session is None:
                    done.append(TagDone(item.key, item.session_id, gone=True))
                    continue
                merged = merged_tags(session.tags, item.tags)
                if merged is None:
                    done.append(TagDone(item.key, item.session_id))
                    continue
                lost = {t.casefold() for t in session.tags} - {t.casefold() for t in merged}
                if lost:
                    self.tag_violations.append(
                        f"a tag PATCH removed {sorted(lost)} from {session.id}"
                    )
                added = tuple(merged[len(session.tags) :])
                session.tags = merged
                done.append(TagDone(item.key, item.session_id, added=added))
            answer = Answer(200, delay=0.02, acted=True)
            if fault == "reset-after":
                answer = Answer(None, "reset", delay=0.05, acted=True)
                done = []
        record.answer = answer
        return answer, tuple(done)

    def user_edits_tags(self, rng: random.Random, at: float, folder_tags: list[str]) -> str:
        """The user adds a tag of their own (sometimes a folder tag in other case), or
        removes one (sometimes a folder tag), in SessionDock's window."""
        visible = [s for s in self.sessions.values() if s.visible_at <= at]
        if not visible:
            return ""
        session = rng.choice(visible)
        if session.tags and rng.random() < 0.3:
            tag = rng.choice(session.tags)
            session.tags = [t for t in session.tags if t != tag]
            session.user_added.discard(tag)
            session.user_removed.add(tag.casefold())
            return f"user removed tag {tag!r} from {session.id}"
        if folder_tags and rng.random() < 0.3:
            tag = rng.choice(folder_tags).swapcase()
        else:
            tag = f"mine-{rng.randint(1, 5)}"
        if tag.casefold() in {t.casefold() for t in session.tags}:
            return ""
        session.tags = [*session.tags, tag]
        session.user_added.add(tag)
        session.user_removed.discard(tag.casefold())
        return f"user added tag {tag!r} to {session.id}"

    def _import(self, kind: str, items: tuple[Item, ...], at: float = 0.0) -> Answer:
        poisoned = [i.project_path for i in items if i.project_path in self.poisoned]
        if poisoned:
            return Answer(
                400, code="invalid_json", message=f"Cannot import {poisoned[0]}: not a project."
            )
        fault = self._fault()
        if fault in ("500", "501", "503"):
            retry = float(self.rng.choice([1, 5, 30])) if fault == "503" else None
            return Answer(int(fault), code="internal", message="try later", retry_after=retry)
        if fault == "timeout-before":
            return Answer(None, "timeout", delay=self.timeout)
        skipped = self._store(kind, items, at)
        done = not (self.not_done_rate and self.rng.random() < self.not_done_rate)
        data = {
            "importId": f"imp_{len(self.log)}",
            "total": len(items),
            "completed": len(items) - skipped if done else 0,
            "failed": 0,
            "skipped": skipped,
            "done": done,
            "durationMs": 3,
        }
        if fault == "timeout-after":
            return Answer(None, "timeout", delay=self.timeout, acted=True)
        if fault == "bad-json-after":
            return Answer(202, "bad-json", data={"oops": True}, acted=True)
        if fault == "reset-after":
            return Answer(None, "reset", delay=self.rng.uniform(0.01, 1.0), acted=True)
        delay = self.rng.uniform(1.0, self.timeout * 0.9) if fault == "slow" else 0.02
        return Answer(202, data=data, delay=delay, acted=True)

    def _store(self, kind: str, items: tuple[Item, ...], at: float = 0.0) -> int:
        skipped = 0
        for item in items:
            path = item.project_path
            self.arrivals[path] = self.arrivals.get(path, 0) + 1
            if self.has(path):
                skipped += 1
            else:
                session_id = f"session_{len(self.sessions) + 1}"
                self.sessions[session_id] = Session(
                    session_id, path, path, kind, item.title, visible_at=at + self.visible_delay
                )
            if self.on_imported is not None:
                self.on_imported(path)
        return skipped


# --- what the shell hands the core for an answer ------------------------------------


def client_error(answer: Answer) -> SessionDockError | None:
    """The exception `watcher.client` raises for this answer (None for a 2xx)."""
    status = answer.status
    if answer.failure == "bad-json":
        return BadAnswer("POST /import: the 202 answer lacks importId or total")
    if status is not None and 200 <= status < 300:
        return None
    if status is None:
        return Unreachable(f"cannot reach SessionDock ({answer.failure})")
    kind: type[ApiError] = {400: Rejected, 401: Unauthorized}.get(status, ApiError)
    if status == 403 and answer.code == "read_only":
        kind = ReadOnly
    return kind(status, answer.code, answer.message, answer.retry_after)


def failure(answer: Answer, token: str | None) -> Failure | None:
    """The error policy's view of an answer, through the real shell's translation."""
    error = client_error(answer)
    return None if error is None else failure_of(error, token)


NO_TOKEN = failure_of(NoToken("token file missing"))
"""What the client raises before sending anything when the token cannot be read."""


def import_outcome(answer: Answer, token: str | None) -> Accepted | Failure:
    data = answer.data
    return failure(answer, token) or Accepted(
        data["importId"],
        data["total"],
        data["completed"],
        data["failed"],
        data["skipped"],
        data["done"],
    )


def health_outcome(answer: Answer, token: str | None) -> Health | Failure:
    data = answer.data
    return failure(answer, token) or Health(
        data["status"], data["configuredMode"], data["effectiveMode"]
    )


def library_outcome(
    answer: Answer, token: str | None, among: frozenset[str] | None = None
) -> Library | Failure:
    """As `SessionDockClient.library_index` tells it: only the paths in `among`, when
    given (the core learns nothing of the others from this listing)."""
    rows = answer.data or ()
    current = {r["projectPath"]: r["id"] for r in rows}
    original = {r["projectOriginalPath"]: r["id"] for r in rows}
    only = set(original) - set(current)
    ids = {p: i for p, i in {**original, **current}.items() if among is None or p in among}
    return failure(answer, token) or Library(frozenset(ids), ids, frozenset(only & set(ids)))


def answer_request(
    server: SimSessionDock,
    effect: Send | AskHealth | AskLibrary | Relink | Tag,
    token: str | None,
    now: float,
) -> tuple[
    SendAnswered | HealthAnswered | LibraryAnswered | RelinkAnswered | TagsAnswered,
    Answer | None,
]:
    """Carry out one request effect: the input that answers it, and the HTTP answer
    (None when the client could not read a token, so nothing reached SessionDock)."""
    if isinstance(effect, Send):
        if token is None:
            return SendAnswered(effect.request, NO_TOKEN), None
        items = tuple(
            Item(i.project_path, i.title, i.project_type, i.preview_path) for i in effect.items
        )
        answer = server.import_batch(now, token, effect.kind, items)
        return SendAnswered(effect.request, import_outcome(answer, token)), answer
    if isinstance(effect, Relink):
        if token is None:
            return RelinkAnswered(effect.request, Relinked(()), NO_TOKEN), None
        answer, done, sent = server.relink(now, token, effect.items)
        return RelinkAnswered(effect.request, Relinked(done, sent), failure(answer, token)), answer
    if isinstance(effect, Tag):
        if token is None:
            return TagsAnswered(effect.request, (), NO_TOKEN), None
        answer, tagged = server.tag(now, token, effect.items)
        return TagsAnswered(effect.request, tagged, failure(answer, token)), answer
    if isinstance(effect, AskHealth):
        if token is None:
            return HealthAnswered(effect.request, NO_TOKEN), None
        answer = server.health(now, token)
        return HealthAnswered(effect.request, health_outcome(answer, token)), answer
    if token is None:
        return LibraryAnswered(effect.request, NO_TOKEN), None
    answer = server.list_sessions(now, token)
    return LibraryAnswered(effect.request, library_outcome(answer, token, effect.among)), answer
