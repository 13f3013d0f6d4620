"""The core on its own: inputs in, effects out; no threads, no sleeps, no disk.

A tiny driver answers the core's questions the way a healthy shell would; each test
then steps in with the answer it is about (a failure, a crash, a signal).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from watcher.core import Core
from watcher.core.effects import (
    AskHealth,
    AskLibrary,
    CheckFolder,
    Effect,
    Log,
    Notify,
    Persist,
    Probe,
    ReadToken,
    Relink,
    Send,
    Stat,
    Stop,
    Walk,
    Watch,
)
from watcher.core.inputs import (
    Accepted,
    Failure,
    FolderChecked,
    Found,
    Health,
    HealthAnswered,
    Input,
    Library,
    LibraryAnswered,
    NotAProject,
    PersistFailed,
    Probed,
    ProjectChanged,
    ProjectGone,
    SendAnswered,
    Started,
    Statted,
    StopRequested,
    Tick,
    TokenRead,
    WalkEnded,
    WalkFound,
    WatchFailed,
    WatchStarted,
)
from watcher.core.policy import Pause, fingerprint
from watcher.core.records import Project, ProjectRecord, Signature
from watcher.core.settings import FolderSettings, Settings

ROOT = "/studio"
WALL0 = 1_700_000_000.0
FULL = Health("ok", "full-automation", "full-automation")


def settings(**overrides: object) -> Settings:
    base: dict[str, object] = {
        "folders": (FolderSettings(ROOT),),
        "quiet_seconds": 5.0,
        "max_wait_seconds": 120.0,
        "batch_size": 50,
        "batch_window_seconds": 2.0,
    }
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


def sig(n: int = 1) -> Signature:
    return Signature(size=100 + n, mtime_ns=int((WALL0 - 3600) * 1e9), inode=n)


def project(path: str, signature: Signature | None = None) -> Project:
    name = path.rsplit("/", 1)[-1]
    return Project(
        path=path,
        root=ROOT,
        kind="Ableton",
        title=name.rsplit(".", 1)[0],
        project_type="als",
        project_path=path,
        preview_path=None,
        generate_previews=True,
        signature=signature or sig(),
    )


@dataclass
class Driver:
    """A healthy shell: answers stats, probes, walks, folders and SessionDock at once,
    and keeps what was persisted, as SQLite would."""

    core: Core
    now: float = 100.0
    disk: dict[str, Signature] = field(default_factory=dict)
    stored: dict[str, ProjectRecord] = field(default_factory=dict)
    meta: dict[str, object] = field(default_factory=dict)
    effects: list[Effect] = field(default_factory=list)
    held: list[Effect] = field(default_factory=list)
    """SessionDock requests not answered automatically (`hold`)."""
    hold: bool = False
    accepted: int = 0
    bad: set[str] = field(default_factory=set)
    """Paths whose probe finds no project."""
    full_disk: bool = False
    """Every Persist with changes fails, as on a full disk."""
    open_then_away: set[str] = field(default_factory=set)
    """Paths whose probe finds them open, after which they cannot be stat'ed (their
    folder went offline, or they were deleted with the event lost)."""
    fail_before_send: int = 0
    """This many Persists that precede a Send or a Relink fail (the write marking a batch
    in flight, or relinking)."""
    carried: list[Send] = field(default_factory=list)
    away: dict[str, Signature] = field(default_factory=dict)

    def feed(self, event: Input) -> list[Effect]:
        out = self.core.handle(event, self.now)
        self.effects.extend(out)
        for index, effect in enumerate(out):
            before_send = self.fail_before_send and any(
                isinstance(e, (Send, Relink)) for e in out[index:]
            )
            if isinstance(effect, Persist) and (self.full_disk or before_send):
                self.fail_before_send -= 1 if before_send else 0
                rest = tuple(out[index + 1 :])
                self.feed(PersistFailed(effect, "database or disk is full", "free space", rest))
                break
            self.carry_out(effect)
        return out

    def carry_out(self, effect: Effect) -> None:
        if isinstance(effect, Send):
            self.carried.append(effect)
        if isinstance(effect, Persist):
            for record in effect.upserts:
                self.stored[record.path] = record
            for path in effect.deletes:
                self.stored.pop(path, None)
            self.meta.update(effect.meta)
        elif isinstance(effect, CheckFolder):
            self.feed(FolderChecked(effect.root, exists=True))
        elif isinstance(effect, Watch):
            self.feed(WatchStarted(effect.root, effect.mode))
        elif isinstance(effect, Walk):
            found = tuple(Found(p, p.endswith(".logicx"), s) for p, s in sorted(self.disk.items()))
            self.feed(WalkFound(effect.root, effect.under, found))
            self.feed(WalkEnded(effect.root, effect.under))
        elif isinstance(effect, Stat):
            self.feed(Statted(effect.path, self.disk.get(effect.path)))
        elif isinstance(effect, Probe) and effect.path in self.open_then_away:
            self.open_then_away.discard(effect.path)
            self.away[effect.path] = self.disk.pop(effect.path)
            self.feed(Probed(effect.path, NotAProject("open", "open in Audacity")))
        elif isinstance(effect, Probe) and effect.path in self.bad:
            self.feed(Probed(effect.path, NotAProject("bad-content", "not XML", "Ableton")))
        elif isinstance(effect, Probe):
            self.feed(Probed(effect.path, project(effect.path, effect.signature)))
        elif isinstance(effect, (Send, AskHealth, AskLibrary)) and self.hold:
            self.held.append(effect)
        elif isinstance(effect, Send):
            self.accepted += 1
            answer = Accepted(f"imp-{self.accepted}", total=len(effect.items))
            self.feed(SendAnswered(effect.request, answer))
        elif isinstance(effect, AskHealth):
            self.feed(HealthAnswered(effect.request, FULL))
        elif isinstance(effect, AskLibrary):
            self.feed(LibraryAnswered(effect.request, Library(frozenset())))

    def advance(self, seconds: float) -> None:
        """Let time pass, waking the core whenever it asked to be woken."""
        end = self.now + seconds
        while (wake := self.core.next_wakeup()) is not None and wake <= end:
            self.now = max(self.now, wake)
            self.feed(Tick())
        self.now = end
        self.feed(Tick())

    def sends(self) -> list[Send]:
        """Every request carried out (answered, or held by the test)."""
        return list(self.carried)

    def logs(self, event: str) -> list[Log]:
        return [e for e in self.effects if isinstance(e, Log) and e.event == event]


def start(
    records: Iterable[ProjectRecord] = (), disk: dict[str, Signature] | None = None, **kw: object
) -> Driver:
    driver = Driver(Core.restore(settings(**kw), records, {}), disk=dict(disk or {}))
    driver.feed(Started(wall=WALL0))
    return driver


def test_a_saved_project_is_imported_once_after_its_quiet_period() -> None:
    d = start()
    assert d.logs("watching")
    d.disk["/studio/a.als"] = sig()
    d.feed(ProjectChanged(ROOT, "/studio/a.als", bundle=False, at=d.now))
    d.advance(4.9)
    assert not d.sends()
    d.advance(0.2)
    [send] = d.sends()
    assert [i.project_path for i in send.items] == ["/studio/a.als"]
    assert d.stored["/studio/a.als"].state == "imported"
    assert d.stored["/studio/a.als"].import_id == "imp-1"
    d.advance(3600 * 2)  # two reconcile walks: unchanged, so never sent again
    assert len(d.sends()) == 1


def test_in_flight_is_persisted_before_the_send_and_imported_only_after_a_2xx() -> None:
    d = start(disk={"/studio/a.als": sig()})
    d.hold = True
    d.advance(8)
    sends = [e for e in d.held if isinstance(e, Send)]
    assert sends, d.effects
    out = d.effects
    send_at = out.index(sends[0])
    persisted = [e for e in out[:send_at] if isinstance(e, Persist)]
    assert persisted[-1].upserts[-1].state == "in_flight"
    assert d.stored["/studio/a.als"].state == "in_flight"


def test_a_project_still_being_written_waits() -> None:
    d = start()
    d.disk["/studio/a.als"] = sig(1)
    d.feed(ProjectChanged(ROOT, "/studio/a.als", False, d.now))
    d.advance(3)
    d.disk["/studio/a.als"] = sig(2)  # grew without an event (a slow copy)
    d.advance(2.5)
    assert not d.sends()
    d.advance(6)
    assert len(d.sends()) == 1


def test_a_deleted_pending_project_is_cancelled() -> None:
    d = start()
    d.disk["/studio/a.als"] = sig()
    d.feed(ProjectChanged(ROOT, "/studio/a.als", False, d.now))
    del d.disk["/studio/a.als"]
    d.feed(ProjectGone(ROOT, "/studio/a.als", d.now))
    d.advance(10)
    assert not d.sends()


def test_bytes_that_are_not_a_project_are_remembered_and_not_probed_again() -> None:
    d = start()
    d.bad.add("/studio/a.als")
    d.disk["/studio/a.als"] = sig()
    d.feed(ProjectChanged(ROOT, "/studio/a.als", False, d.now))
    d.advance(2 * 3600)  # two reconcile walks find it unchanged
    assert len([e for e in d.effects if isinstance(e, Probe)]) == 1
    assert d.stored["/studio/a.als"].state == "invalid"
    assert len(d.logs("project_skipped")) == 1
    d.bad.clear()
    d.disk["/studio/a.als"] = sig(2)
    d.feed(ProjectChanged(ROOT, "/studio/a.als", False, d.now))
    d.advance(8)
    assert len(d.sends()) == 1
    assert d.stored["/studio/a.als"].import_id == "imp-1"


def test_a_400_is_bisected_to_the_item_at_fault() -> None:
    d = start(disk={f"/studio/{n}.als": sig(n) for n in range(4)})
    d.hold = True
    d.advance(8)
    while d.held:
        effect = d.held.pop(0)
        assert isinstance(effect, Send)
        keys = [i.key for i in effect.items]
        if "/studio/2.als" in keys:
            outcome: Accepted | Failure = Failure("rejected", "bad project", "fix it")
        else:
            outcome = Accepted("x", len(keys))
        d.feed(SendAnswered(effect.request, outcome))
    states = {p: r.state for p, r in d.stored.items()}
    assert states == {
        "/studio/0.als": "imported",
        "/studio/1.als": "imported",
        "/studio/2.als": "rejected",
        "/studio/3.als": "imported",
    }


def test_a_401_pauses_until_the_token_changes() -> None:
    d = start(disk={"/studio/a.als": sig()})
    d.hold = True
    d.advance(8)
    [send] = d.held
    d.held.clear()
    assert isinstance(send, Send)
    d.feed(SendAnswered(send.request, Failure("auth", "HTTP 401", "new token", None, "old")))
    assert d.core.gate.pause is Pause.AUTH
    d.advance(4)
    reads = [e for e in d.effects if isinstance(e, ReadToken)]
    assert reads
    d.feed(TokenRead("old"))
    d.advance(2)  # 5 s after the 401: /health once more with the same token
    [probe] = d.held
    d.held.clear()
    assert isinstance(probe, AskHealth)
    d.feed(HealthAnswered(probe.request, Failure("auth", "HTTP 401", "new token", None, "old")))
    d.feed(TokenRead("old"))
    d.advance(5)
    assert not d.held
    d.feed(TokenRead(fingerprint("new")))
    d.advance(8)
    assert [type(e) for e in d.held] == [Send]


def test_a_restart_asks_the_library_about_what_was_in_flight() -> None:
    d = start(disk={"/studio/a.als": sig(1), "/studio/b.als": sig(2)})
    d.hold = True
    d.advance(8)
    assert {r.state for r in d.stored.values()} == {"in_flight"}
    # crash: a new core from what was persisted; SessionDock had received a.als
    again = Driver(Core.restore(settings(), d.stored.values(), d.meta), stored=d.stored)
    again.disk = d.disk
    again.hold = True
    again.feed(Started(wall=WALL0 + 10))
    [ask] = [e for e in again.held if isinstance(e, AskLibrary)]
    again.held.clear()
    again.hold = False
    again.feed(LibraryAnswered(ask.request, Library(frozenset({"/studio/a.als"}))))
    again.advance(3)
    assert again.stored["/studio/a.als"].state == "imported"
    assert again.stored["/studio/b.als"].state == "imported"
    assert [i.key for s in again.sends() for i in s.items] == ["/studio/b.als"]


def test_stop_waits_for_the_request_out_then_stops() -> None:
    d = start(disk={"/studio/a.als": sig()})
    d.hold = True
    d.advance(8)
    [send] = d.held
    assert isinstance(send, Send)
    d.feed(StopRequested("SIGTERM"))
    assert not [e for e in d.effects if isinstance(e, Stop)]
    d.feed(SendAnswered(send.request, Accepted("x", 1)))
    stops = [e for e in d.effects if isinstance(e, Stop)]
    assert stops == [Stop(0)]
    assert d.stored["/studio/a.als"].state == "imported"
    assert Notify(("STOPPING=1",)) in d.effects


def test_scan_once_stops_when_everything_is_delivered() -> None:
    d = start(disk={"/studio/a.als": sig()}, once=True)
    d.advance(8)
    assert [e for e in d.effects if isinstance(e, Stop)] == [Stop(0)]
    assert d.logs("scan_finished")


def test_a_native_watch_failure_polls_and_retries_native_later() -> None:
    core = Core.restore(settings(), [], {})
    out = core.handle(Started(wall=WALL0), 0.0)
    assert CheckFolder(ROOT) in out
    out = core.handle(FolderChecked(ROOT, True), 0.0)
    assert Watch(ROOT, True, "native") in out
    out = core.handle(WatchFailed(ROOT, "native", "raise max_user_watches"), 0.0)
    assert Watch(ROOT, True, "polling") in out
    out = core.handle(WatchStarted(ROOT, "polling"), 0.0)
    assert Walk(ROOT) in out
    assert core.folders.get(ROOT).mode == "polling"  # type: ignore[union-attr]


def test_stop_gives_a_hung_request_three_seconds() -> None:
    d = start(disk={"/studio/a.als": sig()})
    d.hold = True
    d.advance(8)
    assert [type(e) for e in d.held] == [Send]
    d.feed(StopRequested("SIGTERM"))
    d.advance(2.9)
    assert not [e for e in d.effects if isinstance(e, Stop)]
    d.advance(0.2)
    assert [e for e in d.effects if isinstance(e, Stop)] == [Stop(0)]
    assert d.logs("request_abandoned")
    assert d.stored["/studio/a.als"].state == "in_flight"


def test_a_project_changed_while_in_flight_is_sent_again_with_its_new_bytes() -> None:
    d = start(disk={"/studio/a.als": sig(1)})
    d.hold = True
    d.advance(8)
    [first] = d.held
    d.held.clear()
    assert isinstance(first, Send)
    d.disk["/studio/a.als"] = sig(2)
    d.feed(ProjectChanged(ROOT, "/studio/a.als", False, d.now))
    d.advance(6)  # quiet, probed, queued again while the first request is still out
    assert d.stored["/studio/a.als"].state == "pending"
    d.hold = False
    d.feed(SendAnswered(first.request, Accepted("old", 1)))  # for the old bytes
    d.advance(8)
    assert len(d.sends()) == 2
    record = d.stored["/studio/a.als"]
    assert record.state == "imported" and record.signature == sig(2)
    assert record.import_id == "imp-1"  # the second request's answer, not "old"


def test_scan_gives_up_after_three_failed_attempts_with_69() -> None:
    d = start(disk={"/studio/a.als": sig()}, once=True)
    d.hold = True
    down = Failure("unreachable", "refused", "start SessionDock")
    for _ in range(10):
        d.advance(70)
        for effect in d.held:
            if isinstance(effect, Send):
                d.feed(SendAnswered(effect.request, down))
        d.held.clear()
        if d.core.stopped:
            break
    assert [e for e in d.effects if isinstance(e, Stop)] == [Stop(69)]
    assert d.logs("scan_incomplete")
    assert d.stored["/studio/a.als"].state == "pending"


def test_scan_stops_with_77_when_the_token_is_refused() -> None:
    d = start(disk={"/studio/a.als": sig()}, once=True)
    d.hold = True
    d.advance(8)
    [send] = d.held
    assert isinstance(send, Send)
    d.feed(SendAnswered(send.request, Failure("auth", "HTTP 401", "new token", None, "fp")))
    assert [e for e in d.effects if isinstance(e, Stop)] == [Stop(77)]


def test_read_only_polls_health_and_resumes() -> None:
    d = start(disk={"/studio/a.als": sig()})
    d.hold = True
    d.advance(8)
    [send] = d.held
    d.held.clear()
    assert isinstance(send, Send)
    d.feed(SendAnswered(send.request, Failure("read_only", "HTTP 403", "enable it")))
    assert d.core.gate.pause is Pause.READ_ONLY
    d.advance(5.1)
    [ask] = d.held
    d.held.clear()
    assert isinstance(ask, AskHealth)
    d.feed(HealthAnswered(ask.request, Health("ok", "read-only", "read-only")))
    d.advance(5.1)
    [ask] = d.held
    d.held.clear()
    assert isinstance(ask, AskHealth)
    d.hold = False
    d.feed(HealthAnswered(ask.request, FULL))
    d.advance(8)
    assert d.logs("sending_resumed")
    assert d.stored["/studio/a.als"].state == "imported"


def test_a_folder_that_goes_away_keeps_its_projects_and_is_reconciled_when_back() -> None:
    core = Core.restore(settings(), [], {})
    core.handle(Started(wall=WALL0), 0.0)
    core.handle(FolderChecked(ROOT, False), 0.0)
    assert core.folders.get(ROOT).mode == "offline"  # type: ignore[union-attr]
    out = core.handle(Tick(), 5.0)
    assert CheckFolder(ROOT) in out
    out = core.handle(FolderChecked(ROOT, True), 5.0)
    assert Watch(ROOT, True, "native") in out
    assert any(isinstance(e, Log) and e.event == "folder_online" for e in out)
    out = core.handle(WatchStarted(ROOT, "native"), 5.0)
    assert Walk(ROOT) in out


def test_a_failed_write_sends_nothing_and_is_written_again() -> None:
    known = ProjectRecord(**{**project("/studio/old.als").__dict__, "state": "imported"})
    core = Core.restore(settings(), [known], {})  # not empty: nothing to adopt first
    core.handle(Started(wall=WALL0), 0.0)
    core.handle(HealthAnswered(1, FULL), 0.0)
    core.handle(FolderChecked(ROOT, True), 0.0)
    core.handle(WatchStarted(ROOT, "native"), 0.0)
    core.handle(WalkFound(ROOT, None, (Found("/studio/a.als", False, sig()),)), 0.0)
    core.handle(WalkEnded(ROOT, None), 0.0)
    assert Stat("/studio/a.als", False) in core.handle(Tick(), 5.0)  # a quiet period on
    core.handle(Statted("/studio/a.als", sig()), 5.0)
    out = core.handle(Probed("/studio/a.als", project("/studio/a.als")), 5.0)
    assert Stat("/studio/a.als", False) in out  # still the bytes that were checked?
    out = core.handle(Statted("/studio/a.als", sig()), 5.0)
    persist = next(e for e in out if isinstance(e, Persist))
    rest = tuple(out[out.index(persist) + 1 :])
    send = next(e for e in rest if isinstance(e, Send))
    out = core.handle(PersistFailed(persist, "disk full", "free space", rest), 5.1)
    assert not [e for e in out if isinstance(e, Send)]
    out = core.handle(Tick(), 6.2)
    assert [type(e) for e in out if isinstance(e, (Persist, Send))] == [Persist, Send]
    again = next(e for e in out if isinstance(e, Persist))
    assert {r.state for r in again.upserts} == {"in_flight"}
    assert next(e for e in out if isinstance(e, Send)) == send


def test_a_request_held_back_by_a_failed_write_is_built_again_at_the_reloaded_size() -> None:
    """Simulator seed 93800: the Send a full disk dropped was replayed as it was, with 3
    projects, after a SIGHUP had lowered batch_size to 1."""
    from watcher.core.inputs import ReloadRequested

    d = start(disk={f"/studio/{n}.als": sig(n) for n in range(3)}, batch_size=3)
    d.fail_before_send = 10**6
    d.advance(8)  # the batch is planned; the write marking it in flight fails, again
    assert not d.sends()
    assert d.logs("state_unavailable")
    d.feed(ReloadRequested(settings(batch_size=1)))
    d.fail_before_send = 0
    d.advance(30)
    sizes = [len(s.items) for s in d.sends()]
    assert sizes == [1, 1, 1]
    assert {r.state for r in d.stored.values()} == {"imported"}


def test_the_parts_of_a_bisected_batch_keep_a_batch_size_lowered_meanwhile() -> None:
    from watcher.core.inputs import ReloadRequested

    d = start(disk={f"/studio/{n}.als": sig(n) for n in range(8)}, batch_size=8)
    d.hold = True
    d.advance(8)
    [send] = d.held
    d.held.clear()
    assert isinstance(send, Send) and len(send.items) == 8
    d.feed(SendAnswered(send.request, Failure("rejected", "bad project", "fix it")))
    d.feed(ReloadRequested(settings(batch_size=2)))  # the first half (4) is already out
    while d.held:
        effect = d.held.pop(0)
        assert isinstance(effect, Send)
        if effect.request != send.request + 1:
            assert len(effect.items) <= 2
        keys = [i.key for i in effect.items]
        bad = "/studio/5.als" in keys
        outcome: Accepted | Failure = (
            Failure("rejected", "bad project", "fix it") if bad else Accepted("x", len(keys))
        )
        d.feed(SendAnswered(effect.request, outcome))
    states = {p: r.state for p, r in d.stored.items()}
    assert states == {p: "rejected" if p == "/studio/5.als" else "imported" for p in states}
    assert len(states) == 8


def test_a_queued_project_rewritten_then_lost_from_sight_mid_check_is_not_sent_stale() -> None:
    """Simulator seed 28553 (before issue 12 shifted the draws): a queued .aup3 was saved
    again with its events lost, opened in Audacity and its folder went offline while
    that was checked; the stat after the probe said nothing, the verdict was dropped
    and the bytes queued earlier were sent, stale, while the project was open."""
    d = start(disk={"/studio/a.aup3": sig(1)})
    d.hold = True
    d.advance(8)
    [send] = d.held
    d.held.clear()
    assert isinstance(send, Send)
    d.feed(SendAnswered(send.request, Failure("server", "HTTP 503", "start it")))
    assert d.stored["/studio/a.aup3"].state == "pending"
    d.hold = False
    d.disk["/studio/a.aup3"] = sig(2)  # saved again, opened: its folder goes away
    d.open_then_away.add("/studio/a.aup3")
    d.feed(ProjectChanged(ROOT, "/studio/a.aup3", False, d.now))
    d.advance(600)
    assert d.sends() == [send]  # the bytes queued before are not sent: they are not these
    d.disk.update(d.away)  # back; closed since: a walk finds it and it is checked again
    d.advance(3600)
    assert len(d.sends()) == 2
    record = d.stored["/studio/a.aup3"]
    assert (record.state, record.signature) == ("imported", sig(2))


def test_a_project_in_flight_that_changed_then_went_out_of_sight_is_not_resent_stale() -> None:
    """As above, with the old bytes in flight when the change is seen: if that request
    fails, they are not sent again before a walk has seen the project."""
    d = start(disk={"/studio/a.aup3": sig(1)})
    d.hold = True
    d.advance(8)
    [send] = d.held
    d.held.clear()
    d.disk["/studio/a.aup3"] = sig(2)  # saved again while the request is out
    d.feed(ProjectChanged(ROOT, "/studio/a.aup3", False, d.now))
    away = d.disk.pop("/studio/a.aup3")  # then its folder goes away
    d.advance(8)  # the stat at the end of the quiet period finds nothing
    assert isinstance(send, Send)
    d.feed(SendAnswered(send.request, Failure("server", "HTTP 503", "start it")))
    d.hold = False
    d.advance(600)
    assert d.sends() == [send]
    d.disk["/studio/a.aup3"] = away
    d.advance(3600)
    record = d.stored["/studio/a.aup3"]
    assert (len(d.sends()), record.state, record.signature) == (2, "imported", sig(2))


def _watching(core: Core) -> Core:
    """A core started, SessionDock healthy, ROOT watched natively."""
    core.handle(Started(wall=WALL0), 0.0)
    core.handle(HealthAnswered(1, FULL), 0.0)
    core.handle(FolderChecked(ROOT, True), 0.0)
    core.handle(WatchStarted(ROOT, "native"), 0.0)
    return core


def test_a_walk_that_sees_a_change_while_the_quiet_check_is_out_makes_that_check_moot() -> None:
    """Simulator seed 123457320: the stat at the end of the quiet period was out when a
    reconciling walk found newer bytes; the stat's answer was then compared with the
    walk's signature, taken a moment before, agreed, and a file still being written was
    probed and sent. The walk's find starts a quiet period of its own."""
    from watcher.core.inputs import EventsLost

    known = ProjectRecord(**{**project("/studio/old.als").__dict__, "state": "imported"})
    core = _watching(Core.restore(settings(), [known], {}))
    core.handle(WalkFound(ROOT, None, (Found("/studio/a.als", False, sig(1)),)), 0.0)
    core.handle(WalkEnded(ROOT, None), 0.0)
    assert Stat("/studio/a.als", False) in core.handle(Tick(), 5.0)  # the quiet check
    assert Walk(ROOT) in core.handle(EventsLost("queue overflow"), 5.0)
    core.handle(WalkFound(ROOT, None, (Found("/studio/a.als", False, sig(2)),)), 5.01)
    core.handle(WalkEnded(ROOT, None), 5.01)
    out = core.handle(Statted("/studio/a.als", sig(2)), 5.02)
    assert not [e for e in out if isinstance(e, Probe)]
    assert Stat("/studio/a.als", False) in core.handle(Tick(), 10.02)
    out = core.handle(Statted("/studio/a.als", sig(2)), 10.03)
    assert Probe(ROOT, "/studio/a.als", False, sig(2)) in out


