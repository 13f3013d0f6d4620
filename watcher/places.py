"""Where things live: the platform's user folders, `~` and `$VAR` in paths, loopback,
and the token file; `ConfigError` for anything there a person must fix.

Shared by the config (defaults), `init`, `check` and the service definitions, so every
command agrees on where the config, token, state and logs are.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

from watcher import userfiles

APP_NAME = "sessiondock-watcher"
TOKEN_ENV = "SESSIONDOCK_TOKEN"  # noqa: S105 - a variable name, not a secret
CONFIG_ENV = "SESSIONDOCK_WATCHER_CONFIG"

_UNSET_VAR = re.compile(r"\$(\w+|\{\w+\})")


def config_dir() -> Path:
    import platformdirs  # on first use: not on a dry run's path when the state is set

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def state_dir() -> Path:
    import platformdirs  # on first use: not on a dry run's path when the state is set

    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    import platformdirs  # on first use: not on a dry run's path when the state is set

    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def default_config_path() -> Path:
    return config_dir() / "config.yaml"


def default_token_path() -> Path:
    return config_dir() / "token"


def default_log_file() -> Path | None:
    """The daemon's own rotating log where the OS has no collector for a user service.

    systemd puts a user service's stderr in the journal, so Linux has no file by
    default; a launchd agent's output file cannot be rotated, and a scheduled task
    started by pythonw has no stderr at all.
    """
    if sys.platform in ("darwin", "win32"):
        return log_dir() / f"{APP_NAME}.log"
    return None


def expand_path(raw: str | Path, base: Path | None = None) -> Path:
    """Expand `~` and `$VARS`; a relative path is taken relative to the config file.

    An unset variable is an error rather than a literal `$HOME`-named folder.
    """
    text = os.path.expandvars(os.path.expanduser(str(raw)))
    unset = _UNSET_VAR.search(text)
    if unset:
        raise ValueError(f"environment variable {unset.group(1).strip('{}')} is not set")
    path = Path(text)
    if not path.is_absolute() and base is not None:
        path = base / path
    return Path(os.path.abspath(path))


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ConfigError(Exception):
    """The config cannot be used; the message is one actionable line for the user."""


def find_config_path(explicit: str | None) -> Path:
    """`--config`, else `$SESSIONDOCK_WATCHER_CONFIG`, else the platform's config folder."""
    chosen = explicit or os.environ.get(CONFIG_ENV) or default_config_path()
    try:
        return expand_path(chosen)
    except ValueError as exc:
        raise ConfigError(f"config path {chosen}: {exc}") from None


def clean_token(raw: str, where: str) -> str:
    """The token without a BOM or surrounding whitespace; a config error if unusable."""
    try:
        return userfiles.clean_token(raw, where)
    except userfiles.UnusableText as exc:
        raise ConfigError(str(exc)) from None


def read_token_file(path: Path, key: str = "") -> str:
    """A token file's one line (BOM, UTF-16 and trailing newline handled); `key` prefixes
    every message, so it names where the file was configured."""
    where = f"{key}{path}"
    try:
        raw = userfiles.read_bounded(path, userfiles.MAX_TOKEN_BYTES)
        if raw is None:
            raise ConfigError(f"{where} is over 64 KiB: not a token file")
        token = userfiles.clean_token(userfiles.decode_text(raw, where), where)
    except FileNotFoundError:
        raise ConfigError(
            f"{where} does not exist; copy the token from "
            f"SessionDock's Local API settings into it (or set ${TOKEN_ENV})"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read it: {exc.strerror}") from None
    except userfiles.UnusableText as exc:
        raise ConfigError(str(exc)) from None
    if not token:
        raise ConfigError(
            f"{where} is empty; paste the token from SessionDock's Local API settings into it"
        )
    return token
