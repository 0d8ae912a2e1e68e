"""Typed errors. A business error carries the French message shown to the agent as is."""

from __future__ import annotations

import sys

#: A row saved by someone else since the agent opened it.
STALE_MESSAGE = (
    "Cette fiche a été modifiée par un autre poste depuis son ouverture. "
    "Rechargez-la pour voir la version enregistrée, puis refaites votre modification."
)


class GuichetError(Exception):
    """Base of every error the program expects; anything else is a bug."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BusinessError(GuichetError):
    """The agent can fix it: the message says what is wrong and what to do."""


class ValidationError(BusinessError):
    """Input refused; ``fields`` maps each wrong field to its own message, shown beside it."""

    def __init__(self, fields: dict[str, str], message: str = "") -> None:
        super().__init__(message or "\n".join(fields.values()))
        self.fields = fields


class NotFoundError(BusinessError):
    pass


class ConcurrentEditError(BusinessError):
    """Someone saved the same record since it was opened: reload before saving again."""


class PermissionDeniedError(BusinessError):
    pass


class SignInError(BusinessError):
    pass


class SignInLockedError(SignInError):
    """Too many failures in a row: only a supervisor can unlock the user name."""


class SignInThrottledError(SignInError):
    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class EnvironmentProblem(GuichetError):
    """Not the agent's fault and possibly temporary (server unreachable, database locked)."""


class InstallationError(GuichetError):
    """The configuration and the database disagree (wrong currency, unknown agency)."""


class ConfigurationError(GuichetError):
    """The configuration points at something that cannot work (database unreachable or not
    created, a folder that cannot be written): fixing the settings is the only way out. The
    command line answers it with exit code 2."""


# --- database errors by cause ---------------------------------------------------------------
# Only what the environment did (a lock held elsewhere, a full or failing disk, a server or a
# network that went away) is an EnvironmentProblem; any other database error ("no such column",
# a syntax error, a constraint the code should have checked) is a bug and must reach the crash
# dialog. The cause is read from SQLite's error code or PostgreSQL's SQLSTATE, never from the
# exception's type alone (SQLite reports "no such column" as an OperationalError too).

_BUSY = ("La base de données est occupée par une autre opération. Réessayez dans un instant : "
         "rien n'a été enregistré.")
_FULL = ("Le disque de la base de données est plein : rien n'a été enregistré. Libérez de la "
         "place (ou prévenez l'informatique), puis réessayez.")
_IO = ("La base de données n'a pas pu lire ou écrire sur son disque. Réessayez ; si cela se "
       "reproduit, prévenez l'informatique.")
_UNREACHABLE = ("Le serveur de base de données ne répond pas. Vérifiez le réseau, puis réessayez "
                "dans un instant ; l'opération en cours n'a peut-être pas été enregistrée.")

#: SQLite's primary result codes (extended codes keep them in their low byte).
_SQLITE_CODES = {
    5: _BUSY,          # SQLITE_BUSY: another connection holds the write lock
    6: _BUSY,          # SQLITE_LOCKED: a table locked by this process's other connection
    10: _IO,           # SQLITE_IOERR (and SQLITE_IOERR_*)
    13: _FULL,         # SQLITE_FULL: "database or disk is full"
    14: _UNREACHABLE,  # SQLITE_CANTOPEN: the file or its folder went away (network share)
    15: _BUSY,         # SQLITE_PROTOCOL: the locking protocol failed under contention
}
#: The same words, for a driver error that carries no code.
_SQLITE_WORDS = (
    ("database is locked", _BUSY), ("database table is locked", _BUSY),
    ("disk i/o error", _IO), ("database or disk is full", _FULL),
    ("unable to open database file", _UNREACHABLE),
)

#: PostgreSQL's SQLSTATEs, by exact code first, then by class (the first two characters).
_PG_STATES = {
    "40001": _BUSY,         # serialization_failure
    "40P01": _BUSY,         # deadlock_detected
    "55P03": _BUSY,         # lock_not_available (lock_timeout)
    "57014": _BUSY,         # query_canceled (statement_timeout)
    "53100": _FULL,         # disk_full
    "57P01": _UNREACHABLE,  # admin_shutdown
    "57P02": _UNREACHABLE,  # crash_shutdown
    "57P03": _UNREACHABLE,  # cannot_connect_now (starting up, recovering)
}
_PG_CLASSES = {
    "08": _UNREACHABLE,  # connection_exception
    "53": _UNREACHABLE,  # insufficient_resources: out of memory, too many connections
    "58": _IO,           # system_error: io_error, undefined_file
}


def environment_problem(error: BaseException) -> EnvironmentProblem | None:
    """The EnvironmentProblem a database error stands for, or None when it is a bug.

    ``error`` is SQLAlchemy's wrapper (its ``orig`` is the driver's error) or a bare driver
    error (SQLite's backup API raises those)."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(error, EnvironmentProblem):
        return error
    driver = getattr(error, "orig", None) or error
    message = _sqlite_cause(driver) or _postgresql_cause(driver)
    if message is None and isinstance(error, DBAPIError) and error.connection_invalidated:
        message = _UNREACHABLE  # SQLAlchemy's dialect recognised a lost connection
    if message is None and _psycopg_connection_failed(driver):
        message = _UNREACHABLE
    if message is None:
        return None
    problem = EnvironmentProblem(message)
    problem.__cause__ = error
    return problem


def _psycopg_connection_failed(driver: BaseException) -> bool:
    """psycopg's OperationalError without a SQLSTATE: the client's own connection failed
    (refused, timed out, closed under it) and no server said why."""
    psycopg = sys.modules.get("psycopg")  # never loaded on a desk that does not use it
    return (psycopg is not None and isinstance(driver, psycopg.OperationalError)
            and driver.sqlstate is None)


def _sqlite_cause(driver: BaseException) -> str | None:
    code = getattr(driver, "sqlite_errorcode", None)
    if isinstance(code, int):
        return _SQLITE_CODES.get(code & 0xFF)
    if type(driver).__module__ != "sqlite3":
        return None
    said = str(driver).lower()
    return next((message for words, message in _SQLITE_WORDS if words in said), None)


def _postgresql_cause(driver: BaseException) -> str | None:
    state = getattr(driver, "sqlstate", None)
    if not isinstance(state, str) or len(state) != 5:
        return None
    return _PG_STATES.get(state) or _PG_CLASSES.get(state[:2])
