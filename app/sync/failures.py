"""What a run that could not go on says, in one French line, and whether trying again helps.

The scheduler reads the exit code (docs/sync-scheduling.md): 1 the next run resumes (network,
central, a central restored from a backup that this desk is catching up with), 4 the disk is
full (free space first), 5 the desk's database is damaged (rebuild it from central), 6 the
desk's data contradicts central's and the desk cannot settle it by itself (tell IT). Anything
else stays an unexpected error (1, traceback in the log).
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError as SQLDatabaseError
from sqlalchemy.exc import IntegrityError as SQLIntegrityError
from sqlalchemy.exc import OperationalError as SQLOperationalError

#: SQLAlchemy's wrappers and the driver's own errors (SQLite's backup API raises those bare).
DatabaseError = (SQLDatabaseError, sqlite3.DatabaseError)
IntegrityError = (SQLIntegrityError, sqlite3.IntegrityError)
OperationalError = (SQLOperationalError, sqlite3.OperationalError)

RETRY, DISK_FULL, DAMAGED, INCONSISTENT = 1, 4, 5, 6

#: SQLite's and PostgreSQL's words for a full disk (SQLITE_FULL; SQLSTATE 53100 disk_full,
#: "could not extend file", "No space left on device").
_FULL = ("database or disk is full", "disk is full", "no space left on device",
         "could not extend file", "could not write", "disk full")
_ALMOST_NOTHING = 4 << 20
#: A file that is not (any more) a database, or whose pages were overwritten (SQLITE_NOTADB,
#: SQLITE_CORRUPT; PostgreSQL's data_corrupted and index_corrupted).
_DAMAGED = ("file is not a database", "database disk image is malformed", "malformed",
            "invalid page", "could not read block", "data corrupted", "index corrupted")


@dataclass(frozen=True)
class Failure:
    """The one line to show and the exit code that tells the scheduler what to do."""

    message: str
    code: int


def _text(error: BaseException) -> str:
    """The first line of what the database or the system said."""
    original = getattr(error, "orig", None)
    said = str(original if original is not None else error).strip()
    return said.splitlines()[0] if said else type(error).__name__


def _sqlstate(error: BaseException) -> str:
    original = getattr(error, "orig", None)
    return str(getattr(original, "sqlstate", "") or "")


def rebuild_instruction(database_url: str, join: str) -> str:
    """What to type to rebuild this desk's database from central (``join``: the join command
    of this desk, with its agency and central)."""
    parsed = make_url(database_url)
    if parsed.get_backend_name() == "sqlite":
        aside = f"mettez le fichier {parsed.database or ''} de côté (renommez-le)"
    else:
        aside = (f"renommez la base {parsed.database} (ALTER DATABASE … RENAME TO …) et "
                 "recréez-la vide (createdb)")
    return f"{aside} puis lancez « {join} » : le poste est reconstruit depuis le central"


def join_command(agency_code: str, central_url: str) -> str:
    return f"python -m app --agency {agency_code} join {central_url or '<adresse du central>'}"


def _nearly_full(database_url: str) -> bool:
    """Whether the disk of a SQLite database has (almost) no room left: SQLite then says
    "disk I/O error" when it cannot even create its write-ahead log."""
    parsed = make_url(database_url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return False
    try:
        return shutil.disk_usage(Path(parsed.database).parent).free < _ALMOST_NOTHING
    except OSError:
        return False


def classify(error: BaseException, database_url: str, *, restored: bool = False,
             join: str = "") -> Failure | None:
    """The failure a run ends with, or None for an unexpected error (a bug)."""
    detail = _text(error)
    lowered = detail.lower()
    state = _sqlstate(error)
    if (isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)) or (
            isinstance(error, DatabaseError) and (state.startswith("53")
                                                  or any(w in lowered for w in _FULL))) or (
            isinstance(error, OperationalError) and "i/o error" in lowered
            and _nearly_full(database_url)):
        return Failure("Synchronisation en échec : disque plein sur le poste "
                       f"({detail}). Libérez de la place sur le disque de la base et du "
                       "dossier de données, puis relancez : rien n'a été perdu.", DISK_FULL)
    if isinstance(error, DatabaseError) and not isinstance(error, IntegrityError) and (
            state in ("XX001", "XX002") or any(w in lowered for w in _DAMAGED)):
        return Failure("Synchronisation impossible : la base de l'agence est endommagée "
                       f"({detail}). Reconstruisez-la : "
                       f"{rebuild_instruction(database_url, join or join_command('…', ''))}.",
                       DAMAGED)
    if isinstance(error, IntegrityError):
        if restored:
            return Failure("Synchronisation en échec : le serveur central a été restauré "
                           "depuis une sauvegarde et le poste se remet à niveau ; la "
                           "prochaine synchronisation le termine seule.", RETRY)
        return Failure("Synchronisation en échec : une ligne du central contredit la base "
                       f"du poste ({detail}). Réessayer n'y changera rien : prévenez "
                       "l'informatique (détails dans le journal).", INCONSISTENT)
    if isinstance(error, OperationalError) and "locked" in lowered:
        return Failure("Synchronisation en échec : la base de l'agence est occupée par un "
                       "autre programme ; la prochaine tentative reprendra.", RETRY)
    return None
