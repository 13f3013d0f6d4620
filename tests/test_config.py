"""The config file: defaults, expansion, the token, and one-line errors with exit 78."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO, TOKEN, clean_env, cli
from watcher.bridge import core_settings
from watcher.config import ConfigError, load_config, parse_config


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("watch: [path: /x\n  bad", "", "YAML syntax error at line"),
        ("watch:\n  - path: /x\n    recursive: maybe\n", "watch[0].recursive", "boolean"),
        (
            "watch:\n  - path: /x\ndebounce:\n  quiet_secs: 3\n",
            "debounce.quiet_secs",
            "unknown key (did you mean 'quiet_seconds'?)",
        ),
        ("sessiondock:\n  base_url: http://127.0.0.1:1/api/v1\n", "watch", "required"),
        ("watch: []\n", "watch", "at least 1"),
        (
            "watch:\n  - path: /x\ndebounce:\n  quiet_seconds: -1\n",
            "debounce.quiet_seconds",
            "greater than or equal to 0",
        ),
        (
            "watch:\n  - path: /x\nimport:\n  batch_window_seconds: -0.5\n",
            "import.batch_window_seconds",
            "greater than or equal to 0",
        ),
        ("watch:\n  - recursive: true\n", "watch[0].path", "required"),
        (
            "watch:\n  - path: /x\nimport:\n  batch_size: 0\n",
            "import.batch_size",
            "greater than or equal to 1",
        ),
        (
            "watch:\n  - path: /x\nlog:\n  format: xml\n",
            "log.format",
            "'auto', 'json' or 'console'",
        ),
        (
            "watch:\n  - path: $NO_SUCH_VARIABLE_HERE/x\n",
            "watch[0].path",
            "NO_SUCH_VARIABLE_HERE is not set",
        ),
        (
            "watch:\n  - path: /x\nsessiondock:\n  base_url: http://192.0.2.1:18432/api/v1\n",
            "sessiondock",
            "not on this machine",
        ),
        (
            "watch:\n  - path: /x\nsessiondock:\n  listing_lag_seconds: -1\n",
            "sessiondock.listing_lag_seconds",
            "greater than or equal to 0",
        ),
        (
            "watch:\n  - path: /x\nsessiondock:\n  session_id_patience_seconds: -5\n",
            "sessiondock.session_id_patience_seconds",
            "greater than or equal to 0",
        ),
        ("- just\n- a list\n", "", "must be a mapping"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None,
)
def test_bad_config_is_one_line_naming_the_key_with_exit_78(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(text)
    for command in ("run", "scan", "check", "status"):
        result = cli(command, "--config", str(config))
        assert result.returncode == 78, (command, result.stderr)
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert str(config) in lines[0]
        if key:
            assert f"'{key}'" in lines[0]
        assert problem in lines[0]
        assert "Traceback" not in result.stderr


def test_missing_config_file_says_how_to_make_one(tmp_path: Path) -> None:
    result = cli("run", "--config", str(tmp_path / "nope.yaml"))
    assert result.returncode == 78
    assert "does not exist" in result.stderr and "--config" in result.stderr


def test_config_location_from_environment(tmp_path: Path) -> None:
    config = tmp_path / "env.yaml"
    config.write_text("watch: []\n")
    result = cli("check", env=clean_env(SESSIONDOCK_WATCHER_CONFIG=str(config)))
    assert result.returncode == 78 and str(config) in result.stderr


def test_defaults_for_everything_but_the_folder(tmp_path: Path) -> None:
    config = parse_config({"watch": [{"path": "~/Music/Projects"}]}, source=tmp_path / "c.yaml")
    assert config.watch[0].path == Path.home() / "Music" / "Projects"
    assert config.watch[0].recursive and not config.watch[0].polling
    assert config.watch[0].generate_previews and config.watch[0].kind is None
    assert config.sessiondock.base_url == "http://127.0.0.1:18432/api/v1"
    assert config.sessiondock.timeout_seconds == 10
    assert (config.debounce.quiet_seconds, config.debounce.max_wait_seconds) == (5, 120)
    assert (config.import_.batch_size, config.import_.batch_window_seconds) == (50, 2)
    assert config.import_.project_path == "file"
    assert (config.log.level, config.log.format) == ("info", "auto")
    assert config.state.path is None


def test_paths_expand_variables_and_relative_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUDIO", str(tmp_path / "studio"))
    config = parse_config(
        {"watch": [{"path": "$STUDIO/A"}, {"path": "rel/B"}], "state": {"path": "${STUDIO}/s.db"}},
        source=tmp_path / "conf" / "c.yaml",
    )
    assert config.watch[0].path == tmp_path / "studio" / "A"
    assert config.watch[1].path == tmp_path / "conf" / "rel" / "B"
    assert config.state.database() == tmp_path / "studio" / "s.db"


def test_token_sources_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    base = {"watch": [{"path": "/x"}], "sessiondock": {"token_file": str(token_file)}}
    monkeypatch.delenv("SESSIONDOCK_TOKEN", raising=False)
    assert parse_config(base).sessiondock.resolve_token() == "from-file"
    inline = {**base, "sessiondock": {**base["sessiondock"], "token": "inline"}}  # type: ignore[dict-item]
    assert parse_config(inline).sessiondock.resolve_token() == "inline"
    monkeypatch.setenv("SESSIONDOCK_TOKEN", "from-env")
    assert parse_config(inline).sessiondock.resolve_token() == "from-env"


def test_missing_or_empty_token_file_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SESSIONDOCK_TOKEN", raising=False)
    config = parse_config(
        {"watch": [{"path": "/x"}], "sessiondock": {"token_file": str(tmp_path / "t")}}
    )
    with pytest.raises(ConfigError, match=r"sessiondock\.token_file.*does not exist"):
        config.sessiondock.resolve_token()
    (tmp_path / "t").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        config.sessiondock.resolve_token()


def test_token_is_never_shown_in_the_config_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse_config({"watch": [{"path": "/x"}], "sessiondock": {"token": TOKEN}})
    assert TOKEN not in repr(config) and TOKEN not in str(config.model_dump())


def test_base_url_from_environment_and_remote_needs_consent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SESSIONDOCK_BASE_URL", "http://localhost:9999/api/v1/")
    assert (
        parse_config({"watch": [{"path": "/x"}]}).sessiondock.base_url
        == "http://localhost:9999/api/v1"
    )
    monkeypatch.setenv("SESSIONDOCK_BASE_URL", "https://studio-mac.example:18432/api/v1")
    with pytest.raises(ConfigError, match="allow_remote"):
        parse_config({"watch": [{"path": "/x"}]})
    remote = parse_config({"watch": [{"path": "/x"}], "sessiondock": {"allow_remote": True}})
    assert remote.sessiondock.base_url.startswith("https://studio-mac.example")


def test_the_shipped_example_loads() -> None:
    config = load_config(REPO / "config.example.yaml")
    assert config.watch[0].path == Path.home() / "Music" / "Projects"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("quiet_seconds: 5", "quiet_seconds 5"),  # a comment line follows: was 2 lines off
        ("level: info", "level info"),
        ("path: ~/Music/Projects", "path ~/Music/Projects"),
        ("timeout_seconds: 10", "timeout_seconds 10"),
    ],
)
def test_yaml_syntax_error_points_at_the_line_to_fix(tmp_path: Path, old: str, new: str) -> None:
    """The parser notices a lost colon only at the next key, after blank and comment lines."""
    text = (REPO / "config.example.yaml").read_text().replace(old, new, 1)
    line = next(i for i, t in enumerate(text.splitlines(), start=1) if new in t)
    config = tmp_path / "config.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=rf"YAML syntax error at line {line}\b"):
        load_config(config)


def test_yaml_syntax_error_after_a_blank_line_names_the_key_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("watch:\n  - path: /a\n    recursive true\n\n    kind: x\n")
    with pytest.raises(ConfigError, match=r"at line 3, column 5: could not find expected ':'"):
        load_config(config)


def test_config_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_bytes(b"watch:\n  - path: /caf\xe9\n")
    result = cli("check", "--config", str(config))
    assert result.returncode == 78
    assert "not UTF-8" in result.stderr and result.stderr.count("\n") == 1


def test_the_contracts_watch_keys_are_accepted(tmp_path: Path) -> None:
    """Every `watch[]` key of the interface contract loads (tags were refused, exit 78)."""
    config = parse_config(
        {
            "watch": [
                {
                    "path": str(tmp_path),
                    "recursive": True,
                    "polling": False,
                    "kind": None,
                    "generate_previews": True,
                    "exclude": [],
                    "tags": ["Client A"],
                    "polling_interval_seconds": None,
                }
            ]
        }
    )
    assert config.watch[0].tags == ["Client A"]
    with pytest.raises(ConfigError, match=r"watch\[0\]\.tags"):
        parse_config({"watch": [{"path": str(tmp_path), "tags": "Client A"}]})


def test_sessiondocks_unknown_delays_are_settings_with_todays_defaults() -> None:
    """How long SessionDock may take to list a new session is not documented: the
    patience is a config key (default 5 minutes, ids looked for 30), carried to the core."""
    default = parse_config({"watch": [{"path": "/x"}]})
    assert default.sessiondock.listing_lag_seconds == 300
    assert default.sessiondock.session_id_patience_seconds == 1800
    core = core_settings(default, once=False, watchdog_seconds=None)
    assert (core.listing_lag_seconds, core.session_id_patience_seconds) == (300, 1800)
    tuned = parse_config(
        {
            "watch": [{"path": "/x"}],
            "sessiondock": {"listing_lag_seconds": 45.5, "session_id_patience_seconds": 600},
        }
    )
    assert tuned.sessiondock.listing_lag_seconds == 45.5
    assert tuned.sessiondock.session_id_patience_seconds == 600
    core = core_settings(tuned, once=False, watchdog_seconds=None)
    assert (core.listing_lag_seconds, core.session_id_patience_seconds) == (45.5, 600)
