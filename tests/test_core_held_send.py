"""A send held back by a failed write leaves out a project written to meanwhile."""

from __future__ import annotations

from dataclasses import replace

from tests.test_core import ROOT, Driver, project, sig, start
from watcher.core.effects import Effect, Probe
from watcher.core.inputs import Probed, ProjectChanged


class Identities(Driver):
    """Probes give each signature's bytes an identity, as the shell's content check does."""

    def carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Probe):
            found = project(effect.path, effect.signature)
            identity = f"{effect.signature.size}:{effect.signature.mtime_ns}"
            self.feed(Probed(effect.path, replace(found, identity=identity)))
            return
        super().carry_out(effect)


def test_a_send_replayed_after_a_failed_write_leaves_out_a_project_saved_meanwhile() -> None:
    """Simulator seed 160019198: the write marking a batch in flight failed; the project
    was saved before the retry, which sent it anyway while its change waited out its
    quiet period. SessionDock read the new bytes, but the core took its session to hold
    the checked (old) ones and, once the new bytes were checked, owed them a resend: the
    same bytes sent twice. Held back like any project changing, it is sent once."""
    path = f"{ROOT}/a.als"
    first = start(disk={path: sig(1)})
    d = Identities(first.core, now=first.now, disk=first.disk)
    d.fail_before_send = 10**6
    d.advance(8)  # queued, planned; the write marking it in flight fails, again
    assert not d.sends()
    d.disk[path] = replace(sig(1), size=500, mtime_ns=sig(1).mtime_ns + 10**9)  # saved
    d.feed(ProjectChanged(ROOT, path, False, d.now))
    d.fail_before_send = 0
    d.advance(60)
    sent = [item.key for s in d.sends() for item in s.items]
    assert sent == [path]  # once, with the bytes that were checked
    record = d.core.table[path]
    assert record.state == "imported"
    assert record.signature.size == 500
    assert record.moved_identity is None
