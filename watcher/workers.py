"""The disk work that can be slow, off the main loop: walks and content checks.

A walk of a 20,000-project library takes seconds and a content check of a large set
can take longer; neither may hold up the main loop (every other project, the watchdog
ping, signals). The `walker` thread takes walks in order; content checks go to the
prober threads (`watcher.prober`). Both post what they found as core inputs. They read
the config they are given; they decide nothing.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path, PurePath

from watcher import prober
from watcher.bridge import daw_of
from watcher.config import Config, WatchFolder
from watcher.core.effects import Probe, Walk
from watcher.core.inputs import Found, Input, NotAProject, Probed, WalkEnded, WalkFound
from watcher.daws import Candidate, Registry, Skipped
from watcher.detector import Snapshot
from watcher.identity import identity_of
from watcher.logging import get_logger
from watcher.mounts import inner_roots
from watcher.names import BAD_NAME, BAD_NAME_ACTION
from watcher.scanner import (
    cached_names_in,
    content_limits,
    remembered_signature,
    unreadable_folder_advice,
    walk,
)
from watcher.walkmemo import WalkMemo

log = get_logger("watcher.workers")

WALK_CHUNK = 200


class Walker:
    """The thread that walks folders, one walk at a time, in order."""

    def __init__(self, run: Callable[[Walk], None]) -> None:
        self._run_walk = run
        self._jobs: queue.SimpleQueue[Walk | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="walker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, walk: Walk) -> None:
        self._jobs.put(walk)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            self._run_walk(job)

    def stop(self, timeout: float) -> None:
        self._jobs.put(None)
        self._thread.join(timeout)


class Disk:
    """The walker and the probers, and the config they work with (replaced on reload)."""

    def __init__(self, config: Config, registry: Registry, post: Callable[[Input], None]) -> None:
        self.config = config
        self.registry = registry
        self._post = post
        self.walker = Walker(self._walk)
        self._memos: dict[str, tuple[Registry, WalkMemo]] = {}  # the walker's only
        self.snapshot: Callable[[Path, Registry], Snapshot | None] = lambda _f, _r: None
        """The change detector's last pass of a folder (the observer's, once it runs)."""
        self.prober = prober.Prober(self._probed)

    def start(self) -> None:
        self.walker.start()
        self.prober.start()

    def stop(self, timeout: float) -> None:
        self.prober.stop(timeout)
        self.walker.stop(timeout)

    def folder(self, root: str) -> WatchFolder | None:
        return next((f for f in self.config.watch if str(f.path) == root), None)

    def walk(self, effect: Walk) -> None:
        self.walker.submit(effect)

    def probe(self, effect: Probe, inline: bool = False) -> None:
        """On a prober thread, or (`inline`: `scan --dry-run`'s plan) right here."""
        folder = self.folder(effect.root)
        daw = daw_of(effect.path, self.config.watch, self.registry)
        if folder is None or daw is None:
            self._post(Probed(effect.path, NotAProject("excluded", "no longer watched")))
            return
        candidate = Candidate(PurePath(effect.path), daw)
        limits = content_limits(self.config.scan)
        job = prober.ProbeJob(candidate, folder, self.config.import_, effect.signature, limits)
        if inline:
            self._probed(prober.run_job(job))
        else:
            self.prober.submit(job)

    def walk_inline(self, effect: Walk) -> None:
        self._walk(effect)

    def _probed(self, probed: prober.Probed) -> None:
        """On a prober thread: the result in the core's terms."""
        result, job = probed.result, probed.job
        path = str(job.candidate.path)
        if isinstance(result, Skipped):
            kind = job.folder.kind or job.candidate.daw.kind
            advice = BAD_NAME_ACTION if result.reason == BAD_NAME else ""
            self._post(Probed(path, NotAProject(result.reason, result.detail, kind, advice)))
        else:
            identity = identity_of(Path(path), job.candidate.daw)
            if identity is not None:  # recorded, so a move is recognised (issue 12)
                result = replace(result, identity=f"{identity.size}:{identity.digest}")
            self._post(Probed(path, result))

    def _walk(self, effect: Walk) -> None:
        """On the walker thread."""
        failed: list[tuple[str, str]] = []
        try:
            folder = self.folder(effect.root)
            if folder is not None:
                self._walk_folder(effect, folder, failed)
        except Exception:  # a bug or an odd file must not leave the core waiting
            log.exception("walk_failed", folder=effect.root)
        self._post(WalkEnded(effect.root, effect.under, tuple(failed)))

    def _walk_folder(
        self, effect: Walk, folder: WatchFolder, failed: list[tuple[str, str]]
    ) -> None:
        registry = self.registry
        scope = folder
        if effect.under is not None:  # a folder moved in: walk it, classify from the root
            scope = folder.model_copy(update={"path": Path(effect.under)})
        skip = inner_roots(f.path for f in self.config.watch).get(folder.path, frozenset())

        def unreadable(path: Path, exc: OSError) -> None:
            failed.append((str(path), unreadable_folder_advice(path, exc)))

        memo = self._memo(folder)
        whole = effect.under is None
        memo.begin(self.snapshot(folder.path, registry), registry, whole)
        chunk: list[Found] = []
        for verdict in walk(scope, registry, skip=skip, on_unreadable=unreadable, memo=memo):
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
            signature = remembered_signature(path, verdict.daw, memo)
            chunk.append(Found(str(path), verdict.daw.bundle, signature))
            if len(chunk) >= WALK_CHUNK:
                self._post(WalkFound(effect.root, effect.under, tuple(chunk)))
                chunk = []
        if chunk:
            self._post(WalkFound(effect.root, effect.under, tuple(chunk)))
        memo.end()
        log.debug("walked", folder=effect.root, listed=memo.listed, recalled=memo.recalled)

    def _memo(self, folder: WatchFolder) -> WalkMemo:
        """The folder's memory of its bundles' signatures (watcher/walkmemo.py); a
        reload that changes the DAW table starts it afresh."""
        root = str(folder.path)
        known = self._memos.get(root)
        if known is None or known[0] is not self.registry:
            known = self._memos[root] = (self.registry, WalkMemo())
        for gone in [r for r in self._memos if self.folder(r) is None]:
            del self._memos[gone]
        return known[1]
