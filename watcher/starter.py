"""`init`: a starter config in the platform location, and a token file only the user reads.

On a terminal it asks; otherwise it takes flags, so provisioning scripts can run it.
It never replaces an existing config without `--force`, never echoes the token, and
loads the config it wrote before saying it is done, so `init` cannot leave a file the
daemon would refuse.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shlex
import sys
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TextIO

from watcher.config import (
    APP_NAME,
    DEFAULT_BASE_URL,
    TOKEN_ENV,
    ConfigError,
    clean_token,
    default_config_path,
    expand_path,
    load_config,
    read_token_file,
)

DEFAULT_WATCH = "~/Music/Projects"
EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 78


class InitError(Exception):
    """A problem with what was asked for; the message is one line for the user."""


def command_hint(config_path: Path | None, *args: str) -> str:
    """A command line the user can paste: the program as they ran it, plus `--config`
    unless the config is the default one (`.venv/bin/...` is not on PATH)."""
    argv0 = sys.argv[0] if sys.argv else ""
    name = Path(argv0).name.removesuffix(".exe")
    program = argv0 if name in (APP_NAME, APP_NAME + "w") and os.sep in argv0 else APP_NAME
    words = [program, *args]
    if config_path is not None and config_path != default_config_path():
        words += ["--config", str(config_path)]
    return shlex.join(words)


def _say(message: str) -> None:
    print(message, flush=True)  # noqa: T201 - the CLI's init command


def _err(message: str) -> None:
    print(f"{APP_NAME}: {message}", file=sys.stderr, flush=True)  # noqa: T201


def _yaml_str(value: str) -> str:
    """A JSON string is a valid YAML double-quoted scalar (backslashes and all)."""
    return json.dumps(value, ensure_ascii=False)


def render_config(folders: Sequence[Path], token_file: Path, base_url: str) -> str:
    watch = "\n".join(f"  - path: {_yaml_str(str(f))}" for f in folders)
    return f"""\
# sessiondock-watcher config, written by `{APP_NAME} init` on {date.today().isoformat()}.
# Every key, with its default, is explained in config.example.yaml.
# Check it with: {APP_NAME} check

sessiondock:
  # $SESSIONDOCK_BASE_URL overrides this.
  base_url: {_yaml_str(base_url)}
  # The token copied from SessionDock > Settings > Local API, readable only by you.
  token_file: {_yaml_str(str(token_file))}

# The folders where projects are saved; add `polling: true` for network shares that
# are not detected as such.
watch:
{watch}

log:
  level: info
"""


def write_secret(path: Path, secret: str) -> None:
    """Write atomically with mode 0600 from the first byte (no window where others read)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".token-", dir=path.parent)  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(secret + "\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.chmod(path, 0o600)


def _ask_folders(stdin: TextIO) -> list[str]:
    _say("Folders to watch, one per line; an empty line ends the list.")
    folders: list[str] = []
    while True:
        default = "" if folders else f" [{DEFAULT_WATCH}]"
        _prompt(f"folder{default}: ")
        answer = stdin.readline()
        if not answer:  # end of input
            break
        answer = answer.strip()
        if not answer:
            if not folders:
                folders.append(DEFAULT_WATCH)
            break
        folders.append(answer)
    return folders


def _prompt(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _read_token(
    token_stdin: bool, token_file: str | None, interactive: bool, stdin: TextIO
) -> str | None:
    if token_stdin:
        try:
            token = clean_token(stdin.readline(), "--token-stdin")
        except ConfigError as exc:
            raise InitError(str(exc)) from None
        if not token:
            raise InitError("--token-stdin: nothing on standard input")
        return token
    if token_file:
        try:
            return read_token_file(expand_path(token_file), "--token-file ")
        except ValueError as exc:
            raise InitError(f"--token-file {token_file}: {exc}") from None
        except ConfigError as exc:
            raise InitError(str(exc)) from None
    if interactive:
        token = getpass.getpass(
            "SessionDock token (SessionDock > Settings > Local API; hidden, Enter to skip): "
        ).strip()
        return token or None
    return None


def run_init(
    config_path: Path,
    watch: Sequence[str] = (),
    *,
    token_stdin: bool = False,
    token_file: str | None = None,
    force: bool = False,
    base_url: str | None = None,
    stdin: TextIO | None = None,
) -> int:
    stdin = stdin if stdin is not None else sys.stdin
    interactive = bool(getattr(stdin, "isatty", lambda: False)()) and not token_stdin
    if config_path.exists() and not force:
        _err(f"{config_path} already exists; pass --force to replace it")
        return EXIT_REFUSED
    try:
        raw = list(watch) or (_ask_folders(stdin) if interactive else [DEFAULT_WATCH])
        folders = [expand_path(f) for f in raw]
        token = _read_token(token_stdin, token_file, interactive, stdin)
    except ValueError as exc:
        _err(f"--watch: {exc}")
        return EXIT_USAGE
    except InitError as exc:
        _err(str(exc))
        return EXIT_USAGE
    token_path = config_path.parent / "token"
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(
        render_config(folders, token_path, base_url or DEFAULT_BASE_URL), encoding="utf-8"
    )
    if token is not None:
        write_secret(token_path, token)
    try:
        load_config(config_path)
    except ConfigError as exc:
        _err(str(exc))
        return EXIT_CONFIG
    _report(
        config_path,
        folders,
        token_path,
        stored=token is not None,
        defaulted=not watch and not interactive,
    )
    return EXIT_OK


def _report(
    config_path: Path, folders: list[Path], token_path: Path, *, stored: bool, defaulted: bool
) -> None:
    _say(f"wrote {config_path}")
    for folder in folders:
        note = "" if folder.is_dir() else " (does not exist yet: watched once it appears)"
        _say(f"watching {folder}{note}")
    if defaulted:
        _say("(the default folder; pass --watch DIR to choose others)")
    if stored:
        _say(f"token stored in {token_path} (readable only by you)")
    elif token_path.exists():
        _say(f"token: keeping {token_path}")
    else:
        _say(
            f"no token yet: put it in {token_path} (`--token-stdin` or `--token-file`), "
            f"or set ${TOKEN_ENV}"
        )
    if os.environ.get(TOKEN_ENV):
        _say(f"note: ${TOKEN_ENV} is set and takes precedence over the token file")
    check, install = (
        command_hint(config_path, "check"),
        command_hint(config_path, "service", "install"),
    )
    _say(f"next: {check}, then {install}")
