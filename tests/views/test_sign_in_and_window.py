"""Signing in and the main window, driven as an agent would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from app.settings import Settings
from app.views.application import Startup
from app.views.home_page import HomePage
from app.views.main_window import MainWindow
from app.views.sign_in import SignInDialog
from tests.views.conftest import Answers, type_text, wait_idle


@pytest.fixture
def startup(qtbot: QtBot, gui_settings: Settings) -> Iterator[Startup]:
    started = Startup(gui_settings)
    started.start()
    qtbot.waitUntil(lambda: started.dialog is not None and started.dialog.isVisible(), timeout=60000)
    yield started
    if started.window is not None:
        started.window.close()
    if started.dialog is not None:
        started.dialog.close()
    started.shutdown()


def type_credentials(qtbot: QtBot, dialog: SignInDialog, username: str, password: str) -> None:
    dialog.username.clear()
    dialog.password.clear()
    qtbot.keyClicks(dialog.username, username)
    qtbot.keyClick(dialog.username, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is dialog.password or not dialog.isActiveWindow()
    qtbot.keyClicks(dialog.password, password)
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)


def sign_in(qtbot: QtBot, startup: Startup, username: str, password: str) -> MainWindow:
    assert startup.dialog is not None
    with qtbot.waitSignal(startup.window_shown, timeout=20000) as shown:
        type_credentials(qtbot, startup.dialog, username, password)
    window = shown.args[0]
    assert isinstance(window, MainWindow)
    return window


def test_wrong_password_shows_a_message_and_keeps_the_dialog(qtbot: QtBot, startup: Startup) -> None:
    dialog = startup.dialog
    assert dialog is not None
    type_credentials(qtbot, dialog, "agent", "pas-le-bon")
    qtbot.waitUntil(lambda: dialog.message.text() == "Identifiant ou mot de passe incorrect.")
    assert dialog.isVisible() and startup.window is None
    assert dialog.password.text() == "", "the wrong password is cleared"


def test_sign_in_opens_the_main_window_with_status(qtbot: QtBot, startup: Startup, answers: Answers) -> None:
    window = sign_in(qtbot, startup, "superviseur", "Guichet-Sup-2026")
    wait_idle(qtbot)
    status = {label.objectName(): label.text() for label in window.statusBar().findChildren(QLabel)}
    assert status["statusAgency"] == "Agence 101 — Agence de Cocody"
    assert status["statusUser"] == "Awa KONÉ (superviseur)"
    assert status["statusDatabase"].startswith("SQLite · ") and status["statusDatabase"].endswith("guichet.sqlite3")
    assert status["statusCentral"] == "Hors ligne : aucun serveur central configuré"
    titles = [window.navigation.item(i).text() for i in range(window.navigation.count())]
    assert titles[0] == "Accueil"
    home = window.page(HomePage)
    assert home.values["customers"].text() == "25"
    assert answers.shown == []


def test_ctrl_k_puts_the_cursor_in_the_global_search(qtbot: QtBot, startup: Startup) -> None:
    window = sign_in(qtbot, startup, "agent", "Guichet-Agent-2026")
    window.activateWindow()
    qtbot.waitExposed(window)
    window.page(HomePage).setFocus()
    qtbot.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.search_box.hasFocus())
    with qtbot.waitSignal(window.search_requested) as searched:
        type_text(qtbot, window.search_box, "hélène")
        qtbot.keyClick(window.search_box, Qt.Key.Key_Return)
    assert searched.args == ["hélène"]


def test_window_geometry_is_remembered_across_sign_ins(qtbot: QtBot, startup: Startup) -> None:
    window = sign_in(qtbot, startup, "agent", "Guichet-Agent-2026")
    window.resize(780, 610)
    with qtbot.waitSignal(window.signed_out):
        window.sign_out()
    qtbot.waitUntil(lambda: startup.dialog is not None and startup.dialog.isVisible())
    again = sign_in(qtbot, startup, "agent", "Guichet-Agent-2026")
    assert (again.width(), again.height()) == (780, 610)


def test_qt_own_dialogs_are_in_french(qapp: QApplication) -> None:
    from PySide6.QtWidgets import QDialogButtonBox

    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel | QDialogButtonBox.StandardButton.Yes)
    texts = {b.text().replace("&", "") for b in box.buttons()}
    assert texts == {"Annuler", "Oui"}
