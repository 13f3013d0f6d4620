"""The one YAML config file: schema, defaults, locations and the token.

Every stage reads its settings from the `Config` built here, so this module is the
single source of truth for option names and defaults (`config.example.yaml` and the
README mirror it, and a test keeps the example loadable). It imports nothing else from
the package: imports flow toward it.

A bad config raises `ConfigError` with one line that names the key path and the
problem, so the CLI can print it and exit 78 (EX_CONFIG) without a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from watcher import userfiles
from watcher.config_errors import describe
from watcher.places import (
    APP_NAME,
    CONFIG_ENV,
    TOKEN_ENV,
    ConfigError,
    clean_token,
    config_dir,
    default_config_path,
    default_log_file,
    default_token_path,
    expand_path,
    find_config_path,
    is_loopback_url,
    log_dir,
    read_token_file,
    state_dir,
)

BASE_URL_ENV = "SESSIONDOCK_BASE_URL"
DEFAULT_BASE_URL = "http://127.0.0.1:18432/api/v1"

__all__ = [  # defined in watcher.places, imported from here by every stage
    "APP_NAME",
    "CONFIG_ENV",
    "TOKEN_ENV",
    "ConfigError",
    "clean_token",
    "config_dir",
    "default_config_path",
    "default_log_file",
    "default_token_path",
    "expand_path",
    "find_config_path",
    "is_loopback_url",
    "log_dir",
    "read_token_file",
    "state_dir",
]


class _Section(BaseModel):
    """Unknown keys are errors: a typo must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _path_field(value: Any, info: ValidationInfo) -> Any:
    if value is None or value == "":
        return None
    base = (info.context or {}).get("base_dir")
    return expand_path(value, base)


Seconds = Annotated[float, Field(ge=0)]


class SessionDockSettings(_Section):
    base_url: str = DEFAULT_BASE_URL
    token: SecretStr | None = None
    token_file: Path | None = None
    timeout_seconds: Annotated[float, Field(gt=0)] = 10
    request_deadline_seconds: Annotated[float, Field(gt=0)] = 60
    """A request not fully answered by then is given up and retried (timeout_seconds
    bounds each wait for data; a server sending a byte now and then never hits it)."""
    allow_remote: bool = False
    """Allow a base_url that is not loopback. The token then leaves this machine."""
    listing_lag_seconds: Seconds = 300
    """How long after an import request a session may still be missing from
    `GET /sessions` (SessionDock's import is a background job, its duration not
    documented): while it is, "not listed" means "not yet" for a request whose answer
    was lost (`watcher.core.settings.Settings.listing_lag_seconds`)."""
    session_id_patience_seconds: Seconds = 1800
    """How long after its import a session not listed yet is looked for on a backoff
    (later only at each reconciliation)."""

    _check_path = field_validator("token_file", mode="before")(_path_field)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an http(s) URL such as {DEFAULT_BASE_URL}, not {value!r}")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _loopback_only(self) -> SessionDockSettings:
        if not self.allow_remote and not is_loopback_url(self.base_url):
            raise ValueError(
                f"base_url {self.base_url} is not on this machine; the token would leave it. "
                "SessionDock listens on 127.0.0.1 only; set sessiondock.allow_remote: true "
                "if you really mean to send it elsewhere"
            )
        return self

    def token_path(self) -> Path:
        return self.token_file or default_token_path()

    def resolve_token(self) -> str:
        """The bearer token: $SESSIONDOCK_TOKEN, else `token`, else the token file.

        Read afresh on each call so a regenerated token is picked up without a restart.
        Editors add a BOM (Notepad, PowerShell 5) or a trailing newline: both are
        stripped. What is left must be one line of ASCII, since it is sent in an HTTP
        header; anything else is a config error naming where the token came from.
        """
        from_env = clean_token(os.environ.get(TOKEN_ENV, ""), f"${TOKEN_ENV}")
        if from_env:
            return from_env
        if self.token is not None:
            return clean_token(self.token.get_secret_value(), "at 'sessiondock.token'")
        return read_token_file(self.token_path(), "at 'sessiondock.token_file': ")

    def token_source(self) -> str:
        """Where `resolve_token` takes the token from, for advice (never the token)."""
        if os.environ.get(TOKEN_ENV, "").strip().removeprefix("\ufeff").strip():
            return "env"
        return "config" if self.token is not None else "file"

    def rejected_advice(self) -> str:
        """What to do when SessionDock rejects the token, depending on where it came from."""
        regenerate = (
            "the token was rejected: regenerate it in SessionDock's Local API settings (or "
            "copy the current one) and put it"
        )
        source = self.token_source()
        if source == "env":
            return (
                f"{regenerate} into ${TOKEN_ENV} where the watcher gets it (your shell, or the "
                "service's environment) and restart it; the variable overrides token_file"
            )
        if source == "config":
            return (
                f"{regenerate} into sessiondock.token in the config and reload it "
                "(SIGHUP, or restart the service)"
            )
        return f"{regenerate} into token_file {self.token_path()} (picked up by itself)"