def test_an_event_while_the_quiet_check_is_out_waits_for_its_own_stat() -> None:
    """Simulator seed 360026419: the stat at the end of the quiet period was out when
    the file's event came (moved back in just after that stat looked) and its stat
    went out too. The older answer, "nothing there", was taken for the event's, the
    event's own answer dropped, and every later walk skipped the file as waiting on
    those very bytes: never imported. The first answer is the older one, and moot."""
    core = _watching(Core.restore(settings(), [], {}))
    core.handle(WalkFound(ROOT, None, (Found("/studio/a.als", False, sig(1)),)), 0.0)
    core.handle(WalkEnded(ROOT, None), 0.0)
    assert Stat("/studio/a.als", False) in core.handle(Tick(), 5.0)  # the quiet check
    out = core.handle(ProjectChanged(ROOT, "/studio/a.als", False, 5.01), 5.01)
    assert Stat("/studio/a.als", False) in out  # the event's own stat
    core.handle(Statted("/studio/a.als", None), 5.02)  # the quiet check's: not there yet
    core.handle(Statted("/studio/a.als", sig(1)), 5.03)  # the event's: it is
    assert Stat("/studio/a.als", False) in core.handle(Tick(), 10.1)
    out = core.handle(Statted("/studio/a.als", sig(1)), 10.2)
    assert Probe(ROOT, "/studio/a.als", False, sig(1)) in out


