"""The core's part in what issue 10 added: the library adopted on an empty state, a
content check that counts only for the bytes it read, read errors that are no verdict,
a backoff that probes /health, and a state database that cannot be written for a while.
Inputs in, effects out, as in test_core.py (whose driver these tests use)."""

from __future__ import annotations

from tests.test_core import FULL, ROOT, WALL0, Driver, project, settings, sig, start
from watcher.core import Core
from watcher.core.effects import AskHealth, AskLibrary, Persist, Probe, Stat
from watcher.core.inputs import (
    Failure,
    HealthAnswered,
    Library,
    LibraryAnswered,
    NotAProject,
    Probed,
    ProjectChanged,
    Started,
    Statted,
)
from watcher.core.records import ProjectRecord


def test_an_empty_state_adopts_what_sessiondock_has_instead_of_sending_it() -> None:
    d = Driver(
        Core.restore(settings(), [], {}), disk={"/studio/a.als": sig(1), "/studio/b.als": sig(2)}
    )
    d.hold = True
    d.feed(Started(wall=WALL0))
    [health] = d.held
    d.held.clear()
    assert isinstance(health, AskHealth)
    d.feed(HealthAnswered(health.request, FULL))
    d.advance(8)
    [ask] = d.held  # nothing is sent before the library is known
    d.held.clear()
    assert isinstance(ask, AskLibrary)
    d.hold = False
    d.feed(LibraryAnswered(ask.request, Library(frozenset({"/studio/a.als"}))))
    d.advance(5)
    assert [i.key for s in d.sends() for i in s.items] == ["/studio/b.als"]
    assert d.stored["/studio/a.als"].state == "imported"
    assert d.stored["/studio/a.als"].import_id is None
    [adopted] = d.logs("library_adopted")
    assert adopted.fields["already_in_library"] == 1


def test_a_content_check_counts_only_for_the_bytes_it_read() -> None:
    d = start()
    d.disk["/studio/a.als"] = sig(1)
    d.feed(ProjectChanged(ROOT, "/studio/a.als", False, d.now))
    original = d.carry_out

    def changed_during_the_check(effect: object) -> None:
        if isinstance(effect, Probe) and d.disk["/studio/a.als"] == sig(1):
            d.disk["/studio/a.als"] = sig(2)  # written again while it was being checked
        original(effect)  # type: ignore[arg-type]

    d.carry_out = changed_during_the_check  # type: ignore[method-assign]
    d.advance(5.5)
    assert not d.sends()  # the verdict was for bytes that are gone
    d.advance(6)
    [send] = d.sends()
    assert d.stored["/studio/a.als"].signature == sig(2)
    assert send.items[0].key == "/studio/a.als"


def test_a_read_error_is_no_verdict_and_is_tried_again() -> None:
    core = Core.restore(
        settings(),
        [ProjectRecord(**{**project("/studio/x.als").__dict__, "state": "imported"})],
        {},
    )
    core.handle(Started(wall=WALL0), 0.0)
    core._probing["/studio/a.als"] = (ROOT, sig(), False)
    core.folders.get(ROOT).mode = "native"  # type: ignore[union-attr]
    out = core.handle(Probed("/studio/a.als", NotAProject("unreadable", "cannot read a.als")), 1.0)
    assert Stat("/studio/a.als", False) in out
    out = core.handle(Statted("/studio/a.als", sig()), 1.0)
    assert not any(isinstance(e, Persist) for e in out)
    assert "/studio/a.als" not in core.records
    assert [e.event for e in out if hasattr(e, "event")].count("project_unreadable") == 1
    assert not core._unchanged("/studio/a.als", sig())


def test_a_backoff_with_nothing_to_send_probes_health_until_it_answers() -> None:
    d = Driver(
        Core.restore(
            settings(),
            [ProjectRecord(**{**project("/studio/x.als").__dict__, "state": "imported"})],
            {},
        )
    )
    d.hold = True
    d.feed(Started(wall=WALL0))
    down = Failure("unreachable", "refused", "start SessionDock")
    for _ in range(4):
        [ask] = d.held
        d.held.clear()
        assert isinstance(ask, AskHealth)
        d.feed(HealthAnswered(ask.request, down))
        d.advance(120)
    [ask] = d.held
    d.held.clear()
    assert isinstance(ask, AskHealth)
    d.feed(HealthAnswered(ask.request, FULL))
    assert d.logs("sending_resumed")


def test_a_state_outage_is_logged_once_and_ends_with_a_reconcile() -> None:
    d = start(disk={"/studio/a.als": sig()})
    d.full_disk = True
    d.advance(10)
    assert not d.sends()
    assert len(d.logs("state_unavailable")) == 1
    d.full_disk = False
    d.advance(40)
    assert d.logs("state_available")
    assert [i.key for s in d.sends() for i in s.items] == ["/studio/a.als"]
    assert d.stored["/studio/a.als"].state == "imported"


def test_native_events_missed_twice_make_a_folder_polled() -> None:
    from watcher.core.effects import Unwatch, Watch
    from watcher.core.inputs import EventsMissed, FolderChecked, WatchStarted

    d = start()
    out = d.feed(EventsMissed(ROOT, "/studio/a.als"))
    assert [e for e in out if isinstance(e, Watch)] == []
    [first] = d.logs("native_events_missed")
    assert first.fields["times"] == 1
    core = d.core
    out = core.handle(EventsMissed(ROOT, "/studio/b.als"), d.now)
    assert Unwatch(ROOT) in out
    out = core.handle(FolderChecked(ROOT, True), d.now)
    assert Watch(ROOT, True, "polling") in out
    core.handle(WatchStarted(ROOT, "polling"), d.now)
    assert "native events missed 2 times" in core.folders.report()[ROOT]["note"]
