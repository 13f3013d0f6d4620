"""A new project at the path a moved project's session still points at (simulator seed
56696: imported, its session not listed yet; moved, so the PATCH by path found nothing
and waits; a copy of it then made at the path it left).

SessionDock keys its library by path: an import sent there before the PATCH has moved
that session away is skipped, and the core, hearing a 2xx, records it imported; the
PATCH then takes the session away and the new project has none. So the new project
waits for the relink's answer, then is sent.
"""

from __future__ import annotations

from dataclasses import replace

from tests.test_core import ROOT
from tests.test_core_moves import MovingDriver, move, start
from watcher.core.inputs import ProjectChanged

HOME, AWAY = f"{ROOT}/a.als", f"{ROOT}/Done/a.als"


def sent(d: MovingDriver) -> list[str]:
    return [i.project_path for s in d.sends() for i in s.items]


def test_a_copy_at_a_moved_projects_session_path_waits_for_its_relink() -> None:
    d = start(a="id-a")
    d.deleted_sessions.add(HOME)  # not listed yet: the PATCH by path finds nothing
    move(d, HOME, AWAY)
    assert d.stored[AWAY].state == "relinking" and d.stored[AWAY].moved_from == HOME
    # A copy made at the path it left: its bytes, another inode.
    d.disk[HOME] = replace(d.disk[AWAY], inode=77)
    d.identity[HOME] = d.identity[AWAY]
    d.feed(ProjectChanged(ROOT, HOME, False, d.now))
    d.advance(30)
    assert d.stored[HOME].state == "pending", "queued as a new project"
    assert sent(d) == [HOME], "not sent while the session it would be skipped for is there"
    d.deleted_sessions.clear()  # listed now: the PATCH moves it away
    d.advance(600)
    assert d.stored[AWAY].state == "imported" and d.stored[AWAY].session_id == f"s:{HOME}"
    assert sent(d) == [HOME, HOME], "then imported as its own"
    assert d.stored[HOME].state == "imported"
