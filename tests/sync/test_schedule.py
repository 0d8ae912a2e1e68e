"""``python -m app sync install-schedule`` (issue 15): the systemd service and timer and the Task
Scheduler XML it writes, and the install itself (systemctl called with the units in place)."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main

ROOT = Path(__file__).resolve().parents[2]
TASK = "{http://schemas.microsoft.com/windows/2004/02/mit/task}"


@pytest.fixture(autouse=True)
def _close_log_files() -> Iterator[None]:
    """``main`` opens the desk's log file: closed after each test."""
    root = logging.getLogger()
    before = list(root.handlers)
    yield
    for handler in [h for h in root.handlers if h not in before]:
        root.removeHandler(handler)
        handler.close()


def _unit(text: str) -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def test_systemd_units_run_this_desk_every_night(tmp_path: Path) -> None:
    data = tmp_path / "données agence"
    out = tmp_path / "units"
    assert main(["--data-dir", str(data), "--timezone", "Africa/Dakar", "sync",
                 "install-schedule", "--format", "systemd", "--at", "02:30",
                 "--output", str(out)]) == 0
    service = _unit((out / "guichet-sync.service").read_text(encoding="utf-8"))
    timer = _unit((out / "guichet-sync.timer").read_text(encoding="utf-8"))
    run = service["Service"]
    assert run["ExecStart"] == [f'{sys.executable} -m app --data-dir "{data.resolve()}" sync']
    assert run["Type"] == ["oneshot"] and run["SuccessExitStatus"] == ["3"]
    assert run["Restart"] == ["on-failure"] and run["RestartPreventExitStatus"] == ["2 4 5 6 130"]
    assert run["TimeoutStartSec"] == ["3h"] and run["KillSignal"] == ["SIGTERM"]
    assert service["Unit"]["After"] == ["network-online.target"]
    assert timer["Timer"]["OnCalendar"] == ["*-*-* 02:30:00 Africa/Dakar"]
    assert timer["Timer"]["Persistent"] == ["true"]
    assert timer["Timer"]["Unit"] == ["guichet-sync.service"]
    assert timer["Install"]["WantedBy"] == ["timers.target"]


def test_task_scheduler_xml(tmp_path: Path) -> None:
    data = tmp_path / "D"
    assert main(["--data-dir", str(data), "sync", "install-schedule", "--format", "windows",
                 "--at", "01:45", "--user", "AGENCE\\guichet", "--output", str(tmp_path)]) == 0
    raw = (tmp_path / "guichet-sync.xml").read_bytes()
    assert raw.startswith(b"\xff\xfe"), "UTF-16 with its byte order mark, as schtasks reads it"
    task = ET.fromstring(raw.decode("utf-16").split("?>", 1)[1])
    trigger = task.find(f"{TASK}Triggers/{TASK}CalendarTrigger")
    assert trigger is not None
    assert trigger.findtext(f"{TASK}StartBoundary") == "2026-01-01T01:45:00"
    assert trigger.findtext(f"{TASK}ScheduleByDay/{TASK}DaysInterval") == "1"
    settings = task.find(f"{TASK}Settings")
    assert settings is not None
    assert settings.findtext(f"{TASK}MultipleInstancesPolicy") == "IgnoreNew"
    assert settings.findtext(f"{TASK}StartWhenAvailable") == "true"
    assert settings.findtext(f"{TASK}ExecutionTimeLimit") == "PT3H"
    assert task.findtext(f"{TASK}Principals/{TASK}Principal/{TASK}UserId") == "AGENCE\\guichet"
    action = task.find(f"{TASK}Actions/{TASK}Exec")
    assert action is not None
    assert action.findtext(f"{TASK}Command") == sys.executable
    assert action.findtext(f"{TASK}Arguments") == f"-m app --data-dir {data.resolve()} sync"


def test_install_writes_the_user_units_and_enables_the_timer(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.txt"
    fake = bin_dir / "systemctl"
    fake.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\n', encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env = {k: v for k, v in env.items() if not k.startswith("GUICHET_")}
    done = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(tmp_path / "d"), "sync",
                           "install-schedule", "--format", "systemd"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    units = tmp_path / "config" / "systemd" / "user"
    assert sorted(p.name for p in units.iterdir()) == ["guichet-sync.service",
                                                        "guichet-sync.timer"]
    assert calls.read_text().splitlines() == ["--user daemon-reload",
                                              "--user enable --now guichet-sync.timer"]
    assert "loginctl enable-linger" in done.stdout
