"""A folder dropped from the config by a reload while a move waits on its check.

A new project whose identity is a recorded one's waits for the recorded one's folder
to be checked before it is taken for a move (`Moves._move_checked`). Once a reload drops
that folder, the check's answer is ignored: without this rule the new project waited
forever (never imported, never relinked) and the core stayed busy finding, so every
later batch waited out its window. Gone from a folder no longer watched is gone, as in
`_move_checked`: the project is taken for it, moved (a drive back under another mount
point, and the config changed to it). So is a guessed relink waiting while the folder
its session still points at is offline: that drive gone for good, the person drops it
from `watch:` (as `status` says) and the session follows the copy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.test_core import WALL0, settings, sig
from tests.test_core_relink_sweep import sent_since
from tests.test_core_relink_taken import B_COPY, B_PATH, a_copy_on_a_waits_for_trashed_a_on_b
from tests.test_core_volumes import VolumeDriver, items_sent, relinked
from watcher.core import Core
from watcher.core.effects import CheckFolder, Effect
from watcher.core.inputs import (
    DirectoryGone,
    ProjectChanged,
    ReloadRequested,
    Started,
)
from watcher.core.settings import FolderSettings

A, B = "/Volumes/A", "/Volumes/B"


@dataclass
class Unanswered(VolumeDriver):
    """Checks of the folders in `slow` are held (the drive slow to answer)."""

    slow: set[str] = field(default_factory=set)
    checks: list[CheckFolder] = field(default_factory=list)

    def carry_out(self, effect: Effect) -> None:
        if isinstance(effect, CheckFolder) and effect.root in self.slow:
            self.checks.append(effect)
        else:
            super().carry_out(effect)


def test_a_move_waiting_on_a_folder_the_config_drops_is_relinked() -> None:
    d = Unanswered(Core.restore(settings(folders=(FolderSettings(A), FolderSettings(B))), (), {}))
    home, away = f"{B}/Jam/jam.mmp", f"{A}/Done/jam.mmp"
    d.disk[home], d.identity[home] = sig(1), "id-j"
    d.feed(Started(wall=WALL0))
    d.advance(10)
    assert home in items_sent(d)
    d.slow.add(B)
    d.disk[away], d.identity[away] = d.disk.pop(home), "id-j"  # B's event lost
    d.feed(ProjectChanged(A, away, False, d.now))
    d.advance(10)
    assert [c.root for c in d.checks] == [B], "B is checked before the move is believed"
    d.feed(ReloadRequested(settings(folders=(FolderSettings(A),))))
    d.advance(10)
    assert relinked(d) == [(home, away)]
    assert away not in items_sent(d), "never imported again at its new path"
    assert not d.core._busy_finding(), "nothing waits on a folder no longer watched"


def test_a_guessed_relink_waiting_on_an_offline_folder_goes_once_it_is_dropped() -> None:
    a, dup = B_PATH, B_COPY
    d, _ = a_copy_on_a_waits_for_trashed_a_on_b()
    d.unplugged.add(B)
    d.feed(DirectoryGone(B, B, d.now))  # the drive goes, for good
    tried, d.refusing = len(d.relinks), False
    d.advance(600)
    assert not sent_since(d, tried), "no PATCH while the session's path cannot be looked at"
    d.feed(ReloadRequested(settings(folders=(FolderSettings(A),))))
    d.advance(600)
    assert sent_since(d, tried) == [(a, dup)], "the session follows the copy"
    # A guess (another inode): its bytes sent once to the session it took (118000211).
    assert d.stored[dup].state == "imported" and items_sent(d).count(dup) == 1
