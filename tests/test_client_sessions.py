"""The client's library calls against the emulator: paged listing, one session, PATCH."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import TOKEN
from tests.emulator import Emulator
from watcher.client import NotFound, ReadOnly, Session, SessionDockClient


@pytest.fixture
def client(emulator: Emulator) -> Iterator[SessionDockClient]:
    client = SessionDockClient(emulator.base_url, lambda: TOKEN, timeout=5)
    yield client
    client.close()


def test_a_library_of_thousands_is_read_in_a_few_pages(
    emulator: Emulator, client: SessionDockClient
) -> None:
    for n in range(2000):
        emulator.library.add(f"/lib/{n}.als", title=str(n), original_path=f"/was/{n}.als")
    before = emulator._requests
    sessions = client.sessions(page_size=200)
    assert emulator._requests - before == 10
    assert len({s.id for s in sessions}) == 2000
    assert sessions[7] == Session("session_8", "7", (), "/lib/7.als", "/was/7.als")
    assert {"/lib/1999.als", "/was/0.als"} <= client.session_paths()


def test_patch_relinks_and_a_deleted_session_is_not_found(
    emulator: Emulator, client: SessionDockClient
) -> None:
    added = emulator.library.add("/old/Song.als", title="Song", tags=["mine"])
    moved = client.patch_session(added["id"], {"projectPath": "/new/Song.als"})
    assert moved.project_path == "/new/Song.als" and moved.tags == ("mine",)
    assert client.session(added["id"]) == moved
    emulator.library.delete(added["id"])
    with pytest.raises(NotFound):
        client.patch_session(added["id"], {"projectPath": "/x.als"})
    emulator.effective_mode = "read-only"
    other = emulator.library.add("/a.als")
    with pytest.raises(ReadOnly):
        client.patch_session(other["id"], {"tags": ["x"]})


def test_entries_that_are_not_sessions_are_skipped() -> None:
    assert Session.from_json({"title": "no id"}) is None
    assert Session.from_json("nonsense") is None
    parsed = Session.from_json({"id": "s1", "tags": "not a list", "projectPath": None})
    assert parsed == Session("s1", "", (), "", "")


def test_the_index_tells_the_paths_listed_only_as_an_original(
    emulator: Emulator, client: SessionDockClient
) -> None:
    """A path only a relinked session lists (its `projectOriginalPath`) has no session
    now: the core must not take it for one a request of its own made (seed 200060278)."""
    moved = emulator.library.add("/new/a.als", original_path="/old/a.als")
    emulator.library.add("/x/b.als", original_path="/y/b.als")
    emulator.library.add("/y/b.als")  # a new project where the moved one was
    paths, ids, only = client.library_index(among={"/old/a.als", "/y/b.als", "/new/a.als"})
    assert paths == {"/old/a.als", "/y/b.als", "/new/a.als"}
    assert only == {"/old/a.als"}
    assert ids["/old/a.als"] == moved["id"]
    assert client.library_index()[2] == {"/old/a.als"}


def test_the_simulator_tells_the_core_what_the_client_does(
    emulator: Emulator, client: SessionDockClient
) -> None:
    """The simulator's listing honours `among` as the client does (it once told the
    core every path of the library: ids the real daemon never learns from a look-up)."""
    from tests.simulation.server import Answer, library_outcome
    from watcher.core.inputs import Library

    emulator.library.add("/new/a.als", original_path="/old/a.als")
    emulator.library.add("/x/b.als", original_path="/y/b.als")
    emulator.library.add("/y/b.als")
    rows = [
        {"id": s.id, "projectPath": s.project_path, "projectOriginalPath": s.original_path}
        for s in client.sessions()
    ]
    for among in (frozenset({"/old/a.als", "/y/b.als", "/nope.als"}), None):
        paths, ids, only = client.library_index(among=among)
        told = Library(frozenset(paths), ids, frozenset(only))
        assert library_outcome(Answer(200, data=rows), TOKEN, among) == told
