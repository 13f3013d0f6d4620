"""The SessionDock Local API, as this daemon uses it: `/health`, `/import`, `/sessions`.

Its answers and errors are typed values (watcher/api.py); this module makes the
requests and reads the answers.

The client never follows a system proxy (`trust_env=False`) or a redirect: loopback
traffic and the bearer token must not be routed anywhere else. The token is read
through a callable on every request, so a regenerated token is used without a restart,
and it never appears in an exception message.

A server is not trusted to behave: every request has a total deadline, every answer a
size cap (watcher.transport), and every field is type-checked before it is used. Text
from the server that reaches a log line or the state (error messages, import ids) is
cut to one short line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from watcher.api import (
    ApiError,
    BadAnswer,
    Health,
    ImportAnswer,
    ImportItem,
    InFlight,
    NotFound,
    NoToken,
    ReadOnly,
    Redirected,
    Rejected,
    Session,
    SessionDockError,
    Stalled,
    Unauthorized,
    Unreachable,
)
from watcher.config import ConfigError
from watcher.transport import (
    DeadlineBackend,
    NotDecodable,
    TooLarge,
    clip,
    deadline_transport,
    read_capped,
    retry_after_seconds,
    size_text,
)

__all__ = [
    "ApiError",
    "BadAnswer",
    "Health",
    "ImportAnswer",
    "ImportItem",
    "InFlight",
    "NoToken",
    "NotFound",
    "ReadOnly",
    "Redirected",
    "Rejected",
    "Session",
    "SessionDockClient",
    "SessionDockError",
    "Stalled",
    "Unauthorized",
    "Unreachable",
    "import_answer",
]

USER_AGENT = "sessiondock-watcher"
ANSWER_LIMIT = 1024 * 1024
"""Bytes read of an answer to /health or /import; the documented ones are under 1 KiB."""
PAGE_LIMIT = 32 * 1024 * 1024
"""Bytes read of one /sessions page (200 sessions with long notes fit many times over)."""
ERROR_LIMIT = 64 * 1024
"""Bytes read of an error answer; beyond that only its status is used."""
MAX_SESSIONS = 1_000_000
"""A library listing longer than this is a server that lies about paging."""
DEFAULT_DEADLINE = 60.0


@dataclass(frozen=True)
class _Answer:
    status: int
    path: str
    headers: httpx.Headers
    body: bytes
    too_long: bool = False
    """An error answer over ERROR_LIMIT: `body` is empty, only the status counts."""


def _json(answer: _Answer) -> Any:
    try:
        return json.loads(answer.body)
    except (ValueError, RecursionError):
        return None


_ERRORS: dict[int, type[ApiError]] = {
    400: Rejected,
    401: Unauthorized,
    403: ReadOnly,
    404: NotFound,
}


def _raise_for_error(answer: _Answer, method: str) -> None:
    if 200 <= answer.status < 300:
        return
    retry_after = retry_after_seconds(answer.headers)
    if 300 <= answer.status < 400:
        try:
            host = urlsplit(answer.headers.get("Location", "")[:2000]).hostname
        except ValueError:
            host = None
        raise Redirected(
            f"{method} /{answer.path}: HTTP {answer.status} redirect to "
            f"{clip(host or '(no valid host)', 100)} not followed",
            retry_after,
        )
    error = _json(answer)
    error = error.get("error") if isinstance(error, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        code, message = clip(error["code"], 60), clip(str(error.get("message", "")))
    elif answer.too_long:
        code, message = "http_error", f"an error answer over {size_text(ERROR_LIMIT)}, not read"
    else:
        code, message = "http_error", "no JSON error envelope"
    if answer.status == 403 and code != "read_only":
        raise ApiError(answer.status, code, message, retry_after)
    raise _ERRORS.get(answer.status, ApiError)(answer.status, code, message, retry_after)


def _data(answer: _Answer, method: str) -> Any:
    body = _json(answer)
    if not isinstance(body, dict) or "data" not in body:
        raise BadAnswer(
            f"{method} /{answer.path}: HTTP {answer.status} was not the documented JSON"
        )
    return body["data"]


def _count(data: dict[str, Any], key: str, odd: list[str]) -> int | None:
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if value is not None or key == "total":
        odd.append(key)
    return None


def import_answer(data: Any) -> ImportAnswer:
    """Read a 2xx answer's `data` leniently: SessionDock has taken the job either way."""
    if not isinstance(data, dict):
        raise BadAnswer("POST /import: data in the answer is not an object")
    odd: list[str] = []
    import_id = data.get("importId")
    if isinstance(import_id, (str, int)) and not isinstance(import_id, bool) and import_id != "":
        import_id = clip(str(import_id), 100)
    else:
        odd.append("importId")
        import_id = None
    done = data.get("done")
    if done is not None and not isinstance(done, bool):
        odd.append("done")
        done = None
    return ImportAnswer(
        import_id=import_id,
        total=_count(data, "total", odd),
        completed=_count(data, "completed", odd),
        failed=_count(data, "failed", odd),
        skipped=_count(data, "skipped", odd),
        done=done,
        duration_ms=_count(data, "durationMs", odd),
        odd=tuple(odd),
    )


