"""``python -m app sync install-schedule``: the desk's nightly run in the operating system's
scheduler — a systemd service and timer (Linux) or a Task Scheduler task (Windows, XML).

The scheduled command is this very interpreter with this data folder (``python -m app
--data-dir DIR sync``), so the task runs with the desk's settings whoever it runs as. With
``--output DIR`` the files are only written (to review, or to install by hand as in
``docs/sync-scheduling.md``); without it they are installed and enabled.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from xml.sax.saxutils import escape

from app.settings import Settings
from kernel.errors import BusinessError, EnvironmentProblem

SERVICE = "guichet-sync.service"
TIMER = "guichet-sync.timer"
TASK_NAME = "Guichet\\Synchronisation de nuit"
TASK_FILE = "guichet-sync.xml"
#: A run longer than this is stopped (SIGTERM: it ends after its current step, exit 130).
TIME_LIMIT_HOURS = 3


def _at(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"« {text} » (attendu HH:MM)") from error


def add_parser(sync_commands: argparse._SubParsersAction) -> None:
    """The ``install-schedule`` subcommand of ``python -m app sync``."""
    install = sync_commands.add_parser(
        "install-schedule",
        help="planifier la synchronisation de nuit (timer systemd ou tâche Windows)")
    install.add_argument("--at", type=_at, default=time(2, 0),
                         help="heure locale du lancement (défaut 02:00)")
    install.add_argument("--format", choices=("systemd", "windows"),
                         default="windows" if sys.platform == "win32" else "systemd",
                         help="planificateur (défaut : celui de ce système)")
    install.add_argument("--output", type=Path,
                         help="seulement écrire les fichiers dans ce dossier (sans les installer)")
    install.add_argument("--system", action="store_true",
                         help="systemd : unités du système (/etc/systemd/system, root) au lieu "
                              "de celles de l'utilisateur")
    install.add_argument("--user", dest="run_as",
                         help="compte qui exécute la synchronisation (systemd --system, Windows)")


@dataclass(frozen=True)
class Schedule:
    python: str
    data_dir: Path
    at: time
    timezone: str
    run_as: str | None = None

    @property
    def arguments(self) -> list[str]:
        return ["-m", "app", "--data-dir", str(self.data_dir), "sync"]


def _quoted(value: str) -> str:
    """A systemd command-line word (quoted when it has spaces)."""
    if any(c.isspace() for c in value) or '"' in value:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def systemd_units(schedule: Schedule, *, system: bool = False) -> dict[str, str]:
    """The service and timer files, by name."""
    command = " ".join(_quoted(word) for word in [schedule.python, *schedule.arguments])
    user_line = f"User={schedule.run_as}\n" if system and schedule.run_as else ""
    service = f"""[Unit]
Description=Guichet : synchronisation de nuit avec le site central
Wants=network-online.target
After=network-online.target
StartLimitIntervalSec={TIME_LIMIT_HOURS}h
StartLimitBurst=4

[Service]
Type=oneshot
{user_line}WorkingDirectory={schedule.data_dir}
Environment=GUICHET_DATA_DIR={schedule.data_dir}
ExecStart={command}
# 3 = done, with decisions waiting for a supervisor: not a failure of the service
SuccessExitStatus=3
# a failed run (1) is retried 15 minutes later; configuration (2), full disk (4), damaged
# database (5), data to settle by hand (6) and interruption (130) are not
Restart=on-failure
RestartSec=15min
RestartPreventExitStatus=2 4 5 6 130
# a run longer than {TIME_LIMIT_HOURS} hours is stopped: SIGTERM, it ends after its current step
TimeoutStartSec={TIME_LIMIT_HOURS}h
KillSignal=SIGTERM
TimeoutStopSec=2min
"""
    timer = f"""[Unit]
Description=Guichet : synchronisation chaque nuit à {schedule.at:%H:%M}

[Timer]
OnCalendar=*-*-* {schedule.at:%H:%M}:00 {schedule.timezone}
# the machine was off at that time: run at boot instead
Persistent=true
RandomizedDelaySec=10min
Unit={SERVICE}

