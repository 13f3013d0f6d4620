"""What must hold whatever the world did: checked as the run goes, and at its end.

During the run (at the moment the shell carries out an effect or delivers an answer):
- every request holds at most `batch_size` items (relinks too), all of the request's
  kind and previews flag, and only paths that ever held a project (never junk, a backup or a sidecar);
- nothing is sent half-written: a project a writer is busy with is sent only if that
  write began after the probe the core relied on (the core cannot see the future);
- nothing is sent while paused: after a 401 until the core has read a different token
  or a health check passed, after a 403 (or a read-only health) until a health check
  says full automation. Health checks are the probes that find out. A restarted process
  starts unpaused: its first request is how it finds out;
- nothing becomes `imported` in the persisted state unless the core was handed a 2xx
  for a request carrying it (or a library listing holding its path, in recovery; or it
  was imported there and its content, its identity, is back; or it was imported there
  and a relink taking its session away was undone before it was sent), and SessionDock
  has it;
- nothing the persisted state ever held as imported is sent again with the same bytes
  (signature) on disk, in this process or after any restart, unless a relink has moved
  its session away from that path since. The documented window: a
  crash after a send and before its answer is persisted leaves the project `in_flight`
  (never `imported`), so that one batch may be sent again after the restart, at most
  once per such crash; a reset or timeout after SessionDock acted is the same (the
  core never heard the 2xx; both `Checker._owed`). SessionDock keys its library by path,
  so such a resend is skipped there, not a second session. (Under `PATCH_READS_PROJECT`,
  off by default, nor are bytes its session got only from a PATCH that moved it: the
  core counts what imports sent, so a change relinked while it seemed gone is sent once
  back: `Checker._never_sent`.) Nor is the one send, after a guessed relink, of a file
  its session never read (a copy taken for a project gone: `Checker._guessed`; the
  copy in the trash as the PATCH acted, once it is back: `Checker._guessed_blind`).

At the end (world quiet, SessionDock healthy, every folder online, run to quiescence):
every complete project is in SessionDock exactly once at its current path, or is
persisted `rejected` with a reason; and its persisted record says `imported` with the
signature on disk now (its last change was delivered, nothing is left behind), or
`rejected` with a reason when SessionDock refused its last change (its session, at its
path, keeps the earlier bytes). With `SESSION_HOLDS_DISK`, the session at its path holds
the bytes on disk too: what SessionDock last read for that session (an import carrying
its path, new or skipped; a PATCH moves it with what it holds and reads nothing, as
README "Moves and renames" says, unless `PATCH_READS_PROJECT` is turned on), not only
what the record says.

`ONE_SESSION_PER_IDENTITY` (issue 12) makes that "one session per project identity, at
its current path": a project moved or renamed keeps its session. (A session at a path
the project once had where another project is now is that project's, and checked as
such: exactly one there; so is one at a path another project came to after it, even if
that one is gone since: a deleted project's session is kept.) Sessions an identity
may leave behind at earlier paths, each by design (README "Moves and renames"):
- its content changed where the daemon had not recorded it (moved, then saved before
  the daemon looked at it; or saved and moved before the daemon checked the save): a
  new identity, imported as new (`Project.left_behind`); and once back at a path
  whose session was so left behind, that session is its own there, and the one made
  meanwhile is left behind in turn (the daemon never puts two sessions on one path);
- it was queued as new while the folder holding its session (or its record, its
  import still queued) was offline: whether the original is still on that drive
  cannot be checked, and a copy must never take the original's session
  (`_offline_original`);
- SessionDock created the session from a request whose answer the process never
  heard (a timeout or reset after it acted, or a crash before the answer was
  persisted), and the project moved before the core learnt of it (`_unheard`);
- the core found several identical missing projects and logged that it would not
  guess between them (`project_relink_ambiguous`);
- it moved onto the path of another project of its content whose record the daemon
  still holds there, missing (in the trash): it takes the session at that path, since
  the daemon never puts two sessions on one path, and its own stays behind. Relinking
  its own there instead is right only if the other one later comes back to that very
  path (then SessionDock skips its import); restored elsewhere, two sessions would stay
  on one path (seeds 5761, 648). That future is unknown when the file is found
  (`World._onto_a_twin`). The same holds onto the path of a project in the trash of
  other content whose record there names it (seed 700439): the dilemma is the path, not
  the bytes; the file is sent to the session there as a change, and relinking its own
  instead leaves the trashed one's record displaced (its unchanged bytes sent again
  when restored there) and two sessions on that path when it is not. So also onto the
  path of one deleted (the daemon cannot tell it from the trash: seeds 42803, 96491) or
  of one that left the session there behind by design and has another (seed 99404):
  that session stays on that path whatever happens, so relinking its own there would
  put two sessions on it for good; and of one that moved on with its events lost, its
  record there missing and it not found anywhere yet: to the daemon, one in the trash
  (seed 2601685), or with the daemon stopped, its record there not missing yet: to
  the daemon, that one saved (seed 6608478); or with the event of its leaving on its
  way, handled before the daemon looks at the file there (seed 6629916). All this
  only once the daemon could know it was there: moved on before the core looked there
  and before any write of its state touched that path, it never was there to the
  daemon, so the session there stays the other one's and its own must follow it
  (`World._left_unseen`, seed 13000887; and when the daemon's record there is another
  file of its content, a deleted twin's, that session stays there, missing: seed
  6606857).
A relink is also checked, as it is sent, not to take the session of a project still at
its path (a copy with the same bytes is not the project that moved), unless that project
arrived there, its event lost or not handed to the core yet, after the core last looked
(the stat before the PATCH: a window between a check and the request it decides that no
daemon can close), or moved there onto another project's path, its own session still at
the path it left, to follow it (`Checker._moved_onto`: that session is the other one's,
which a copy was taken for; seed 9008788).
"""

