"""Every table model of the screens keeps Qt's rules (pytest-qt's ``qtmodeltester``, Qt's own
QAbstractItemModelTester whose complaints are Qt warnings, and so fail the test) while it loads
real data: the search results page by page, the customer file's lists as the file reloads.
The Synchronisation page's models are checked in tests/views/test_sync_page.py."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.models.enums import PaymentMethod
from app.services.auth import sign_in
from app.services.customer_edit import create_customer
from app.services.payments import cancel_payment, record_payment
from app.services.search import PAGE
from app.settings import Settings
from app.views.customers.file_tabs import AccountsTab, HistoryTab, PremisesTab
from app.views.customers.file_view import CustomerFileView
from app.views.customers.page import ClientsPage
from app.views.main_window import MainWindow
from app.views.shell import Shell
from app.views.table_model import ListTableModel
from app.views.tasks import TaskRunner
from kernel.context import ServiceContext
from tests.services.helpers import household, new_customer_input
from tests.views.conftest import type_text, wait_idle


@pytest.fixture
def window(qtbot: QtBot, ctx: ServiceContext, settings: Settings) -> Iterator[MainWindow]:
    user = sign_in(ctx.db, "agent", "Guichet-Agent-2026")
    runner = TaskRunner()
    main = MainWindow(Shell(settings, ctx.signed_in(user), runner))
    qtbot.addWidget(main)
    main.show()
    qtbot.waitExposed(main)
    yield main
    runner.shutdown()


def clients(window: MainWindow) -> ClientsPage:
    page = window.show_page(ClientsPage)
    assert isinstance(page, ClientsPage)
    return page


def _letters(number: int) -> str:
    """A first name's second part made of letters only (names refuse digits)."""
    return "ABCDEFGHIJ"[number // 10] + "abcdefghij"[number % 10]


def test_search_results_keep_the_model_rules_while_pages_arrive(
    qtbot: QtBot, qtmodeltester: Any, window: MainWindow, ctx: ServiceContext
) -> None:
    for number in range(PAGE + 5):  # more than a page: the second one is fetched on demand
        create_customer(ctx, new_customer_input(
            ctx, first_name=f"Aïcha {_letters(number)}", mobile=f"07 11 22 33 {number:02d}"))
    page = clients(window)
    model = page.search_tab.model
    qtmodeltester.check(model)  # stays attached: every reset and insertion below is checked
    type_text(qtbot, page.search_tab.box, "koné aïcha")
    # The first page comes as one reset, the rest as insertions when the view (or the tester)
    # asks for more.
    qtbot.waitUntil(lambda: model.rowCount() == PAGE + 5, timeout=15000)
    wait_idle(qtbot)
    assert not model.canFetchMore()
    assert {model.index(row, 0).data() for row in range(model.rowCount())} == {
        f"Mme KONÉ Aïcha {_letters(number)}" for number in range(PAGE + 5)}
    qtmodeltester.check(model, force_py=True)
    page.search_tab.box.clear()
    type_text(qtbot, page.search_tab.box, "0711223307")  # a new query resets the model
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=15000)
    assert model.index(0, 0).data() == f"Mme KONÉ Aïcha {_letters(7)}"
    wait_idle(qtbot)


def test_customer_file_lists_keep_the_model_rules_as_the_file_reloads(
    qtbot: QtBot, qtmodeltester: Any, window: MainWindow, ctx: ServiceContext
) -> None:
    home = household(ctx)
    kept = record_payment(ctx, home.account_id, Decimal(15_000), PaymentMethod.CASH, confirmed=True)
    cancelled = record_payment(ctx, home.account_id, Decimal(2_500), PaymentMethod.CHEQUE,
                               reference="CHQ 0012", confirmed=True)
    supervisor = ctx.signed_in(sign_in(ctx.db, "superviseur", "Guichet-Sup-2026"))
    cancel_payment(supervisor, cancelled.payment_id, "chèque sans provision")
    assert kept.payment_id != cancelled.payment_id
    page = clients(window)
    type_text(qtbot, page.search_tab.box, "kone helene")
    qtbot.waitUntil(lambda: page.search_tab.model.rowCount() == 1, timeout=15000)
    page.open_file(page.search_tab.model.hit(0).customer_id)
    view = page.tabs.currentWidget()
    assert isinstance(view, CustomerFileView)
    qtbot.waitUntil(lambda: view.file is not None, timeout=15000)
    wait_idle(qtbot)
    accounts, premises, history = view.tab(AccountsTab), view.tab(PremisesTab), view.tab(HistoryTab)
    wait_idle(qtbot)
    models: dict[str, ListTableModel[Any]] = {
        "statement": accounts.statement_model,
        "payments": accounts.payments_model,
        "readings": premises.readings_model,
        "history": history.model,
    }
    for model in models.values():
        qtmodeltester.check(model)
        qtmodeltester.check(model, force_py=True)
    with qtbot.waitSignal(view.loaded, timeout=15000):
        view.refresh()  # every list is reset under the testers
    wait_idle(qtbot)
    counts = {name: model.rowCount() for name, model in models.items()}
    assert counts["payments"] == 2 and counts["readings"] == 5, counts
    assert counts["statement"] >= 2 and counts["history"] > 0, counts
