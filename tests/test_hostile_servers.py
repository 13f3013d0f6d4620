"""A SessionDock that lies, stalls or floods: none of it may hang, flood or bloat the daemon.

Timing decisions are tested on the Gate with an injected clock. Everything that
involves bytes on a socket runs the real client, or the real daemon as a subprocess,
against the emulator on 127.0.0.1 misbehaving for real: the emulator counts what it
received and notices when the daemon hangs up.
"""

from __future__ import annotations

import gzip
import json
import sys
import tracemalloc
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import TOKEN, ConfigWriter, DaemonFactory, cli, wait_until, write_als
from tests.emulator import Emulator
from watcher.bridge import failure_of
from watcher.client import (
    ApiError,
    BadAnswer,
    ImportItem,
    Redirected,
    SessionDockClient,
    SessionDockError,
    Stalled,
    Unauthorized,
    Unreachable,
)
from watcher.core import policy
from watcher.core.policy import (
    AUTH_PROBE_MAX_SECONDS,
    MIN_RETRY_SECONDS,
    RETRY_AFTER_CAP_SECONDS,
    Pause,
)
from watcher.transport import retry_after_seconds

ITEM = ImportItem(project_path="/studio/Song.als", title="Song", project_type="als")


class Gate(policy.Gate):
    """The core's Gate, fed client errors the way the importer hands them over."""

    def failed(self, error: SessionDockError, now: float, token: str | None = None) -> bool:  # type: ignore[override]
        return super().failed(failure_of(error, token), now)


def client(emu: Emulator, deadline: float = 60.0, timeout: float = 10.0) -> SessionDockClient:
    return SessionDockClient(emu.base_url, lambda: TOKEN, timeout, deadline=deadline)


@pytest.fixture
def api(emulator: Emulator) -> Iterator[SessionDockClient]:
    with closing(client(emulator)) as c:
        yield c


# --- timing: the Gate on an injected clock --------------------------------------------


def test_retry_after_zero_cannot_shorten_the_growing_backoff() -> None:
    g = Gate(cap=60, jitter=lambda: 0.0)  # jitter at its low end: the shortest waits
    now, attempts, waits = 0.0, [], []
    for _ in range(10):
        attempts.append(now)
        g.failed(ApiError(503, "unavailable", "starting", retry_after=0), now=now)
        waits.append(g.not_before - now)
        now = g.not_before
    assert min(waits) >= MIN_RETRY_SECONDS
    assert waits == sorted(waits) and waits[-1] == 30, "it keeps growing to half the cap"
    assert len([t for t in attempts if t < 5]) == 4


def test_retry_after_longer_than_the_backoff_is_honoured_up_to_a_cap() -> None:
    g = Gate(cap=60, jitter=lambda: 1.0)
    g.failed(ApiError(503, "busy", "later", retry_after=17), now=100)
    assert g.not_before == 117
    g.failed(ApiError(503, "busy", "later", retry_after=10**9), now=200)
    assert g.not_before == 200 + RETRY_AFTER_CAP_SECONDS
    g.failed(ApiError(503, "busy", "later", retry_after=float("nan")), now=300)
    assert 300 + MIN_RETRY_SECONDS <= g.not_before <= 360


def test_months_of_failures_do_not_overflow_the_backoff() -> None:
    """2.0 ** 1024 overflows: the old Gate raised OverflowError (and the daemon died)
    after 1,025 failures in a row, 17 hours of an outage at the 60 s cap."""
    g = Gate(cap=60, jitter=lambda: 1.0)
    for n in range(5000):
        g.failed(Unreachable("down"), now=n * 60.0)
    assert g.not_before == 4999 * 60.0 + 60


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("0", 0.0),
        ("-30", 0.0),
        ("12.5", 12.5),
        ("1e400", 86400.0),
        ("nan", None),
        ("soon", None),
        ("", None),
        ("x" * 10_000, None),
        (format_datetime(datetime(2001, 1, 1, tzinfo=timezone.utc), usegmt=True), 0.0),
    ],
)
def test_retry_after_header_values(header: str, seconds: float | None) -> None:
    assert retry_after_seconds(httpx.Headers({"Retry-After": header})) == seconds