def test_a_walk_that_finds_the_bytes_already_waiting_does_not_restart_their_quiet_period() -> None:
    """Simulator seed 55001129: a reconciling walk found a bundle with the signature it
    was already waiting on and started its quiet period again. A new save began before
    the check, the project never came to rest before `max_wait`, and the cap sent it
    half-written. A walk that sees nothing new is no news."""
    from watcher.core.inputs import EventsLost

    core = _watching(Core.restore(settings(), [], {}))
    core.handle(WalkFound(ROOT, None, (Found("/studio/a.als", False, sig(1)),)), 0.0)
    core.handle(WalkEnded(ROOT, None), 0.0)
    assert Walk(ROOT) in core.handle(EventsLost("queue overflow"), 4.0)
    core.handle(WalkFound(ROOT, None, (Found("/studio/a.als", False, sig(1)),)), 4.01)
    core.handle(WalkEnded(ROOT, None), 4.01)
    assert Stat("/studio/a.als", False) in core.handle(Tick(), 5.0)


def test_a_401_that_clears_by_itself_is_found_by_a_health_probe_on_a_backoff() -> None:
    d = start(disk={"/studio/a.als": sig()})
    d.hold = True
    d.advance(8)
    [send] = d.held
    d.held.clear()
    assert isinstance(send, Send)
    refused = Failure("auth", "HTTP 401", "new token", None, "same")
    d.feed(SendAnswered(send.request, refused))
    probes = []
    for _ in range(3):  # 30 s, 60 s, 120 s: the same token, refused again
        d.advance(300)
        [ask] = d.held
        d.held.clear()
        assert isinstance(ask, AskHealth)
        probes.append(d.now)
        d.feed(HealthAnswered(ask.request, refused))
        assert d.core.gate.pause is Pause.AUTH
    down = Failure("unreachable", "refused", "start it")
    d.advance(300)
    [ask] = d.held
    d.held.clear()
    assert isinstance(ask, AskHealth)
    d.feed(HealthAnswered(ask.request, down))  # a failed probe does not end the pause
    assert d.core.gate.pause is Pause.AUTH
    d.advance(600)
    [ask] = d.held
    d.held.clear()
    assert isinstance(ask, AskHealth)
    d.hold = False
    d.feed(HealthAnswered(ask.request, FULL))
    d.advance(8)
    assert d.core.gate.pause.value == "sending"
    assert d.stored["/studio/a.als"].state == "imported"


