"""Start at login: the unit, the plist and the task as files, and `service` end to end.

The OS is faked at one boundary (`service.current_platform`, or `--platform` with
`--print`), and systemctl, launchctl, schtasks and loginctl are fakes on PATH that
record their arguments, so nothing here touches this machine's service managers.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, clean_env, cli
from watcher import service
from watcher.logging import STDERR_LEVEL_ENV

NS = {"t": service.TASK_NS}

FAKE_TOOL = """#!/bin/sh
# Records how it was called; keeps one bit of state so status reflects enable/disable.
echo "$(basename "$0") $*" >> "$FAKE_DIR/calls.log"
case "$(basename "$0") $*" in
  "systemctl --user is-active"*)
    if [ -f "$FAKE_DIR/active" ]; then echo active; exit 0; fi; echo inactive; exit 3;;
  "systemctl --user is-enabled"*)
    if [ -f "$FAKE_DIR/active" ]; then echo enabled; exit 0; fi; echo disabled; exit 1;;
  "systemctl --user enable --now"*) touch "$FAKE_DIR/active";;
  "systemctl --user disable --now"*) rm -f "$FAKE_DIR/active";;
  "loginctl show-user"*) echo no;;
esac
exit 0
"""


@pytest.fixture
def fake_home(tmp_path: Path) -> dict[str, str]:
    """A user's home and XDG folders in tmp, and fake service tools first on PATH."""
    home = tmp_path / "home"
    bin_dir = tmp_path / "fakebin"
    for folder in (home, bin_dir):
        folder.mkdir()
    for tool in ("systemctl", "loginctl", "launchctl", "schtasks"):
        script = bin_dir / tool
        script.write_text(FAKE_TOOL)
        script.chmod(0o755)
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "FAKE_DIR": str(tmp_path),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def _calls(env: dict[str, str]) -> list[str]:
    log = Path(env["FAKE_DIR"]) / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def _config(tmp_path: Path, name: str = "config.yaml") -> Path:
    folder = tmp_path / "Projects"
    folder.mkdir(exist_ok=True)
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"watch": [{"path": str(folder)}]}))
    return path


