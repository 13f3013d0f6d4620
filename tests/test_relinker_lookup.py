"""Which session a relink without a recorded id moves (`watcher.relinker`)."""

from __future__ import annotations

from dataclasses import replace

from watcher.api import Session
from watcher.core.effects import RelinkItem
from watcher.relinker import SessionListing


def test_the_session_at_a_path_is_found_before_one_first_imported_from_it() -> None:
    """Ballad.flp was imported (s1), moved to Done/ (s1 relinked there), and a project
    came to Ballad.flp again and was imported (s2). Relinking "the session at
    Ballad.flp" must move s2; s1, listed first, was taken before."""
    moved = Session("s1", "Ballad", (), "/studio/Done/Ballad.flp", "/studio/Ballad.flp")
    here = Session("s2", "Ballad", (), "/studio/Ballad.flp", "/studio/Ballad.flp")
    found = SessionListing([moved, here]).by_path
    assert found["/studio/Ballad.flp"] is here
    assert found["/studio/Done/Ballad.flp"] is moved


def test_a_session_is_still_found_by_the_path_it_was_imported_from() -> None:
    old = Session("s1", "Intro", (), "/studio/Renamed.als", "/studio/Intro.als")
    assert SessionListing([old]).by_path["/studio/Intro.als"] is old


def test_the_new_path_is_looked_at_only_when_an_earlier_patch_may_have_acted() -> None:
    """A session at the relink's new path is another project's unless one of this
    relink's PATCHes may have put it there (simulator seed 6647325)."""
    there = Session("s1", "Intro", (), "/studio/Intro.als", "/studio/Intro.als")
    listing = SessionListing([there])
    item = RelinkItem(
        "/studio/Intro.als",
        None,
        "/studio/Copy/Intro.als",
        "/studio/Intro.als",
        "Intro",
        "Intro",
        by_new_path=False,
    )
    assert listing.find(item) is None
    assert listing.find(replace(item, by_new_path=True)) is there
