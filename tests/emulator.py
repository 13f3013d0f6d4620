"""A SessionDock Local API emulator on 127.0.0.1: the test double for the real app.

Built from SessionDock's reference pages (`GET /sessions`, `POST /import`) and the
product brief: bearer auth, the three modes, 202 bodies with counts, the one error
envelope, and switches for faults (scripted failures, rejected items, slow answers,
`done: false`, going down and coming back on the same port).

In tests: the `emulator` fixture (conftest.py) starts one; read `emu.imports`.
By hand (a new user's trial, benchmarks):
    python -m tests.emulator --port 18432 --token-file ~/.config/sessiondock-watcher/token
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.emulator_library import BadPatch, Library, SessionNotFound

API = "/api/v1"
MODES = ("disabled", "read-only", "full-automation")

Fault = int | str
"""A scripted answer to the next import: an HTTP status (500, 503, 429, 501, 400, 401),
"drop" (close the connection without answering), "garbage" (200 with a non-JSON body),
"hang" (answer only after `hang_seconds`), or "done-false" (202 with done: false).

Hostile servers (each imports first where it says "acted"):
"endless-body" (acted; a 202 whose body goes on for `endless_bytes`), "trickle" (a 202
whose body comes one byte per `trickle_seconds`; imports only if it was all read),
"trickle-headers" (the same for the status line and headers), "redirect" (307 to
`redirect_to`), "not-json-error" (500 with an HTML body), "huge-error" (500 whose
envelope's message is 50,000 characters), "drop-after-import" (acted; then the
connection is closed unanswered), "ok-200" (acted; 200 instead of 202), "odd-answer"
(acted; 202 with total as text, a negative count, done as text and no importId)."""


@dataclass
class ImportRequest:
    """One POST /import as the emulator received it, answered or not."""

    at: float
    kind: str
    generate_previews: bool | None
    items: list[dict[str, Any]]
    status: int
    authorization: str
    hung_up: bool = False
    """The daemon closed the connection before the answer was complete."""
    bytes_sent: int = 0
    """Body bytes written, for the streaming faults."""


@dataclass
class Emulator:
    token: str = "test-token"
    port: int = 0
    mode: str = "full-automation"
    """The configured and effective mode."""
    effective_mode: str | None = None
    """Set to downgrade writes at runtime while `mode` stays configured."""
    faults: list[Fault] = field(default_factory=list)
    reject_paths: set[str] = field(default_factory=set)
    """Items with these projectPaths make the whole batch a 400, as SessionDock does."""
    done: bool = True
    hang_seconds: float = 30.0
    retry_after: float | None = None
    trickle_seconds: float = 0.2
    endless_bytes: int = 128 * 1024 * 1024
    redirect_to: str = "http://192.0.2.10:18432/api/v1/import"
    health_override: dict[str, Any] = field(default_factory=dict)
    """Merged into /health's data (wrong types, missing keys)."""
    sessions_lie: bool = False
    """/sessions ignores offset and claims a billion sessions."""
    imports: list[ImportRequest] = field(default_factory=list)
    health_calls: int = 0
    library: Library = field(default_factory=Library)
    """The sessions SessionDock has (tests/emulator_library.py); seed it with `add`."""
    visible_after_seconds: float = 0.0
    """How long an import's new sessions take to appear in GET /sessions (a background job)."""
    patch_hold: str | None = None
    """Hold every PATCH /sessions/{id} unanswered until `release_hung` or `hang_seconds`,
    then drop the connection: "before" applying it (lost), or "after" (applied)."""
    calls: Counter[str] = field(default_factory=Counter)
    """Requests by route: `GET /sessions`, `GET /sessions/{id}`, `PATCH /sessions/{id}`..."""
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _requests: int = 0
    _release: threading.Event = field(default_factory=threading.Event, repr=False)
    _outage: list[Any] | None = field(default=None, repr=False)

    # --- lifecycle --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{API}"

    def start(self) -> Emulator:
        """Listen (again) on `port`; the first start picks a free port when it is 0."""
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.emulator = self
        self.port = server.server_address[1]
        self._server = server
        self._release.clear()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering, as when SessionDock is quit; the port is free afterwards.

        A request held by a "hang" fault is dropped unanswered and not imported.
        """
        server, self._server = self._server, None
        self._release.set()
        if server is not None:
            server.shutdown()
            server.server_close()

    # --- what tests read --------------------------------------------------------------

    def accepted(self) -> list[ImportRequest]:
        with self._lock:
            return [r for r in self.imports if r.status == 202]

    def imported_paths(self) -> list[str]:
        """Every projectPath in an accepted request, in order, duplicates kept."""
        return [i["projectPath"] for r in self.accepted() for i in r.items]

    def items(self) -> list[dict[str, Any]]:
        return [i for r in self.accepted() for i in r.items]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 20.0) -> None:
        """Poll `condition` until true; fail with a description of what arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.02)
        raise AssertionError(f"condition not met in {timeout}s; emulator saw {self.summary()}")

    def wait_for_paths(self, count: int, timeout: float = 20.0) -> list[str]:
        self.wait_for(lambda: len(self.imported_paths()) >= count, timeout)
        return self.imported_paths()

    def summary(self) -> str:
        with self._lock:
            lines = [
                f"{r.status} {r.kind} {[i['projectPath'] for i in r.items]}" for r in self.imports
            ]
        return f"{len(lines)} import requests: " + "; ".join(lines[-20:])

    def release_hung(self) -> None:
        self._release.set()

    @property
    def requests(self) -> int:
        """Every request received (health, sessions and imports)."""
        with self._lock:
            return self._requests

    def fail_for(self, status: int, seconds: float) -> None:
        """Answer every import with `status` for `seconds` from the first one that
        arrives (with `retry_after` as its Retry-After on 429 and 503)."""
        self._outage = [status, seconds, None]

    # --- the API ----------------------------------------------------------------------

    def _health(self) -> dict[str, Any]:
        return {
            "data": {
                "status": "ok",
                "configuredMode": self.mode,
                "effectiveMode": self.effective_mode or self.mode,
                "running": True,
                "port": self.port,
                "baseUrl": self.base_url,
                "docsUrl": f"http://127.0.0.1:{self.port}/docs",
                "requestCount": self._requests,
                "recentRequests": [],
                "lastError": None,
                **self.health_override,
            }
        }

    def _import(self, body: dict[str, Any], done: bool) -> tuple[int, dict[str, Any]]:
        items = body["items"]
        skipped = self.library.imported(
            items, str(body.get("kind", "")), self.visible_after_seconds
        )
        return 202, {
            "data": {
                "importId": f"imp_{uuid.uuid4().hex[:12]}",
                "total": len(items),
                "completed": len(items) - skipped if done else 0,
                "failed": 0,
                "skipped": skipped,
                "done": done,
                "durationMs": 3,
            }
        }


