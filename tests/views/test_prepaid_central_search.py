"""Prépayé, live central search (issue 17): a meter the desk does not know by its exact number
(installed today, not synced; or a few digits, or the holder's name) is looked for on the real
central with the agency's credential; the answers are listed, arrows and Entrée pick one and
the sale goes on; nothing found or central gone is said in French."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.services.prepaid_desk import CentralUnreachable, VendingDesk
from app.views.main_window import MainWindow
from app.views.prepaid.page import PrepaidPage, Step
from tests.central.conftest import central_sqlite_template  # noqa: F401
from tests.prepaid_desk.conftest import Central, central  # noqa: F401
from tests.vending.world import DRN_A, DRN_B
from tests.views.conftest import wait_idle
from tests.views.test_prepaid_page import _focused, _shot, _text, _type, open_window  # noqa: F401


def _page(qtbot: QtBot, window: MainWindow) -> PrepaidPage:
    qtbot.keyClick(window, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier)
    page = window.page(PrepaidPage)
    assert window.stack.currentWidget() is page
    return page


def test_a_few_digits_list_centrals_meters_and_enter_picks(
        qtbot: QtBot, open_window: Callable[[str, str], MainWindow],  # noqa: F811
        central: Central) -> None:  # noqa: F811
    window = open_window(central.endpoint.url, central.endpoint.credential)
    page = _page(qtbot, window)
    _type(qtbot, DRN_A[:8])  # 4710 0000: not a meter's whole number
    qtbot.waitUntil(lambda: page.found.isVisible() and not page.busy, timeout=15000)
    listed = [page.found.item(i).text() for i in range(page.found.count())]
    assert any(DRN_A in row and "K*** A." in row for row in listed), listed
    assert any(DRN_B in row and "T*** M." in row for row in listed), listed
    assert not any("Kouassi" in row for row in listed), "owners masked"
    assert "Entrée pour vendre" in _text(page, "prepaidMessage")
    assert page.found.hasFocus() and page.step is Step.METER
    _shot(window, "prepaid-central-search")
    row_b = next(i for i, row in enumerate(listed) if DRN_B in row)
    page.found.setCurrentRow(0)
    for _ in range(row_b):
        qtbot.keyClick(page.found, Qt.Key.Key_Down)
    qtbot.keyClick(page.found, Qt.Key.Key_Return)
    wait_idle(qtbot)
    qtbot.waitUntil(lambda: page.step is Step.AMOUNT, timeout=15000)
    assert page.meter.text() == DRN_B and not page.found.isVisible()
    assert "T*** M." in _text(page, "prepaidMeterResult")
    assert _focused() is page.amount, "the sale goes on"


def test_the_holders_name_then_escape_back_to_the_number(
        qtbot: QtBot, open_window: Callable[[str, str], MainWindow],  # noqa: F811
        central: Central) -> None:  # noqa: F811
    window = open_window(central.endpoint.url, central.endpoint.credential)
    page = _page(qtbot, window)
    _type(qtbot, "kouas")
    qtbot.waitUntil(lambda: page.found.isVisible() and not page.busy, timeout=15000)
    assert page.found.count() == 1 and DRN_A in page.found.item(0).text()
    qtbot.keyClick(page.found, Qt.Key.Key_Escape)
    assert not page.found.isVisible() and _focused() is page.meter
    page.meter.selectAll()
    _type(qtbot, "99999999999")
    qtbot.waitUntil(lambda: not page.busy, timeout=15000)
    assert not page.found.isVisible()
    assert "Aucun compteur prépayé de l'agence" in _text(page, "prepaidMessage")
    assert page.step is Step.METER


def test_central_gone_during_the_search_is_said_in_french(
        qtbot: QtBot, open_window: Callable[[str, str], MainWindow],  # noqa: F811
        central: Central, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    def gone(_desk: VendingDesk, _text: str) -> None:
        raise CentralUnreachable("coupé")

    monkeypatch.setattr(VendingDesk, "search", gone)
    window = open_window(central.endpoint.url, central.endpoint.credential)
    page = _page(qtbot, window)
    _type(qtbot, "kouas")
    qtbot.waitUntil(lambda: not page.busy, timeout=15000)
    assert "la recherche du compteur n'a pas pu être faite" in _text(page, "prepaidMessage")
    assert not page.found.isVisible() and page.step is Step.METER