def test_retry_after_as_a_future_http_date() -> None:
    later = datetime.now(timezone.utc) + timedelta(seconds=120)
    value = retry_after_seconds(httpx.Headers({"Retry-After": format_datetime(later, True)}))
    assert value is not None and 100 < value <= 120


def test_a_rejected_token_is_probed_again_on_a_doubling_schedule() -> None:
    g = Gate(cap=60, jitter=lambda: 1.0)
    g.failed(Unauthorized(401, "unauthorized", "no"), now=0, token="same")
    assert g.pause is Pause.AUTH and not g.can_send(10**9)
    probes, now = [], 0.0
    while now < 2000:
        now += 1
        if g.take_probe(now):
            probes.append(now)
            assert not g.take_probe(now), "one probe per period, even before its answer"
            g.failed(Unauthorized(401, "unauthorized", "no"), now=now, token="same")
    gaps = [b - a for a, b in zip([0.0, *probes[:-1]], probes, strict=True)]
    assert gaps[:6] == [5, 10, 20, 40, 80, 160]
    assert set(gaps[6:]) == {AUTH_PROBE_MAX_SECONDS}

    g.failed(Unauthorized(401, "unauthorized", "no"), now=now, token="a-new-one")
    assert g.probe_at == now + 5, "a different token rejected starts the schedule afresh"
    assert g.take_probe(now + 5)
    assert g.succeeded() and g.can_send(now + 5)


def test_no_probe_without_a_token_to_probe_with() -> None:
    g = Gate(cap=60, jitter=lambda: 1.0)
    g.failed(Unauthorized(401, "unauthorized", "no"), now=0, token=None)
    assert not g.take_probe(10**6)


# --- the real client against the emulator misbehaving -----------------------------------


def test_an_endless_body_is_cut_off_at_the_cap(emulator: Emulator, api: SessionDockClient) -> None:
    emulator.faults = ["endless-body"]
    tracemalloc.start()
    try:
        with pytest.raises(BadAnswer, match="longer than 1 MiB"):
            api.import_batch("Ableton", True, [ITEM])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, f"{peak} bytes held for a 1 MiB cap"
    record = emulator.imports[0]
    wait_until(lambda: record.hung_up, what="the client to hang up")
    assert record.bytes_sent < emulator.endless_bytes // 2


@pytest.mark.parametrize("fault", ["trickle", "trickle-headers"])
def test_a_trickling_server_is_given_up_at_the_deadline(emulator: Emulator, fault: str) -> None:
    emulator.faults = [fault]
    emulator.trickle_seconds = 0.1
    emulator.hang_seconds = 120  # far longer than the deadline: the client must give up
    with closing(client(emulator, deadline=1.5, timeout=10)) as api:
        with pytest.raises(Stalled, match="request_deadline_seconds") as caught:
            api.import_batch("Ableton", True, [ITEM])
        assert api.in_flight is None
        record = emulator.imports[0]
        wait_until(lambda: record.hung_up, what="the client to hang up")
        assert record.status == -1 and len(emulator.library) == 0
        assert isinstance(caught.value, Unreachable)
        answer = api.import_batch("Ableton", True, [ITEM])  # the next request is unharmed
        assert answer.total == 1


def test_a_redirect_is_never_followed(emulator: Emulator, api: SessionDockClient) -> None:
    elsewhere = Emulator(token=TOKEN).start()
    try:
        emulator.faults = ["redirect", "redirect"]
        emulator.redirect_to = elsewhere.base_url + "/import"
        with pytest.raises(Redirected, match=r"redirect to 127\.0\.0\.1 not followed"):
            api.import_batch("Ableton", True, [ITEM])
        emulator.redirect_to = "http://192.0.2.10:18432/api/v1/import"
        with pytest.raises(Redirected, match=r"redirect to 192\.0\.2\.10 not followed") as caught:
            api.import_batch("Ableton", True, [ITEM])
        assert elsewhere.requests == 0 and elsewhere.imports == []
        assert TOKEN not in str(caught.value)
    finally:
        elsewhere.stop()


