from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QProgressDialog, QPushButton
from pytestqt.qtbot import QtBot

from app.logs import configure_logging
from app.views.errors import install_excepthook, show_error
from app.views.tasks import Progress, TaskRunner
from kernel.errors import BusinessError, EnvironmentProblem
from tests.views.conftest import Answers


def test_results_come_back_on_the_gui_thread(qtbot: QtBot) -> None:
    runner = TaskRunner()
    seen: list[tuple[object, bool]] = []
    gui = threading.current_thread()

    def work() -> str:
        assert threading.current_thread() is not gui
        return "fait"

    runner.read(work, on_success=lambda r: seen.append((r, threading.current_thread() is gui)))
    qtbot.waitUntil(lambda: bool(seen))
    assert seen == [("fait", True)]
    runner.shutdown()


def test_failures_reach_the_agent_as_french_messages(qtbot: QtBot, answers: Answers) -> None:
    runner = TaskRunner()

    def refuse() -> None:
        raise BusinessError("Le compte 10126 est clos.")

    runner.read(refuse)
    qtbot.waitUntil(lambda: bool(answers.shown))
    assert answers.shown == [("warn", "Opération impossible", "Le compte 10126 est clos.")]
    show_error(None, EnvironmentProblem("Serveur central injoignable."))
    assert answers.shown[-1] == ("warn", "Service momentanément indisponible", "Serveur central injoignable.")
    runner.shutdown()


def test_slow_work_shows_a_progress_dialog_that_can_cancel(qtbot: QtBot) -> None:
    runner = TaskRunner()
    finished: list[str] = []

    def slow(progress: Progress) -> str:
        for step in range(100):
            if progress.cancelled:
                return "annulé"
            progress(step, 100)
            time.sleep(0.02)
        return "fini"

    runner.read(slow, on_success=finished.append, label="Calcul…", cancellable=True)
    qtbot.waitUntil(
        lambda: any(isinstance(w, QProgressDialog) and w.isVisible() for w in QApplication.topLevelWidgets()),
        timeout=3000,
    )
    dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QProgressDialog) and w.isVisible())
    assert dialog.labelText() == "Calcul…"
    cancel = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Annuler")
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(finished))
    assert finished == ["annulé"]
    runner.shutdown()


@pytest.mark.crash_expected
def test_unexpected_errors_are_logged_with_their_traceback(tmp_path: Path, answers: Answers) -> None:
    log_file = tmp_path / "logs" / "guichet.log"
    configure_logging(log_file, to_stderr=False)
    previous = sys.excepthook
    install_excepthook(log_file)
    try:
        try:
            raise ZeroDivisionError("division par zéro dans un calcul")
        except ZeroDivisionError as error:
            sys.excepthook(type(error), error, error.__traceback__)
    finally:
        sys.excepthook = previous
    assert answers.shown[0][1] == "Erreur inattendue"
    assert str(log_file) in answers.shown[0][2] and "Traceback" not in answers.shown[0][2]
    logged = log_file.read_text(encoding="utf-8")
    assert "Traceback" in logged and "ZeroDivisionError: division par zéro" in logged
