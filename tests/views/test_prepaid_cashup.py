"""The cash-up dialog driven from the keyboard: Ctrl+Maj+K on the Prépayé page, the day's totals
read, a counted amount with a difference asks the reason, Entrée closes, the report is opened,
the closed day then says so and refuses a new count; a sale still waiting for central's answer
is listed apart with a warning, not counted."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from app.services.prepaid_cashup import WAITING, day_summary
from app.services.prepaid_desk import PendingSale, PendingStore
from app.settings import Settings
from app.views.main_window import MainWindow
from app.views.prepaid.cashup import CashupDialog
from app.views.prepaid.page import PrepaidPage
from kernel.context import ServiceContext
from tests.services.test_prepaid_cashup import add_day_sales
from tests.views.conftest import Answers, type_text, wait_idle
from tests.views.test_counter_day import _window


@pytest.fixture
def window(qtbot: QtBot, ctx: ServiceContext, settings: Settings) -> Iterator[MainWindow]:
    add_day_sales(ctx, day=ctx.installation.today())
    PendingStore(ctx.db).add(PendingSale("GUICHET-en-attente-1", "47100000018", 6000,
                                         "0701020304", "agent"))  # no answer from central
    yield from _window(qtbot, ctx, settings, "agent", "Guichet-Agent-2026")


def _label(dialog: CashupDialog, name: str) -> str:
    label = dialog.findChild(QLabel, name)
    assert label is not None
    return label.text()


def test_typing_the_counted_cash_and_closing(qtbot: QtBot, window: MainWindow, ctx: ServiceContext,
                                             answers: Answers) -> None:
    qtbot.keyClick(window, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier)
    page = window.page(PrepaidPage)
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_K,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: getattr(page, "cashup_dialog", None) is not None)
    dialog = page.cashup_dialog
    qtbot.waitExposed(dialog)
    wait_idle(qtbot)
    assert "3 recharge(s), 2 paiement(s)" in _label(dialog, "cashupTotals")
    assert "Espèces attendues : 17 500" in _label(dialog, "cashupTotals").replace("\u202f", " ")
    assert dialog.table.rowCount() == 9
    states = [dialog.table.item(row, 4).text() for row in range(dialog.table.rowCount())]
    assert states.count(WAITING) == 1, "the sale without central's answer, listed apart"
    assert dialog.waiting.isVisible()
    assert "1 vente(s) en attente de réponse du central" in _label(dialog, "cashupWaiting")
    counted = QApplication.focusWidget()
    assert counted is dialog.counted
    qtbot.keyClicks(counted, "17000")
    qtbot.keyClick(counted, Qt.Key.Key_Return)
    assert "motif" in _label(dialog, "cashupMessage")
    assert QApplication.focusWidget() is dialog.reason
    assert day_summary(ctx, "agent", ctx.installation.today()).closing is None
    if folder := os.environ.get("GUICHET_SCREENSHOTS"):
        dialog.grab().save(str(Path(folder) / "cashup-difference.png"))
    reason = QApplication.focusWidget()
    assert isinstance(reason, QLineEdit)
    type_text(qtbot, reason, "pièce fausse rendue")
    qtbot.keyClick(reason, Qt.Key.Key_Return)
    wait_idle(qtbot)
    closing = day_summary(ctx, "agent", ctx.installation.today()).closing
    assert closing is not None and "pièce fausse rendue" in closing.summary
    assert "clôturée par agent" in _label(dialog, "cashupMessage")
    assert not dialog.counted.isEnabled()
    assert any("Rapport de clôture" in text for _t, text, _k in answers.shown) or answers.opened
    if folder := os.environ.get("GUICHET_SCREENSHOTS"):
        dialog.grab().save(str(Path(folder) / "cashup-closed.png"))