def test_error_answers_that_are_not_the_envelope(
    emulator: Emulator, api: SessionDockClient
) -> None:
    emulator.faults = ["not-json-error", "huge-error"]
    with pytest.raises(ApiError) as plain:
        api.import_batch("Ableton", True, [ITEM])
    assert plain.value.status == 500 and plain.value.code == "http_error"
    with pytest.raises(ApiError) as huge:
        api.import_batch("Ableton", True, [ITEM])
    assert huge.value.code == "internal_error"
    assert len(str(huge.value)) < 400 and "(50000 characters)" in str(huge.value)


def test_a_200_to_import_is_delivered(emulator: Emulator, api: SessionDockClient) -> None:
    emulator.faults = ["ok-200"]
    answer = api.import_batch("Ableton", True, [ITEM])
    assert answer.total == 1 and answer.import_id and answer.odd == ()


def test_a_202_with_fields_of_the_wrong_kind(emulator: Emulator, api: SessionDockClient) -> None:
    emulator.faults = ["odd-answer"]
    answer = api.import_batch("Ableton", True, [ITEM])
    assert answer.import_id is None and answer.total is None and answer.completed is None
    assert answer.done is None and answer.failed == 0
    assert set(answer.odd) == {"importId", "total", "completed", "done"}


@pytest.mark.parametrize(
    "override",
    [
        {"effectiveMode": ["full-automation"]},
        {"effectiveMode": None},
        {"effectiveMode": {"mode": "full-automation"}},
    ],
)
def test_health_with_a_mode_that_is_not_text(
    emulator: Emulator, api: SessionDockClient, override: dict[str, object]
) -> None:
    emulator.health_override = override
    with pytest.raises(BadAnswer, match="effectiveMode"):
        api.health()


def test_health_with_other_fields_of_the_wrong_kind(
    emulator: Emulator, api: SessionDockClient
) -> None:
    emulator.health_override = {"configuredMode": 7, "status": "x" * 10_000}
    health = api.health()
    assert health.can_import and health.configured_mode == ""
    assert len(health.status) < 100


def test_a_library_listing_that_ignores_paging_ends(
    emulator: Emulator, api: SessionDockClient
) -> None:
    for n in range(3):
        emulator.library.add(f"/studio/{n}.als")
    emulator.sessions_lie = True
    before = emulator.requests
    with pytest.raises(BadAnswer, match="repeats the previous page"):
        api.session_paths(page_size=2)
    assert emulator.requests - before == 2
    emulator.sessions_lie = False
    assert api.session_paths(page_size=2, among={"/studio/1.als", "/nope"}) == {"/studio/1.als"}


# --- the real daemon ---------------------------------------------------------------------


