"""The disk work that can be slow, on threads of its own: walks and content checks.

A walk of a 20,000-project library takes seconds and a content check of a large set
can take longer; neither may hold up the main loop (every other project, the watchdog
ping, signals). Each worker takes effects from its queue in order and posts what it
found as core inputs. They read the config they are given; they decide nothing.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path, PurePath

from watcher.config import Config, WatchFolder
from watcher.core.effects import Probe, Walk
from watcher.core.inputs import Found, Input, NotAProject, Probed, WalkEnded, WalkFound
from watcher.core.records import Project
from watcher.daws import Candidate, Registry, Skipped
from watcher.logging import get_logger
from watcher.scanner import cached_names_in, probe, signature_of, walk

log = get_logger("watcher.workers")

WALK_CHUNK = 200


class Worker:
    """One named daemon thread running jobs in order; a failing job is logged, not fatal."""

    def __init__(self, name: str, post: Callable[[Input], None]) -> None:
        self.name = name
        self._post = post
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    def stop(self, timeout: float) -> None:
        self._jobs.put(None)
        self._thread.join(timeout)


class Disk:
    """The walker and the prober, and the config they work with (replaced on reload)."""

    def __init__(self, config: Config, registry: Registry, post: Callable[[Input], None]) -> None:
        self.config = config
        self.registry = registry
        self._post = post
        self.walker = Worker("walker", post)
        self.prober = Worker("prober", post)

    def start(self) -> None:
        self.walker.start()
        self.prober.start()

    def stop(self, timeout: float) -> None:
        self.walker.stop(timeout)
        self.prober.stop(timeout)

    def folder(self, root: str) -> WatchFolder | None:
        return next((f for f in self.config.watch if str(f.path) == root), None)

    def walk(self, effect: Walk) -> None:
        self.walker.submit(lambda: self._walk(effect, self.registry))

    def probe(self, effect: Probe) -> None:
        self.prober.submit(lambda: self._probe(effect, self.registry))

    def _walk(self, effect: Walk, registry: Registry) -> None:
        try:
            folder = self.folder(effect.root)
            if folder is not None:
                self._walk_folder(effect, folder, registry)
        except Exception:  # a bug or an odd file must not leave the core waiting
            log.exception("walk_failed", folder=effect.root)
        self._post(WalkEnded(effect.root, effect.under))

    def _walk_folder(self, effect: Walk, folder: WatchFolder, registry: Registry) -> None:
        scope = folder
        if effect.under is not None:  # a folder moved in: walk it, classify from the root
            scope = folder.model_copy(update={"path": Path(effect.under)})
        chunk: list[Found] = []
        for verdict in walk(scope, registry):
            if not isinstance(verdict, Candidate):
                continue
            if effect.under is not None:
                rooted = registry.classify(
                    Path(verdict.path), folder.path, cached_names_in(), folder.exclude
                )
                if not isinstance(rooted, Candidate):
                    continue
                verdict = rooted
            path = Path(verdict.path)
            chunk.append(Found(str(path), verdict.daw.bundle, signature_of(path, verdict.daw)))
            if len(chunk) >= WALK_CHUNK:
                self._post(WalkFound(effect.root, effect.under, tuple(chunk)))
                chunk = []
        if chunk:
            self._post(WalkFound(effect.root, effect.under, tuple(chunk)))

    def _probe(self, effect: Probe, registry: Registry) -> None:
        try:
            outcome = self._outcome(effect, registry)
        except Exception as exc:  # a bug or an odd file must not leave the core waiting
            log.exception("probe_failed", path=effect.path)
            outcome = NotAProject("error", f"the check failed: {type(exc).__name__}")
        self._post(Probed(effect.path, outcome))

    def _outcome(self, effect: Probe, registry: Registry) -> Project | NotAProject:
        folder = self.folder(effect.root)
        daw = registry.format_for(PurePath(effect.path).name)
        if folder is None or daw is None:
            return NotAProject("excluded", "no longer watched")
        result = probe(
            Candidate(PurePath(effect.path), daw), folder, self.config.import_, effect.signature
        )
        if isinstance(result, Skipped):
            return NotAProject(result.reason, result.detail, folder.kind or daw.kind)
        return result