def test_a_failed_probe_in_a_read_only_pause_sends_nothing() -> None:
    d = start(disk={"/studio/a.als": sig()})
    d.hold = True
    d.advance(8)
    [send] = d.held
    d.held.clear()
    assert isinstance(send, Send)
    d.feed(SendAnswered(send.request, Failure("read_only", "HTTP 403", "enable it")))
    d.advance(5.1)
    [ask] = d.held
    d.held.clear()
    assert isinstance(ask, AskHealth)
    d.feed(HealthAnswered(ask.request, Failure("unreachable", "refused", "start it")))
    d.advance(120)
    assert all(isinstance(e, AskHealth) for e in d.held)
    assert d.core.gate.pause is Pause.READ_ONLY


def test_nothing_to_send_in_a_backoff_does_not_ask_to_be_woken_in_the_past() -> None:
    core = Core.restore(settings(), [], {})
    core.handle(Started(wall=WALL0), 0.0)
    core.handle(HealthAnswered(1, Failure("server", "HTTP 503", "later")), 0.0)
    core.handle(Tick(), 50.0)
    wake = core.next_wakeup()
    assert wake is None or wake > 50.0


def test_a_bundle_whose_files_are_younger_than_the_quiet_period_waits() -> None:
    d = start()
    fresh = Signature(size=10, mtime_ns=int((WALL0 + 4.0) * 1e9), inode=7)
    d.disk["/studio/b.logicx"] = fresh
    d.feed(ProjectChanged(ROOT, "/studio/b.logicx", bundle=True, at=d.now - 10))  # event early
    d.advance(3)  # due at once; its files were written at +4 s: not before +9 s
    assert not [e for e in d.effects if isinstance(e, Probe)]
    d.advance(8)
    assert [e for e in d.effects if isinstance(e, Probe)]


