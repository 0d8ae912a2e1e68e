"""« Envoyer un technicien » driven as an agent against a real central process: Ctrl+Maj+X on the
Jetons page, the meter, the code the meter refuses (already used), Alt+E files the intervention
request (the meter's customer, the code, the verdict, the agent), Alt+E again files nothing and
says « demande déjà déposée : n° … », Entrée (or Alt+O) opens it on the Interventions page; a
typing error offers no technician."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from app.models import InterventionRequest
from app.models.enums import InterventionType
from app.services.prepaid_desk import VendingDesk, grouped
from app.views.interventions.page import InterventionsPage
from app.views.main_window import MainWindow
from app.views.prepaid.lookup import TokenLookupPage
from kernel.context import ServiceContext
from tests.central.conftest import central_sqlite_template  # noqa: F401
from tests.prepaid_desk.conftest import Central, central, pending_store  # noqa: F401
from tests.prepaid_desk.desk_rows import add_prepaid_sales
from tests.vending.world import DRN_A
from tests.views.conftest import wait_idle
from tests.views.test_prepaid_page import _focused, _shot, _text, _type, open_window  # noqa: F401

ALT = Qt.KeyboardModifier.AltModifier


def test_send_a_technician_once(qtbot: QtBot, open_window: Callable[..., MainWindow],  # noqa: F811
                                ctx: ServiceContext, central: Central,  # noqa: F811
                                tmp_path: Path) -> None:
    add_prepaid_sales(ctx)  # the meter DRN_A in the agency's base, with its customer
    with VendingDesk(central.endpoint, pending_store(tmp_path)) as desk:
        sold = desk.sell(DRN_A, 1500, "0701020304", "agent")
    window = open_window(central.endpoint.url, central.endpoint.credential)
    qtbot.keyClick(window, Qt.Key.Key_X,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    page = window.page(TokenLookupPage)
    panel = page.refusal
    _type(qtbot, DRN_A)
    wrong = sold.token[:5] + str((int(sold.token[5]) + 1) % 10) + sold.token[6:]
    _type(qtbot, wrong)
    qtbot.waitUntil(lambda: panel.shown is not None, timeout=15000)
    assert _text(page, "refusalVerdict") == "Erreur de saisie"  # type: ignore[arg-type]
    assert not panel.technician.isVisible(), "a typing error needs no technician"
    panel.shown = None
    _focused().clear()
    _type(qtbot, sold.token)
    qtbot.waitUntil(lambda: panel.shown is not None, timeout=15000)
    assert _text(page, "refusalVerdict") == "Code déjà utilisé"  # type: ignore[arg-type]
    assert panel.technician.isVisible() and not panel.open_request.isVisible()

    qtbot.keyClick(_focused(), Qt.Key.Key_E, ALT)  # a button: clicked after its animation
    qtbot.waitUntil(lambda: panel.request is not None, timeout=15000)
    filed = panel.request
    assert filed is not None and not filed.already
    assert f"n° {filed.number} déposée" in _text(page, "refusalFiled")  # type: ignore[arg-type]
    assert panel.open_request.isVisible()
    with ctx.reading() as session:
        request = session.scalars(select(InterventionRequest)).one()
        assert request.type is InterventionType.METER_CHECK and request.customer_id is not None
        assert request.recorded_by == "agent"
        for part in (grouped(sold.token), "Code déjà utilisé", "Yao KOUASSI", DRN_A):
            assert part in request.description, part
    _shot(window, "desk17-refusal-technician")

    qtbot.keyClick(panel.open_request, Qt.Key.Key_E, ALT)  # clicked again
    qtbot.waitUntil(lambda: "déjà" in panel.filed.text(), timeout=15000)
    assert panel.request is not None and panel.request.already
    assert f"Demande déjà déposée : n° {filed.number}" in _text(  # type: ignore[arg-type]
        page, "refusalFiled")
    with ctx.reading() as session:
        assert len(session.scalars(select(InterventionRequest.id)).all()) == 1
    _shot(window, "desk17-refusal-already-filed")

    assert panel.open_request.hasFocus(), "the filed request is one Entrée away"
    qtbot.keyClick(panel.open_request, Qt.Key.Key_Return)
    interventions = window.page(InterventionsPage)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is interventions, timeout=5000)
    qtbot.waitUntil(lambda: interventions.detail is not None
                    and interventions.detail.request_id == filed.request_id, timeout=15000)
    wait_idle(qtbot)
    assert interventions.model.rows and interventions.model.rows[0].number == filed.number
    _shot(window, "desk17-request-opened")
