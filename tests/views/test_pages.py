"""A new module appears through the ``Page`` / ``FileTab`` protocols and the one registry: in the
sidebar, its shortcut, Aide → Raccourcis clavier and the customer file, for the roles declared."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from app.models.enums import Role
from app.services.auth import sign_in
from app.services.customer_file import CustomerFile
from app.settings import Settings
from app.views.customers.file_view import CustomerFileView
from app.views.home_page import HomePage
from app.views.main_window import MainWindow
from app.views.modules import standard_registry
from app.views.pages import (
    FileTabEntry,
    HomeTile,
    PageAction,
    PageEntry,
    Registry,
    ShortcutConflict,
)
from app.views.shell import Shell
from app.views.shortcuts import Shortcut
from app.views.tasks import TaskRunner
from kernel.context import ServiceContext
from tests.services.helpers import Household, household
from tests.views.conftest import Answers, wait_idle
from tests.views.test_clients import open_file

USERS = {"agent": "Guichet-Agent-2026", "superviseur": "Guichet-Sup-2026"}


class ThrowAwayPage(QWidget):
    """A module written for this test only: it records what the window asked of it."""

    def __init__(self, shell: Shell) -> None:
        super().__init__()
        self.calls: list[str] = []
        self.label = QLabel("Page d'essai", self)

    def as_widget(self) -> QWidget:
        return self

    def activated(self) -> None:
        self.calls.append("activated")

    def refresh(self) -> None:
        self.calls.append("refresh")

    def closing(self) -> None:
        self.calls.append("closing")

    def greet(self) -> None:
        self.calls.append("greet")


class ThrowAwayTab(QWidget):
    def __init__(self, view: CustomerFileView) -> None:
        super().__init__()
        self.shown: list[str] = []
        self.label = QLabel(self)

    def as_widget(self) -> QWidget:
        return self

    def show_file(self, file: CustomerFile) -> None:
        self.shown.append(file.identity.display_name)
        self.label.setText(file.identity.display_name)


def trial_registry() -> Registry:
    registry = standard_registry()
    registry.add_page(PageEntry(
        "Essai", "Ctrl+F12", "Module Essai", ThrowAwayPage,
        actions=(PageAction("Ctrl+J", "Saluer depuis l'essai", ThrowAwayPage.greet),),
        tiles=(HomeTile("Essais en cours", lambda ctx: f"3 à l'agence {ctx.installation.agency_code}"),),
    ))
    registry.add_file_tab(FileTabEntry("&Essai", ThrowAwayTab, keys="Ctrl+U", what="Onglet Essai"))
    registry.add_file_tab(FileTabEntry("Réservé", ThrowAwayTab,
                                       roles=frozenset({Role.SUPERVISOR})))
    return registry


@pytest.fixture
def open_window(qtbot: QtBot, ctx: ServiceContext, settings: Settings) -> Iterator[Callable[[str], MainWindow]]:
    runners: list[TaskRunner] = []

    def open_as(username: str) -> MainWindow:
        user = sign_in(ctx.db, username, USERS[username])
        runner = TaskRunner()
        runners.append(runner)
        main = MainWindow(Shell(settings, ctx.signed_in(user), runner, registry=trial_registry()))
        qtbot.addWidget(main)
        main.show()
        main.activateWindow()
        qtbot.waitExposed(main)
        return main

    yield open_as
    for runner in runners:
        runner.shutdown()


@pytest.fixture
def home(ctx: ServiceContext) -> Household:
    return household(ctx)


def test_a_new_page_is_in_the_sidebar_its_shortcut_opens_it_and_help_lists_it(
    qtbot: QtBot, open_window: Callable[[str], MainWindow], answers: Answers
) -> None:
    window = open_window("agent")
    titles = [window.navigation.item(i).text() for i in range(window.navigation.count())]
    # the standard modules first (more come with each module), the trial page last
    assert titles[:2] == ["Accueil", "Clients"] and "Synchronisation" in titles
    assert titles[-1] == "Essai"
    assert window.navigation.item(len(titles) - 1).toolTip() == "Essai (Ctrl+F12)"
    page = window.page(ThrowAwayPage)
    assert window.current_page() is window.page(HomePage)
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_F12, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page() is page and page.isVisible()
    assert page.calls == ["activated"]
    qtbot.keyClick(window, Qt.Key.Key_F5)
    assert page.calls == ["activated", "refresh"]
    window.show_page(HomePage)
    window.navigation.setFocus()
    qtbot.keyClick(window.navigation, Qt.Key.Key_J, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page() is page and page.calls[-1] == "greet", "an action shows its page"
    window.show_shortcuts()
    kind, title, text = answers.shown[-1]
    assert title == "Raccourcis clavier"
    assert "<b>Ctrl+F12</b></td><td>Module Essai" in text
    assert "<b>Ctrl+J</b></td><td>Saluer depuis l'essai" in text
    assert "<b>Ctrl+U</b></td><td>Onglet Essai" in text
    assert "Comptes verrouillés" not in text, "an agent is not told of a supervisor's page"
    window.close()
    assert page.calls[-1] == "closing"


def test_a_new_page_shows_its_card_on_the_home_page(
    qtbot: QtBot, open_window: Callable[[str], MainWindow]
) -> None:
    home = open_window("agent").page(HomePage)
    wait_idle(qtbot)
    cards = {label.objectName(): label for label in home.findChildren(QLabel)}
    titles = [label.text() for label in home.findChildren(QLabel) if label.objectName() == "cardTitle"]
    assert titles[-1] == "Essais en cours" and "cardValue" in cards
    assert home.tile_values[-1].text() == "3 à l'agence 101"
    assert home.values["customers"].text() == "0", "the agency's own figures are still there"


def test_a_new_customer_file_tab_is_shown_and_its_shortcut_opens_it(
    qtbot: QtBot, open_window: Callable[[str], MainWindow], home: Household
) -> None:
    view = open_file(qtbot, open_window("agent"), "kone helene")
    titles = [view.tabs.tabText(i) for i in range(view.tabs.count())]
    assert titles[:4] == ["&Identité", "Comptes et &relevé", "&Propriétés et compteurs",
                          "&Historique"]  # the standard tabs first, then the modules' tabs
    assert titles[-1] == "&Essai", "the supervisors' tab is not shown to an agent"
    assert not any(isinstance(t, ThrowAwayTab) for t in view.built.values()), "built when shown"
    view.tabs.widget(0).setFocus()
    qtbot.keyClick(QApplication.focusWidget() or view, Qt.Key.Key_U, Qt.KeyboardModifier.ControlModifier)
    assert view.tabs.currentIndex() == len(titles) - 1
    tab = view.tab(ThrowAwayTab)
    qtbot.waitUntil(tab.isVisible)
    assert tab.label.text() == "Mme KONÉ Hélène"
    view.refresh()
    qtbot.waitUntil(lambda: len(tab.shown) == 2, timeout=10000)


def test_a_supervisor_sees_the_tab_declared_for_supervisors(
    qtbot: QtBot, open_window: Callable[[str], MainWindow], home: Household
) -> None:
    view = open_file(qtbot, open_window("superviseur"), "kone helene")
    assert view.tabs.tabText(view.tabs.count() - 1) == "Réservé"


def test_a_shortcut_taken_twice_is_refused_when_registered() -> None:
    registry = standard_registry()
    pages = list(registry.pages)
    with pytest.raises(ShortcutConflict, match="Ctrl\\+2 est déjà pris par « Module Clients"):
        registry.add_page(PageEntry("Doublon", "Ctrl+2", "Module Doublon", ThrowAwayPage))
    with pytest.raises(ShortcutConflict, match="Ctrl\\+R"):
        registry.add_page(PageEntry("Doublon", "Ctrl+F11", "Module Doublon", ThrowAwayPage,
                                    shortcuts=(Shortcut("ctrl+r", "Autre chose", "Doublon"),)))
    with pytest.raises(ShortcutConflict, match="Encaisser"):
        registry.add_file_tab(FileTabEntry("Doublon", ThrowAwayTab, keys="Ctrl+P"))
    with pytest.raises(ShortcutConflict, match="Se déconnecter"):
        registry.add_page(PageEntry("Doublon", "Ctrl+Shift+D", "Module Doublon", ThrowAwayPage))
    assert registry.pages == pages, "a refused page is not added"
    registry.add_page(PageEntry("Essai", "Ctrl+F11", "Module Essai", ThrowAwayPage))
    assert registry.pages[-1].keys == "Ctrl+F11", "a refused page's keys stay free"
    with pytest.raises(ShortcutConflict):
        Registry(pages=[PageEntry("Un", "Ctrl+6", "Un", ThrowAwayPage),
                        PageEntry("Deux", "Ctrl+6", "Deux", ThrowAwayPage)])
