"""`scan --dry-run` on two cores: each watched folder's top-level folders are split
between this process and a forked helper.

Why: a dry run is one interpreter start, about 0.13 s of imports (pydantic validates
the config; its semantics and its errors must stay those of every other command), a
walk and a content check per project. Alone that is 3-4x `find` on a large library.
Forked before the imports, the helper pays them on the other core at the same time,
and then walks and probes its share of the folders while this process does the rest.

The split keeps the serial order exactly: this process (the lead) prints everything at
a watched folder's top level and the top-level folders sorted before a boundary name it
chooses; the helper takes the folders from the boundary on, and its lines are printed
after the lead's for that watched folder. The lead sends the boundary (so a folder
created between the two listings is walked by exactly one of them). If the helper is
gone (its config did not load, it crashed), the lead walks the helper's share itself:
the output never depends on the helper being there.
"""

from __future__ import annotations

import contextlib
import json
import marshal
import os
import signal
import struct
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # pydantic: imported after the fork, by the caller
    from watcher.config import Config, WatchFolder
    from watcher.core.effects import RelinkItem
    from watcher.daws import Registry, Skipped
    from watcher.state import State

_LENGTH = struct.Struct("!I")
_UNREAD = object()


def _send(fd: int, message: Any) -> None:
    data = marshal.dumps(message)
    os.write(fd, _LENGTH.pack(len(data)) + data)


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _receive(fd: int) -> Any:
    """The next message, or None once the other process is gone."""
    head = _read_exactly(fd, _LENGTH.size)
    if head is None:
        return None
    body = _read_exactly(fd, _LENGTH.unpack(head)[0])
    return None if body is None else marshal.loads(body)  # noqa: S302 - our own child


class Share:
    """Which of a watched folder's top-level folders a walk enters (`watcher.scanner.walk`
    asks once, with the names sorted), and whether it reports the top level itself (its
    files, links and junk): the whole folder, unless a subclass says otherwise."""

    lead = True

    def mine(self, folders: list[str]) -> list[str]:
        return folders


class _LeadShare(Share):
    def __init__(self, send: Callable[[str | None], bool], part: float = 0.5) -> None:
        self._send = send
        self._part = part
        self.boundary: str | None = None
        self.sent = False

    def mine(self, folders: list[str]) -> list[str]:
        cut = min(len(folders), int(len(folders) * self._part + 0.5))
        boundary = folders[cut] if cut < len(folders) else None
        self.sent = True
        if not self._send(boundary):
            return folders  # no helper: walk them all
        self.boundary = boundary
        return folders[:cut]


class _RestShare(Share):
    """The folders from the boundary on, without the top level (the helper's share)."""

    lead = False

    def __init__(self, boundary: str | None) -> None:
        self._boundary = boundary

    def mine(self, folders: list[str]) -> list[str]:
        boundary = self._boundary
        return [] if boundary is None else [f for f in folders if f >= boundary]