# --- systemd ------------------------------------------------------------------------------


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    """User-mode verify needs a user session; CI containers have none, so fall back."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (.ci/run installs the systemd package)")
    flags = ["--man=no", "--generators=no", "--recursive-errors=no"]
    result = subprocess.run(
        [analyze, "--user", "verify", *flags, str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 and "Failed to initialize manager" in result.stderr:
        result = subprocess.run(
            [analyze, "verify", *flags, str(unit)], capture_output=True, text=True, check=False
        )
    return result


def _unit_settings(text: str) -> dict[str, str]:
    return dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")
    )


@pytest.mark.parametrize("config_name", ["config.yaml", "my 100% config.yaml"])
def test_installed_unit_passes_systemd_analyze_verify(tmp_path: Path, config_name: str) -> None:
    config = tmp_path / config_name
    unit = tmp_path / service.UNIT_NAME
    plan = service.plan_for("linux", config, home=tmp_path)
    unit.write_text(plan.text)
    result = _verify(unit)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    settings = _unit_settings(plan.text)
    assert settings["Type"] == "notify"
    assert settings["Restart"] == "on-failure"
    assert settings["RestartPreventExitStatus"] == "78"
    assert int(settings["WatchdogSec"]) >= 10
    assert settings["WantedBy"] == "default.target"
    assert settings["ExecStart"].startswith(f"{sys.executable} -m watcher run --config ")
    assert "StandardOutput" not in settings, "stdout and stderr must stay on the journal"


def test_exec_start_quotes_spaces_and_escapes_specifiers(tmp_path: Path) -> None:
    launch = service.launch_for(
        "linux", Path("/srv/my 100% $HOME/config.yaml"), "/opt/py/bin/python"
    )
    assert service.systemd_exec(launch) == (
        '/opt/py/bin/python -m watcher run --config "/srv/my 100%% $$HOME/config.yaml"'
    )


def test_repository_unit_is_the_rendered_sample_and_verifies(tmp_path: Path) -> None:
    text = (REPO / "systemd" / service.UNIT_NAME).read_text()
    assert text == service.systemd_unit(service.SAMPLE_UNIT_EXEC), (
        "systemd/ is out of date: regenerate it from watcher.service.systemd_unit"
    )
    unit = tmp_path / service.UNIT_NAME
    unit.write_text(text.replace("%h/.local/bin/sessiondock-watcher", sys.executable))
    result = _verify(unit)
    assert result.returncode == 0 and result.stderr == "", result.stderr


# --- launchd ------------------------------------------------------------------------------


def test_launch_agent_plist_has_the_keys_launchd_needs(tmp_path: Path) -> None:
    home = Path("/Users/ann")
    config = home / "Library" / "Application Support" / "sessiondock-watcher" / "config.yaml"
    plan = service.plan_for("macos", config, home=home)
    agent = plistlib.loads(plan.data)
    assert plan.path == home / "Library" / "LaunchAgents" / f"{service.LABEL}.plist"
    assert agent["Label"] == service.LABEL
    assert agent["ProgramArguments"] == [
        sys.executable,
        "-m",
        "watcher",
        "run",
        "--config",
        str(config),
    ]
    assert agent["RunAtLoad"] is True
    assert agent["KeepAlive"] == {"SuccessfulExit": False}
    assert isinstance(agent["ThrottleInterval"], int) and agent["ThrottleInterval"] >= 10
    assert agent["ProcessType"] == "Background"
    logs = home / "Library" / "Logs" / "sessiondock-watcher"
    assert Path(agent["StandardOutPath"]).parent == logs
    assert Path(agent["StandardErrorPath"]).parent == logs
    for value in (*agent["ProgramArguments"][:1], agent["StandardErrorPath"]):
        assert Path(value).is_absolute() and "~" not in value and "$" not in value
    assert agent["EnvironmentVariables"][STDERR_LEVEL_ENV] == "warning"
    assert "NetworkState" not in str(agent["KeepAlive"])


def test_repository_plist_is_the_rendered_sample() -> None:
    path = REPO / "launchd" / f"{service.LABEL}.plist"
    assert path.read_bytes() == service.sample_plist()
    assert plistlib.loads(path.read_bytes())["Label"] == service.LABEL


# --- Task Scheduler -----------------------------------------------------------------------


def test_scheduled_task_xml_starts_at_logon_windowless_and_never_times_out() -> None:
    config = Path("C:/Users/Ann Lee/AppData/Local/sessiondock-watcher/config.yaml")
    launch = service.launch_for("windows", config, "C:\\Python312\\python.exe")
    data = service.task_xml_bytes(service.task_xml(launch, "STUDIO\\ann", "C:\\Users\\Ann Lee"))
    assert data.startswith(b"\xff\xfe"), "UTF-16 with a byte-order mark"
    task = ET.fromstring(data)

    def text(path: str) -> str | None:
        return task.findtext(path, namespaces=NS)

    assert text("t:Triggers/t:LogonTrigger/t:UserId") == "STUDIO\\ann"
    assert text("t:Triggers/t:LogonTrigger/t:Enabled") == "true"
    assert text("t:Principals/t:Principal/t:LogonType") == "InteractiveToken"
    assert text("t:Principals/t:Principal/t:RunLevel") == "LeastPrivilege"
    assert text("t:Settings/t:ExecutionTimeLimit") == "PT0S"
    assert text("t:Settings/t:MultipleInstancesPolicy") == "IgnoreNew"
    assert text("t:Settings/t:DisallowStartIfOnBatteries") == "false"
    assert text("t:Settings/t:StopIfGoingOnBatteries") == "false"
    assert text("t:Settings/t:RestartOnFailure/t:Interval") == "PT1M"
    assert int(text("t:Settings/t:RestartOnFailure/t:Count") or 0) >= 1
    assert text("t:Actions/t:Exec/t:Command") == "C:\\Python312\\pythonw.exe"
    assert text("t:Actions/t:Exec/t:Arguments") == f'-m watcher run --config "{config}"'


@pytest.mark.parametrize(
    ("python", "windowless"),
    [
        ("C:\\Py\\python.exe", "C:\\Py\\pythonw.exe"),
        ("C:\\venv\\Scripts\\python.exe", "C:\\venv\\Scripts\\pythonw.exe"),
        ("C:\\Py\\pythonw.exe", "C:\\Py\\pythonw.exe"),
    ],
)
def test_windows_runs_pythonw(python: str, windowless: str) -> None:
    assert service.launch_for("windows", Path("c.yaml"), python).program == windowless


# --- `service install --print` for each OS, generated here -------------------------------


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("linux", ["Type=notify", "systemctl --user enable --now sessiondock-watcher.service"]),
        ("macos", ["<key>KeepAlive</key>", "launchctl bootstrap gui/"]),
        ("windows", ["<ExecutionTimeLimit>PT0S</ExecutionTimeLimit>", "schtasks /Create"]),
    ],
)
def test_install_print_shows_each_os_and_touches_nothing(
    tmp_path: Path, fake_home: dict[str, str], platform: str, expected: list[str]
) -> None:
    config = _config(tmp_path)
    result = cli(
        "service", "install", "--print", "--platform", platform, "--config", str(config),
        env=clean_env(**fake_home),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for fragment in expected:
        assert fragment in result.stdout
    assert str(config) in result.stdout
    assert _calls(fake_home) == []
    assert list(Path(fake_home["HOME"]).iterdir()) == []


def test_other_platform_only_with_print(tmp_path: Path, fake_home: dict[str, str]) -> None:
    result = cli(
        "service", "install", "--platform", "windows", "--config", str(_config(tmp_path)),
        env=clean_env(**fake_home),
    )  # fmt: skip
    assert result.returncode == 2
    assert "--print" in result.stderr


# --- install, status, uninstall on Linux against fake systemctl ---------------------------


def test_linux_install_status_uninstall(tmp_path: Path, fake_home: dict[str, str]) -> None:
    env = clean_env(**fake_home)
    config = _config(tmp_path)
    unit = Path(fake_home["XDG_CONFIG_HOME"]) / "systemd" / "user" / service.UNIT_NAME

    result = cli("service", "status", "--config", str(config), env=env)
    assert result.returncode == 3 and "not installed" in result.stdout

    result = cli("service", "install", "--config", str(config), env=env)
    assert result.returncode == 0, result.stderr
    text = unit.read_text()
    assert f"ExecStart={sys.executable} -m watcher run --config {config}\n" in text
    assert _calls(fake_home)[-3:] == [
        "systemctl --user daemon-reload",
        "systemctl --user enable --now sessiondock-watcher.service",
        "loginctl show-user " + _user() + " --property=Linger --value",
    ]
    assert "loginctl enable-linger" in result.stdout
    assert "journalctl --user -u sessiondock-watcher" in result.stdout

    result = cli("service", "status", "--config", str(config), env=env)
    assert result.returncode == 0 and "active, enabled" in result.stdout

    result = cli("service", "install", "--config", str(config), env=env)
    assert result.returncode == 0
    assert _calls(fake_home)[-2] == "systemctl --user restart sessiondock-watcher.service", (
        "reinstalling over a running service must restart it"
    )

    result = cli("service", "uninstall", "--config", str(config), env=env)
    assert result.returncode == 0, result.stderr
    assert not unit.exists()
    assert "systemctl --user disable --now sessiondock-watcher.service" in _calls(fake_home)
    assert cli("service", "uninstall", "--config", str(config), env=env).returncode == 0


def _user() -> str:
    import getpass

    return getpass.getuser()


def test_install_refuses_a_config_that_would_not_start(
    tmp_path: Path, fake_home: dict[str, str]
) -> None:
    result = cli(
        "service", "install", "--config", str(tmp_path / "missing.yaml"),
        env=clean_env(**fake_home),
    )  # fmt: skip
    assert result.returncode == 78
    assert "init" in result.stderr and "Traceback" not in result.stderr
    assert _calls(fake_home) == []


def test_systemctl_without_a_user_bus_gives_one_actionable_line(
    tmp_path: Path, fake_home: dict[str, str]
) -> None:
    broken = Path(fake_home["PATH"].split(os.pathsep)[0]) / "systemctl"
    broken.write_text(
        '#!/bin/sh\ncase "$*" in *is-active*) echo inactive; exit 3;; esac\n'
        'echo "Failed to connect to bus: No medium found" >&2; exit 1\n'
    )
    result = cli(
        "service", "install", "--config", str(_config(tmp_path)), env=clean_env(**fake_home)
    )
    assert result.returncode == 1
    assert "machinectl shell" in result.stderr and "Traceback" not in result.stderr


# --- install on macOS and Windows, the OS faked in-process -------------------------------


class Recorder:
    def __init__(self, answers: dict[str, tuple[int, str]] | None = None) -> None:
        self.calls: list[list[str]] = []
        self.answers = answers or {}

    def __call__(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(argv))
        line = " ".join(argv)
        code, out = next((v for k, v in self.answers.items() if line.startswith(k)), (0, ""))
        return subprocess.CompletedProcess(list(argv), code, out, "")


@pytest.fixture
def as_os(monkeypatch: pytest.MonkeyPatch, fake_home: dict[str, str]):
    for key in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(key, fake_home[key])

    def switch(platform: service.Platform) -> Path:
        monkeypatch.setattr(service, "current_platform", lambda: platform)
        return Path(fake_home["HOME"])

    return switch


def test_macos_install_bootstraps_into_the_gui_domain(tmp_path: Path, as_os) -> None:
    home = as_os("macos")
    config = _config(tmp_path)
    runner = Recorder()
    assert service.run("install", config, print_only=False, runner=runner) == 0
    plist = home / "Library" / "LaunchAgents" / f"{service.LABEL}.plist"
    assert plistlib.loads(plist.read_bytes())["ProgramArguments"][-1] == str(config)
    assert (home / "Library" / "Logs" / "sessiondock-watcher").is_dir()
    domain = f"gui/{os.getuid()}"
    assert ["launchctl", "bootstrap", domain, str(plist)] in runner.calls

    runner = Recorder({"launchctl print": (0, "\tstate = running\n\tpid = 4242\n")})
    assert service.run("status", config, print_only=False, runner=runner) == 0

    runner = Recorder()
    assert service.run("uninstall", config, print_only=False, runner=runner) == 0
    assert ["launchctl", "bootout", f"{domain}/{service.LABEL}"] in runner.calls
    assert not plist.exists()


def test_windows_install_registers_the_task_from_utf16_xml(tmp_path: Path, as_os) -> None:
    as_os("windows")
    config = _config(tmp_path)
    runner = Recorder()
    assert service.run("install", config, print_only=False, runner=runner) == 0
    create = next(c for c in runner.calls if c[:2] == ["schtasks", "/Create"])
    xml_path = Path(create[create.index("/XML") + 1])
    task = ET.fromstring(xml_path.read_bytes())
    assert task.findtext("t:Settings/t:ExecutionTimeLimit", namespaces=NS) == "PT0S"
    assert ["schtasks", "/Run", "/TN", service.TASK_NAME] in runner.calls

    running = Recorder({"schtasks /Query": (0, '"\\SessionDock Watcher","N/A","Running"\n')})
    assert service.run("status", config, print_only=False, runner=running) == 0
    stopped = Recorder({"schtasks /Query": (1, "")})
    assert service.run("status", config, print_only=False, runner=stopped) == 3

    runner = Recorder()
    assert service.run("uninstall", config, print_only=False, runner=runner) == 0
    assert ["schtasks", "/Delete", "/TN", service.TASK_NAME, "/F"] in runner.calls