[Install]
WantedBy=timers.target
"""
    return {SERVICE: service, TIMER: timer}


def task_scheduler_xml(schedule: Schedule) -> str:
    """The Task Scheduler task (import with ``schtasks /Create /XML``); written as UTF-16."""
    arguments = " ".join(f'"{a}"' if " " in a else a for a in schedule.arguments)
    principal = (f"      <UserId>{escape(schedule.run_as)}</UserId>\n"
                 if schedule.run_as else "")
    return f"""<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.4" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>Guichet : synchronisation de nuit avec le site central</Description>
    <URI>\\{escape(TASK_NAME)}</URI>
  </RegistrationInfo>
  <Triggers>
    <CalendarTrigger>
      <StartBoundary>2026-01-01T{schedule.at:%H:%M}:00</StartBoundary>
      <RandomDelay>PT10M</RandomDelay>
      <ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay>
    </CalendarTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
{principal}      <LogonType>S4U</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <StartWhenAvailable>true</StartWhenAvailable>
    <WakeToRun>true</WakeToRun>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>
    <IdleSettings><StopOnIdleEnd>false</StopOnIdleEnd></IdleSettings>
    <ExecutionTimeLimit>PT{TIME_LIMIT_HOURS}H</ExecutionTimeLimit>
    <RestartOnFailure>
      <Interval>PT15M</Interval>
      <Count>3</Count>
    </RestartOnFailure>
    <Enabled>true</Enabled>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>{escape(schedule.python)}</Command>
      <Arguments>{escape(arguments)}</Arguments>
      <WorkingDirectory>{escape(str(schedule.data_dir))}</WorkingDirectory>
    </Exec>
  </Actions>
</Task>
"""


def _systemd_dir(system: bool) -> Path:
    if system:
        return Path("/etc/systemd/system")
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "systemd" / "user"


def _run(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        raise EnvironmentProblem(f"Commande introuvable : {command[0]} (planificateur absent ?).")
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        problem = (done.stderr or done.stdout).strip().splitlines()
        raise BusinessError(f"{' '.join(command)} a échoué (code {done.returncode}) : "
                            f"{problem[-1] if problem else 'sans message'}")


def install_schedule(settings: Settings, args: argparse.Namespace) -> int:
    schedule = Schedule(sys.executable, settings.data_dir.resolve(), args.at, settings.timezone,
                        args.run_as)
    if args.format == "systemd":
        units = systemd_units(schedule, system=args.system)
        target = args.output or _systemd_dir(args.system)
        target.mkdir(parents=True, exist_ok=True)
        for name, text in units.items():
            (target / name).write_text(text, encoding="utf-8")
        print(f"Unités écrites dans {target} : {', '.join(units)}")
        scope = [] if args.system else ["--user"]
        if args.output is not None:
            print("Pour les installer : copiez-les dans "
                  f"{_systemd_dir(args.system)}, puis systemctl {' '.join(scope)} daemon-reload "
                  f"&& systemctl {' '.join(scope)} enable --now {TIMER}".replace("  ", " "))
            return 0
        _run(["systemctl", *scope, "daemon-reload"])
        _run(["systemctl", *scope, "enable", "--now", TIMER])
        print(f"Synchronisation planifiée chaque nuit à {args.at:%H:%M} "
              f"(systemctl {' '.join([*scope, 'list-timers', TIMER])}).".replace("  ", " "))
        if not args.system:
            print("Pour qu'elle tourne sans session ouverte : loginctl enable-linger "
                  f"{os.environ.get('USER', '<compte>')}")
        return 0
    xml = task_scheduler_xml(schedule)
    target = args.output or settings.data_dir
    target.mkdir(parents=True, exist_ok=True)
    path = target / TASK_FILE
    path.write_text(xml, encoding="utf-16")
    print(f"Tâche écrite dans {path}")
    command = ["schtasks", "/Create", "/TN", TASK_NAME, "/XML", str(path), "/F"]
    if args.output is not None:
        print("Pour l'installer (invite de commandes administrateur) : "
              + " ".join(f'"{c}"' if " " in c else c for c in command))
        return 0
    _run(command)
    print(f"Synchronisation planifiée chaque nuit à {args.at:%H:%M} (tâche « {TASK_NAME} »).")
    return 0
