"""The emulator's sessions API behaves as SessionDock's reference pages say.

The daemon's tests trust the emulator, so its own behaviour is pinned here with real
HTTP requests on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import TOKEN, wait_until
from tests.emulator import Emulator


@pytest.fixture
def api(emulator: Emulator) -> Iterator[httpx.Client]:
    client = httpx.Client(
        base_url=emulator.base_url + "/",
        headers={"Authorization": f"Bearer {TOKEN}"},
        trust_env=False,
    )
    yield client
    client.close()


def test_list_pages_filters_and_gets_one(emulator: Emulator, api: httpx.Client) -> None:
    for n in range(5):
        emulator.library.add(f"/p/{n}.als", title=f"Song {n}", tags=["mix"] if n % 2 else [])
    emulator.library.add("/p/logic.logicx", kind="Logic Pro", tags=["mix", "priority"])
    page = api.get("sessions", params={"limit": 2, "offset": 4}).json()
    assert page["meta"] == {"total": 6, "limit": 2, "offset": 4}
    assert [s["projectPath"] for s in page["data"]] == ["/p/4.als", "/p/logic.logicx"]
    tagged = api.get("sessions", params={"tags": "mix,priority", "limit": 50}).json()["data"]
    assert [s["projectPath"] for s in tagged] == ["/p/logic.logicx"]
    assert len(api.get("sessions", params={"daw": "Logic Pro"}).json()["data"]) == 1
    first = api.get("sessions", params={"limit": 1}).json()["data"][0]
    assert api.get(f"sessions/{first['id']}").json()["data"] == first
    missing = api.get("sessions/session_999")
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "status": 404,
        "code": "not_found",
        "message": "session not found",
    }


def test_patch_updates_needs_full_automation_and_reports_errors(
    emulator: Emulator, api: httpx.Client
) -> None:
    session = emulator.library.add("/old/Song.als", title="Song", tags=["client"])
    moved = api.patch(f"sessions/{session['id']}", json={"projectPath": "/new/Song.als"})
    assert moved.status_code == 200
    assert moved.json()["data"]["projectPath"] == "/new/Song.als"
    assert moved.json()["data"]["projectOriginalPath"] == "/old/Song.als"
    assert emulator.library.patches == [(session["id"], {"projectPath": "/new/Song.als"})]
    assert api.patch(f"sessions/{session['id']}", json={"tags": "x"}).status_code == 400
    assert api.patch(f"sessions/{session['id']}", json={"id": "mine"}).status_code == 400
    assert api.patch("sessions/session_999", json={"title": "x"}).status_code == 404
    emulator.effective_mode = "read-only"
    refused = api.patch(f"sessions/{session['id']}", json={"title": "x"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "read_only"
    stranger = httpx.patch(
        f"{emulator.base_url}/sessions/{session['id']}", json={"title": "x"}, trust_env=False
    )
    assert stranger.status_code == 401


def test_imported_sessions_can_appear_late(emulator: Emulator, api: httpx.Client) -> None:
    emulator.visible_after_seconds = 0.3
    body = {"kind": "Ableton", "items": [{"projectPath": "/p/Late.als", "title": "Late"}]}
    assert api.post("import", json=body).status_code == 202
    assert api.get("sessions").json()["data"] == []
    wait_until(lambda: api.get("sessions").json()["data"], timeout=5, what="the session")
    again = api.post("import", json=body).json()["data"]
    assert again["skipped"] == 1 and len(emulator.library) == 1
