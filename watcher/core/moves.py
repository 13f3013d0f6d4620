"""Moves and renames: a project keeps its one session (issue 12).

SessionDock knows a project by its path. An imported project that vanishes from a
folder that is online is kept, marked missing (its session is never deleted); a new
project whose recorded identity (size and content digest, computed by the probe) is
that of exactly one missing project is the same project, moved: its record becomes
`relinking` (persisted before anything is sent) and the core asks the shell to point
the session at the new path (`Relink`, a `PATCH /sessions/{id}`), never to import it
again. Several candidates are not guessed between: the project is imported as new,
and the log says why. A copy beside its original matches nothing, since the original
is not missing. A relink answered "no such session" (the user deleted it) becomes an
ordinary import.
"""

from __future__ import annotations

from watcher.core.effects import Stat
from watcher.core.paths import closest
from watcher.core.records import Project, ProjectRecord, Signature
from watcher.core.relinking import Relinking
from watcher.core.relinks import as_project
from watcher.core.store import has_session, is_under, same_file

MAX_ORIGINAL_STATS = 8
"""At most this many projects of a new one's identity are stat'ed to tell a move whose
event was lost from a copy; of more, only one with its inode (a move keeps it) is."""


class Moves(Relinking):
    def _vanish(self, path: str) -> None:
        """An imported project is gone from an online folder: missing, not deleted."""
        if self.table.mark_missing(path, self._wall(), self._carried(path)):
            self._log("project_missing", "debug", path=path, action="its session is kept")

    def _vanish_under(self, directory: str) -> None:
        gone = ("imported", "relinking", "in_flight")
        for path in [p for p, r in self.table.items() if r.state in gone]:
            if is_under(path, directory):
                self._vanish(path)

    def _seen(self, path: str) -> None:
        if self.table.seen_again(path, self._wall()):
            self._log("project_back", path=path, action="recognised; not imported again")

    def _walk_seen(self, root: str, paths: list[str]) -> None:
        seen = self._walk_paths.get(root)
        if seen is not None:
            seen.update(paths)

    def _walk_done(self, root: str, unreadable: tuple[str, ...]) -> None:
        """A reconciling walk ended: imported projects it did not find are missing."""
        seen = self._walk_paths.pop(root, None)
        if seen is None or self.folders.online(root) is None:
            return
        for path, record in list(self.table.items()):
            if record.root != root or record.state not in ("imported", "relinking"):
                continue
            if path in seen:
                continue
            if any(is_under(path, folder) for folder in unreadable):
                continue
            self._vanish(path)

    def _moved(self, project: Project, new: bool, bundle: bool, checked: bool) -> bool:
        """A new project that is a missing one moved (True: it is relinked), or a
        missing one back with its content unchanged (True: nothing to send)."""
        if project.identity is None:
            return False
        if not new:
            if self.table.returned(project, self._wall()):
                self._log(
                    "project_back", path=project.path, action="recognised; not imported again"
                )
                return True
            return self._moved_onto_a_moved_project(project, bundle)
        if self._relink_undone(project) or self._relink_retaken(project):
            return True
        in_flight = self.table.gone_in_flight_like(project.identity)
        if in_flight:
            # Gone while a request carried it: a move if that request is answered with
            # a 2xx (then it has a session), else a new project. Wait for the answer.
            self._parked.setdefault(in_flight[0].path, []).append((project, bundle))
            return True
        if not checked:
            # Its original's event may be lost or not handled yet, or a copy of it may be
            # the one gone: are the projects of its identity still there? A few are
            # stat'ed (a set and its copy, moved together by a folder rename whose event
            # was lost); many (a template saved many times) are not: which one moved
            # could not be told anyway, and each new copy would cost them all. But the
            # one with this file's inode on its volume can be told, as a move keeps it:
            # that one is stat'ed (a folder of many identical sets renamed, its events
            # lost: simulator seed 4001036).
            present = self.table.present_like(project.identity)
            if len(present) > MAX_ORIGINAL_STATS:
                present = [r for r in present if same_file(r, project)]
            if present:
                self._look_for(project, bundle, [r.path for r in present])
                return True
        candidates = self.table.vanished_like(project.identity)
        moved = [r for r in candidates if r.signature.inode == project.signature.inode]
        if len(moved) != 1:
            # A file found at a missing project's own path, not dealt with yet, is that
            # project back (or another in its place): not a candidate (seed 648).
            candidates = [r for r in candidates if not self._looking_at(r.path)]
        if len(candidates) > 1:
            # A move keeps the inode: the one candidate that had this file's is it
            # (simulator seed 2862), and one whose inode another file found carries
            # is not (that file is the candidate moved).
            kept = [r for r in candidates if r.signature.inode == project.signature.inode]
            if len(kept) > 1:
                # One file recorded at two paths (moved out of an offline folder, so
                # imported anew: seed 101095): it just left the one recorded last (when
                # it was found missing says less: a folder offline is looked at late,
                # seed 13201). Last by `queued_order`, as the wall clock may have
                # stepped back between them (seed 141000366).
                last = max(_recorded(r) for r in kept)
                kept = [r for r in kept if _recorded(r) == last]
            if len(kept) == 1:
                candidates = kept
            else:
                candidates = [
                    r for r in candidates if not self._original_elsewhere(project, r)
                ] or candidates
        if len(candidates) > 1:
            best = closest(project.path, [r.path for r in candidates])
            candidates = [r for r in candidates if r.path == best] if best else candidates
        if not candidates:
            return False
        if len(candidates) > 1:
            self._log(
                "project_relink_ambiguous",
                "warning",
                path=project.path,
                candidates=[r.path for r in candidates],
                reason=f"{len(candidates)} missing projects have the same content; "
                "imported as new rather than guessing",
            )
            return False
        if (
            self._original_elsewhere(project, candidates[0])
            or self._copy_of_present(project, candidates[0])
            or self._back_at_session(project, candidates[0])
        ):
            self._log(
                "project_copy",
                "debug",
                path=project.path,
                original=candidates[0].path,
                action="another file is the moved project, or its original; imported as new",
            )
            return False
        old = candidates[0]
        if self._recorded_since_offline(project, old) or (
            project.signature.inode != old.signature.inode and self._offline(old.root)
        ):
            # Its path cannot be looked at: the project may be back there (restored
            # from the trash while its drive was away: simulator seed 1001081), and a
            # copy must never take its session. Or the file left `old` long ago and was
            # recorded since at a path of a drive now away (seeds 226300306, 240070006):
            # that is its original, and the session at `old` (left behind by design)
            # stays there. Imported as new, as README says.
            self._log(
                "project_copy",
                "debug",
                path=project.path,
                original=old.path,
                action="its original's folder is offline; imported as new",
            )
            return False
        if not checked and project.signature.inode != old.signature.inode:
            # Not the inode a move keeps: a copy, unless the project is gone from its
            # path. Its event may be lost (restored from the trash unseen, seed 864),
            # so its path is looked at first; something there is looked at in turn.
            self._look_for(project, bundle, [old.path])
            return True
        self._relink_to(project, old)
        return True

    def _moved_onto_a_moved_project(self, project: Project, bundle: bool) -> bool:
        """A file at a recorded path that is not that record's file but a missing
        project's (`_missing_as`: its inode, and its size and time across watched
        folders), while the record's own file is found at another path (its inode, not
        dealt with yet, or just queued as new): both moved, the one at this path away
        first, unseen (its folder offline: simulator seed 360002751). Taken for a save
        of the project here, the missing one's session would stay behind and the one
        moved away would be imported anew. The record here is missing (True); the file
        found elsewhere, looked at again, takes its session (a move keeping the inode),
        and the file here, looked at again once that record has left this path, takes
        the missing project's. Without the record's file found elsewhere the path's
        session takes the file, as onto any missing project's path (README)."""
        record = self.table.get(project.path)
        if (
            record is None
            or not has_session(record)
            or record.state not in ("imported", "pending")
            or project.signature.inode == record.signature.inode
            or not self._missing_as(project, elsewhere=True)
        ):
            return False
        fresh = record.missing_since is None  # (once missing, only a file being looked at)
        queued = [
            r
            for r in self.table.present_like(record.identity or "")
            if fresh
            and r.path != project.path
            and r.state == "pending"
            and not (has_session(r) or r.attempts or r.unheard_at or self._carried(r.path))
            and same_file(record, as_project(r))
        ]
        queued = queued if len(queued) == 1 else []
        if not queued and not self._original_elsewhere(project, record):
            return False
        if fresh:
            self._vanish(record.path)
        for r in queued:  # queued as new: looked at again, a move of the record now
            self.table.cancel(r.path)
            self._touch(r.root, r.path, r.signature.digest is not None, self._now, r.signature)
        self._touch(project.root, project.path, bundle, self._now, project.signature)
        return True

    def _look_for(self, project: Project, bundle: bool, paths: list[str]) -> None:
        """Stat `paths` for a new project (answers: `_move_checked`), and where a twin
        of it may be back unseen (`_twins_to_look_at`), before a copy can take a
        session; the new project is looked at again once all are answered."""
        for path in dict.fromkeys([*paths, *self._twins_to_look_at(project)[:MAX_ORIGINAL_STATS]]):
            self._move_stats.setdefault(path, []).append((project, bundle))
            self._emit(Stat(path, bundle))

    def _moved_onto_rejected(self, record: ProjectRecord) -> bool:
        """A path whose import SessionDock refused (400), found holding a missing
        project, the same bytes and the inode it had: that project moved back onto
        it (simulator seed 2379). The refusal was for this path; the project has a
        session elsewhere, which follows it here, so it is looked at as a new one."""
        if record.state != "rejected" or record.identity is None or has_session(record):
            return False
        inode = record.signature.inode
        return any(r.signature.inode == inode for r in self.table.vanished_like(record.identity))

    def _offline(self, root: str) -> bool:
        """A watched folder its drive or share is away from (not one no longer watched)."""
        return self.folders.get(root) is not None and self.folders.online(root) is None

    def _recorded_since_offline(self, project: Project, old: ProjectRecord) -> bool:
        """The file a missing project's record had (its inode, on its volume) was
        recorded later at another path, not missing, in a folder now offline: it moved
        back and on from there (one file at two paths, as seed 101095), so that path is
        the one it left, and whether it is still there cannot be checked. That path may
        be in another watched folder than `old` (seed 240070006): then it is the file
        by its size and time too (`same_file`)."""
        inode = old.signature.inode
        if project.identity is None or project.signature.inode != inode:
            return False
        return any(
            r.path != old.path
            and (r.root == old.root or same_file(r, project))
            and r.signature.inode == inode
            and _recorded(r) > _recorded(old)
            and self._offline(r.root)
            for r in self.table.present_like(project.identity)
        )

    def _original_elsewhere(self, project: Project, old: ProjectRecord) -> bool:
        """Another file found and not dealt with yet carries the missing project's inode:
        that one is the project moved (a move keeps the inode), this one a copy.

        A copy made and the project moved (or moved back) while the daemon was stopped,
        or with their events lost, are found by one walk in any order; the first
        probed must not take the session because its bytes are the same (simulator
        seed 2311). The inode alone counts in the missing project's own folder only (an
        inode means something on one volume only); in another watched folder, which
        may be on the same volume, with the size and time the project had too: the
        same file, moved across (simulator seeds 701493, 2001702)."""
        inode = old.signature.inode
        if project.signature.inode == inode:
            return False
        found = [(p, w.root, self.debouncer.signature(p)) for p, w in self._waiting.items()]
        found += [(p, root, sig) for p, (root, sig, _) in self._probing.items()]
        found += [(p, root, sig) for p, (root, sig, _, _) in self._verifying.items()]
        return any(
            p != project.path
            and sig is not None
            and sig.inode == inode
            and (root == old.root or old.signature.agrees(sig))
            for p, root, sig in found
        )

    def _move_checked(self, path: str, signature: Signature | None) -> None:
        """The answer for an imported project with a new one's identity: gone means
        moved (relinked), still there means the new one is a copy (imported).

        Gone from a folder the core believes online may be the folder gone offline (a
        drive unplugged, its event not handled yet): the folder is checked first, since
        taking a copy for a move would give the original's session to the copy.

        Gone from a folder no longer watched at all is gone: the config now names
        another folder (a drive back under another mount point, `/Volumes/Studio` ->
        `/Volumes/Studio 1`, `E:` -> `F:`, and the watched path changed to it), and the
        projects found there are the old folder's, moved."""
        waiting = self._move_stats.pop(path)
        record = self.table.get(path)
        if signature is not None and (record is None or record.missing_since is not None):
            # Something is at a missing project's path, or at one a session still points
            # at (no record: `_twins_to_look_at`): the project back, its event lost, or
            # another in its place. It is looked at as if its event came, and the new
            # project is no longer taken for the missing one meanwhile.
            folder = self.folders.containing(path)
            root = record.root if record is not None else folder.root if folder else ""
            if self.folders.online(root) is not None and not self._looking_at(path):
                self._touch(root, path, waiting[0][1], self._now, signature)
        if signature is None and record is not None and self.folders.get(record.root) is None:
            self._gone(path)
            self._move_resolved(waiting)
            return
        folder = self.folders.online(record.root) if record is not None else None
        if signature is None and folder is not None:
            self._gone_if_online.setdefault(folder.root, {})[path] = waiting
            self._emit(*self.folders.check(folder))
            return
        if signature is None and record is not None and record.state in ("pending", "in_flight"):
            # Its folder is offline to the core (back, unseen: seed 12153): queued, it is
            # held until a walk finds it, as after a restart, never sent from a path gone.
            self._unconfirmed.add(path)
        if signature is None and record is not None and record.state in ("imported", "relinking"):
            self._stat_when_back(record.root, path, waiting)  # seed 1001778
            return
        if signature is None and record is not None and has_session(record):
            # A change of an imported project, queued: that project, as above (seed 20932).
            self._stat_when_back(record.root, path, waiting)
            return
        self._move_resolved(waiting)

    def _move_resolved(self, waiting: list[tuple[Project, bool]]) -> None:
        looking = [*self._move_stats.values()]
        for held in (self._gone_if_online, self._gone_if_back):
            looking += [w for paths in held.values() for w in paths.values()]
        for project, bundle in waiting:
            if any(project is p for w in looking for p, _ in w):
                continue  # another original is still being looked at
            if self.folders.online(project.root) is not None:
                self._enqueue(project, bundle, checked=True)

    def _forget_moves_under(self, root: str) -> None:
        """A reload dropped a folder whose check a move waits on: its answer will be
        ignored, so gone from it is gone (as in `_move_checked`), and the new project is
        taken for it moved rather than waiting forever (and the core busy finding)."""
        for held in (self._gone_if_online, self._gone_if_back):
            for path, waiting in held.pop(root, {}).items():
                self._gone(path)
                self._move_resolved(waiting)

    def _folder_answered(self, root: str) -> None:
        """A folder check asked by `_move_checked` came back: online, its originals are
        gone (the new projects are moves); offline, nothing is known (they are new)."""
        for path, waiting in self._gone_if_online.pop(root, {}).items():
            if self.folders.online(root) is not None:
                self._gone(path)
            self._move_resolved(waiting)

    def _gone(self, path: str) -> None:
        """A recorded project is not on disk: a queued one is cancelled, one with a
        session (or a request out) is missing."""
        if self.table.cancel(path, self._carried(path)):
            self._log("project_removed", path=path, action="pending import cancelled")
        else:
            self._vanish(path)

    def _unpark(self, path: str) -> None:
        """A project at `path` looked at again: what was parked for it is outdated (saved
        since, a long outage holding its original's request: simulator seed 1227)."""
        for gone, waiting in list(self._parked.items()):
            self._parked[gone] = [(p, b) for p, b in waiting if p.path != path]
        self._parked = {g: w for g, w in self._parked.items() if w}

    def _release_parked(self) -> None:
        """New projects waiting on a gone original's request: once it is answered, the
        original has a session (imported, missing: they are relinked) or none.

        They are looked at again first: the wait may have been long (a request that
        failed is looked up once SessionDock answers), and a project parked may have
        moved on meanwhile, its folder offline (simulator seed 259)."""
        for path in [
            p
            for p in self._parked
            if self.table.get(p, None) is None or self.table[p].state != "in_flight"
        ]:
            for project, bundle in self._parked.pop(path, []):
                if self.folders.online(project.root) is not None:
                    self._touch(project.root, project.path, bundle, self._now, project.signature)


def _recorded(record: ProjectRecord) -> tuple[int, float]:
    """When a record was queued at its path, in the order no clock step changes."""
    return record.queued_order, record.queued_at or 0.0
