"""How errors reach the agent.

* a business error: its French message, as is;
* an environment problem (server unreachable, database locked, disk full — a database error is
  one only by its cause, see ``environment_problem``): the message, try again later;
* anything else is a bug: a crash dialog that says where the log is; the traceback goes to the
  log file, never on screen.

Every error shown is also logged: a business error with its message (INFO), an environment or
configuration problem with its traceback (WARNING), a bug with its traceback (ERROR), so that a
"database locked" at an agency leaves a trace.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtWidgets import QApplication, QWidget

from app.views import messages
from kernel.errors import BusinessError, EnvironmentProblem, GuichetError, environment_problem

log = logging.getLogger(__name__)

_log_file: Path | None = None


def show_error(parent: QWidget | None, error: BaseException) -> None:
    if not isinstance(error, GuichetError):
        error = environment_problem(error) or error  # a lost connection while reading, say
    if isinstance(error, BusinessError):
        log.info("refused: %s", error.message)
        messages.warn(parent, "Opération impossible", error.message)
    elif isinstance(error, EnvironmentProblem):
        log.warning("environment problem: %s", error.message, exc_info=_cause(error))
        messages.warn(parent, "Service momentanément indisponible", error.message)
    elif isinstance(error, GuichetError):
        log.warning("configuration problem: %s", error.message, exc_info=_cause(error))
        messages.warn(parent, "Configuration à corriger", error.message)
    else:
        report_crash(type(error), error, error.__traceback__, parent)


def _cause(error: BaseException) -> BaseException:
    """The error whose traceback says what happened: the driver's when the problem was read
    from a database error made elsewhere (its own traceback is then empty)."""
    if error.__traceback__ is None and error.__cause__ is not None:
        return error.__cause__
    return error


def report_crash(
    exc_type: type[BaseException],
    error: BaseException,
    tb: TracebackType | None,
    parent: QWidget | None = None,
) -> None:
    log.error("unexpected error", exc_info=(exc_type, error, tb))
    where = f"\n\nLe détail a été enregistré dans le journal :\n{_log_file}" if _log_file else ""
    details = "".join(traceback.format_exception(exc_type, error, tb))
    messages.warn(
        parent or QApplication.activeWindow(),
        "Erreur inattendue",
        "Une erreur inattendue s'est produite. L'opération en cours n'a pas été enregistrée."
        f"{where}\n\nSi le problème se reproduit, signalez-le au support informatique.",
        details=details,
    )


def install_excepthook(log_file: Path) -> None:
    """Unhandled exceptions in slots become the crash dialog instead of killing the program."""
    global _log_file
    _log_file = log_file

    def hook(exc_type: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, error, tb)
            return
        report_crash(exc_type, error, tb)

    sys.excepthook = hook
