"""A watched folder unplugged while the core was looking at a project that changed since it
was queued: the look is dropped, and what was queued before is not sent in its stead."""

from __future__ import annotations

from dataclasses import dataclass

from tests.test_core import ROOT, WALL0, Driver, settings, sig
from watcher.core import Core
from watcher.core.effects import CheckFolder, Effect, Probe, Send, Stat
from watcher.core.inputs import (
    DirectoryGone,
    Failure,
    FolderChecked,
    NotAProject,
    Probed,
    ProjectChanged,
    SendAnswered,
    Started,
    Statted,
)

AUP3 = "/studio/Ballad.aup3"


@dataclass
class UnpluggingDriver(Driver):
    """Its drive goes away while the effect of the kind `unplug_at` names is out (a probe
    then finds the project open in its DAW); while `offline` the folder is missing and,
    if `blind`, stats find nothing."""

    unplug_at: type[Stat | Probe] | None = None
    offline: bool = False
    blind: bool = True

    def carry_out(self, effect: Effect) -> None:
        if self.unplug_at is not None and isinstance(effect, self.unplug_at):
            self.unplug_at = None
            self.offline = True
            self.feed(DirectoryGone(ROOT, ROOT, self.now))
            if isinstance(effect, Probe):
                self.feed(Probed(effect.path, NotAProject("open", "open in Audacity")))
                return
        if isinstance(effect, CheckFolder) and self.offline:
            self.feed(FolderChecked(effect.root, exists=False))
        elif isinstance(effect, Stat) and self.offline and self.blind:
            self.feed(Statted(effect.path, None))
        else:
            super().carry_out(effect)


def queued_then_changed() -> tuple[UnpluggingDriver, Send]:
    """A project queued (its first request failed), then saved again and opened."""
    d = UnpluggingDriver(Core.restore(settings(), [], {}), disk={AUP3: sig(1)})
    d.feed(Started(wall=WALL0))
    d.hold = True
    d.advance(8)
    [send] = d.held
    d.held.clear()
    assert isinstance(send, Send)
    d.feed(SendAnswered(send.request, Failure("server", "HTTP 503", "start it")))
    assert d.stored[AUP3].state == "pending"
    d.hold = False
    d.disk[AUP3] = sig(2)  # rewritten in place, open in Audacity
    return d, send


def plugged_back_in(d: UnpluggingDriver) -> None:
    """Plugged back in, closed since: the project is found by a walk, checked again,
    and its new bytes are sent once, the old ones having gone out before only."""
    d.offline = False
    d.advance(3600)
    record = d.stored[AUP3]
    assert (len(d.sends()), record.state, record.signature) == (2, "imported", sig(2))


def test_a_queued_project_whose_check_came_back_with_its_folder_offline_is_not_sent_stale() -> None:
    """Simulator seed 69674: a queued .aup3 (queued in an earlier life there), found
    rewritten, was probed (open in Audacity); its drive was unplugged before the verdict
    came back, which was then dropped, and the bytes queued before were sent while the
    project was open. They wait for a walk to see the project again."""
    d, send = queued_then_changed()
    d.unplug_at = Probe
    d.feed(ProjectChanged(ROOT, AUP3, False, d.now))
    d.advance(600)
    assert d.sends() == [send]  # the bytes queued before are not those on the drive now
    plugged_back_in(d)


def test_a_queued_project_whose_quiet_period_ended_with_its_folder_offline_is_not_sent_stale() -> (
    None
):
    """As above, the drive unplugged during the change's quiet period and the stat at its
    end answered (plugged back in already, not checked yet): the change it confirmed is
    not forgotten because its folder is offline for the core."""
    d, send = queued_then_changed()
    d.feed(ProjectChanged(ROOT, AUP3, False, d.now))
    d.advance(1)
    d.offline, d.blind = True, False
    d.feed(DirectoryGone(ROOT, ROOT, d.now))
    d.advance(600)
    assert d.sends() == [send]
    plugged_back_in(d)


def test_a_queued_project_whose_change_was_statted_as_its_folder_went_offline_is_not_sent_stale() -> (
    None
):
    """As above, the drive unplugged while the stat for the change's event was out, which
    answered all the same: the change is not dropped with its folder offline."""
    d, send = queued_then_changed()
    d.unplug_at, d.blind = Stat, False
    d.feed(ProjectChanged(ROOT, AUP3, False, d.now))
    d.advance(600)
    assert d.sends() == [send]
    plugged_back_in(d)
