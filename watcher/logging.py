"""structlog set-up: JSON lines for service managers, readable lines on a terminal.

Every line carries `event`, `level` and `timestamp`. Library loggers (httpx, watchdog)
go through the same renderer via the standard library, quieted to warnings. Secrets are
scrubbed by a processor that runs last before rendering, and tracebacks never include
local variables, so the bearer token cannot leak through either path.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
from pathlib import Path
from typing import Any, Literal, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from watcher.names import printable

REDACTED = "[redacted]"
STDERR_LEVEL_ENV = "SESSIONDOCK_WATCHER_STDERR_LEVEL"
"""Set by the launchd agent: its stderr file cannot be rotated, so only warnings go there
while the daemon's own rotating file keeps every line."""
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_SECRET_KEYS = frozenset({"token", "authorization", "password", "api_key", "cookie"})
_BEARER = re.compile(r"(Bearer\s+)\S+", re.IGNORECASE)
_secrets: set[str] = set()

get_logger = structlog.stdlib.get_logger


def register_secret(value: str) -> None:
    """Scrub this exact string from every log line from now on (e.g. the token)."""
    if len(value) >= 4:
        _secrets.add(value)


def _scrub(text: str) -> str:
    """Secrets out; undecodable bytes of a file name shown as `\\xNN`, so every sink
    (a UTF-8 log file, a strict stderr, a JSON reader) gets valid UTF-8."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return printable(_BEARER.sub(r"\1" + REDACTED, text))


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return _scrub(value)
    if isinstance(value, dict):
        return {
            printable(k): REDACTED if k.lower() in _SECRET_KEYS else _scrub_value(v)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_scrub_value(v) for v in value]
    return value


def redact(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    return _scrub_value(event_dict)  # type: ignore[no-any-return]


_SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]

_JSON_EXCEPTIONS = structlog.processors.ExceptionRenderer(
    structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
)


def _renderer(fmt: Literal["json", "console"], colors: bool) -> list[Processor]:
    if fmt == "json":
        return [_JSON_EXCEPTIONS, redact, structlog.processors.JSONRenderer()]
    return [
        redact,
        structlog.dev.ConsoleRenderer(
            colors=colors, exception_formatter=structlog.dev.plain_traceback
        ),
    ]


def _handler(handler: logging.Handler, fmt: Literal["json", "console"], colors: bool) -> None:
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_SHARED,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *_renderer(fmt, colors),
            ],
        )
    )
    logging.getLogger().addHandler(handler)


def configure(
    level: str = "info",
    fmt: Literal["auto", "json", "console"] = "auto",
    file: Path | None = None,
    stream: TextIO | None = None,
) -> None:
    """Route structlog and the standard library to `stream` (stderr) and `file`.

    `auto` means console rendering on a terminal, JSON otherwise (journald, launchd and
    Task Scheduler all capture a pipe). Under `pythonw` there is no stderr at all, and
    the log file is the only sink.
    """
    stream = stream if stream is not None else getattr(sys, "stderr", None)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.setLevel(level.upper())
    if stream is not None:
        is_tty = bool(getattr(stream, "isatty", lambda: False)())
        chosen: Literal["json", "console"] = (
            ("console" if is_tty else "json") if fmt == "auto" else fmt
        )
        to_stream = logging.StreamHandler(stream)
        stream_level = os.environ.get(STDERR_LEVEL_ENV, "").strip().upper()
        if stream_level in _LEVELS:
            to_stream.setLevel(stream_level)
        _handler(to_stream, chosen, colors=is_tty)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            file, maxBytes=5 * 1024 * 1024, backupCount=3, encoding="utf-8"
        )
        _handler(rotating, "json", colors=False)
    for noisy in ("httpx", "httpcore", "watchdog"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            *_SHARED,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
