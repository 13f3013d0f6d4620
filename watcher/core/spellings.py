"""Spellings of one path, and renames that change only letter case (issue 12, item 7).

The shell reports paths as the file system hands them back. On macOS a name may come in
NFC or NFD form (an event and a listing may disagree), and on a case-insensitive volume
(APFS, NTFS by default) `song.als` and `Song.als` are one file. An observation spelled
otherwise than a recorded project, in normalization only, is taken as that project (the
spelling seen first is kept, and is what SessionDock was sent); a new project that is a
recorded one in other letter case, on a folder that is case-insensitive, is that project
renamed, and relinked. The rules on strings are in watcher.core.paths.

The rules that tell a copy from its twin moved by inode (a move keeps it) live here too,
beside `_relink_to`, leaving watcher.core.moves its room.
"""

from __future__ import annotations

from dataclasses import replace

from watcher.core.base import CoreBase
from watcher.core.effects import Stat
from watcher.core.paths import nfc, same_path
from watcher.core.records import Project, ProjectRecord, Signature
from watcher.core.relinks import as_project, session_places
from watcher.core.store import has_session, same_file


class Spellings(CoreBase):
    def _relink_to(self, project: Project, old: ProjectRecord, here: bool = True) -> None:
        if old.state == "relinking" and self._out_with("relink", old.path):
            self._retargeted[old.path] = project.path
        # PATCHes counted while at the session's project's own path (its inode) put the
        # session there if anywhere: never at `project.path` (`arrived_with`).
        self.table.relink(project, old, self._wall(), here)
        self._log("project_moved", "debug", path=project.path, old=old.path)
        self._replan = True

    def _relink_undone(self, project: Project) -> bool:
        """A project back at the path its session still points at (the PATCH not sent
        yet): the relink that would take the session away was a copy taken for the
        project while the project was away (in the trash, restored; simulator seeds
        1870, 300817). SessionDock's session stays where it is, with the project back;
        the copy, still at its own path, is imported as new (True: nothing else to do).

        A PATCH that carried it and whose answer was lost may have acted: the session
        may be at the copy's path already, so it is pointed back at the project's path
        (a relink found by id or by any path it may be at; a no-op if it never moved:
        simulator seed 200742). So is one back at another path its session may be at
        than the one it moved from (`moved_also`: seed 87666)."""
        moving = self.table.relinking_from(project)
        if moving is None or self._moved_onto_guess(project, moving):
            return False
        if self._out_with("relink", moving.path):
            # Its PATCH is out: the answer decides (a move, then a copy; failed or lost,
            # the project back is looked at again: `_undo_guesses_back`).
            self._back_while_out[moving.path] = project.path
            return False
        # The inode a move keeps: the file taken for it moved back (its gone event lost,
        # simulator seed 301325), not a copy left behind.
        back = moving.signature.inode == project.signature.inode
        copy = not back and moving.missing_since is None  # a copy gone too: nothing to send
        if moving.attempts or moving.moved_from != project.project_path:
            # Its session may be at any other path it had (`Table.relink`: seed 87666).
            self._relink_to(project, moving)
            queued = copy and self.table.enqueue(as_project(moving), self._wall())
        else:
            self.table.relink_undone(moving, project, self._wall(), copy=copy)
            queued = copy
        self._replan = True  # the copy is queued, or the project's new bytes are
        if not copy:
            action = "moved back to its session's path before the relink was sent"
            if not back:
                action = "the project is back at its session's path; the copy is gone"
            self._log("project_relink_undone", path=project.path, action=action)
            return True
        self.counters.queued += int(queued)
        self._log(
            "project_relink_undone",
            path=project.path,
            copy=moving.path,
            action="the project is back at its session's path; the copy is imported as new",
        )
        return True

    def _moved_onto_guess(self, project: Project, moving: ProjectRecord) -> bool:
        """A file at the path a guessed relink (a copy taken for the project gone from
        there, not its inode) is taking the session from, that is another project's,
        missing, moved there: its inode (a move keeps it, on its volume) and its bytes.
        Not the session's project back: its own session follows it, and the copy keeps
        the one it was taken for, whose PATCH leaves that path (simulator seed 9008788;
        undone, the file took that session and left its own at a path nothing is at)."""
        inode = project.signature.inode
        if project.identity is None or inode in (moving.moved_inode, moving.signature.inode):
            return False
        if moving.moved_inode == moving.signature.inode:
            return False  # the file itself moved: a twin onto its path is `relinking_from`'s
        return self._missing_as(project, elsewhere=True)

    def _missing_as(self, project: Project, elsewhere: bool = False) -> bool:
        """A missing record is this very file moved: its inode (a move keeps it) in the
        project's watched folder, or with the same size and time in another one
        (`store.same_file`). `elsewhere`: at another path than the project's."""
        if project.identity is None:
            return False
        return any(
            same_file(r, project) and not (elsewhere and r.path == project.path)
            for r in self.table.vanished_like(project.identity)
        )

    def _relink_retaken(self, project: Project) -> bool:
        """A new project with the inode its twin had where that twin's session still is,
        on that volume, while a copy with another inode is relinking to that session
        (its PATCH not sent): the project moved unseen and its old path was found empty,
        so the copy took it for gone (simulator seed 201694). The session is the
        project's: its relink is retargeted to it, the copy imported as new (True).
        In another watched folder (on the same volume, perhaps) the inode counts with the
        size and time the copy has too, a copy keeping them (simulator seed 4201447).
        PATCHes sent while the relink was at the project's own path (it moved on, then
        the copy was taken for it) may have put the session there, never at the copy's:
        they do not keep it from the project (seed 75330; `arrived_with`, on disk).
        The copy may be missing, moved on unseen before it was found again (simulator
        seed 200009208: its new path probed after the project's): the session is the
        project's all the same, and the copy, found where it went, is new."""
        if project.identity is None:
            return False
        inode, folder = project.signature.inode, self.folders.containing(project.path)
        if self._missing_as(project):
            # Its own record, missing, is this very file (the inode a move keeps): moved
            # on from there, that session follows it as any move. The copy's is one the
            # project left behind (two sessions by design); taking it back would leave
            # its own at a path nothing is at (simulator seed 100022626).
            return False
        identity = project.identity
        taken = [
            r
            for r in [*self.table.present_like(identity), *self.table.vanished_like(identity)]
            if r.state == "relinking"
            and r.moved_from is not None
            and r.moved_inode == inode != r.signature.inode
            and not self._out_with("relink", r.path)  # its PATCH is out: the answer decides
            # One that may have acted at the copy's path put the session there (seed
            # 64194); those sent before it moved there did not (seed 75330).
            and r.attempts <= r.arrived_with
            and (
                self.folders.containing(r.moved_from) is folder
                or replace(r.signature, inode=inode).agrees(project.signature)
            )
        ]
        if len(taken) != 1:
            return False
        copy = taken[0]
        self._relink_to(project, copy, here=False)  # none counted at the copy's path
        if copy.missing_since is None and self.table.enqueue(as_project(copy), self._wall()):
            self.counters.queued += 1
        self._log(
            "project_relink_retaken",
            path=project.path,
            copy=copy.path,
            action="the project moved is found; the copy is imported as new",
        )
        return True

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
        copied, moved back, the copy's move check answered before the one back was).
        Nor while a file the core holds a record of is there, not missing: taken for a
        twin moved onto that path while the relink kept the inode, it may be the
        project itself back there, saved (a new inode) before it was probed; once the
        relink would be a guess, it must not move the session away from a file
        (simulator seed 6612826)."""
        if old.moved_from is None or project.signature.inode == old.signature.inode:
            return False
        there = self.table.get(old.moved_from)
        if there is not None and there.missing_since is None and there.path != old.path:
            return old.moved_from != project.path
        return old.moved_from != project.path and self._looking_at(old.moved_from)

    def _held_at_session(self, record: ProjectRecord) -> bool:
        """A relink not sent while a file at the path its session still points at is
        being looked at: it may be the project back there, and once it is probed the
        relink is undone or goes out (simulator seed 201468: a copy taken for a project
        moved to another volume, which came back while the PATCH waited).

        One that did not keep the inode its session's project had there (a copy taken
        for it, a guess) waits too while that path cannot be looked at: its folder is
        offline (the project may be back there, unseen: seeds 28052, 98026), or not
        walked yet since it came back or since the start (restored while the daemon was
        stopped: seed 31750); the walk finds a file there, which is then looked at. So
        does one whose file moved itself, gone from its new path since: it may have
        moved back (seed 153002999), or with another file found there, not probed yet
        (another inode: a copy moved onto its path while the daemon was stopped, the
        project moved back unseen: seed 270094505)."""
        moved_from = record.moved_from
        if moved_from is None:
            return False
        if any(self._looking_at(place) for place in session_places(record)):
            return True
        if moved_from in self.table:
            return False  # what is there is known (a copy)
        itself = record.moved_inode == record.signature.inode
        if itself and record.missing_since is None and not self._other_file_at(record):
            # The file itself moved, and is there. Gone from there since (seed
            # 153002999), it may be back where its session is: looked at first.
            return False
        if same_path(moved_from, record.path, True):
            return False  # renamed in letter case: its old spelling finds it
        folder = self.folders.containing(moved_from)
        if folder is None:
            return False  # no longer watched (a drive under another mount point): moved
        if self.folders.online(folder.root) is None or (folder.root, None) in self._walking:
            return True
        # Restored there with its event lost (seed 300817): that path is stat'ed before
        # each PATCH, and a file found there is looked at (`_session_looked`).
        looked = self._session_looks.get(moved_from)
        if looked is None:
            self._session_looks[moved_from] = False
            self._flush()  # what was decided is on disk before anything is asked
            self._emit(Stat(moved_from, record.signature.digest is not None))
        return not looked

    def _other_file_at(self, record: ProjectRecord) -> bool:
        """The file at a relink's path is not known to be the one that moved there: its
        folder is not walked yet since it came back or since the start (the daemon
        stopped meanwhile), or a file with another inode is being looked at there
        (found by a walk or an event, not probed yet). The relink is held as a guess
        meanwhile (`_held_at_session`)."""
        if self.folders.online(record.root) is None or (record.root, None) in self._walking:
            return True
        path, inode = record.path, record.signature.inode
        seen = [self.debouncer.signature(path)]
        seen += [self._probing[path][1]] if path in self._probing else []
        seen += [self._verifying[path][1]] if path in self._verifying else []
        return any(s is not None and s.inode != inode for s in seen)

    def _session_looked(self, path: str, signature: Signature | None) -> None:
        """The stat before a guessed relink's PATCH (`_held_at_session`): nothing at its
        session's path, the PATCH goes; a file there is looked at as if its event came
        (the project back, unseen), and the relink waits for it."""
        self._session_looks[path] = signature is None
        if signature is None:
            return
        del self._session_looks[path]
        folder = self.folders.containing(path)
        if folder is not None and self.folders.online(folder.root) and not self._looking_at(path):
            self._touch(folder.root, path, signature.digest is not None, self._now, signature)

    def _twins_to_look_at(self, project: Project) -> list[str]:
        """Where a project of `project`'s identity with another inode may be, back with
        its event lost, though the core does not know it there: a missing one's path
        (restored from the trash unseen: simulator seed 200853), and the path the
        session of a moved one still points at, its PATCH not answered (moved back
        unseen: seed 200349). A copy must never take the session of a project there,
        so they are stat'ed with its originals (`Moves._move_checked`)."""
        if project.identity is None:
            return []
        inode = project.signature.inode
        vanished = self.table.vanished_like(project.identity)
        paths = {r.path for r in vanished if r.signature.inode != inode}
        paths.update(
            r.moved_from
            for r in [*self.table.present_like(project.identity), *vanished]
            if r.state == "relinking"
            and r.moved_from is not None
            and inode not in (r.signature.inode, r.moved_inode)
        )
        return sorted(p for p in paths if p != project.path and not self._looking_at(p))

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
