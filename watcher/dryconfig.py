"""The few config values `scan --dry-run` reads, taken from the YAML without pydantic.

Why: importing pydantic and building the config's models is about 0.13 CPU s, as much
as `find` takes over a 2,000-project library, and a dry run is judged against `find`.
So the lead process of a split dry run (watcher/dryrun.py) starts walking on this
reading while the helper, on the other core, loads the config the usual way. It is
never trusted alone: the helper sends `view()` of the validated config, and the lead
prints nothing until the two views are equal. Any difference (a value this reading
does not follow, an invalid config, a helper that is gone) and the lead throws its
work away and runs the normal path, which reports config errors as every command
does (exit 78). So this module can only make a dry run faster, never different; a
test keeps its reading equal to the validated config's for the shipped example.

Anything it does not follow exactly (`kinds:`, a value of an unexpected type) makes
it step aside (None) rather than guess.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from watcher import userfiles
from watcher.places import expand_path, state_dir

if TYPE_CHECKING:
    from watcher.config import Config

View = tuple[Any, ...]
"""Everything a dry run reads from the config, as plain values (marshal-able)."""

# The defaults of the fields a dry run reads (watcher/config.py is the source; a
# difference only costs speed, and tests/test_dryconfig.py reports it).
_SCAN = {
    "unsuffixed_bundles": False,
    "max_inflated_bytes": 4 << 30,
    "max_inflate_ratio": 200.0,
    "content_check_seconds": 300.0,
}
_IMPORT = {"project_path": "file", "title_from": "file"}


class LightFolder(NamedTuple):
    path: Path
    recursive: bool
    exclude: list[str]
    kind: str | None
    generate_previews: bool


class LightScan(NamedTuple):
    unsuffixed_bundles: bool
    max_inflated_bytes: int
    max_inflate_ratio: float
    content_check_seconds: float


class LightImport(NamedTuple):
    project_path: str
    title_from: str


class LightState(NamedTuple):
    path: Path | None

    def database(self) -> Path:
        return self.path or state_dir() / "state.sqlite3"


class LightConfig(NamedTuple):
    """Duck-typed as the `Config` attributes the dry run reads."""

    watch: list[LightFolder]
    scan: LightScan
    import_: LightImport
    state: LightState
    source: Path
    kinds: dict[str, Any]


def view(config: Config | LightConfig) -> View:
    """What the dry run's output depends on: equal views, equal output."""
    scan, settings = config.scan, config.import_
    return (
        tuple(
            (str(f.path), f.recursive, tuple(f.exclude), f.kind, f.generate_previews)
            for f in config.watch
        ),
        bool(config.kinds),
        str(config.source),
        (
            scan.unsuffixed_bundles,
            scan.max_inflated_bytes,
            float(scan.max_inflate_ratio),
            float(scan.content_check_seconds),
        ),
        (settings.project_path, settings.title_from),
        str(config.state.database()),
    )


class _Unfollowed(Exception):
    """A value this reading does not follow: the normal path decides."""


def load(path: Path) -> LightConfig | None:
    """The dry run's values from the config file at `path`; None where unsure."""
    try:
        raw = userfiles.read_bounded(path, userfiles.MAX_BYTES)
        if raw is None:
            return None
        data = userfiles.load_yaml(userfiles.decode_text(raw, str(path)))
        return _read(data, path)
    except (OSError, ValueError, userfiles.UnusableText, _Unfollowed):
        return None


def _read(data: Any, source: Path) -> LightConfig:
    if not isinstance(data, dict) or data.get("kinds"):
        raise _Unfollowed
    base = source.parent
    folders = data.get("watch")
    if not isinstance(folders, list) or not folders:
        raise _Unfollowed
    watch = [_folder(entry, base) for entry in folders]
    scan = _section(data, "scan")
    settings = _section(data, "import")
    state = _section(data, "state")
    state_path = _typed(state, "path", str, None)
    return LightConfig(
        watch=watch,
        scan=LightScan(
            _typed(scan, "unsuffixed_bundles", bool, _SCAN["unsuffixed_bundles"]),
            _typed(scan, "max_inflated_bytes", int, _SCAN["max_inflated_bytes"]),
            float(_number(scan, "max_inflate_ratio", _SCAN["max_inflate_ratio"])),
            float(_number(scan, "content_check_seconds", _SCAN["content_check_seconds"])),
        ),
        import_=LightImport(
            _typed(settings, "project_path", str, _IMPORT["project_path"]),
            _typed(settings, "title_from", str, _IMPORT["title_from"]),
        ),
        state=LightState(expand_path(state_path, base) if state_path else None),
        source=source,
        kinds={},
    )


def _section(data: dict[Any, Any], key: str) -> dict[Any, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Unfollowed
    return value


def _typed(section: dict[Any, Any], key: str, kind: type, default: Any) -> Any:
    value = section.get(key, default)
    if value is default:
        return value
    if type(value) is not kind:  # exact: a bool is an int, and pydantic takes "yes"
        raise _Unfollowed
    return value


def _number(section: dict[Any, Any], key: str, default: float) -> float:
    value = section.get(key, default)
    if type(value) not in (int, float):
        raise _Unfollowed
    return float(value)


def _folder(entry: Any, base: Path) -> LightFolder:
    if not isinstance(entry, dict):
        raise _Unfollowed
    raw = entry.get("path")
    if not isinstance(raw, str) or not raw:
        raise _Unfollowed
    exclude = entry.get("exclude") or []
    if not isinstance(exclude, list) or not all(isinstance(e, str) for e in exclude):
        raise _Unfollowed
    kind = entry.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise _Unfollowed
    return LightFolder(
        path=expand_path(raw, base),
        recursive=_typed(entry, "recursive", bool, True),
        exclude=list(exclude),
        kind=kind,
        generate_previews=_typed(entry, "generate_previews", bool, True),
    )
