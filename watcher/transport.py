"""Bounded HTTP for the SessionDock client: a total deadline per request, a cap on what is read.

httpx's timeouts apply to each socket operation, so a server that sends one byte every
few seconds keeps a request open forever, and one that never ends its body is read
into memory until the process dies. The daemon has one thread for SessionDock, so
either would stop every import. Both limits live here, below httpx:

- `DeadlineBackend` is httpcore's own network backend with every connect, read and
  write shortened to what is left of the request's deadline. It covers the whole
  exchange (connecting, sending, a status line and headers sent slowly, the body),
  which a check between body chunks alone could not.
- `read_capped` streams a response and stops at a byte limit, inflating gzip or
  deflate in bounded steps (a small compressed answer cannot become a large one).

What the server says is read defensively too: `retry_after_seconds` turns any
Retry-After into a finite, non-negative number, and `clip` makes server text one
short printable line before it reaches a log line, `status` or the state.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpcore
import httpx

CHUNK = 64 * 1024
TEXT_LIMIT = 300
"""Characters of server-supplied text kept for logs, status and the state."""


class TooLarge(Exception):
    """The answer is longer than the limit; the connection is closed, not drained."""


class NotDecodable(Exception):
    """A content encoding we never asked for and cannot inflate in bounded steps."""


class DeadlineBackend(httpcore.NetworkBackend):
    """Every socket operation waits at most until `deadline` (monotonic seconds).

    One client, one thread: the client sets `deadline` before each request and clears
    it afterwards; a kept-alive connection reads the current value at every call.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._inner = httpcore.SyncBackend()
        self.clock = clock
        self.deadline: float | None = None

    def expired(self) -> bool:
        return self.deadline is not None and self.clock() >= self.deadline

    def shorten(self, timeout: float | None, error: type[Exception]) -> float | None:
        if self.deadline is None:
            return timeout
        left = self.deadline - self.clock()
        if left <= 0:
            raise error("the request's deadline has passed")
        return left if timeout is None else min(timeout, left)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = self.shorten(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _DeadlineStream(stream, self)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:  # pragma: no cover - base_url is always http(s)
        timeout = self.shorten(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_unix_socket(path, timeout, socket_options)
        return _DeadlineStream(stream, self)

    def sleep(self, seconds: float) -> None:  # pragma: no cover - httpcore retries are off
        self._inner.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, backend: DeadlineBackend) -> None:
        self._inner = inner
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._backend.shorten(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._backend.shorten(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        timeout = self._backend.shorten(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, timeout), self._backend
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def deadline_transport(backend: DeadlineBackend) -> httpx.HTTPTransport:
    """httpx's own transport on a connection pool that uses `backend`.

    httpx offers no public way to pass a network backend, so the pool it builds is
    replaced by an identical one (no proxy, no TLS options: loopback HTTP). The
    hostile-server tests fail if a future httpx stops using `_pool`.
    """
    transport = httpx.HTTPTransport(trust_env=False)
    transport._pool = httpcore.ConnectionPool(network_backend=backend)
    return transport


def _inflater(encoding: str) -> Callable[[bytes, int], bytes]:
    """A decoder for one Content-Encoding that never returns more than `room` bytes."""
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return lambda data, room: data[: room + 1]
    if name in ("gzip", "x-gzip", "deflate"):
        inflate = zlib.decompressobj(47 if name != "deflate" else 15)

        def step(data: bytes, room: int) -> bytes:
            try:
                return inflate.decompress(data, room + 1)
            except zlib.error:
                raise NotDecodable(f"a corrupt {name} body") from None

        return step
    raise NotDecodable(f"Content-Encoding {encoding[:40]!r}, which was not asked for")


def read_capped(response: httpx.Response, limit: int) -> bytes:
    """The response body, or TooLarge as soon as it would exceed `limit` bytes.

    Reading stops there: a body that never ends costs at most `limit` plus one chunk.
    """
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit and "Content-Encoding" not in response.headers:
        raise TooLarge(f"{declared} bytes declared")
    if response.is_stream_consumed:  # a test transport that answered with bytes in hand
        chunks: Iterable[bytes] = [response.content]
        inflate = _inflater("")
    else:
        chunks = response.iter_raw(CHUNK)
        inflate = _inflater(response.headers.get("Content-Encoding", ""))
    body = bytearray()
    for chunk in chunks:
        body += inflate(chunk, limit - len(body))
        if len(body) > limit:
            raise TooLarge(f"more than {limit} bytes")
    return bytes(body)


def size_text(limit: int) -> str:
    """1048576 -> '1 MiB', for messages a person reads."""
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if limit >= size and limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    """One printable line of at most about `limit` characters, saying what was cut."""
    line = "".join(c if c.isprintable() else " " for c in text[: limit * 4])
    line = " ".join(line.split())
    if len(text) > limit or len(line) > limit:
        return f"{line[:limit]}... ({len(text)} characters)"
    return line


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """Seconds from Retry-After (a number or an HTTP date), clamped to [0, 1 day].

    The policy adds its own floor and cap; what is returned here is only ever finite.
    """
    value = headers.get("Retry-After", "").strip()[:64]
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
            seconds = (when - datetime.now(timezone.utc)).total_seconds()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), 86400.0)