from __future__ import annotations

from collections.abc import Mapping

from tests.simulation.disk import content, signature
from tests.simulation.fs import P, below
from tests.simulation.server import Session
from tests.simulation.world import Project, World
from watcher.core.effects import Log, Persist, Relink, RelinkItem, Send, Tag
from watcher.core.inputs import (
    Accepted,
    Failure,
    Health,
    Library,
    RelinkAnswered,
    TagsAnswered,
)
from watcher.core.records import ProjectRecord, Signature
from watcher.core.settings import FolderSettings, Settings
from watcher.core.store import has_session
from watcher.daws import Registry

ONE_SESSION_PER_IDENTITY = True
"""Issue 12: a moved or renamed project keeps its one session (see `at_end`)."""

SESSION_HOLDS_DISK = True
"""The session at a complete project's path holds the bytes on disk: what SessionDock
last read for it (an import carrying its path, new or skipped), carried along by the
PATCHes that move it; not only the record's signature (a relink taking the project back
at its session's path with new bytes, marked imported, never sent them)."""

PATCH_READS_PROJECT = False
"""Off: a PATCH moves a session and sends no bytes (README "Moves and renames"; no
SessionDock page says a PATCH reads the project), so a change is delivered only by an
import. On, a PATCH that moves a session to another path reads the project there (one
that leaves it where it is reads nothing): a laxer SessionDock, under which the core's
under-sends after a relink go unseen (seeds 1065, 1097: a change whose request timed
out, the project moved meanwhile, taken as delivered)."""


