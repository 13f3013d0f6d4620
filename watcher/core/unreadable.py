"""Projects and folders this user could not read, so each is logged once, not at every
event and every walk, and its recovery is logged too.

Nothing here is a verdict: a read error is tried again on the next change and at each
reconciliation, and only this process remembers it (a restart logs it again). Entries
go when the path is readable again or gone, so it stays as small as the number of
unreadable paths.
"""

from __future__ import annotations

from collections.abc import Iterable

from watcher.core.store import is_under

READ_ERROR_MARK = "cannot read "
"""How a read error's detail begins (`scanner.unreadable_reason`)."""


def is_read_error(state: str, last_error: str | None) -> bool:
    """A project remembered as invalid only because it could not be read (by a version
    that stored read errors as verdicts): judged again, whatever its signature."""
    return state == "invalid" and last_error is not None and READ_ERROR_MARK in last_error


class Unreadable:
    def __init__(self) -> None:
        self._projects: dict[str, str] = {}
        self._folders: dict[str, str] = {}

    def project_failed(self, path: str, detail: str) -> bool:
        """True when this is news (first failure, or a different one): log it."""
        news = self._projects.get(path) != detail
        self._projects[path] = detail
        return news

    def project_read(self, path: str) -> bool:
        """The project was read (or is gone); True when it had been unreadable."""
        return self._projects.pop(path, None) is not None

    def folder_failed(self, path: str, detail: str) -> bool:
        news = self._folders.get(path) != detail
        self._folders[path] = detail
        return news

    def has_folder(self, path: str) -> bool:
        return path in self._folders

    def walked(self, root: str, failed: Iterable[str]) -> list[str]:
        """A walk of `root` finished, failing only on `failed`: the folders under it that
        were unreadable and no longer are (or no longer exist)."""
        still = set(failed)
        recovered = [p for p in self._folders if is_under(p, root) and p not in still]
        for path in recovered:
            del self._folders[path]
        return recovered

    def report(self, limit: int = 20) -> list[dict[str, str]]:
        """What `status` shows: folders first, then projects, at most `limit`."""
        entries = [*self._folders.items(), *self._projects.items()][:limit]
        return [{"path": path, "advice": advice} for path, advice in entries]

    def __len__(self) -> int:
        return len(self._projects) + len(self._folders)
