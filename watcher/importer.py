"""Talking to SessionDock on a thread of its own, one request at a time.

The daemon hands over a job and gets a result back in its inbox; it decides what is
stored and when to retry. This module decides only what one delivery attempt means: a
400 on a batch is split in halves until the item(s) SessionDock refuses are isolated,
so one bad project cannot hold back the others. It knows nothing of how work is stored.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from watcher.client import (
    BadAnswer,
    Health,
    ImportAnswer,
    ImportItem,
    Rejected,
    SessionDockClient,
    SessionDockError,
)
from watcher.logging import get_logger

log = get_logger("watcher.importer")


@dataclass(frozen=True)
class SendJob:
    kind: str
    generate_previews: bool
    items: tuple[tuple[str, ImportItem], ...]
    """(state key, what is sent) pairs."""


@dataclass(frozen=True)
class HealthJob:
    pass


@dataclass(frozen=True)
class LibraryJob:
    """Ask which of these project paths SessionDock already has (after a crash)."""

    items: tuple[tuple[str, str], ...]
    """(state key, projectPath) pairs."""


@dataclass(frozen=True)
class CatalogJob:
    """Every path SessionDock's library holds: adopted into an empty state, not resent."""


@dataclass(frozen=True)
class Delivered:
    keys: tuple[str, ...]
    answer: ImportAnswer


@dataclass(frozen=True)
class SendResult:
    job: SendJob
    delivered: list[Delivered] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    """(key, SessionDock's message) for each item refused on its own."""
    unsent: list[str] = field(default_factory=list)
    error: SessionDockError | None = None
    """Why `unsent` is not empty."""


@dataclass(frozen=True)
class HealthResult:
    health: Health | None
    error: SessionDockError | None


@dataclass(frozen=True)
class LibraryResult:
    known: list[str]
    unknown: list[str]
    error: SessionDockError | None


@dataclass(frozen=True)
class CatalogResult:
    paths: frozenset[str]
    error: SessionDockError | None


Job = SendJob | HealthJob | LibraryJob | CatalogJob
Result = SendResult | HealthResult | LibraryResult | CatalogResult


def deliver(client: SessionDockClient, job: SendJob) -> SendResult:
    """Send a batch; on 400, bisect to find the items SessionDock refuses.

    Any other error stops the attempt: what was not answered is returned as unsent,
    with the error that stopped it.
    """
    result = SendResult(job=job)
    pending: list[Sequence[tuple[str, ImportItem]]] = [job.items]
    while pending:
        part = pending.pop(0)
        try:
            answer = client.import_batch(job.kind, job.generate_previews, [i for _, i in part])
        except Rejected as exc:
            if len(part) == 1:
                result.rejected.append((part[0][0], exc.detail))
                continue
            middle = len(part) // 2
            pending[:0] = [part[:middle], part[middle:]]
            continue
        except SessionDockError as exc:
            result.unsent.extend(key for chunk in [part, *pending] for key, _ in chunk)
            return SendResult(job, result.delivered, result.rejected, result.unsent, error=exc)
        keys = tuple(key for key, _ in part)
        result.delivered.append(Delivered(keys, answer))
        log.info(
            "import_answered",
            kind=job.kind,
            items=len(part),
            import_id=answer.import_id,
            accepted=answer.total,
            completed=answer.completed,
            failed=answer.failed,
            skipped=answer.skipped,
            done=answer.done,
        )
        if answer.odd:
            log.warning(
                "import_answer_odd",
                import_id=answer.import_id,
                fields=list(answer.odd),
                advice="SessionDock took the batch but sent these fields in an undocumented "
                "form; they are reported as null (is SessionDock up to date?)",
            )
        if answer.failed:
            log.warning(
                "import_items_failed",
                import_id=answer.import_id,
                failed=answer.failed,
                advice="SessionDock could not import some items; see its import history",
            )
    return result


def check_library(client: SessionDockClient, job: LibraryJob) -> LibraryResult:
    try:
        known_paths = client.session_paths(among={path for _, path in job.items})
    except SessionDockError as exc:
        return LibraryResult([], [key for key, _ in job.items], exc)
    known = [key for key, path in job.items if path in known_paths]
    unknown = [key for key, path in job.items if path not in known_paths]
    return LibraryResult(known, unknown, None)


def failed(job: Job, error: SessionDockError) -> Result:
    """The result of a job that could not be attempted: everything in it stays queued."""
    if isinstance(job, SendJob):
        return SendResult(job, unsent=[key for key, _ in job.items], error=error)
    if isinstance(job, LibraryJob):
        return LibraryResult([], [key for key, _ in job.items], error)
    if isinstance(job, CatalogJob):
        return CatalogResult(frozenset(), error)
    return HealthResult(None, error)


def perform(client: SessionDockClient, job: Job) -> Result:
    if isinstance(job, SendJob):
        return deliver(client, job)
    if isinstance(job, LibraryJob):
        return check_library(client, job)
    if isinstance(job, CatalogJob):
        try:
            return CatalogResult(frozenset(client.session_paths()), None)
        except SessionDockError as exc:
            return CatalogResult(frozenset(), exc)
    try:
        return HealthResult(client.health(), None)
    except SessionDockError as exc:
        return HealthResult(None, exc)


class Importer:
    """The one thread that talks to SessionDock; results go to `post`.

    Each request ends by its deadline (sessiondock.request_deadline_seconds), so the
    thread is never held by a server that stops answering halfway.
    """

    def __init__(self, client: SessionDockClient, post: Callable[[Result], None]) -> None:
        self._client = client
        self._post = post
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="importer", daemon=True)
        self.busy = False

    def start(self) -> None:
        self._thread.start()

    def submit(self, job: Job) -> None:
        self.busy = True
        self._jobs.put(job)

    def request_status(self) -> dict[str, Any] | None:
        """The request being made now (method, path, started_at, give_up_at as wall
        clock), for `status`; safe to call from another thread (a snapshot)."""
        request = self._client.in_flight
        return None if request is None else asdict(request)

    def done(self) -> None:
        """The daemon has taken the result of the last job."""
        self.busy = False

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                result = perform(self._client, job)
            except Exception as exc:  # a bug here must not leave the daemon waiting forever
                log.exception("importer_failed", job=type(job).__name__)
                result = failed(job, BadAnswer(f"internal error: {type(exc).__name__}"))
            self._post(result)

    def stop(self, timeout: float) -> bool:
        """Ask the thread to finish; True when it did within `timeout`.

        A request still in flight after that is abandoned (the thread is a daemon
        thread); its projects stay in flight in the state and are re-sent next start.
        """
        self._jobs.put(None)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._client.close()
            return True
        return False
