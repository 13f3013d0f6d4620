"""The SessionDock Local API's vocabulary, as this daemon uses it: its answers and errors.

Errors form one small tree, so callers decide policy by type, not by parsing text::

    SessionDockError
    ├── Unreachable        connection refused, reset or timed out: SessionDock not running
    │   └── Stalled        no complete answer within request_deadline_seconds
    ├── NoToken            the token file is gone or empty: nothing to authenticate with
    ├── BadAnswer          an answer that is not the documented JSON (retry later)
    │   └── Redirected     a 3xx: never followed, so the token cannot leave this machine
    └── ApiError           the error envelope {"error": {status, code, message}}
        ├── Unauthorized   401: the token was rejected (regenerated in SessionDock?)
        ├── ReadOnly       403 read_only: the Local API is not in Full Automation
        ├── Rejected       400: SessionDock refused the request body or an item in it
        └── NotFound       404 not_found: the session is gone (the user deleted it)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class SessionDockError(Exception):
    """Any failure talking to SessionDock; `advice` says what a person should do."""

    advice = "check that SessionDock is running"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unreachable(SessionDockError):
    advice = "start SessionDock (the Local API runs inside the desktop app); retrying"


class Stalled(Unreachable):
    advice = (
        "SessionDock took the request but did not finish answering within "
        "sessiondock.request_deadline_seconds; it is sent again (restart SessionDock if "
        "this repeats)"
    )


class NoToken(SessionDockError):
    """The token could not be read (token_file deleted or emptied while running)."""

    advice = (
        "put the token from SessionDock's Local API settings into token_file "
        "(the watcher picks it up by itself)"
    )


class BadAnswer(SessionDockError):
    advice = "SessionDock answered something unexpected; retrying"


class Redirected(BadAnswer):
    advice = (
        "something other than SessionDock answers at sessiondock.base_url (SessionDock "
        "listens on http://127.0.0.1:18432/api/v1); redirects are never followed; retrying"
    )


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
    """A 2xx to /import. SessionDock took the job; a field it sent in a form other than
    documented is None here and named in `odd` (the counts are only reported)."""

    import_id: str | None
    total: int | None
    completed: int | None
    failed: int | None
    skipped: int | None
    done: bool | None
    duration_ms: int | None
    odd: tuple[str, ...] = ()


@dataclass(frozen=True)
class InFlight:
    """The request being made now, for `status`: wall-clock times."""

    method: str
    path: str
    started_at: float
    give_up_at: float