def test_a_bundle_seen_changing_waits_a_full_quiet_period_whatever_its_mtimes_say() -> None:
    """Simulator seed 141606: a Logic project saved slowly, its events lost, the wall
    clock stepped back. A stat found it changed, its newest file 7 s old (quiet: 10 s),
    so it was looked at again 3 s later; a piece written since carried an older mtime,
    the second stat matched, and it was sent mid-save. A change seen now waits a full
    quiet period from now: an mtime's age never shortens it."""
    from watcher.core.inputs import EventsLost

    def wall(now: float) -> int:
        return int((WALL0 + now - 100.0) * 1e9)  # the driver starts at 100 with WALL0

    d = start()
    b = "/studio/b.logicx"
    d.disk[b] = Signature(size=10, mtime_ns=wall(100.0 - 3600), inode=7)
    d.feed(EventsLost("queue overflow"))  # a walk finds it at 100
    d.advance(2)
    d.disk[b] = Signature(size=12, mtime_ns=wall(102.0), inode=7)  # a piece of a save
    d.advance(3)  # the stat at 105 sees it changed, its newest file 3 s old
    d.advance(4.9)
    assert not [e for e in d.effects if isinstance(e, Probe)]
    d.advance(0.2)
    assert [e for e in d.effects if isinstance(e, Probe)]


