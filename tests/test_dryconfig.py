"""`scan --dry-run`'s lead starts on its own reading of the config (watcher/dryconfig.py,
no pydantic) and prints only once the helper's validated config is seen to agree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, ConfigWriter, clean_env, cli, write_als
from watcher import dryconfig
from watcher.cli import dry_run
from watcher.config import load_config

TWO_CORES = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="the dry run splits only on two cores or more",
)


def test_the_light_reading_is_the_validated_config_for_the_shipped_example(
    tmp_path: Path,
) -> None:
    """The defaults dryconfig repeats are config.py's (a drift would only cost speed,
    and this test names it)."""
    example = yaml.safe_load((REPO / "config.example.yaml").read_text())
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(example))
    light = dryconfig.load(path)
    assert light is not None
    assert dryconfig.view(light) == dryconfig.view(load_config(path))


def test_the_light_reading_follows_every_value_a_dry_run_reads(
    tmp_path: Path, write_config: ConfigWriter
) -> None:
    folders: list[Path | dict[str, object]] = [
        tmp_path / "a",
        {"path": "b/../c", "recursive": False, "exclude": ["*.tmp", "Old/**"], "kind": "X"},
        {"path": "~/d", "generate_previews": False},
    ]
    config = write_config(
        folders,
        scan={"unsuffixed_bundles": True, "max_inflated_bytes": 2 << 20, "max_inflate_ratio": 50},
        import_={"project_path": "folder", "title_from": "folder"},
    )
    light = dryconfig.load(config)
    assert light is not None
    assert dryconfig.view(light) == dryconfig.view(load_config(config))
    assert light.watch[1].path == tmp_path / "c"


@pytest.mark.parametrize(
    "section",
    [
        {"kinds": {"Ableton": {"kind": "Live"}}},
        {"watch": [{"path": "x", "recursive": "yes"}]},  # pydantic's lax bool: not followed
        {"scan": {"max_inflate_ratio": "100"}},
        {"watch": "x"},
    ],
)
def test_what_the_light_reading_does_not_follow_it_leaves_to_pydantic(
    tmp_path: Path, section: dict[str, object]
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"watch": [{"path": str(tmp_path)}], **section}))
    assert dryconfig.load(path) is None


@TWO_CORES
def test_the_lead_walks_without_importing_pydantic(
    tmp_path: Path, write_config: ConfigWriter, capsys: pytest.CaptureFixture[str]
) -> None:
    studio = tmp_path / "studio"
    for client in range(4):
        write_als(studio / f"Client {client}" / "Song Project" / "Song.als")
    config = write_config([studio])
    code = (  # a split dry run ends in os._exit: what was imported is told there
        "import os, sys\n"
        "end = os._exit\n"
        "def told(code):\n"
        "    print('pydantic' in sys.modules, file=sys.stderr, flush=True)\n"
        "    end(code)\n"
        "os._exit = told\n"
        "from watcher.cli import main\n"
        f"main(['scan', '--dry-run', '--config', {str(config)!r}])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "False"  # the helper's stderr is /dev/null
    assert done.stdout.count("projectPath") == 4
    capsys.readouterr()
    assert dry_run(load_config(config)) == 0  # one process, the validated config
    assert done.stdout == capsys.readouterr().out


@TWO_CORES
def test_a_config_pydantic_refuses_prints_nothing_and_exits_78(
    tmp_path: Path, write_config: ConfigWriter
) -> None:
    """The light reading ignores `sessiondock:`; the helper's validation does not, and
    the lead, told so, runs the normal path: the usual one-line error, exit 78."""
    studio = tmp_path / "studio"
    write_als(studio / "Song Project" / "Song.als")
    config = write_config([studio], sessiondock={"base_url": "ftp://example"})
    assert dryconfig.load(config) is not None
    result = cli("scan", "--dry-run", "--config", str(config))
    assert result.returncode == 78
    assert result.stdout == ""
    assert "base_url" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr == cli("check", "--config", str(config)).stderr
