"""What the desk writes is the user's only (POSIX): the data folder 0700, the database, its
-wal/-shm, logs, backups and bundles 0600, also files an earlier version left readable."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from app.logs import configure_logging
from app.services.installation import open_database
from app.settings import Settings
from app.sync.backup import take_backup

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_folder_its_database_logs_and_backups_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    old = data / "ancien.log"
    old.write_text("x")
    os.chmod(old, 0o644)
    settings = Settings(data_dir=data, central_url="off", demo_customers=0)
    db = open_database(settings)
    try:
        backup = take_backup(db, data)
        configure_logging(data / "logs" / "guichet.log", "INFO", to_stderr=False)
        logging.getLogger("test").warning("écrit")
    finally:
        db.dispose()
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "_guichet", False):
                logging.getLogger().removeHandler(handler)
                handler.close()
    assert _mode(data) == 0o700
    assert _mode(data / "guichet.sqlite3") == 0o600
    assert _mode(old) == 0o600, "tightened at start"
    assert _mode(backup) == 0o600 and _mode(backup.parent) == 0o700
    assert _mode(data / "logs" / "guichet.log") == 0o600 and _mode(data / "logs") == 0o700


def test_the_program_runs_with_a_private_umask(tmp_path: Path) -> None:
    """``python -m app`` sets the umask first: SQLite's -wal and -shm files, bootstrap files,
    anything created later is private from its first byte."""
    script = ("import os, app.cli as c, sys; c.main(['--data-dir', sys.argv[1], '--central-url', "
              "'off', 'db', 'current']); print(oct(os.umask(0)))")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "d")],
                          capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip().splitlines()[-1] == "0o77"
    for created in (tmp_path / "d").rglob("*"):
        assert _mode(created) & 0o077 == 0, created