class Split:
    """This process's end of the split: the lead or the helper."""

    def __init__(self, lead: bool, to_other: int, from_other: int, out: IO[bytes]) -> None:
        self.lead = lead
        self._to, self._from, self._out = to_other, from_other, out
        self._alive = True
        self._printed = 0  # how far into the helper's output the lead has printed
        self.pid = 0  # the helper's, in the lead
        self.part = 0.5
        """The lead's part of each watched folder's top-level folders."""
        self._verdict: Any = _UNREAD
        self.closed = False

    @classmethod
    def fork(cls) -> Split | None:
        """Fork the helper (None where there is no fork or a single core). The helper's
        stdout and stderr go to /dev/null: only the lead speaks."""
        if not hasattr(os, "fork") or len(_cores()) < 2:
            return None
        out = _scratch_file()
        down_r, down_w = os.pipe()  # lead -> helper: boundaries
        up_r, up_w = os.pipe()  # helper -> lead: "folder k done, output ends at n"
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            os.close(down_w)
            os.close(up_r)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            os.close(null)
            return cls(False, up_w, down_r, out)
        os.close(down_r)
        os.close(up_w)
        split = cls(True, down_w, up_r, out)
        split.pid = pid
        return split

    def report(self, config_view: Any) -> None:
        """The helper's first word: the view of the config it validated
        (watcher/dryconfig.py), which the lead compares with its own reading."""
        try:
            _send(self._to, ("config", config_view))
        except OSError:
            self._alive = False

    def confirm(self, config_view: Any) -> bool:
        """The lead: did the helper validate a config with this view? False also when
        the helper is gone (its config did not load, it crashed)."""
        return self._alive and self._helper_view() == config_view

    def _helper_view(self) -> Any:
        if self._verdict is _UNREAD:
            message = _receive(self._from)
            if message is None or message[0] != "config":
                self._alive = False
                self._verdict = None
            else:
                self._verdict = message[1]
        return self._verdict

    def share(self, index: int) -> Share:
        """The share of watched folder number `index` this process walks."""
        if self.lead:
            return _LeadShare(lambda boundary: self._tell(index, boundary), self.part)
        message = _receive(self._from) if self._alive else None
        if message is None or message[0] != index:
            self._alive = False
            return _RestShare(None)
        return _RestShare(message[1])

    def _tell(self, index: int, boundary: str | None) -> bool:
        """Send the boundary; False when there is no helper to send it to."""
        if self._alive:
            try:
                _send(self._to, (index, boundary))
            except OSError:  # the helper is gone: the lead does its share
                self._alive = False
        return self._alive

    def done(self, index: int, share: Share, lines: list[str]) -> list[str]:
        """After a watched folder: the helper hands its lines over; the lead returns the
        helper's lines for that folder (or [] and walks the share itself when the helper
        could not: see `rest`)."""
        if not self.lead:
            if self._alive:
                self._out.write("".join(lines).encode("utf-8", "surrogateescape"))
                self._out.flush()
                try:
                    _send(self._to, (index, self._out.tell()))
                except OSError:
                    self._alive = False
            return []
        assert isinstance(share, _LeadShare)
        if not share.sent:
            self._tell(index, None)  # the walk never listed the top level: nothing to split
        self._helper_view()  # read past the helper's first word, if not read yet
        message = _receive(self._from) if self._alive else None
        if message is None or message[0] != index:
            self._alive = False
            return []
        end = message[1]
        data = os.pread(self._out.fileno(), end - self._printed, self._printed)
        self._printed = end
        return [data.decode("utf-8", "surrogateescape")]

    def missing(self, share: Share) -> Share | None:
        """The helper's share, for the lead to walk when the helper is gone."""
        if not self.lead or self._alive or not isinstance(share, _LeadShare):
            return None
        return _RestShare(share.boundary) if share.boundary is not None else None

    def abandon(self) -> None:
        """The lead's reading of the config was not the helper's: stop the helper (it
        may be walking a large share) and close."""
        if self.pid:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for fd in (self._to, self._from):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._out.close()
        if self.pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)


def _scratch_file() -> IO[bytes]:
    """An unnamed file both processes share (an in-memory one where Linux has it:
    `tempfile` alone costs 5 ms of imports)."""
    if hasattr(os, "memfd_create"):
        return os.fdopen(os.memfd_create("sessiondock-dry-run"), "w+b")
    import tempfile

    return tempfile.TemporaryFile()


def _cores() -> set[int]:
    try:
        return os.sched_getaffinity(0)
    except AttributeError:  # macOS
        return set(range(os.cpu_count() or 1))


# --- the dry run itself -------------------------------------------------------------


def _json_line(obj: dict[str, Any]) -> str:
    """One JSON line, always valid UTF-8: a non-UTF-8 file name is shown escaped (the
    escaping pass runs only for a line that needs it: almost none do)."""
    from watcher.names import is_valid, printable_value

    line = json.dumps(obj, ensure_ascii=False)
    if not is_valid(line):
        line = json.dumps(printable_value(obj), ensure_ascii=False)
    return line + "\n"


def _explained(skipped: Skipped) -> dict[str, Any]:
    return {"path": str(skipped.path), "skipped": skipped.reason, "why": skipped.detail}


