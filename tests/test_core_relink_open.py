"""A project moved, then opened in Audacity (which rewrites the .aup3 in place) before
its relink is answered: the bytes the move found are not sent to its session once it
is relinked, those open in Audacity are not a project; its next save is sent."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from tests.test_core import ROOT, WALL0, settings, sig
from tests.test_core_moves import MovingDriver, move
from tests.test_core_moves import start as start_moving
from watcher.core.effects import Effect, Probe, Send, Walk
from watcher.core.inputs import (
    Failure,
    NotAProject,
    Probed,
    ProjectChanged,
    RelinkAnswered,
    Relinked,
    SendAnswered,
    Started,
)
from watcher.core.machine import Core

OLD, NEW = "/studio/a.als", "/studio/b.als"


@dataclass
class OpeningDriver(MovingDriver):
    opened: set[str] = field(default_factory=set)
    """Paths open in their DAW: a probe finds them half written."""

    def carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Probe) and effect.path in self.opened:
            self.feed(Probed(effect.path, NotAProject("open", "open in Audacity")))
        else:
            super().carry_out(effect)


def start() -> OpeningDriver:
    moving = start_moving(a="id-a")
    d = OpeningDriver(moving.core, moving.now, moving.disk, moving.stored, moving.meta)
    d.identity, d.carried = moving.identity, moving.carried
    return d


def saved(d: OpeningDriver, path: str, n: int, identity: str) -> None:
    d.disk[path], d.identity[path] = sig(n), identity
    d.feed(ProjectChanged(ROOT, path, False, d.now))
    d.advance(10)


def opened(d: OpeningDriver, path: str, n: int) -> None:
    d.opened.add(path)
    d.disk[path] = sig(n)
    d.feed(ProjectChanged(ROOT, path, False, d.now))
    d.advance(10)


def moved_and_saved_with_its_relink_out() -> tuple[OpeningDriver, int]:
    """Imported, moved (its PATCH held), then saved at its new path: its new bytes are
    to be sent to its session once relinked."""
    d = start()
    assert len(d.sends()) == 1
    d.hold_relinks = True
    move(d, OLD, NEW)
    [relink] = d.relinks
    saved(d, NEW, 8, "id-a2")
    assert d.stored[NEW].state == "relinking"
    return d, relink.request


def relinked(d: OpeningDriver, request: int) -> None:
    d.hold_relinks = False
    d.feed(RelinkAnswered(request, Relinked(((NEW, "s-1"),))))
    d.advance(10)


def test_a_relinked_project_open_in_audacity_since_its_move_is_not_sent_half_written() -> None:
    """Simulator seed 71002953: the relinking record's newest bytes were checked (open
    in Audacity) and the verdict dropped, as the record was relinking; the PATCH
    answered, the bytes the move found were sent though the file was half written."""
    d, request = moved_and_saved_with_its_relink_out()
    opened(d, NEW, 9)
    assert d.stored[NEW].state == "relinking"
    relinked(d, request)
    assert len(d.sends()) == 1, "nothing sent while it is open"
    record = d.stored[NEW]
    assert (record.state, record.signature, record.session_id) == ("invalid", sig(9), "s-1")
    d.opened.clear()
    saved(d, NEW, 10, "id-a3")  # closed, saved: sent to its session
    [send] = d.sends()[1:]
    assert [i.project_path for i in send.items] == [NEW]
    assert (d.stored[NEW].state, d.stored[NEW].signature) == ("imported", sig(10))


def test_a_relinked_project_saved_again_after_it_was_found_open_is_sent() -> None:
    """The verdict on bytes open in Audacity is moot once newer bytes are a project:
    those are sent once relinked, not marked as not a project."""
    d, request = moved_and_saved_with_its_relink_out()
    opened(d, NEW, 9)
    d.opened.clear()
    saved(d, NEW, 10, "id-a3")
    relinked(d, request)
    [send] = d.sends()[1:]
    assert [i.project_path for i in send.items] == [NEW]
    assert (d.stored[NEW].state, d.stored[NEW].signature) == ("imported", sig(10))


def test_a_project_in_flight_found_open_then_saved_sends_its_newest_bytes_if_that_fails() -> None:
    """In flight, found open (the verdict kept for if the request fails), then saved
    and closed: the request failing, the newest bytes are sent, not judged by the
    older verdict (they were left `invalid` until the next reconciliation)."""
    d = start()
    d.advance(60)  # its session's id learned from the library first
    d.hold = True
    saved(d, OLD, 5, "id-a2")
    [send] = [e for e in d.held if isinstance(e, Send)]
    d.held.clear()
    opened(d, OLD, 6)
    d.opened.clear()
    saved(d, OLD, 7, "id-a3")
    d.hold = False
    d.feed(SendAnswered(send.request, Failure("server", "HTTP 503", "later")))
    d.advance(120)
    assert [i.project_path for s in d.sends()[2:] for i in s.items] == [OLD]
    assert (d.stored[OLD].state, d.stored[OLD].signature) == ("imported", sig(7))


@dataclass
class SlowWalkDriver(OpeningDriver):
    walks: list[Effect] = field(default_factory=list)
    """Walks not answered yet (a big folder): answered by `walked`."""

    def carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Walk):
            self.walks.append(effect)
        else:
            super().carry_out(effect)

    def walked(self) -> None:
        walks, self.walks = self.walks, []
        for walk in walks:
            super().carry_out(walk)


def test_a_project_relinking_at_a_crash_and_opened_is_not_sent_before_a_walk_sees_it() -> None:
    """Simulator seed 100042098: moved and saved, its PATCH not sent yet; opened in
    Audacity, the verdict (kept in memory only) was lost in a crash. In the next life
    the PATCH is answered before the first walk is: the bytes the move found were sent
    though the file was half written. Its change waits for the walk (as its PATCH now
    does), which finds the file changed, and checked, it is not a project."""
    d, _ = moved_and_saved_with_its_relink_out()
    opened(d, NEW, 9)
    assert d.stored[NEW].state == "relinking"
    # As in the seed: its session's id known, the file itself moved (its inode kept).
    record = d.stored[NEW]
    d.stored[NEW] = replace(record, session_id="s-1", moved_inode=record.signature.inode)
    life = SlowWalkDriver(
        Core.restore(settings(), d.stored.values(), dict(d.meta)),
        now=d.now + 5,
        disk=d.disk,
        stored=dict(d.stored),
        identity=d.identity,
        opened=d.opened,
    )
    life.feed(Started(wall=WALL0 + 60))
    life.advance(10)
    # Since seed 270094505 its PATCH waits for that walk too (what is at its path is
    # not known before: another file may have been moved onto it meanwhile).
    assert not life.relinks, "its PATCH waits for the first walk"
    assert life.sends() == [], "not sent before a walk has seen its bytes"
    life.walked()
    life.advance(30)
    assert life.relinks, "its PATCH goes once the walk has looked"
    assert life.sends() == [], "found open in Audacity"
    assert (life.stored[NEW].state, life.stored[NEW].signature) == ("invalid", sig(9))