class WatchFolder(_Section):
    path: Path
    recursive: bool = True
    polling: bool = False
    """True forces polling; false uses native events unless the folder is a network share."""
    polling_interval_seconds: Annotated[float, Field(gt=0)] | None = None
    """How often this folder is polled when it is; None: `scan.polling_interval_seconds`."""
    kind: str | None = None
    generate_previews: bool = True
    exclude: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    """Tags added to the session of every project of this folder (watcher/core/sessions.py):
    surrounding spaces trimmed, one of each regardless of case (the first spelling)."""
    case_sensitive: Literal["auto"] | bool = "auto"
    """Whether `song.als` and `Song.als` are two files here; `auto`: the daemon tries
    the folder's volume (a name inside it stat'ed in the other case)."""

    _check_path = field_validator("path", mode="before")(_path_field)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        tags: list[str] = []
        for raw in value:
            tag = raw.strip()
            if not tag:
                raise ValueError("a tag must not be empty")
            if len(tag) > 200:
                raise ValueError(f"tag {tag[:40]!r}... is longer than 200 characters")
            if tag.casefold() not in {t.casefold() for t in tags}:
                tags.append(tag)
        return tags

    @field_validator("path")
    @classmethod
    def _required(cls, value: Path | None) -> Path:
        if value is None:
            raise ValueError("a folder to watch is required")
        return value


class DebounceSettings(_Section):
    quiet_seconds: Seconds = 5
    max_wait_seconds: Seconds = 120

    @model_validator(mode="after")
    def _ordered(self) -> DebounceSettings:
        if self.max_wait_seconds < self.quiet_seconds:
            raise ValueError(
                f"max_wait_seconds ({self.max_wait_seconds:g}) must not be shorter than "
                f"quiet_seconds ({self.quiet_seconds:g})"
            )
        return self


class ImportSettings(_Section):
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 50
    batch_window_seconds: Seconds = 2
    project_path: Literal["file", "folder"] = "file"
    title_from: Literal["file", "folder"] = "file"
    retry_max_seconds: Annotated[float, Field(gt=0)] = 60
    """Cap of the exponential backoff while SessionDock is unreachable."""


class StateSettings(_Section):
    path: Path | None = None

    _check_path = field_validator("path", mode="before")(_path_field)

    def database(self) -> Path:
        return self.path or state_dir() / "state.sqlite3"


class ScanSettings(_Section):
    reconcile_interval_seconds: Annotated[float, Field(gt=0)] = 3600
    """How often every watched folder is re-walked as a safety net for missed events."""
    offline_check_seconds: Annotated[float, Field(gt=0)] = 5
    """How often an offline folder (unplugged drive, unmounted share) is looked for."""
    polling_interval_seconds: Annotated[float, Field(gt=0)] = 2
    max_inflated_bytes: Annotated[int, Field(ge=1 << 20)] = 4 << 30
    """A compressed set (`.als`, `.mmpz`) inflating past this is skipped as too-large.
    Real sets: 5-50 MB compressed, about 20x that as XML."""
    max_inflate_ratio: Annotated[float, Field(ge=10)] = 200
    """...or inflating more than this many times its compressed size (judged past the
    first 64 MiB): real sets inflate 10-20x, a decompression bomb about 1000x."""
    content_check_seconds: Annotated[float, Field(gt=0)] = 300
    """...or whose content check takes longer than this."""
    unsuffixed_bundles: bool = False
    """Import a folder laid out like a Logic/GarageBand bundle whose `.logicx`/`.band`
    suffix was lost; by default it is only listed by `scan --dry-run --explain`."""
    verify_interval_seconds: Annotated[float, Field(gt=0)] | None = 45
    """How often natively watched folders are also checked by the change detector, to
    notice events that never arrive (FUSE shares, overflows); None turns it off."""


class LogSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"
    file: Path | None = None
    """Also append JSON lines here (for OSes without a log collector)."""
    default_file: bool = True
    """With `file` unset: on macOS and Windows log to the platform log folder too."""

    _check_path = field_validator("file", mode="before")(_path_field)

    def file_path(self) -> Path | None:
        """Where the rotating JSON log goes, if anywhere: `file`, else the OS default."""
        if self.file is not None:
            return self.file
        return default_log_file() if self.default_file else None

    @field_validator("level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


class KindOverride(_Section):
    """Rename a DAW's kind string, or give a DAW more extensions."""

    kind: str | None = None
    extensions: list[str] = Field(default_factory=list)

    @field_validator("extensions")
    @classmethod
    def _dotted(cls, values: list[str]) -> list[str]:
        return [v.lower() if v.startswith(".") else "." + v.lower() for v in values]


class Config(_Section):
    sessiondock: SessionDockSettings = Field(default_factory=SessionDockSettings)
    watch: Annotated[list[WatchFolder], Field(min_length=1)]
    debounce: DebounceSettings = Field(default_factory=DebounceSettings)
    import_: ImportSettings = Field(default_factory=ImportSettings, alias="import")
    state: StateSettings = Field(default_factory=StateSettings)
    scan: ScanSettings = Field(default_factory=ScanSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    kinds: dict[str, KindOverride] = Field(default_factory=dict)
    """Keyed by the DAW's default kind string (e.g. `Ableton`, `Logic Pro`)."""

    source: Path | None = Field(default=None, exclude=True)

    @field_validator("watch")
    @classmethod
    def _distinct_folders(cls, folders: list[WatchFolder]) -> list[WatchFolder]:
        """The same folder twice would leave one entry's settings silently unused.

        Compared by real path, so a link and its target are the same folder. Nested
        folders are fine: the innermost entry owns its subtree (see watcher/mounts.py).
        """
        seen: dict[str, int] = {}
        for index, folder in enumerate(folders):
            real = os.path.realpath(folder.path)
            if real in seen:
                first = seen[real]
                link = f" ({real})" if str(folder.path) != str(folders[first].path) else ""
                raise ValueError(
                    f"watch[{first}] ({folders[first].path}) and watch[{index}] "
                    f"({folder.path}) are the same folder{link}; merge them into one entry"
                )
            seen[real] = index
        return folders


_FIELDS: dict[str, type[BaseModel]] = {
    "": Config,
    "sessiondock": SessionDockSettings,
    "watch": WatchFolder,
    "debounce": DebounceSettings,
    "import": ImportSettings,
    "state": StateSettings,
    "scan": ScanSettings,
    "log": LogSettings,
}


def parse_config(data: Any, source: Path | None = None) -> Config:
    """Validate already-parsed YAML; every problem is reported in one line."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(_prefix(source) + "the file must be a mapping of sections, e.g. watch:")
    data = dict(data)
    env_url = os.environ.get(BASE_URL_ENV, "").strip()
    if env_url:
        data["sessiondock"] = {**(data.get("sessiondock") or {}), "base_url": env_url}
    base_dir = source.parent if source else Path.cwd()
    try:
        config = Config.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        problems = "; ".join(describe(e, _FIELDS) for e in exc.errors())
        raise ConfigError(_prefix(source) + problems) from None
    return config.model_copy(update={"source": source})


def _prefix(source: Path | None) -> str:
    return f"config error in {source}: " if source else "config error: "


def load_config(path: Path) -> Config:
    try:
        raw = userfiles.read_bounded(path, userfiles.MAX_BYTES)
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} does not exist; copy config.example.yaml there, "
            f"or pass --config PATH"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    if raw is None:
        raise ConfigError(f"{_prefix(path)}the file is over 1024 KiB; a config is a few KiB")
    try:
        data = userfiles.load_yaml(userfiles.decode_text(raw, f"config file {path}"))
    except userfiles.UnusableText as exc:
        raise ConfigError(f"{_prefix(path)}{exc}") from None
    return parse_config(data, source=path)
