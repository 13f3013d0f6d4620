"""The relinker against the emulator: what a relink request costs, and whose title wins."""

from __future__ import annotations

import socket

from tests.conftest import TOKEN
from tests.emulator import Emulator
from watcher.client import SessionDockClient
from watcher.core.effects import Relink, RelinkItem
from watcher.core.inputs import RelinkAnswered
from watcher.relinker import LIST_FROM, relink


def test_a_large_relink_reads_titles_from_one_listing_and_keeps_a_users_title(
    emulator: Emulator,
) -> None:
    """A renamed client folder: 50 sessions whose ids are known. Their titles come from
    one listing, not 50 GETs; a title the user edited stays, ours follows the name."""
    sessions = [
        emulator.library.add(
            f"/Music/Client/Song {n:02}.als", title="Mix for Anna" if n == 7 else f"Song {n:02}"
        )
        for n in range(50)
    ]
    items = tuple(
        RelinkItem(
            f"/Music/Client 2024/Song {n:02}.als",
            s["id"],
            f"/Music/Client/Song {n:02}.als",
            f"/Music/Client 2024/Song {n:02}.als",
            f"Song {n:02}",
            f"Song {n:02}",
        )
        for n, s in enumerate(sessions)
    )
    assert len(items) >= LIST_FROM
    answered = _relink(emulator, items)
    assert answered.failure is None
    assert [sid for _, sid in answered.outcome.done] == [s["id"] for s in sessions]
    assert emulator.calls["GET /sessions/{id}"] == 0
    assert emulator.calls["GET /sessions"] == 1
    assert emulator.calls["PATCH /sessions/{id}"] == 50
    moved = {s["id"]: s for s in emulator.library.all()}
    assert all(moved[s["id"]]["projectPath"].startswith("/Music/Client 2024/") for s in sessions)
    assert moved[sessions[7]["id"]]["title"] == "Mix for Anna"


def test_a_session_the_user_deleted_is_reported_gone_the_others_relinked(
    emulator: Emulator,
) -> None:
    """One of a large request's sessions was deleted in SessionDock: absent from the
    listing, it is asked for by id, and its 404 reports it gone (the core imports the
    project as new); nothing else is held up."""
    sessions = [
        emulator.library.add(f"/Music/A/Song {n}.als", title=f"Song {n}") for n in range(12)
    ]
    emulator.library.delete(sessions[3]["id"])
    items = tuple(
        RelinkItem(
            s["projectPath"].replace("/A/", "/B/"),
            s["id"],
            s["projectPath"],
            s["projectPath"].replace("/A/", "/B/"),
            s["title"],
            s["title"],
        )
        for s in sessions
    )
    answered = _relink(emulator, items)
    assert answered.failure is None
    outcome = dict(answered.outcome.done)
    assert outcome.pop("/Music/B/Song 3.als") is None
    assert sorted(str(sid) for sid in outcome.values()) == sorted(
        s["id"] for n, s in enumerate(sessions) if n != 3
    )
    assert emulator.calls["GET /sessions/{id}"] == 1


def test_a_relink_says_whether_its_patch_went_out_before_it_failed(
    emulator: Emulator,
) -> None:
    """A PATCH whose answer is lost may have acted; a request that failed before its
    PATCH went out (the listing, the GET: a refused connection) acted on nothing
    (`sent` False), and the core does not count it (simulator seeds 3400098, 3402899)."""
    session = emulator.library.add("/Music/A/Song.als", title="Song")
    item = RelinkItem(
        "/Music/B/Song.als", None, "/Music/A/Song.als", "/Music/B/Song.als", "Song", "Song"
    )
    with socket.socket() as probe:  # a port nothing listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        closed = emulator.base_url.replace(f":{emulator.port}", f":{probe.getsockname()[1]}")
    refused = _relink(emulator, (item,), base_url=closed)
    assert refused.failure is not None and refused.failure.kind == "unreachable"
    assert not refused.outcome.sent
    emulator.patch_hold, emulator.hang_seconds = "after", 0.2  # acted, then dropped
    lost = _relink(emulator, (item,))
    assert lost.failure is not None and lost.failure.kind == "unreachable"
    assert lost.outcome.sent, "its PATCH went out: it may have acted"
    assert emulator.library.get(session["id"])["projectPath"] == "/Music/B/Song.als"


def _relink(
    emulator: Emulator, items: tuple[RelinkItem, ...], base_url: str | None = None
) -> RelinkAnswered:
    client = SessionDockClient(base_url or emulator.base_url, lambda: TOKEN, timeout=5)
    try:
        return relink(client, Relink(1, items))
    finally:
        client.close()
