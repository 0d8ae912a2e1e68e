"""The cash-up driven from the keyboard. The agent: Ctrl+Maj+K on the Prépayé page, the day's
totals read, a counted amount with a difference asks the reason, Entrée submits the count (the
day stays open), Alt+P prints a provisional report, Ctrl+Maj+V is refused. The supervisor:
Ctrl+Maj+V lists every agent with expected / counted / difference, a till with a sale still
waiting for central cannot be closed, Entrée closes the chosen till with the count locked, the
final report is opened, the till then says who closed it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from app.services.auth import sign_in
from app.services.prepaid_cashup import WAITING, day_summary, submit_count
from app.services.prepaid_desk import PendingSale, PendingStore
from app.settings import Settings
from app.views.main_window import MainWindow
from app.views.prepaid.cashup import CashupDialog
from app.views.prepaid.closing import ClosingDialog
from app.views.prepaid.page import PrepaidPage
from kernel.context import ServiceContext
from tests.services.test_prepaid_cashup import add_day_sales
from tests.views.conftest import Answers, type_text, wait_idle
from tests.views.test_counter_day import _window

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
SHOTS = os.environ.get("GUICHET_SCREENSHOTS")


@pytest.fixture
def window(qtbot: QtBot, ctx: ServiceContext, settings: Settings) -> Iterator[MainWindow]:
    add_day_sales(ctx, day=ctx.installation.today())
    PendingStore(ctx.db).add(PendingSale("GUICHET-en-attente-1", "47100000018", 6000,
                                         "0701020304", "agent"))  # no answer from central
    yield from _window(qtbot, ctx, settings, "agent", "Guichet-Agent-2026")


@pytest.fixture
def supervisor_window(qtbot: QtBot, ctx: ServiceContext,
                      settings: Settings) -> Iterator[MainWindow]:
    today = ctx.installation.today()
    add_day_sales(ctx, day=today)
    agent = ctx.signed_in(sign_in(ctx.db, "agent", "Guichet-Agent-2026"))
    submit_count(agent, "agent", today, 17000, "pièce fausse rendue")
    PendingStore(ctx.db).add(PendingSale("GUICHET-en-attente-2", "47100000018", 6000,
                                         "0701020304", "autre"))
    yield from _window(qtbot, ctx, settings, "superviseur", "Guichet-Sup-2026")


def _label(dialog: CashupDialog | ClosingDialog, name: str) -> str:
    label = dialog.findChild(QLabel, name)
    assert label is not None
    return label.text()


def _plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def _open_cashup(qtbot: QtBot, window: MainWindow) -> CashupDialog:
    qtbot.keyClick(window, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier)
    page = window.page(PrepaidPage)
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_K, CTRL_SHIFT)
    qtbot.waitUntil(lambda: getattr(page, "cashup_dialog", None) is not None)
    dialog = page.cashup_dialog
    qtbot.waitExposed(dialog)
    wait_idle(qtbot)
    return dialog


def test_the_agent_counts_and_submits(qtbot: QtBot, window: MainWindow, ctx: ServiceContext,
                                      answers: Answers) -> None:
    dialog = _open_cashup(qtbot, window)
    assert "3 recharge(s), 2 paiement(s)" in _label(dialog, "cashupTotals")
    assert "Espèces attendues : 17 500" in _label(dialog, "cashupTotals").replace("\u202f", " ")
    assert dialog.table.rowCount() == 9
    states = [dialog.table.item(row, 4).text() for row in range(dialog.table.rowCount())]
    assert states.count(WAITING) == 1, "the sale without central's answer, listed apart"
    assert states.count("paiement") == 2, "the invoices paid at the counter are counted"
    assert dialog.waiting.isVisible()
    assert "1 vente(s) en attente de réponse du central" in _label(dialog, "cashupWaiting")
    counted = QApplication.focusWidget()
    assert counted is dialog.counted
    qtbot.keyClicks(counted, "17000")
    qtbot.keyClick(counted, Qt.Key.Key_Return)
    assert "motif" in _label(dialog, "cashupMessage")
    assert QApplication.focusWidget() is dialog.reason
    assert day_summary(ctx, "agent", ctx.installation.today()).count is None
    reason = QApplication.focusWidget()
    assert isinstance(reason, QLineEdit)
    type_text(qtbot, reason, "pièce fausse rendue")
    qtbot.keyClick(reason, Qt.Key.Key_Return)
    wait_idle(qtbot)
    day = day_summary(ctx, "agent", ctx.installation.today())
    assert day.count is not None and day.count.counted_minor == 17000
    assert day.closing is None, "the agent does not close"
    assert "Comptage soumis" in _label(dialog, "cashupMessage")
    assert "Ctrl+Maj+V" in _label(dialog, "cashupMessage")
    assert dialog.counted.isEnabled(), "recounting stays possible until the closing"
    if SHOTS:
        dialog.grab().save(str(Path(SHOTS) / "cashup-agent-submitted.png"))
    qtbot.keyClick(dialog, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)  # after its animation
    qtbot.waitUntil(lambda: bool(answers.opened))
    assert any("PROVISOIRE" in text for _k, _t, text in answers.shown)
    assert answers.opened[-1].endswith(".pdf") and "provisoire" in answers.opened[-1]
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    page = window.page(PrepaidPage)
    with qtbot.waitActive(window):  # the offscreen platform does not give it back by itself
        window.activateWindow()
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_V, CTRL_SHIFT)
    assert getattr(page, "closing_dialog", None) is None
    assert "réservée aux superviseurs" in page.message.text()


def test_the_supervisor_closes_the_agents_till(qtbot: QtBot, supervisor_window: MainWindow,
                                               ctx: ServiceContext, answers: Answers) -> None:
    window = supervisor_window
    qtbot.keyClick(window, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier)
    page = window.page(PrepaidPage)
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_V, CTRL_SHIFT)
    qtbot.waitUntil(lambda: getattr(page, "closing_dialog", None) is not None)
    dialog = page.closing_dialog
    qtbot.waitExposed(dialog)
    wait_idle(qtbot)
    assert dialog.agency is not None
    rows = {dialog.agency.agents[r].agent: [_plain(dialog.table.item(r, c).text())
                                            for c in range(6)]
            for r in range(dialog.table.rowCount())}
    assert rows["agent"][0] == "Yao KOUASSI (agent)"
    assert {"agent", "autre", "superviseur"} <= set(rows)
    assert rows["agent"][2:5] == ["17 500 F CFA", "17 000 F CFA", "-500 F CFA"]
    assert rows["agent"][5].startswith("comptée à")
    assert "sans réponse du central" in rows["autre"][5]
    totals = _plain(_label(dialog, "closingTotals"))
    assert "Chèque : 20 000" in totals and "ORANGE : 4 000" in totals
    assert dialog.chosen() is not None and dialog.chosen().agent == "agent", \
        "the first counted till is chosen"
    assert _plain(dialog.counted.text()) == "17 000 F CFA"
    if SHOTS:
        dialog.grab().save(str(Path(SHOTS) / "cashup-supervisor-before.png"))
    dialog.table.setFocus()
    dialog.table.setCurrentCell(list(rows).index("autre"), 0)
    assert "sans réponse du central" in _label(dialog, "closingMessage")
    qtbot.keyClicks(dialog.counted, "9000")
    qtbot.keyClick(dialog.counted, Qt.Key.Key_Return)
    wait_idle(qtbot)
    assert "attendent encore la réponse du central" in _label(dialog, "closingMessage")
    assert day_summary(ctx, "autre", ctx.installation.today()).closing is None
    dialog.table.setCurrentCell(list(rows).index("agent"), 0)
    qtbot.keyClick(dialog.table, Qt.Key.Key_Return)
    wait_idle(qtbot)
    closing = day_summary(ctx, "agent", ctx.installation.today()).closing
    assert closing is not None and closing.closed_by == "superviseur"
    assert closing.counted_minor == 17000 and closing.difference_minor == -500
    assert any("rapport définitif" in text for _k, _t, text in answers.shown)
    state = dialog.table.item(dialog.table.currentRow(), 5).text()
    assert dialog.chosen() is not None and dialog.chosen().agent == "agent"
    assert state.startswith("clôturée par superviseur")
    assert not dialog.counted.isEnabled()
    assert "Ouvrir le rapport" in dialog.close_one.text()
    if SHOTS:
        dialog.grab().save(str(Path(SHOTS) / "cashup-supervisor-closed.png"))
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible())