def dry_run(
    config: Config, explain: bool = False, split: Split | None = None, confirm: Any = None
) -> int | None:
    """Print what a scan would import (and, with `explain`, what it would skip and why).

    With `split` (watcher/dryrun.py) two processes share each folder's top-level
    folders; the lead prints both shares' lines, in the order one walk gives. With
    `confirm` (the lead's own reading of the config: watcher/dryconfig.py), nothing is
    printed until the helper's validated config is seen to have that view; None (and
    the helper stopped) when it is not: the caller runs the normal path."""
    from watcher.daws import Registry
    from watcher.mounts import inner_roots

    registry = Registry.configured(
        config.kinds, config.source, unsuffixed_bundles=config.scan.unsuffixed_bundles
    )
    database = config.state.database()
    state = None
    if database.exists():  # sqlite3 and the state module only when there is a state
        from watcher.state import State

        state = State(database, readonly=True)
    nested = inner_roots(f.path for f in config.watch)  # each project once, by its owner
    lead = split is None or split.lead
    relinks = _planned_relinks(config, registry, state) if lead else []
    moved = {item.new_path for item in relinks}
    would_import: dict[str, dict[str, object]] = {}  # a relinked project's own line
    try:
        for index, folder in enumerate(config.watch):
            share = split.share(index) if split else None
            lines: list[str] = []
            if not folder.path.is_dir():
                if split is None or split.lead:
                    offline = "folder does not exist or is not mounted"
                    folder_line = {"folder": str(folder.path), "skipped": "offline", "why": offline}
                    lines.append(_json_line(folder_line))
            else:
                lines += _dry_run_folder(config, registry, state, folder, nested, explain, share)
            if confirm is not None and split is not None:
                if not split.confirm(confirm):
                    split.abandon()
                    return None
                confirm = None
            if split is not None and share is not None:
                lines += split.done(index, share, lines)
                rest = split.missing(share)
                if rest is not None:  # the helper is gone: its share is walked here
                    lines += _dry_run_folder(config, registry, state, folder, nested, explain, rest)
            if lead:
                out = "".join(lines)
                if moved:  # relinked, not imported: their lines follow, marked so
                    kept = []
                    for line in out.splitlines(keepends=True):
                        planned = json.loads(line)
                        if planned.get("projectPath") in moved:
                            would_import[planned["projectPath"]] = planned
                        else:
                            kept.append(line)
                    out = "".join(kept)
                sys.stdout.write(out)
                sys.stdout.flush()
        for relink in relinks:
            # The contract's keys (kind, projectType...) as its import line had them, so
            # a reader of every line finds them; `relinkFrom` tells it apart.
            relinked = {
                **would_import.get(relink.new_path, {}),
                "projectPath": relink.new_path,
                "relinkFrom": relink.old_path,
                "sessionId": relink.session_id,
                "title": relink.new_title,
            }
            sys.stdout.write(_json_line(relinked))
        sys.stdout.flush()
    finally:
        if state:
            state.close()
        if split:
            split.close()
    return 0


def _dry_run_folder(
    config: Config,
    registry: Registry,
    state: State | None,
    folder: WatchFolder,
    nested: Mapping[Path, frozenset[Path]],
    explain: bool,
    share: Share | None,
) -> list[str]:
    from watcher.daws import Skipped
    from watcher.scanner import bad_name, content_limits, probe, signature_of, walk

    limits = content_limits(config.scan)
    lines: list[str] = []
    for verdict in walk(folder, registry, explain=explain, skip=nested[folder.path], share=share):
        if isinstance(verdict, Skipped):
            lines.append(_json_line(_explained(verdict)))
            continue
        bad = bad_name(verdict)
        if bad is not None:  # before `unchanged`: a name is wrong whatever the state says
            if explain:
                lines.append(_json_line(_explained(bad)))
            continue
        path = Path(verdict.path)
        signature = signature_of(path, verdict.daw)
        if signature is None:
            continue
        known = state.known(path) if state else None
        if known and known.signature.agrees(signature) and known.state != "pending":
            if explain:
                why = f"{known.state}, unchanged since"
                lines.append(_json_line({"path": str(path), "skipped": "unchanged", "why": why}))
            continue
        project = probe(verdict, folder, config.import_, signature, limits)
        if isinstance(project, Skipped):
            if explain:
                lines.append(_json_line(_explained(project)))
            continue
        item = {
            "projectPath": str(project.project_path),
            "kind": project.kind,
            "title": project.title,
            "projectType": project.project_type,
        }
        if project.preview_path:
            item["previewAudioPath"] = str(project.preview_path)
        lines.append(_json_line(item))
    return lines


def _planned_relinks(config: Config, registry: Registry, state: State | None) -> list[RelinkItem]:
    """What the daemon would relink (watcher/dryplan.py runs its core, sending nothing)."""
    if state is None:
        return []
    from watcher.dryplan import plan

    records, meta = state.load()
    if not any(r.session_id or r.imported_at for r in records):
        return []  # nothing has a session: nothing to relink
    return plan(config, registry, records, meta).relinks