@pytest.mark.daemon
def test_503_with_retry_after_zero_is_not_a_hot_loop(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    emulator.retry_after = 0
    emulator.fail_for(503, seconds=5)
    proc = daemon(write_config([studio]))
    proc.wait_watching()
    project = write_als(studio / "Busy.als")
    emulator.wait_for_paths(1, timeout=40)
    assert proc.stop() == 0
    refused = [r for r in emulator.imports if r.status == 503]
    assert 1 <= len(refused) <= 10, f"{len(refused)} requests in a 5 s outage"
    assert emulator.imported_paths() == [str(project)]
    assert len(proc.events("sending_paused")) == 1


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.daemon
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/PID/status")
def test_an_endless_202_keeps_the_daemon_small_and_the_batch_arrives(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    emulator.faults = ["endless-body"]
    proc = daemon(write_config([studio]))
    proc.wait_watching()
    project = write_als(studio / "Flood.als")
    answered = proc.wait_for("import_answered", timeout=40)[0]
    peak = _peak_rss_mib(proc.proc.pid)
    assert proc.stop() == 0
    assert peak < 100, f"peak RSS {peak:.0f} MiB while a 202 never ended"
    first, second = emulator.imports
    wait_until(lambda: first.hung_up, what="the emulator to see the daemon hang up")
    assert first.bytes_sent < emulator.endless_bytes // 2
    assert second.status == 202 and answered["skipped"] == 1, "the same batch, taken once"
    assert [s["projectPath"] for s in emulator.library.all()] == [str(project)]
    paused = proc.events("sending_paused")[0]
    assert "longer than 1 MiB" in paused["error"]


@pytest.mark.daemon
def test_a_trickling_server_is_given_up_and_the_batch_retried(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    emulator.faults = ["trickle"]
    emulator.hang_seconds = 120
    proc = daemon(write_config([studio], sessiondock={"request_deadline_seconds": 2}))
    proc.wait_watching()
    project = write_als(studio / "Slow Drip.als")
    emulator.wait_for_paths(1, timeout=40)
    assert proc.stop() == 0
    first = emulator.imports[0]
    wait_until(lambda: first.hung_up, what="the emulator to see the daemon hang up")
    assert first.status == -1, "the daemon hung up, not the server"
    assert emulator.imported_paths() == [str(project)]
    paused = proc.events("sending_paused")[0]
    assert "request_deadline_seconds" in paused["error"] and paused["advice"]


@pytest.mark.daemon
def test_status_shows_the_request_in_flight_and_its_deadline(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    emulator.faults = ["hang"]
    emulator.hang_seconds = 120
    config = write_config([studio], sessiondock={"request_deadline_seconds": 45})
    proc = daemon(config)
    proc.wait_watching()
    write_als(studio / "Held.als")

    def in_flight() -> dict[str, float] | None:
        report = json.loads(cli("status", "--json", "--config", str(config)).stdout)
        return report.get("request")  # type: ignore[no-any-return]

    request = wait_until(in_flight, timeout=30, what="status naming the open request")
    assert request["method"] == "POST" and request["path"] == "/import"
    assert request["give_up_at"] - request["started_at"] == pytest.approx(45)
    human = cli("status", "--config", str(config)).stdout
    assert "request:   POST /import sent" in human and "given up in" in human
    emulator.release_hung()
    emulator.wait_for_paths(1)
    wait_until(lambda: in_flight() is None, timeout=60, what="status without the request")
    assert proc.stop() == 0


@pytest.mark.daemon
def test_a_401_that_clears_by_itself_resumes_without_a_new_token(
    studio: Path,
    emulator: Emulator,
    write_config: ConfigWriter,
    daemon: DaemonFactory,
    token_file: Path,
) -> None:
    emulator.token = "what-sessiondock-accepts-while-restarting"
    before = token_file.stat()
    proc = daemon(write_config([studio]))
    proc.wait_watching()
    project = write_als(studio / "Patience.als")
    proc.wait_for("sending_paused", reason="token rejected")
    proc.wait_for("project_queued")
    health = emulator.health_calls
    emulator.token = TOKEN  # SessionDock is back and takes the same token again
    emulator.wait_for_paths(1, timeout=40)
    proc.wait_for("sending_resumed")
    assert proc.stop() == 0
    assert emulator.health_calls > health, "it asked /health with the same token"
    assert proc.events("token_changed") == []
    assert token_file.stat().st_mtime_ns == before.st_mtime_ns
    assert emulator.imported_paths() == [str(project)]


@pytest.mark.daemon
def test_a_reset_after_sessiondock_acted_sends_the_batch_once_more_then_stops(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    emulator.faults = ["drop-after-import"]
    proc = daemon(write_config([studio]))
    proc.wait_watching()
    project = write_als(studio / "Twice.als")
    answered = proc.wait_for("import_answered")[0]
    assert answered["skipped"] == 1, "SessionDock already had it: skipped, not duplicated"
    write_als(studio / "Next.als")  # the daemon goes on normally afterwards
    emulator.wait_for_paths(2)
    assert proc.stop() == 0
    assert [r.status for r in emulator.imports] == [-1, 202, 202]
    assert [i["projectPath"] for r in emulator.imports[:2] for i in r.items] == [str(project)] * 2


@pytest.mark.daemon
def test_odd_answers_are_logged_once_each_and_delivered(
    studio: Path, emulator: Emulator, write_config: ConfigWriter, daemon: DaemonFactory
) -> None:
    emulator.faults = ["odd-answer", "huge-error"]
    proc = daemon(write_config([studio]))
    proc.wait_watching()
    write_als(studio / "Odd.als")
    odd = proc.wait_for("import_answer_odd")[0]
    assert set(odd["fields"]) == {"importId", "total", "completed", "done"}
    line = proc.wait_for("import_answered")[0]
    assert line["import_id"] is None and line["accepted"] is None
    write_als(studio / "Huge Error.als")
    paused = proc.wait_for("sending_paused")[0]
    assert len(paused["error"]) < 400 and "characters)" in paused["error"]
    emulator.wait_for_paths(2)
    assert proc.stop() == 0
    assert len(emulator.imports) == 3


# --- answers no emulator fault needs to produce: parsing, on httpx's MockTransport ------


def mock_client(handler: httpx.MockTransport) -> SessionDockClient:
    return SessionDockClient("http://127.0.0.1:9/api/v1", lambda: TOKEN, 5, transport=handler)


class Streamed(httpx.SyncByteStream):
    """A body that arrives in pieces, as from a socket (bytes given to Response() are
    read at once, which is not what a server does)."""

    def __init__(self, data: bytes, piece: int = 65536) -> None:
        self.pieces = [data[i : i + piece] for i in range(0, len(data), piece)]

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces


def answering(status: int, body: bytes, **headers: str) -> httpx.MockTransport:
    return httpx.MockTransport(
        lambda request: httpx.Response(status, headers=headers, stream=Streamed(body))
    )


def test_deeply_nested_json_is_a_bad_answer_not_a_recursion_error() -> None:
    nested = answering(200, b"[" * 500_000)
    with closing(mock_client(nested)) as api, pytest.raises(BadAnswer, match="documented JSON"):
        api.health()


def test_a_compressed_bomb_is_inflated_only_up_to_the_cap() -> None:
    bomb = gzip.compress(b"0" * (256 * 1024 * 1024))  # 256 MiB in about 250 KiB
    bombing = answering(202, bomb, **{"Content-Encoding": "gzip"})
    tracemalloc.start()
    try:
        with closing(mock_client(bombing)) as api, pytest.raises(BadAnswer, match="1 MiB"):
            api.import_batch("Ableton", True, [ITEM])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024 + len(bomb)


def test_an_unknown_content_encoding_is_a_bad_answer() -> None:
    brotli = answering(200, b"xx", **{"Content-Encoding": "br"})
    with closing(mock_client(brotli)) as api, pytest.raises(BadAnswer, match="Encoding 'br'"):
        api.health()


@pytest.mark.parametrize("location", ["http://[::bad", "", "/relative", "http://evil.example/x"])
def test_any_redirect_location_is_reported_and_not_followed(location: str) -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": location})

    with closing(mock_client(httpx.MockTransport(answer))) as api:  # noqa: SIM117 - clearer
        with pytest.raises(Redirected, match="not followed"):
            api.health()
    assert seen == ["http://127.0.0.1:9/api/v1/health"]


def test_a_401_without_an_envelope_is_still_a_rejected_token() -> None:
    html = answering(401, b"<html>nope</html>")
    with closing(mock_client(html)) as api, pytest.raises(Unauthorized):
        api.health()