class Checker:
    def __init__(self, world: World, settings: Settings, registry: Registry) -> None:
        self.world = world
        self.settings = settings
        self.registry = registry
        self.violations: list[str] = []
        world.server.on_moved = self.session_moved
        world.server.on_patched = self.session_patched
        world.server.on_imported = self.session_imported
        self.holds: dict[str, bytes | None] = {}
        """Session id -> the bytes SessionDock last read for it (`SESSION_HOLDS_DISK`)."""
        self.sent_to: dict[str, bytes | None] = {}
        """Session id -> the bytes the last import carrying its path read: what the core
        counts a session as holding (README: a PATCH moves a session, it sends no bytes),
        while `holds` also takes what a moving PATCH read under `PATCH_READS_PROJECT`
        (the same as this one with it off)."""
        self.last_probe_at: dict[str, float] = {}
        self.looked_at = world.looked_at
        """Path (stat'ed) or folder (walked) -> when the core last looked there."""
        self.arrived_unseen: dict[str, float] = {}
        """Path (file or folder) -> when something arrived there with its event lost."""
        self.arriving: dict[str, tuple[float, float]] = {}
        """Path -> when something arrived there, its event fed to the core, and when
        that event is handed over (unseen until then)."""
        self._owed: set[str] = set()
        """Paths a crash left `in_flight` after a request carried them, its answer (heard
        or not) never persisted, or a request carrying them failed (a reset, a timeout,
        an answer that is not the documented JSON) after SessionDock acted: the README's
        window, one resend after the restart or the failure (its record may say imported
        with these bytes from a relink that sent none, and the lost request delivered
        them: seeds 117000545, 130002412). Closed by that resend or by the path
        persisted imported again (not merely marked gone without a 2xx: 133001341)."""
        self._outcome: dict[str, str] = {}
        """Per key, in this process, the last word on it: `sent`, then `ok` (a 2xx),
        `fail`, `rejected` (a 400 for it alone) or `library` (listed in recovery)."""
        self._paused: tuple[str, str | None] | None = None
        self._ambiguous: set[str] = set()
        """Paths the core named as one of several relink candidates (see `at_end`)."""
        self._unheard: set[str] = set()
        """Paths SessionDock holds a session for that the core never heard of: the
        request's answer was lost after SessionDock acted (timeout, reset)."""
        self._taken: dict[str, tuple[int | None, str, int]] = {}
        """Session id -> (the project it was at the path of, that path, the project it
        was relinked to) for a relink that gave a session to another project (a copy
        taken for a project gone from there: see `_check_relink_target`)."""
        self.read_inode: dict[str, int | None] = {}
        """Session id -> the inode of the file its bytes were last read from."""
        self._guessed: set[str] = set()
        """Paths a PATCH moved a session to whose file is not the one it read (a copy
        taken for a project gone, a move across volumes): README sends that file's bytes
        once, the session's being another file's (seed 118000211). Closed by a 2xx."""
        self._blind: dict[str, str] = {}
        """Path -> the session a PATCH moved there while nothing was there (the copy it
        was taken for in the trash): a guess or not is judged once a file is back there
        (`_guessed_blind`, seed 160036415)."""
        self._sent: dict[str, bytes | None] = {}
        """Path -> a digest of its bytes on disk when a request last carried it."""
        self._imported: dict[str, tuple[Signature, bytes | None]] = {}
        """Path -> the signature of the record persisted `imported`, and the bytes on disk
        when it was sent (durable: a later `pending` upsert does not make them new). A
        resend is "unchanged" only when both still hold: the core knows signatures, and
        the bytes keep it honest (a same-size save after the wall clock stepped back can
        keep size, mtime and inode; the core sending those new bytes is right)."""

    def session_moved(self, path: str) -> None:
        """A relink moved the session at `path` away: a project back at that path (a
        move undone, the trash restored, a wrong guess) is not imported there any more,
        and importing it again is right."""
        self._imported.pop(path, None)

    def _content(self, path: str) -> bytes | None:
        daw = self.registry.format_for(P(path).name)
        return content(self.world.fs, self.registry, path, daw.bundle if daw else False)

    def session_imported(self, path: str) -> None:
        """An import reached the library for `path`: each session there reads it. With
        nothing there (gone since it was sent: seed 4200569) what SessionDock does is not
        modelled (this one answers `completed`, not `failed`), so what the session holds
        is unknown from then on (None: not judged) till an import reads it again."""
        now = self._content(path)
        inode = self.world.fs.inode(P(path))
        for session in self.world.server.sessions.values():
            if session.project_path == path:
                self.holds[session.id] = now
                self.sent_to[session.id] = now
                self.read_inode[session.id] = inode

    def session_patched(self, session: Session, new_path: str) -> None:
        """Only under `PATCH_READS_PROJECT` does a PATCH read anything. (Nothing there,
        in the trash: the session keeps what it held.)"""
        now = self._content(new_path)
        inode = self.world.fs.inode(P(new_path))
        if inode is not None and inode != self.read_inode.get(session.id, inode):
            self._guessed.add(new_path)
        if inode is None:
            self._blind[new_path] = session.id
        if PATCH_READS_PROJECT and session.project_path != new_path and now is not None:
            self.holds[session.id] = now

    def fail(self, text: str) -> None:
        self.violations.append(text)

    def _folder(self, path: str) -> FolderSettings | None:
        return next(
            (f for f in self.settings.folders if path.startswith(f.root.rstrip("/") + "/")), None
        )

    def on_restart(self, durable: Mapping[str, ProjectRecord]) -> None:
        for key, outcome in self._outcome.items():
            record = durable.get(key)
            known = record is not None and record.state == "imported"
            # Only a request never answered: a 2xx heard ("ok") whose record is no
            # longer imported was relinked away, not unheard (it exempted too much).
            if outcome == "sent" and self.world.server.has(key) and not known:
                self._unheard.add(key)  # SessionDock acted; the process died unaware
            if outcome in ("sent", "ok") and record is not None and record.state == "in_flight":
                self._owed.add(key)
        self._outcome.clear()
        self._paused = None

    # --- requests -----------------------------------------------------------------------

    def on_send(self, send: Send, now: float) -> None:
        size = self.settings.batch_size
        if len(send.items) > size:
            self.fail(f"request {send.request} holds {len(send.items)} items; batch_size is {size}")
        if self._paused is not None:
            why = "401 (token unchanged)" if self._paused[0] == "auth" else "403/read-only"
            self.fail(f"request {send.request} sent while paused by {why}")
        world = self.world
        for item in send.items:
            key = item.key
            self._outcome[key] = "sent"
            path = P(key)
            if path not in world.ever:
                self.fail(f"request {send.request} sent {key}, which never was a project")
                continue
            folder = self._folder(key)
            daw = self.registry.format_for(path.name)
            kind = (folder.kind if folder else None) or (daw.kind if daw else "?")
            if kind != send.kind:
                self.fail(f"request {send.request} of kind {send.kind} holds {key} ({kind})")
            if folder is not None and folder.generate_previews != send.generate_previews:
                self.fail(f"request {send.request} mixes generatePreviews for {key}")
            project = world.project_at(path)
            if project is not None and (project.writing or project.broken):
                probed = self.last_probe_at.get(key)
                if project.broken or probed is None or project.write_started <= probed:
                    why = (
                        "it never was complete"
                        if project.broken
                        else "never probed"
                        if probed is None
                        else f"its last probe, at {probed:.3f}, came after the write began at "
                        f"{project.write_started:.3f}"
                    )
                    self.fail(f"request {send.request} sent {key} half-written ({why})")
            digest = world.fs.digest(path)
            imported = self._imported.get(key)
            owed = key in self._owed
            self._owed.discard(key)
            if (
                imported is not None
                and not owed
                and imported[1] in (None, digest)
                and not self._holds_old(key)
                and not self._holds_unknown(key)
                and not self._never_sent(key)
                and key not in self._guessed
                and not self._guessed_blind(key)
            ):
                bundle = daw.bundle if daw else False
                if imported[0] == signature(world.fs, self.registry, key, bundle):
                    self.fail(f"request {send.request} re-sent {key}: imported and unchanged")
            self._sent[key] = digest

    def on_send_answer(self, send: Send, outcome: Accepted | Failure) -> None:
        for item in send.items:
            if isinstance(outcome, Accepted):
                self._unheard.discard(item.project_path)
            elif self.world.server.has(item.project_path):
                self._unheard.add(item.project_path)
                self._owed.add(item.key)  # acted, its 2xx unheard: one resend (130002412)
        mark = "ok" if isinstance(outcome, Accepted) else "fail"
        if isinstance(outcome, Failure) and outcome.kind == "rejected" and len(send.items) == 1:
            mark = "rejected"
        for item in send.items:
            if self._outcome.get(item.key) == "sent":
                self._outcome[item.key] = mark
        self._pause_from(outcome)

    def on_log(self, log: Log) -> None:
        if log.event == "project_relink_ambiguous":
            self._ambiguous.update(log.fields.get("candidates", ()))

    def on_tags_answer(self, answered: TagsAnswered) -> None:
        self._pause_from(answered.failure or Accepted(None, 0))

    def on_library_request(self, request: int) -> None:
        """The library listing is not a probe: it waits for a pause to end, as sends do."""
        if self._paused is not None:
            why = "401 (token unchanged)" if self._paused[0] == "auth" else "403/read-only"
            self.fail(f"library listing {request} asked while paused by {why}")

    def on_relink(self, relink: Relink | Tag, now: float) -> None:
        what = "relink" if isinstance(relink, Relink) else "tag write"
        size = self.settings.batch_size
        if len(relink.items) > size:
            self.fail(
                f"{what} {relink.request} holds {len(relink.items)} items; batch_size is {size}"
            )
        if self._paused is not None:
            self.fail(f"{what} {relink.request} sent while paused")
        if not isinstance(relink, Relink):
            return
        for item in relink.items:
            self._outcome[item.key] = "sent"
            if ONE_SESSION_PER_IDENTITY:
                self._check_relink_target(relink.request, item, now)

    def _check_relink_target(self, request: int, item: RelinkItem, now: float) -> None:
        """A relink never takes the session of a project still at its path (offline or
        not): that project is not the one that moved, whatever its bytes say."""
        session = self.world.server.session_for(item, now)  # the one the PATCH will move
        if session is None or session.project_path == item.new_path:
            return
        old = P(session.project_path)
        target = self.world.project_at(P(item.new_path))
        if target is None or old in target.paths:
            return  # it did move from there (or has moved on since: nothing to judge)
        holder = self.world.project_at(old)
        if holder is not None and self._given_back(session.id, item.new_path, target, holder):
            return
        onto = holder is not None and self._moved_onto(session, old, holder)
        if (
            holder is not None
            and holder is not target
            and not onto
            and not self._arrived_unseen(old, now)
        ):
            self.fail(
                f"relink {request} moves the session of {session.project_path} to "
                f"{item.new_path}, but project #{holder.pid} is still at {session.project_path}"
            )
        before = holder.arrival.before if onto and holder and holder.arrival else None
        self._taken[session.id] = (before or self.world.last_at.get(old), str(old), target.pid)

    def _moved_onto(self, session: Session, old: P, holder: Project) -> bool:
        """`holder` moved onto `old`, the path of another project (whose session this
        is), and its own session is still at the path it left, nothing there now: to
        follow it. The session at `old` is the other one's, and may go to a copy taken
        for it (a guess made before `holder` came: seed 9008788); `holder` keeps its
        own, and `at_end` checks that it does."""
        arrival = holder.arrival
        if arrival is None or arrival.path != old or arrival.before in (None, holder.pid):
            return False
        world = self.world
        return any(
            other is not session
            and P(other.project_path) in holder.paths[:-1]
            and world.project_at(P(other.project_path)) is None
            and world.last_at.get(P(other.project_path)) == holder.pid
            for other in world.server.sessions.values()
        )

    def _given_back(self, session_id: str, path: str, target: Project, holder: Project) -> bool:
        """The session goes back to the project a relink took it from, found back at the
        path it was taken from (with the inode it had there), from the copy that took
        it and is still there (by design: the copy is imported as new; its PATCH may
        have acted, so the session may be at its path: seeds 42004, 9701678)."""
        return self._taken.get(session_id) == (target.pid, path, holder.pid)

    def _arrived_unseen(self, path: P, now: float | None = None) -> bool:
        """Something arrived at `path` (or a folder above it), its event lost, after the
        core last looked there (a stat of it or a walk over it): the core's stat just
        before a PATCH found it empty, and no daemon can close that window between a
        check and the request it decides (seed 7400418). So too with its event not
        handed to the core yet when the PATCH goes (on its way: seed 6622013)."""
        chain = [str(p) for p in (path, *path.parents)]
        arrived = max(self.arrived_unseen.get(p, -1.0) for p in chain)
        for p in chain:
            at, handed = self.arriving.get(p, (-1.0, -1.0))
            if now is not None and handed > now:
                arrived = max(arrived, at)
        return arrived > max(self.looked_at.get(p, -1.0) for p in chain)

    def on_relink_answer(self, answered: RelinkAnswered) -> None:
        for key, session_id in answered.outcome.done:
            if session_id is not None:
                self._outcome[key] = "relinked"
        self._pause_from(answered.failure or Accepted(None, 0))

    def on_health_answer(self, outcome: Health | Failure) -> None:
        if isinstance(outcome, Health):
            self._paused = None if outcome.can_import else ("read_only", None)
        else:
            self._pause_from(outcome)

    def on_library_answer(
        self, outcome: Library | Failure, durable: Mapping[str, ProjectRecord]
    ) -> None:
        if isinstance(outcome, Library):
            for key, record in durable.items():
                if record.project_path in outcome.paths:
                    self._outcome[key] = "library"
        else:
            self._pause_from(outcome)

    def on_token(self, fingerprint: str | None) -> None:
        paused = self._paused
        if paused and paused[0] == "auth" and fingerprint is not None and fingerprint != paused[1]:
            self._paused = None

    def _pause_from(self, outcome: object) -> None:
        if isinstance(outcome, Accepted):
            self._paused = None
        elif isinstance(outcome, Failure) and outcome.kind == "auth":
            self._paused = ("auth", outcome.token_fingerprint)
        elif isinstance(outcome, Failure) and outcome.kind == "read_only":
            self._paused = ("read_only", None)

    # --- the persisted state ------------------------------------------------------------

    def on_persist(self, persist: Persist, durable: Mapping[str, ProjectRecord]) -> None:
        for path in (*persist.deletes, *(record.path for record in persist.upserts)):
            self.world.persisted[path] = self.world.persisted.get(path, 0) + 1
        for path in persist.deletes:
            self.world.recorded.pop(path, None)  # moved away (relinked) or dropped
            self.world.recorded_inode.pop(path, None)
            self.world.missing.discard(path)
        for record in persist.upserts:
            if record.missing_since is None:
                self.world.missing.discard(record.path)
            else:
                self.world.missing.add(record.path)
            if record.state in ("pending", "in_flight", "imported", "relinking"):
                self.world.recorded[record.path] = record.identity
                self.world.recorded_inode[record.path] = record.signature.inode
            elif record.imported_at is None and record.session_id is None:
                # Refused (400) or not a project, no session there: no live record, so
                # a project moved there and saved unseen is new (seed 17063).
                self.world.recorded.pop(record.path, None)
                self.world.recorded_inode.pop(record.path, None)
            if record.state in ("pending", "in_flight") and record.path not in durable:
                self._offline_original(record.path, durable)
            if record.state == "rejected":
                old = durable.get(record.path)
                if (old is None or old.state != "rejected") and self._outcome.get(
                    record.path
                ) != "rejected":
                    self.fail(f"{record.path} persisted rejected without a 400 for it alone")
                if not record.last_error:
                    self.fail(f"{record.path} persisted rejected without a reason")
            if record.state != "imported":
                continue
            if record.missing_since is None or self._outcome.get(record.path) == "ok":
                # Persisted imported (missing) with no 2xx heard is the record marked
                # gone, not a delivery: the resend owed stays (seed 133001341).
                self._owed.discard(record.path)
            if self._outcome.get(record.path) == "ok":
                self._guessed.discard(record.path)
            before = self._imported.get(record.path)
            self._imported[record.path] = (record.signature, self._sent.get(record.path))
            old = durable.get(record.path)
            if old is not None and old.state == "imported" and old.signature == record.signature:
                # Written again unchanged (its session id learned, say): nothing delivered
                # now. Bytes the first write did not count as delivered (it kept `before`)
                # stay so (seed 7004469: a change gone unsent, then back and sent, its 2xx
                # lost in a crash, was flagged as a resend when sent again).
                if before is not None:
                    self._imported[record.path] = before
                continue
            if record.missing_since is not None and before is not None:
                # Gone before its change was sent, or heard delivered: imported (missing)
                # as it was. Bytes no 2xx was heard for in this process (the change's
                # answer lost in a crash or a timeout that may have acted) are not known
                # delivered: the core sending them again once the project is back is the
                # lost-answer window of the README, not a resend of bytes SessionDock
                # had for sure (seed 71003238).
                if self._outcome.get(record.path) != "ok":
                    self._imported[record.path] = before
                continue
            outcome = self._outcome.get(record.path)
            back = old is not None and old.state == "imported" and old.identity is not None
            if back and old is not None and old.identity == record.identity:
                outcome = "back"  # the same content back at its path: its session holds
            if before is not None and self.world.server.has(record.project_path):
                outcome = "back"  # a relink away from it undone before it was sent
            if record.missing_since is not None and old is not None and has_session(old):
                outcome = "had"  # as above, its 2xx came while its change was queued (78814)
            if outcome not in ("ok", "library", "relinked", "back", "had"):
                self.fail(f"{record.path} persisted imported without a 2xx (last: {outcome})")
            elif not self.world.server.has(record.project_path):
                self.fail(f"{record.path} persisted imported but SessionDock does not have it")
            if (
                record.missing_since is not None
                and record.unheard_at is not None
                and self._outcome.get(record.path) != "ok"
                and before is None
                and not self._listed_its_own(record.path, old)
            ):
                # Gone with a request carrying it unanswered (`unheard_at`: a crash, a
                # timeout) and no 2xx heard since: its bytes are not known delivered, and
                # sending them once back is the README's lost-answer window (seed 4632906).
                self._imported.pop(record.path, None)

    def _listed_its_own(self, path: str, old: ProjectRecord | None) -> bool:
        """A recovery listing named a session at `path`, whose record had none: the
        session its own request made (no other could have), so the listing is the
        evidence of its delivery that a 2xx is, `unheard_at` or not, and the project
        back at that path unchanged (a relink of it never sent) is imported there, not
        owed a send (seed 410009725: its import's answer lost in a crash, the next
        listing too early to name it). One that had a session is a change sent over it,
        which the listing of that session does not prove delivered (seed 4632906)."""
        return self._outcome.get(path) == "library" and (old is None or not has_session(old))

    def _offline_original(self, path: str, durable: Mapping[str, ProjectRecord]) -> None:
        """A project queued as new at `path` while a folder holding its session (or its
        record, queued or in flight: its session may come) was offline: whether the
        original is still there cannot be checked, and a copy must never take the
        original's session, so it is imported (README, by design)."""
        world = self.world
        project = world.project_at(P(path))
        if project is None:
            return
        split = False
        for old in project.paths[:-1]:
            known = world.server.has(str(old)) or str(old) in durable
            if known and any(below(old, r) for r in world.fs.offline):
                project.left_behind.add(old)
                split = True
        if split:  # two sessions from here on: a later move may relink either one
            project.left_behind.add(P(path))
            project.split = True

    # --- the end --------------------------------------------------------------------------

    def at_end(self, durable: Mapping[str, ProjectRecord]) -> None:
        world = self.world
        by_path: dict[str, int] = {}
        for session in world.server.sessions.values():
            by_path[session.project_path] = by_path.get(session.project_path, 0) + 1
        for project in sorted(world.projects.values(), key=lambda p: p.pid):
            if not world.complete(project) or not world.watched(project):
                continue  # being written, broken, or out of every watched folder (trash)
            path = str(project.unit)
            count = by_path.get(path, 0)
            record = durable.get(path)
            if count == 0:
                if record is not None and record.state == "rejected" and record.last_error:
                    continue
                state = record.state if record else "no record"
                self.fail(f"complete project #{project.pid} {path} is not in SessionDock ({state})")
            elif count > 1:
                self.fail(f"complete project #{project.pid} {path} has {count} sessions")
            elif _refused_change(record):
                pass  # its session holds its earlier bytes; SessionDock refused the change
            elif record is None or record.state != "imported":
                state = record.state if record else "no record"
                self.fail(f"complete project #{project.pid} {path} is in SessionDock but {state}")
            else:
                bundle = project.fmt.bundle
                if record.signature != signature(world.fs, self.registry, path, bundle):
                    self.fail(f"complete project #{project.pid} {path}: its last change never sent")
                elif SESSION_HOLDS_DISK and self._holds_old(path):
                    self.fail(
                        f"complete project #{project.pid} {path}: its session holds older "
                        "bytes (a change marked imported never sent)"
                    )
            if ONE_SESSION_PER_IDENTITY:
                # A session at a path it once had where another project is now, or came
                # after it (deleted since: its session is kept), is that project's
                # (checked with it), not one it left behind (seed 6942).
                mine = [
                    s
                    for s in world.server.sessions.values()
                    if P(s.project_path) in project.paths
                    and world.project_at(P(s.project_path)) in (None, project)
                    and world.last_at.get(P(s.project_path)) == project.pid
                ]
                here = [s for s in mine if s.project_path == path]
                here_ids = {s.id for s in here}
                behind = {str(p) for p in project.left_behind} | self._unheard
                # A session it took by design, moved onto another one's path, stays
                # there when its own followed it (seed 72954; `Project.took`).
                behind |= {str(p) for s, p in project.took.items() if s not in here_ids}
                if len(self._ambiguous.intersection(map(str, project.paths))) > 0:
                    behind |= self._ambiguous
                stray = [s for s in mine if s.project_path != path and s.project_path not in behind]
                if len(here) != 1 or stray:
                    where = sorted(s.project_path for s in mine)
                    self.fail(
                        f"project #{project.pid} has sessions at {where}, expected one at {path}"
                    )

    def _holds_old(self, path: str) -> bool:
        """The session at `path` did not read the bytes there now (`SESSION_HOLDS_DISK`):
        at the end, a save lost; as a request carries `path`, not a resend of bytes
        SessionDock has (marked imported by a relink that sent none: seed 369)."""
        now = self._content(path)
        held = [
            self.holds.get(s.id)
            for s in self.world.server.sessions.values()
            if s.project_path == path
        ]
        return any(h is not None and h != now for h in held)

    def _holds_unknown(self, path: str) -> bool:
        """The session at `path` was made by an import that found nothing there (moved
        away while it was out: `session_imported`), and none has read it since: what it
        holds is not known, so sending the bytes there is no resend of bytes it has
        (seed 283001357: a save never delivered, the session relinked onto it)."""
        return any(
            s.id in self.holds and self.holds[s.id] is None
            for s in self.world.server.sessions.values()
            if s.project_path == path
        )

    def _guessed_blind(self, path: str) -> bool:
        """A PATCH moved a session to `path` while nothing was there (the copy it was
        taken for in the trash), and the file there now is not the one it read (the copy
        restored): the guess's one send, owed when it is back (README: a guessed relink
        sends the file's bytes once; seed 160036415). Closed by an import it reads."""
        sid = self._blind.get(path)
        session = self.world.server.sessions.get(sid) if sid is not None else None
        if session is None or session.project_path != path:
            return False
        read, now = self.read_inode.get(session.id), self.world.fs.inode(P(path))
        return read is not None and now is not None and read != now

    def _never_sent(self, path: str) -> bool:
        """The session at `path` holds the bytes there only as a moving PATCH read them
        (`PATCH_READS_PROJECT`; never with it off): no import sent it those. The core
        counts imports alone (README: a PATCH sends no bytes), and one that relinked a
        project it thought gone (its restore not seen yet) sends its change once back
        (seed 100001463): a resend SessionDock may not need, never one of bytes the core
        knew delivered (an import that carried them leaves `sent_to` equal, and it is
        still flagged)."""
        now = self._content(path)
        sent = [
            self.sent_to.get(s.id)
            for s in self.world.server.sessions.values()
            if s.project_path == path
        ]
        return any(h is not None and h != now for h in sent)


def _refused_change(record: ProjectRecord | None) -> bool:
    """A change SessionDock refused (400) of a project whose session is at its path (a
    session relinked onto a path whose import it had refused: seed 101999). The session
    stays with the project's earlier bytes; the record says why, and the next change is
    sent again."""
    return (
        record is not None
        and record.state == "rejected"
        and bool(record.last_error)
        and (record.imported_at is not None or record.session_id is not None)
    )
