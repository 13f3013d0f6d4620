"""Task Scheduler (Windows): a logon task in the user's session, restarted if it exits."""

from __future__ import annotations

import csv
import getpass
import io
import os
import xml.etree.ElementTree as ET

from watcher.service.common import TASK_NAME, Launch, Runner, ServiceState

TASK_NS = "http://schemas.microsoft.com/windows/2004/02/mit/task"


def windows_user() -> str:
    domain = os.environ.get("USERDOMAIN", "")
    user = getpass.getuser()
    return f"{domain}\\{user}" if domain else user


def _windows_quote(arg: str) -> str:
    return f'"{arg}"' if any(c in arg for c in ' \t"') else arg


def task_xml(launch: Launch, user: str, working_directory: str) -> str:
    """The scheduled task as XML text (`task_xml_bytes` encodes it for schtasks).

    A logon trigger for this user only, running in the user's session with the user's
    rights (mapped drives and profile folders visible), no time limit (the default
    kills a task after 72 hours), one instance, and batteries ignored. The trigger
    repeats every 5 minutes: with IgnoreNew that starts nothing while the daemon runs,
    and restarts it within 5 minutes if it ever exits, since RestartOnFailure alone
    does not count a non-zero exit code as a failure.
    """
    ET.register_namespace("", TASK_NS)

    def el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        node = ET.SubElement(parent, f"{{{TASK_NS}}}{tag}", attrs)
        if text is not None:
            node.text = text
        return node

    task = ET.Element(f"{{{TASK_NS}}}Task", {"version": "1.2"})
    info = el(task, "RegistrationInfo")
    el(info, "Description", "Imports new and changed DAW projects into SessionDock.")
    el(info, "URI", f"\\{TASK_NAME}")
    trigger = el(el(task, "Triggers"), "LogonTrigger")
    repetition = el(trigger, "Repetition")
    el(repetition, "Interval", "PT5M")
    el(repetition, "StopAtDurationEnd", "false")
    el(trigger, "Enabled", "true")
    el(trigger, "UserId", user)
    principal = el(el(task, "Principals"), "Principal", id="Author")
    el(principal, "UserId", user)
    el(principal, "LogonType", "InteractiveToken")
    el(principal, "RunLevel", "LeastPrivilege")
    settings = el(task, "Settings")
    for tag, value in (
        ("MultipleInstancesPolicy", "IgnoreNew"),
        ("DisallowStartIfOnBatteries", "false"),
        ("StopIfGoingOnBatteries", "false"),
        ("AllowHardTerminate", "true"),
        ("StartWhenAvailable", "true"),
        ("RunOnlyIfNetworkAvailable", "false"),
    ):
        el(settings, tag, value)
    idle = el(settings, "IdleSettings")
    el(idle, "StopOnIdleEnd", "false")
    el(idle, "RestartOnIdle", "false")
    for tag, value in (
        ("AllowStartOnDemand", "true"),
        ("Enabled", "true"),
        ("Hidden", "false"),
        ("RunOnlyIfIdle", "false"),
        ("WakeToRun", "false"),
        ("ExecutionTimeLimit", "PT0S"),
        ("Priority", "7"),
    ):
        el(settings, tag, value)
    restart = el(settings, "RestartOnFailure")
    el(restart, "Interval", "PT1M")
    el(restart, "Count", "10")
    action = el(el(task, "Actions", Context="Author"), "Exec")
    el(action, "Command", launch.program)
    el(action, "Arguments", " ".join(_windows_quote(a) for a in launch.arguments))
    el(action, "WorkingDirectory", working_directory)
    ET.indent(task)
    return '<?xml version="1.0" encoding="UTF-16"?>\n' + ET.tostring(task, encoding="unicode")


def task_xml_bytes(text: str) -> bytes:
    """UTF-16 with a byte-order mark, as schtasks /Create /XML expects."""
    return text.encode("utf-16")


def state(runner: Runner) -> ServiceState:
    answer = runner(["schtasks", "/Query", "/TN", TASK_NAME, "/FO", "CSV", "/NH"])
    if answer.returncode != 0:
        return ServiceState(False, False, f"not installed (no task '{TASK_NAME}')")
    rows = [r for r in csv.reader(io.StringIO(answer.stdout)) if r]
    status = rows[0][-1] if rows else "unknown"
    return ServiceState(True, status.lower() == "running", f"{status} (task '{TASK_NAME}')")
