"""Folder tags in the simulation: which folders have them, a user editing tags, the check.

Everything here draws from its own random generator, seeded from the seed, so the
world's draws (and the seeds kept as regressions) are those they were before tags:
a seed's studio is the same; only what SessionDock is asked differs.

The invariant (checked at the end, on top of the server's own check that no PATCH
ever drops a tag a session had): every session of a complete project in a tagged
folder holds the folder's tags (case aside), except those the user removed in
SessionDock, and every tag the user added and kept.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, replace

from tests.simulation.world import World
from watcher.core.records import ProjectRecord
from watcher.core.settings import Settings

TAG_CHOICES: tuple[tuple[str, ...], ...] = (("client-a",), ("Client B", "2024"), ("mix", "MIX"))


@dataclass
class Tagging:
    """One seed's tag setup and the user's edits."""

    rng: random.Random
    edit_every: float | None
    """Mean seconds between the user's tag edits (None: the user never edits)."""
    next_edit: float | None = None

    @classmethod
    def for_seed(cls, seed: int, settings: Settings, world: World) -> tuple[Tagging, Settings]:
        rng = random.Random(seed * 7919 + 17)
        folder_tags = tuple(
            (folder.root, rng.choice(TAG_CHOICES))
            for folder in settings.folders
            if rng.random() < 0.5
        )
        world.server.visible_delay = rng.choice((0.0, 0.0, 1.0, 5.0, 40.0))
        edit_every = rng.choice((None, 20.0, 120.0)) if folder_tags else None
        tagging = cls(rng, edit_every)
        if edit_every is not None:
            tagging.next_edit = rng.expovariate(1.0 / edit_every)
        # Config tags are deduplicated case-insensitively (watcher.config); so here.
        folder_tags = tuple((root, _unique(tags)) for root, tags in folder_tags)
        return tagging, replace(settings, folder_tags=folder_tags)

    def edit(self, world: World, settings: Settings, now: float, quiet: bool) -> str:
        """The user's edit due now; the next is scheduled unless the world is quiet."""
        every = self.edit_every
        assert every is not None
        self.next_edit = None if quiet else now + self.rng.expovariate(1.0 / every)
        tags = [t for _, ts in settings.folder_tags for t in ts]
        return world.server.user_edits_tags(self.rng, now, tags)


def _unique(tags: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for tag in tags:
        if tag.casefold() not in {t.casefold() for t in out}:
            out.append(tag)
    return tuple(out)


def check_tags(world: World, settings: Settings, durable: Mapping[str, ProjectRecord]) -> list[str]:
    failures = list(world.server.tag_violations)
    by_path = {s.project_path: s for s in world.server.sessions.values()}
    for project in sorted(world.projects.values(), key=lambda p: p.pid):
        if not world.complete(project):
            continue
        path = str(project.unit)
        session = by_path.get(path)
        record = durable.get(path)
        if session is None or record is None or record.state != "imported":
            continue  # the other invariants speak about this one
        have = {t.casefold() for t in session.tags}
        folder = next(
            (r for r, _ in settings.folder_tags if path.startswith(r.rstrip("/") + "/")), None
        )
        wanted = settings.tags_for(folder) if folder else ()
        lacking = [
            t
            for t in wanted
            if t.casefold() not in have and t.casefold() not in session.user_removed
        ]
        if lacking:
            failures.append(
                f"project #{project.pid} {path}: session {session.id} lacks folder tags "
                f"{lacking} (has {session.tags})"
            )
        lost = sorted(t for t in session.user_added if t.casefold() not in have)
        if lost:
            failures.append(f"project #{project.pid} {path}: the user's tags {lost} were removed")
    return failures
