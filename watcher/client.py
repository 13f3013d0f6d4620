"""The SessionDock Local API, as this daemon uses it: `/health`, `/import`, `/sessions`.

Errors form one small tree, so callers decide policy by type, not by parsing text::

    SessionDockError
    ├── Unreachable        connection refused, reset or timed out: SessionDock not running
    ├── NoToken            the token file is gone or empty: nothing to authenticate with
    ├── BadAnswer          an answer that is not the documented JSON (retry later)
    └── ApiError           the error envelope {"error": {status, code, message}}
        ├── Unauthorized   401: the token was rejected (regenerated in SessionDock?)
        ├── ReadOnly       403 read_only: the Local API is not in Full Automation
        ├── Rejected       400: SessionDock refused the request body or an item in it
        └── NotFound       404 not_found: the session is gone (the user deleted it)

The client never follows a system proxy (`trust_env=False`): loopback traffic and the
bearer token must not be routed anywhere else. The token is read through a callable on
every request, so a regenerated token is used without a restart, and it never appears
in an exception message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from watcher.config import ConfigError

USER_AGENT = "sessiondock-watcher"


class SessionDockError(Exception):
    """Any failure talking to SessionDock; `advice` says what a person should do."""

    advice = "check that SessionDock is running"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unreachable(SessionDockError):
    advice = "start SessionDock (the Local API runs inside the desktop app); retrying"


class NoToken(SessionDockError):
    """The token could not be read (token_file deleted or emptied while running)."""

    advice = (
        "put the token from SessionDock's Local API settings into token_file "
        "(the watcher picks it up by itself)"
    )


class BadAnswer(SessionDockError):
    advice = "SessionDock answered something unexpected; retrying"


class ApiError(SessionDockError):
    def __init__(
        self, status: int, code: str, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(f"HTTP {status} {code}: {message}", retry_after)
        self.status = status
        self.code = code
        self.detail = message


class Unauthorized(ApiError):
    advice = (
        "the token was rejected: regenerate it in SessionDock's Local API settings and "
        "update token_file (the watcher picks it up by itself)"
    )


class ReadOnly(ApiError):
    advice = (
        "SessionDock's Local API is read-only: enable Full Automation in SessionDock's "
        "Local API settings (the watcher resumes by itself)"
    )


class Rejected(ApiError):
    advice = "SessionDock rejected the request; fix or remove the project"


class NotFound(ApiError):
    advice = "the session was deleted in SessionDock; the project is imported again as new"


@dataclass(frozen=True)
class Health:
    status: str
    configured_mode: str
    effective_mode: str
    raw: dict[str, Any]

    @property
    def can_import(self) -> bool:
        return self.effective_mode == "full-automation"


@dataclass(frozen=True)
class ImportItem:
    project_path: str
    title: str
    project_type: str
    preview_audio_path: str | None = None

    def to_json(self) -> dict[str, str]:
        body = {
            "projectPath": self.project_path,
            "title": self.title,
            "projectType": self.project_type,
        }
        if self.preview_audio_path:
            body["previewAudioPath"] = self.preview_audio_path
        return body


@dataclass(frozen=True)
class Session:
    """A session as the daemon needs it: where it points, and what the user gave it."""

    id: str
    title: str
    tags: tuple[str, ...]
    project_path: str
    original_path: str

    @classmethod
    def from_json(cls, data: Any) -> Session | None:
        """None for an entry that is not a session with an id (skipped, not fatal)."""
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            return None
        tags = data.get("tags")
        return cls(
            id=data["id"],
            title=str(data.get("title") or ""),
            tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
            project_path=str(data.get("projectPath") or ""),
            original_path=str(data.get("projectOriginalPath") or ""),
        )


@dataclass(frozen=True)
class ImportAnswer:
    import_id: str
    total: int
    completed: int
    failed: int
    skipped: int
    done: bool
    duration_ms: int | None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())
    except (TypeError, ValueError):
        return None


_ERRORS: dict[int, type[ApiError]] = {
    400: Rejected,
    401: Unauthorized,
    403: ReadOnly,
    404: NotFound,
}


def _raise_for_error(response: httpx.Response) -> None:
    if response.is_success:
        return
    retry_after = _retry_after(response)
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "http_error", response.reason_phrase or "no error envelope"
    if response.status_code == 403 and code != "read_only":
        raise ApiError(response.status_code, code, message, retry_after)
    raise _ERRORS.get(response.status_code, ApiError)(
        response.status_code, code, message, retry_after
    )


def _data(response: httpx.Response) -> Any:
    try:
        return response.json()["data"]
    except (ValueError, KeyError, TypeError):
        raise BadAnswer(
            f"HTTP {response.status_code} from {response.request.url.path} was not the "
            "documented JSON"
        ) from None


def _one_session(response: httpx.Response) -> Session:
    session = Session.from_json(_data(response))
    if session is None:
        raise BadAnswer(f"{response.request.url.path}: the answer is not a session")
    return session


class SessionDockClient:
    """One pooled HTTP client for the daemon's lifetime; not shared between threads."""

    def __init__(
        self,
        base_url: str,
        token: Callable[[], str],
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._token = token
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            timeout=timeout,
            trust_env=False,
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            headers = {"Authorization": f"Bearer {self._token()}"}
        except ConfigError as exc:
            raise NoToken(str(exc)) from None
        try:
            response = self._http.request(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException:
            raise Unreachable(f"{method} {path}: SessionDock did not answer in time") from None
        except httpx.TransportError as exc:
            reason = type(exc).__name__
            raise Unreachable(
                f"{method} {path}: cannot reach SessionDock at {self._http.base_url} ({reason})"
            ) from None
        _raise_for_error(response)
        return response

    def health(self) -> Health:
        data = _data(self._request("GET", "health"))
        if not isinstance(data, dict) or "effectiveMode" not in data:
            raise BadAnswer("GET /health: no effectiveMode in the answer")
        return Health(
            status=str(data.get("status", "")),
            configured_mode=str(data.get("configuredMode", "")),
            effective_mode=str(data["effectiveMode"]),
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
        response = self._request("POST", "import", json=body)
        data = _data(response)
        try:
            return ImportAnswer(
                import_id=str(data["importId"]),
                total=int(data["total"]),
                completed=int(data.get("completed", 0)),
                failed=int(data.get("failed", 0)),
                skipped=int(data.get("skipped", 0)),
                done=bool(data.get("done", False)),
                duration_ms=data.get("durationMs"),
            )
        except (KeyError, TypeError, ValueError):
            raise BadAnswer("POST /import: the 202 answer lacks importId or total") from None

    def session_paths(self, page_size: int = 200) -> set[str]:
        """Every projectPath and projectOriginalPath already in the library."""
        return {
            path
            for session in self.sessions(page_size)
            for path in (session.project_path, session.original_path)
            if path
        }

    def sessions(self, page_size: int = 200) -> list[Session]:
        """The whole library, read in pages (a few requests for thousands of sessions)."""
        found: list[Session] = []
        offset = 0
        while True:
            response = self._request(
                "GET", "sessions", params={"limit": page_size, "offset": offset}
            )
            page = _data(response)
            if not isinstance(page, list):
                raise BadAnswer("GET /sessions: data is not a list")
            found.extend(s for s in map(Session.from_json, page) if s is not None)
            offset += len(page)
            meta = response.json().get("meta")
            total = meta.get("total", offset) if isinstance(meta, dict) else offset
            if not page or not isinstance(total, int) or offset >= total:
                return found

    def session(self, session_id: str) -> Session:
        """One session; `NotFound` when the user deleted it."""
        return _one_session(self._request("GET", f"sessions/{session_id}"))

    def patch_session(self, session_id: str, changes: dict[str, Any]) -> Session:
        """A partial update (`projectPath`, `title`, `tags`: the whole list); never a delete."""
        return _one_session(self._request("PATCH", f"sessions/{session_id}", json=changes))
