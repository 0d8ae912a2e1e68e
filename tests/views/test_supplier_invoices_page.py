"""Factures fournisseurs: the agency's supplier invoices received from central, read-only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import insert, select

from app.models import Agency, SupplierInvoice
from app.models.database import Database
from app.models.ids import new_id, utcnow
from app.settings import Settings
from app.views.application import Startup
from app.views.supplier_invoices_page import SupplierInvoicesPage
from tests.views.conftest import wait_idle
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


def _received(settings: Settings) -> None:
    """What the night's download would have applied: a credit note of France Telecom."""
    db = Database(settings.resolved_database_url)
    try:
        now = utcnow()
        with db.engine.begin() as connection:
            agency = connection.execute(select(Agency.id)).scalars().first()
            connection.execute(insert(SupplierInvoice), [{
                "id": new_id(), "version": 1, "created_at": now, "updated_at": now,
                "agency_id": agency, "supplier_code": "38012986643097",
                "supplier_name": "France Telecom", "number": "AV-2026-0077",
                "is_credit_note": True, "issued_on": date(2026, 12, 2),
                "period_start": date(2026, 11, 1), "period_end": date(2026, 11, 30),
                "site_reference": None, "currency": "EUR", "amount_excl_vat_minor": -2186,
                "vat_minor": -437, "total_minor": -2623, "sender": "EDI",
                "interchange_reference": "FT-AV-77", "message_reference": "AV1",
                "received_at": now}])
    finally:
        db.dispose()


def test_an_agent_reads_the_agency_supplier_invoices(qtbot: QtBot, startup: Startup,
                                                     gui_settings: Settings) -> None:
    _received(gui_settings)
    window = sign_in_on_screen(qtbot, startup, "agent", "Guichet-Agent-2026")
    page = window.show_page(SupplierInvoicesPage)
    wait_idle(qtbot)
    assert page.table.rowCount() == 1
    items = [page.table.item(0, c) for c in range(page.table.columnCount())]
    cells = [item.text() if item is not None else "" for item in items]
    assert cells[:5] == ["France Telecom", "Avoir AV-2026-0077", "02/12/2026",
                         "01/11/2026 – 30/11/2026", "plusieurs sites"]
    assert "26,23" in cells[7] and "-" in cells[7].replace("\u2212", "-")
    assert not page.empty.isVisible()
