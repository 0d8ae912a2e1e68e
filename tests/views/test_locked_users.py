"""Comptes verrouillés: a supervisor sees the user locked after ten failed sign-ins and unlocks
it; an agent does not have the module."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from pytestqt.qtbot import QtBot

from app.models.database import Database
from app.models.ids import utcnow
from app.services.auth import LOCK_AFTER, locked_users, sign_in, wait_after
from app.settings import Settings
from app.views.application import Startup
from app.views.users_page import LockedUsersPage
from kernel.errors import SignInError
from tests.views.conftest import Answers, wait_idle
from tests.views.test_sign_in_and_window import sign_in as sign_in_on_screen


@pytest.fixture
def startup(qtbot: QtBot, gui_settings: Settings) -> Iterator[Startup]:
    started = Startup(gui_settings)
    started.start()
    qtbot.waitUntil(lambda: started.dialog is not None and started.dialog.isVisible(),
                    timeout=60000)
    yield started
    if started.window is not None:
        started.window.close()
    if started.dialog is not None:
        started.dialog.close()
    started.shutdown()


def _lock(settings: Settings, username: str) -> None:
    db = Database(settings.resolved_database_url)
    try:
        now = utcnow()
        for _ in range(LOCK_AFTER):
            with pytest.raises(SignInError):
                sign_in(db, username, "faux", now=now)
            now += wait_after(LOCK_AFTER) + timedelta(seconds=1)
        assert [u.username for u in locked_users(db)] == [username]
    finally:
        db.dispose()


def test_a_supervisor_unlocks_a_locked_agent(qtbot: QtBot, startup: Startup,
                                             gui_settings: Settings, answers: Answers) -> None:
    _lock(gui_settings, "agent")
    window = sign_in_on_screen(qtbot, startup, "superviseur", "Guichet-Sup-2026")
    page = window.show_page(LockedUsersPage)
    wait_idle(qtbot)
    assert page.table.rowCount() == 1 and page.table.item(0, 0).text() == "agent"
    assert page.table.item(0, 2).text() == str(LOCK_AFTER)
    assert not page.unlock_button.isEnabled()
    page.table.selectRow(0)
    assert page.unlock_button.isEnabled()
    page.unlock_button.click()
    qtbot.waitUntil(lambda: page.table.rowCount() == 0, timeout=20000)
    wait_idle(qtbot)
    assert ("confirm", "Déverrouiller", "Déverrouiller le compte agent ?") in answers.shown
    assert page.empty.isVisible()
    db = Database(gui_settings.resolved_database_url)
    try:
        assert locked_users(db) == []
        assert sign_in(db, "agent", "Guichet-Agent-2026").username == "agent"
    finally:
        db.dispose()


def test_an_agent_has_no_unlock_module(qtbot: QtBot, startup: Startup) -> None:
    window = sign_in_on_screen(qtbot, startup, "agent", "Guichet-Agent-2026")
    wait_idle(qtbot)
    with pytest.raises(KeyError):
        window.page(LockedUsersPage)
    titles = [window.navigation.item(i).text() for i in range(window.navigation.count())]
    assert "Comptes verrouillés" not in titles