def _one_session(answer: _Answer, data: Any) -> Session:
    session = Session.from_json(data)
    if session is None:
        raise BadAnswer(f"{answer.path}: the answer is not a session")
    return session


class SessionDockClient:
    """One pooled HTTP client for the daemon's lifetime; not shared between threads.

    `in_flight` describes the request being made (None between requests); another
    thread may read it for a status report.
    """

    def __init__(
        self,
        base_url: str,
        token: Callable[[], str],
        timeout: float,
        transport: httpx.BaseTransport | None = None,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        self._token = token
        self._deadline = deadline
        self._backend = DeadlineBackend()
        self.in_flight: InFlight | None = None
        self.last_token: str | None = None
        """The token the latest request carried (so a 401 names which one was refused)."""
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            timeout=timeout,
            trust_env=False,
            follow_redirects=False,
            transport=transport or deadline_transport(self._backend),
            headers={
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
                "Accept-Encoding": "identity",
            },
        )

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, limit: int, **kwargs: Any) -> _Answer:
        try:
            self.last_token = self._token()
        except ConfigError as exc:
            self.last_token = None
            raise NoToken(str(exc)) from None
        headers = {"Authorization": f"Bearer {self.last_token}"}
        what = f"{method} /{path}"
        now = time.time()
        self.in_flight = InFlight(method, "/" + path, now, now + self._deadline)
        self._backend.deadline = self._backend.clock() + self._deadline
        try:
            with self._http.stream(method, path, headers=headers, **kwargs) as response:
                status = response.status_code
                try:
                    body = read_capped(response, limit if response.is_success else ERROR_LIMIT)
                except TooLarge:
                    if response.is_success:
                        raise BadAnswer(
                            f"{what}: HTTP {status}, an answer longer than {size_text(limit)} "
                            "(SessionDock's are far shorter); stopped reading it"
                        ) from None
                    return _Answer(status, path, response.headers, b"", too_long=True)
                return _Answer(status, path, response.headers, body)
        except NotDecodable as exc:
            raise BadAnswer(f"{what}: {exc}") from None
        except httpx.TransportError as exc:
            if self._backend.expired():
                raise Stalled(
                    f"{what}: no complete answer within {self._deadline:g} s "
                    "(sessiondock.request_deadline_seconds); gave up"
                ) from None
            if isinstance(exc, httpx.TimeoutException):
                raise Unreachable(f"{what}: SessionDock did not answer in time") from None
            if "location header" in str(exc):  # httpx parses Location even unfollowed
                raise Redirected(f"{what}: a redirect to an invalid URL, not followed") from None
            raise Unreachable(
                f"{what}: cannot reach SessionDock at {self._http.base_url} ({type(exc).__name__})"
            ) from None
        except httpx.HTTPError as exc:
            raise BadAnswer(f"{what}: {type(exc).__name__}") from None
        finally:
            self._backend.deadline = None
            self.in_flight = None

    def _call(self, method: str, path: str, limit: int = ANSWER_LIMIT, **kwargs: Any) -> Any:
        answer = self._request(method, path, limit, **kwargs)
        _raise_for_error(answer, method)
        return answer, _data(answer, method)

    def health(self) -> Health:
        _, data = self._call("GET", "health")
        if not isinstance(data, dict) or not isinstance(data.get("effectiveMode"), str):
            raise BadAnswer("GET /health: no effectiveMode (text) in the answer")

        def text(key: str) -> str:
            value = data.get(key)
            return clip(value, 60) if isinstance(value, str) else ""

        return Health(
            status=text("status"),
            configured_mode=text("configuredMode"),
            effective_mode=text("effectiveMode"),
            raw=data,
        )

    def import_batch(
        self, kind: str, generate_previews: bool, items: Sequence[ImportItem]
    ) -> ImportAnswer:
        body = {
            "kind": kind,
            "generatePreviews": generate_previews,
            "items": [item.to_json() for item in items],
        }
        _, data = self._call("POST", "import", json=body)
        return import_answer(data)

    def _listing(self, page_size: int) -> Iterator[Any]:
        """Every entry of the paged library listing, as SessionDock sent it.

        A listing that repeats a page (offset ignored) or runs past MAX_SESSIONS is a
        BadAnswer, not an endless loop.
        """
        offset = 0
        previous: int | None = None
        while True:
            answer, sessions = self._call(
                "GET", "sessions", PAGE_LIMIT, params={"limit": page_size, "offset": offset}
            )
            if not isinstance(sessions, list):
                raise BadAnswer("GET /sessions: data is not a list")
            page = hash(tuple(_identity(s) for s in sessions))
            if sessions and page == previous:
                raise BadAnswer(f"GET /sessions: offset {offset} repeats the previous page")
            previous = page
            yield from sessions
            offset += len(sessions)
            if not sessions or offset >= _total(_json(answer), offset):
                return
            if offset >= MAX_SESSIONS:
                raise BadAnswer(f"GET /sessions: more than {MAX_SESSIONS} sessions listed")

    def session_paths(self, page_size: int = 200, among: Collection[str] | None = None) -> set[str]:
        """Every projectPath and projectOriginalPath in the library (only those in
        `among`, when given, which bounds the memory a huge library takes)."""
        return self.library_index(page_size, among)[0]

    def session_index(
        self, page_size: int = 200, among: Collection[str] | None = None
    ) -> tuple[set[str], dict[str, str]]:
        """`library_index` without the paths listed only as an original."""
        paths, ids, _ = self.library_index(page_size, among)
        return paths, ids

    def library_index(
        self, page_size: int = 200, among: Collection[str] | None = None
    ) -> tuple[set[str], dict[str, str], set[str]]:
        """One listing: the paths of `session_paths`; path -> session id (a path that
        is one session's projectPath and another's projectOriginalPath is the first
        one's: that is where the project is now); and the paths no session's
        projectPath is (listed only by a session relinked away: no session there)."""
        here: set[str] = set()  # some session's projectPath
        there: set[str] = set()  # some session's projectOriginalPath
        current: dict[str, str] = {}
        original: dict[str, str] = {}
        for entry in self._listing(page_size):
            if not isinstance(entry, dict):
                continue
            sid = entry.get("id")
            for key, ids in (("projectPath", current), ("projectOriginalPath", original)):
                value = entry.get(key)
                if not isinstance(value, str) or not value:
                    continue
                if among is not None and value not in among:
                    continue
                (here if ids is current else there).add(value)
                if isinstance(sid, str) and sid:
                    ids.setdefault(value, clip(sid, 200))
        return here | there, {**original, **current}, there - here

    def sessions(self, page_size: int = 200) -> list[Session]:
        """The whole library with ids, read in pages (a few requests for thousands)."""
        return [s for s in map(Session.from_json, self._listing(page_size)) if s is not None]

    def session(self, session_id: str) -> Session:
        """One session; `NotFound` when the user deleted it."""
        return _one_session(*self._call("GET", f"sessions/{session_id}"))

    def patch_session(self, session_id: str, changes: dict[str, Any]) -> Session:
        """A partial update (`projectPath`, `title`, `tags`: the whole list); never a delete."""
        return _one_session(*self._call("PATCH", f"sessions/{session_id}", json=changes))


def _identity(session: Any) -> str:
    if isinstance(session, dict):
        return repr((session.get("id"), session.get("projectPath")))[:1000]
    return repr(session)[:1000]


def _total(body: Any, fallback: int) -> int:
    """meta.total when it is a count; else keep paging until an empty page."""
    meta = body.get("meta") if isinstance(body, dict) else None
    total = meta.get("total") if isinstance(meta, dict) else None
    if isinstance(total, int) and not isinstance(total, bool) and total >= 0:
        return total
    return fallback + 1