def error(status: int, code: str, message: str) -> dict[str, Any]:
    return {"error": {"status": status, "code": code, "message": message}}


@dataclass(frozen=True)
class _Slow:
    """An answer written by `_send_slowly` instead of in one piece."""

    fault: str


def _head(length: int | None) -> bytes:
    """A 202's status line and headers; without a length the body runs until close."""
    size = f"Content-Length: {length}" if length is not None else "Connection: close"
    return f"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n{size}\r\n\r\n".encode()


Acted = Callable[[int, dict[str, Any], "Emulator"], tuple[int, Any, list[tuple[str, str]]]]
_ACTED: dict[str, Acted] = {
    "endless-body": lambda status, answer, emu: (status, _Slow("endless-body"), []),
    "drop-after-import": lambda status, answer, emu: (-1, b"", []),
    "ok-200": lambda status, answer, emu: (200, answer, []),
    "odd-answer": lambda status, answer, emu: (
        status,
        {"data": {"total": "1", "completed": -1, "failed": 0, "done": "yes"}},
        [],
    ),
}
"""Faults where SessionDock imports the batch, then answers in its own way."""


_FAULT_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_json", "Request body must be valid JSON."),
    401: ("unauthorized", "Provide Authorization: Bearer <token>."),
    403: ("read_only", "Enable Full Automation to perform this action."),
    429: ("rate_limited", "Too many requests."),
    500: ("internal_error", "Something went wrong."),
    501: ("import_unavailable", "Import service is unavailable."),
    503: ("unavailable", "SessionDock is starting."),
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: Emulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a killed daemon) is normal here, not a traceback."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # http.server writes an answer's head and body in two sends: with Nagle's algorithm
    # on, the body waits for the client's delayed ACK of the head, 40 ms a request on
    # Linux, which no real server adds and which made every benchmark measure it.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(
        self, status: int, body: dict[str, Any] | bytes, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def _authorised(self, emu: Emulator) -> bool:
        if self.headers.get("Authorization", "") == f"Bearer {emu.token}":
            return True
        self._send(401, error(401, "unauthorized", "Provide Authorization: Bearer <token>."))
        return False

    def _count(self, emu: Emulator, method: str, path: str) -> None:
        route = path[len(API) :]
        if route.startswith("/sessions/"):
            route = "/sessions/{id}"
        with emu._lock:
            emu._requests += 1
            emu.calls[f"{method} {route}"] += 1

    def do_GET(self) -> None:
        emu = self.server.emulator
        url = urlsplit(self.path)
        self._count(emu, "GET", url.path)
        if not self._authorised(emu):
            return
        if url.path == f"{API}/health":
            with emu._lock:
                emu.health_calls += 1
            self._send(200, emu._health())
        elif url.path == f"{API}/sessions":
            query = parse_qs(url.query)
            if emu.sessions_lie:  # offset ignored, a billion sessions claimed
                query = {**query, "offset": ["0"]}
            with emu._lock:
                body = emu.library.listing(query)
            if emu.sessions_lie:
                body["meta"]["total"] = 10**9
            self._send(200, body)
        elif url.path.startswith(f"{API}/sessions/"):
            try:
                with emu._lock:
                    session = emu.library.get(url.path.rsplit("/", 1)[1])
            except SessionNotFound:
                self._send(404, error(404, "not_found", "session not found"))
                return
            self._send(200, {"data": session})
        else:
            self._send(404, error(404, "not_found", f"No route for GET {url.path}."))

    def do_POST(self) -> None:
        emu = self.server.emulator
        url = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._count(emu, "POST", url.path)
        if url.path != f"{API}/import":
            self._send(404, error(404, "not_found", f"No route for POST {url.path}."))
            return
        try:
            body = json.loads(raw)
            items = body["items"]
            assert isinstance(items, list) and all("projectPath" in i for i in items)
        except (ValueError, KeyError, TypeError, AssertionError):
            self._send(400, error(400, "invalid_json", "Request body must be valid JSON."))
            return
        record = ImportRequest(
            at=time.time(),
            kind=body.get("kind", ""),
            generate_previews=body.get("generatePreviews"),
            items=items,
            status=0,
            authorization=self.headers.get("Authorization", ""),
        )
        with emu._lock:
            emu.imports.append(record)  # visible while it is being answered ("hang")
        status, answer, headers = self._decide(emu, body)
        if isinstance(answer, _Slow):  # a trickle counts as answered once it is all sent
            record.status = status if answer.fault == "endless-body" else 0
            self._send_slowly(emu, record, answer.fault, body)
            return
        record.status = status
        if status == -1:  # "drop": close without a word
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(status, answer, headers)

    def do_PATCH(self) -> None:
        """PATCH /sessions/{id}: a partial update; needs Full Automation, like import."""
        emu = self.server.emulator
        url = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._count(emu, "PATCH", url.path)
        if not self._authorised(emu):
            return
        if not url.path.startswith(f"{API}/sessions/"):
            self._send(404, error(404, "not_found", f"No route for PATCH {url.path}."))
            return
        if (emu.effective_mode or emu.mode) != "full-automation":
            self._send(403, error(403, *_FAULT_ERRORS[403]))
            return
        hold = emu.patch_hold
        if hold == "before":
            self._hold_and_drop(emu)
            return
        try:
            body = json.loads(raw)
            with emu._lock:
                session = emu.library.patch(url.path.rsplit("/", 1)[1], body)
        except SessionNotFound:
            self._send(404, error(404, "not_found", "session not found"))
            return
        except (ValueError, BadPatch):
            self._send(400, error(400, "invalid_json", "Request body must be valid JSON."))
            return
        if hold == "after":
            self._hold_and_drop(emu)
            return
        self._send(200, {"data": session})

    def _hold_and_drop(self, emu: Emulator) -> None:
        emu._release.wait(emu.hang_seconds)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send_slowly(self, emu: Emulator, record: ImportRequest, fault: str, body: Any) -> None:
        """The streaming faults; each ends when the daemon hangs up or the emulator stops."""
        self.close_connection = True
        try:
            if fault == "endless-body":
                self._write(record, _head(None))
                while record.bytes_sent < emu.endless_bytes and emu._server is not None:
                    self._write(record, b"0" * 65536)
                return
            n = len(body["items"])
            payload = json.dumps(
                {
                    "data": {
                        "importId": f"imp_{uuid.uuid4().hex[:12]}",
                        "total": n,
                        "completed": n,
                        "failed": 0,
                        "skipped": 0,
                        "done": True,
                        "durationMs": 3,
                    }
                }
            ).encode()
            head = _head(len(payload))
            pieces = (
                [head[i : i + 1] for i in range(len(head))] + [payload]
                if fault == "trickle-headers"
                else [head] + [payload[i : i + 1] for i in range(len(payload))]
            )
            ends = time.monotonic() + emu.hang_seconds
            for n, piece in enumerate(pieces):
                if n and (time.monotonic() > ends or emu._release.wait(emu.trickle_seconds)):
                    record.status = -1  # the emulator gave up first: nothing imported
                    return
                self._write(record, piece)
        except OSError:
            if fault != "endless-body":
                record.status = -1
            record.hung_up = True  # last: a test waiting on it sees the status too
            return
        with emu._lock:
            emu._import(body, done=emu.done)
            record.status = 202

    def _write(self, record: ImportRequest, data: bytes) -> None:
        self.wfile.write(data)
        self.wfile.flush()
        record.bytes_sent += len(data)

    def _decide(
        self, emu: Emulator, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | bytes | _Slow, list[tuple[str, str]]]:
        if self.headers.get("Authorization", "") != f"Bearer {emu.token}":
            return 401, error(401, *_FAULT_ERRORS[401]), []
        if (emu.effective_mode or emu.mode) != "full-automation":
            return 403, error(403, *_FAULT_ERRORS[403]), []
        retry = [("Retry-After", f"{emu.retry_after:g}")] if emu.retry_after is not None else []
        with emu._lock:
            outage = emu._outage
            if outage is not None:
                outage[2] = outage[2] or time.monotonic() + outage[1]
                if time.monotonic() < outage[2]:
                    status = outage[0]
                    code, message = _FAULT_ERRORS.get(status, ("error", "Injected fault."))
                    return status, error(status, code, message), retry
                emu._outage = None
            fault = emu.faults.pop(0) if emu.faults else None
        if fault in ("trickle", "trickle-headers"):
            return 202, _Slow(fault), []
        if fault in _ACTED:
            with emu._lock:
                status, answer = emu._import(body, done=emu.done)
            return _ACTED[fault](status, answer, emu)
        if fault == "redirect":
            return 307, error(307, "moved", "Moved."), [("Location", emu.redirect_to)]
        if fault == "not-json-error":
            return 500, b"<html><body>Internal Server Error</body></html>", []
        if fault == "huge-error":
            return 500, error(500, "internal_error", "A" * 50_000), []
        if fault == "drop":
            return -1, b"", []
        if fault == "garbage":
            return 200, b"<html>Proxy error</html>", []
        if fault == "hang":
            emu._release.wait(emu.hang_seconds)
            if emu._server is None:  # SessionDock quit mid-request: nothing was imported
                return -1, b"", []
        if isinstance(fault, int):
            code, message = _FAULT_ERRORS.get(fault, ("error", "Injected fault."))
            return fault, error(fault, code, message), retry if fault in (429, 503) else []
        rejected = [i["projectPath"] for i in body["items"] if i["projectPath"] in emu.reject_paths]
        if rejected:
            return (
                400,
                error(400, "invalid_json", f"Cannot import {rejected[0]}: not a project."),
                [],
            )
        with emu._lock:
            status, answer = emu._import(body, done=emu.done and fault != "done-false")
        return status, answer, []


def main() -> None:
    parser = argparse.ArgumentParser(description="A SessionDock Local API emulator.")
    parser.add_argument("--port", type=int, default=18432)
    parser.add_argument("--token", help="the bearer token to accept")
    parser.add_argument("--token-file", type=Path, help="read the token from this file")
    parser.add_argument("--mode", choices=MODES, default="full-automation")
    parser.add_argument("--log", action="store_true", help="print each accepted import")
    args = parser.parse_args()
    token = args.token or (
        args.token_file.expanduser().read_text(encoding="utf-8-sig").strip()
        if args.token_file
        else None
    )
    if not token:
        parser.error("give --token or --token-file")
    emu = Emulator(token=token, port=args.port, mode=args.mode).start()
    print(f"SessionDock emulator on {emu.base_url} (mode {args.mode}); Ctrl-C stops it", flush=True)
    seen = 0
    try:
        while True:
            time.sleep(0.2)
            accepted = emu.accepted()
            if args.log:
                for request in accepted[seen:]:
                    for item in request.items:
                        print(
                            f"imported [{request.kind}] {item['title']}: {item['projectPath']}",
                            flush=True,
                        )
            seen = len(accepted)
    except KeyboardInterrupt:
        emu.stop()


if __name__ == "__main__":
    main()
