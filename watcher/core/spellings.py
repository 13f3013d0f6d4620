"""Spellings of one path, and renames that change only letter case (issue 12, item 7).

The shell reports paths as the file system hands them back. On macOS a name may come in
NFC or NFD form (an event and a listing may disagree), and on a case-insensitive volume
(APFS, NTFS by default) `song.als` and `Song.als` are one file. An observation spelled
otherwise than a recorded project, in normalization only, is taken as that project (the
spelling seen first is kept, and is what SessionDock was sent); a new project that is a
recorded one in other letter case, on a folder that is case-insensitive, is that project
renamed, and relinked. The rules on strings are in watcher.core.paths.
"""

from __future__ import annotations

from dataclasses import replace

from watcher.core.base import CoreBase
from watcher.core.paths import nfc, same_path
from watcher.core.records import Project, ProjectRecord
from watcher.core.store import has_session


class Spellings(CoreBase):
    def _relink_to(self, project: Project, old: ProjectRecord) -> None:
        job = self._job
        if old.state == "relinking" and job and job.what == "relink" and old.path in job.current:
            self._retargeted[old.path] = project.path
        self.table.relink(project, old, self._wall())
        self._log("project_moved", "debug", path=project.path, old=old.path)
        self._replan = True

    def _copy_of_present(self, project: Project, old: ProjectRecord) -> bool:
        """Not the inode the missing project had, on its volume, and the bytes of a
        project still there (its stat found it, or too many to stat): a copy of that
        one, never the missing one moved, as a move keeps the inode (simulator seed
        12126: a copy of a copy taken for the original trashed, which came back, saved,
        before the PATCH). On another volume an inode says nothing (seed 1592)."""
        if project.identity is None or project.root != old.root:
            return False
        if project.signature.inode == old.signature.inode:
            return False
        return any(r.path != project.path for r in self.table.present_like(project.identity))

    def _back_at_session(self, project: Project, old: ProjectRecord) -> bool:
        """Not the inode the missing project had, and a file being looked at where its
        session still is (moved from there, the PATCH not answered): the project may be
        back there, and a copy must never take its session (simulator seed 15200: moved,
        copied, moved back, the copy's move check answered before the one back was)."""
        if old.moved_from is None or project.signature.inode == old.signature.inode:
            return False
        return old.moved_from != project.path and self._looking_at(old.moved_from)

    def _looking_at(self, path: str) -> bool:
        """A file at `path` is being looked at: quiet period, stat or probe out."""
        return (
            path in self._waiting
            or path in self._probing
            or path in self._verifying
            or path in self._touch_stats
            or path in self._confirm_stats
        )

    def _spelled(self, path: str) -> str:
        """The recorded spelling of `path` when the two differ only in Unicode
        normalization (one file on macOS, and one look to the user): an event and a
        listing that disagree on the form never make two projects of one."""
        if path.isascii() or path in self.table:
            return path
        key = nfc(path)
        return next((p for p in self.table.spellings(path) if nfc(p) == key), path)

    def _respelled(self, project: Project) -> Project:
        spelled = self._spelled(project.path)
        if spelled == project.path:
            return project
        record = self.table[spelled]
        return replace(project, path=spelled, project_path=record.project_path, title=record.title)

    def _renamed_case(self, project: Project, bundle: bool) -> bool:
        """A new project that is a recorded one with other letter case, on a volume
        that finds a name in any case: the same file, renamed (`song.als` -> `Song.als`).
        A stat of the old spelling still finds it there, so the copy rule cannot tell;
        the user sees the new name, so its session is relinked (True), never a copy."""
        folder = self.folders.get(project.root)
        if folder is None or not folder.case_insensitive:
            return False
        twins = [p for p in self.table.spellings(project.path) if same_path(p, project.path, True)]
        if len(twins) != 1:
            return False
        old = self.table[twins[0]]
        if old.state == "in_flight" or self._carried(old.path):
            # Its import is unanswered: a session if it succeeds (then relinked).
            self.table.mark_missing(old.path, self._wall(), carried=True)
            self._parked.setdefault(old.path, []).append((project, bundle))
            return True
        if old.state not in ("imported", "relinking") and not has_session(old):
            if self.table.cancel(old.path):  # queued under its old name: sent as new
                self._log("project_removed", path=old.path, action="renamed; queued anew")
            return False
        self.table.mark_missing(old.path, self._wall())  # a queued change rides along
        self._relink_to(project, self.table[old.path])
        return True
