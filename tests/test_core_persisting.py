"""A state database that cannot be written, while a request waits on that write.

The core holds a request back until the state it acts on is written, and builds it
again once a write works (`Persisting._send_again`): the settings and the projects may
have changed in between.
"""

from __future__ import annotations

from tests.test_core import ROOT, WALL0, settings, sig
from tests.test_core_moves import MovingDriver
from watcher.core import Core
from watcher.core.inputs import (
    ProjectChanged,
    ProjectGone,
    RelinkAnswered,
    Relinked,
    ReloadRequested,
    Started,
)


def test_a_relink_held_back_by_a_failed_write_is_built_again_at_the_reloaded_size() -> None:
    d = MovingDriver(Core.restore(settings(batch_size=3), (), {}))
    for n in range(4):
        path = f"{ROOT}/{n}.als"
        d.disk[path], d.identity[path] = sig(n), f"id-{n}"
    d.feed(Started(wall=WALL0))
    d.advance(10)
    assert [len(s.items) for s in d.sends()] == [3, 1]
    d.hold_relinks = True
    for n in range(4):
        old, new = f"{ROOT}/{n}.als", f"{ROOT}/Done {n}.als"
        d.disk[new] = d.disk.pop(old)
        d.identity[new] = d.identity[old]
        d.feed(ProjectGone(ROOT, old, d.now))
        d.feed(ProjectChanged(ROOT, new, False, d.now))
    d.advance(10)
    [first] = d.relinks  # out while the other three became relinking
    d.fail_before_send = 10**6
    key = first.items[0].key
    d.feed(RelinkAnswered(first.request, Relinked(((key, "s:first"),))))
    d.advance(10)  # a relink of the three is planned; the write before it fails, again
    assert len(d.relinks) == 1
    assert d.logs("state_unavailable")
    d.feed(ReloadRequested(settings(batch_size=1)))
    d.fail_before_send = 0
    d.hold_relinks = False
    d.advance(30)
    assert [len(r.items) for r in d.relinks] == [1, 1, 1, 1]
    assert len(d.sends()) == 2  # relinked, never imported again
    assert {r.state for r in d.stored.values()} == {"imported"}
    assert sorted(d.stored) == [f"{ROOT}/Done {n}.als" for n in range(4)]
