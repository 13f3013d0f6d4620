"""Talking to SessionDock on a thread of its own, one request at a time.

The core hands over a request (`Send`, `AskHealth`, `AskLibrary`, `Relink`, `Tag`) and
gets the answer back as an input; it decides what is stored, what is split, and when
to retry. This thread only performs the requests of one job and says what came back. Each request
ends by its deadline (sessiondock.request_deadline_seconds), so the thread is never
held by a server that stops answering halfway.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from watcher.bridge import failure_of
from watcher.client import BadAnswer, ImportItem, SessionDockClient, SessionDockError
from watcher.core.effects import AskHealth, AskLibrary, Relink, Send, Tag
from watcher.core.inputs import (
    Accepted,
    Health,
    HealthAnswered,
    Library,
    LibraryAnswered,
    RelinkAnswered,
    Relinked,
    SendAnswered,
    TagsAnswered,
)
from watcher.logging import get_logger
from watcher.relinker import relink
from watcher.tagger import tag

log = get_logger("watcher.importer")

Job = Send | AskHealth | AskLibrary | Relink | Tag
Answer = SendAnswered | HealthAnswered | LibraryAnswered | RelinkAnswered | TagsAnswered


def perform(client: SessionDockClient, job: Job, auth_advice: str | None = None) -> Answer:
    """One request; every SessionDock error becomes a `Failure` in the answer."""
    if isinstance(job, Relink):
        return relink(client, job, auth_advice)
    if isinstance(job, Tag):
        return tag(client, job, auth_advice)
    try:
        if isinstance(job, Send):
            items = [
                ImportItem(i.project_path, i.title, i.project_type, i.preview_path)
                for i in job.items
            ]
            answer = client.import_batch(job.kind, job.generate_previews, items)
            accepted = Accepted(
                import_id=answer.import_id,
                total=answer.total,
                completed=answer.completed,
                failed=answer.failed,
                skipped=answer.skipped,
                done=answer.done,
                odd=tuple(answer.odd),
            )
            return SendAnswered(job.request, accepted)
        if isinstance(job, AskLibrary):
            paths, ids, only = client.library_index(among=job.among)
            return LibraryAnswered(job.request, Library(frozenset(paths), ids, frozenset(only)))
        health = client.health()
        return HealthAnswered(
            job.request, Health(health.status, health.configured_mode, health.effective_mode)
        )
    except SessionDockError as exc:
        return failed(job, exc, client.last_token, auth_advice)


def failed(
    job: Job, error: SessionDockError, token: str | None = None, auth_advice: str | None = None
) -> Answer:
    failure = failure_of(error, token, auth_advice)
    if isinstance(job, Send):
        return SendAnswered(job.request, failure)
    if isinstance(job, AskLibrary):
        return LibraryAnswered(job.request, failure)
    if isinstance(job, Relink):
        return RelinkAnswered(job.request, Relinked(()), failure)
    if isinstance(job, Tag):
        return TagsAnswered(job.request, (), failure)
    return HealthAnswered(job.request, failure)


class Importer:
    """The one thread that talks to SessionDock; answers go to `post`."""

    def __init__(
        self,
        client: SessionDockClient,
        post: Callable[[Answer], None],
        auth_advice: Callable[[], str] | None = None,
    ) -> None:
        self._client = client
        self._post = post
        self._auth_advice = auth_advice
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="importer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, job: Job) -> None:
        self._jobs.put(job)

    def request_status(self) -> dict[str, Any] | None:
        """The request being made now (method, path, started_at, give_up_at as wall
        clock), for `status`; safe to call from another thread (a snapshot)."""
        request = self._client.in_flight
        return None if request is None else asdict(request)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            advice = self._auth_advice() if self._auth_advice is not None else None
            try:
                answer = perform(self._client, job, advice)
            except Exception as exc:  # a bug here must not leave the core waiting forever
                log.exception("importer_failed", job=type(job).__name__)
                answer = failed(job, BadAnswer(f"internal error: {type(exc).__name__}"))
            self._post(answer)

    def stop(self, timeout: float) -> bool:
        """Ask the thread to finish; True when it did within `timeout`.

        A request still out after that is abandoned (the thread is a daemon thread);
        its projects stay in flight in the state and are looked up at the next start.
        """
        self._jobs.put(None)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._client.close()
            return True
        return False