def test_a_folder_moved_in_is_walked_and_its_projects_imported() -> None:
    from watcher.core.inputs import DirectoryChanged

    d = start()
    d.disk["/studio/Client/a.als"] = sig(1)
    out = d.feed(DirectoryChanged(ROOT, "/studio/Client", d.now))
    assert Walk(ROOT, "/studio/Client") in out
    d.advance(8)
    assert [i.key for s in d.sends() for i in s.items] == ["/studio/Client/a.als"]


def test_a_folder_deleted_cancels_what_was_pending_below_it() -> None:
    from dataclasses import replace

    from watcher.core.inputs import DirectoryGone

    queued = replace(
        ProjectRecord(**{**project("/studio/Client/b.als").__dict__, "state": "pending"}),
        queued_at=WALL0,
    )
    d = Driver(Core.restore(settings(), [queued], {}), stored={queued.path: queued})
    d.hold = True  # the start-up health check stays out: nothing is sent meanwhile
    d.feed(Started(wall=WALL0))
    d.disk["/studio/Client/a.als"] = sig(1)
    d.feed(ProjectChanged(ROOT, "/studio/Client/a.als", False, d.now))
    d.advance(2)
    d.disk.clear()
    d.feed(DirectoryGone(ROOT, "/studio/Client", d.now))
    assert "/studio/Client/b.als" not in d.stored
    assert d.logs("project_removed")
    d.advance(10)
    assert not [e for e in d.effects if isinstance(e, Probe)]


