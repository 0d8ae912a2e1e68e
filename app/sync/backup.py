"""A copy of the desk's database taken before a run applies anything (the last few kept).

SQLite is copied with its online backup API (consistent while the program runs); a PostgreSQL
agency database with ``pg_dump`` in its custom format.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from app.models.database import Database
from app.models.ids import utcnow
from app.private_files import private_dir, private_file
from kernel.errors import EnvironmentProblem

KEEP = 5


def backup_dir(data_dir: Path) -> Path:
    return data_dir / "sauvegardes"


def take_backup(db: Database, data_dir: Path, keep: int = KEEP) -> Path:
    folder = private_dir(backup_dir(data_dir))
    stamp = utcnow().strftime("%Y%m%d-%H%M%S-%f")
    url = make_url(db.url)
    if url.get_backend_name() == "sqlite":
        target = folder / f"guichet-{stamp}.sqlite3"
        with db.engine.connect() as connection:
            source = connection.connection.driver_connection
            assert isinstance(source, sqlite3.Connection)
            copy = sqlite3.connect(target)
            try:
                source.backup(copy)
            finally:
                copy.close()
        pattern = "guichet-*.sqlite3"
    else:
        target = folder / f"guichet-{stamp}.pgdump"
        dump = shutil.which("pg_dump")
        if dump is None:
            raise EnvironmentProblem("Sauvegarde impossible : pg_dump est introuvable sur ce poste.")
        plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
        done = subprocess.run([dump, "--format=custom", f"--file={target}", plain],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise EnvironmentProblem(f"Sauvegarde impossible : {done.stderr.strip()[:300]}")
        pattern = "guichet-*.pgdump"
    private_file(target)
    for old in sorted(folder.glob(pattern))[:-keep]:
        old.unlink(missing_ok=True)
    return target