def test_lost_events_reconcile_every_folder() -> None:
    from watcher.core.inputs import EventsLost

    d = start()
    out = d.feed(EventsLost("inotify queue overflow"))
    assert Walk(ROOT) in out
    assert d.logs("events_lost")


def test_a_reload_attaches_new_folders_and_forgets_removed_ones() -> None:
    from watcher.core.inputs import ReloadRequested

    d = start()
    d.feed(ProjectChanged(ROOT, "/studio/a.als", False, d.now))
    new = settings(folders=(FolderSettings("/other"),))
    out = d.feed(ReloadRequested(new))
    assert CheckFolder("/other") in out
    assert any(getattr(e, "root", None) == ROOT and type(e).__name__ == "Unwatch" for e in out)
    assert d.logs("config_reloaded")
    d.advance(10)
    assert not d.sends()
    out = d.feed(ReloadRequested(None, "bad YAML"))
    assert d.logs("reload_failed")


def test_a_record_queued_in_an_earlier_life_is_sent_only_if_a_walk_sees_its_bytes() -> None:
    queued = ProjectRecord(
        **{**project("/studio/a.als", sig(1)).__dict__, "state": "pending", "queued_at": WALL0}
    )
    gone = ProjectRecord(
        **{**project("/studio/gone.als", sig(3)).__dict__, "state": "pending", "queued_at": WALL0}
    )
    d = Driver(
        Core.restore(settings(), [queued, gone], {}),
        disk={"/studio/a.als": sig(2)},  # opened and rewritten while the daemon was down
        stored={queued.path: queued, gone.path: gone},
    )
    d.feed(Started(wall=WALL0))
    assert not d.sends()  # not the old bytes at once
    assert "/studio/gone.als" not in d.stored  # the walk did not find it: cancelled
    d.advance(8)
    [send] = d.sends()
    assert d.stored["/studio/a.als"].signature == sig(2)
    assert send.items[0].key == "/studio/a.als"
