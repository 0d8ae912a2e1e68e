"""The Prépayé page driven with the keyboard alone against a real central process: Ctrl+7, the
meter, Enter, the amount, Enter, the cash, Enter, Enter — the token shown large; Escape goes back;
central down sells nothing and says so."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from app.services.auth import sign_in
from app.settings import Settings
from app.views.customers.file_view import CustomerFileView
from app.views.customers.page import ClientsPage
from app.views.main_window import MainWindow
from app.views.prepaid.lookup import PrepaidTab, TokenLookupPage
from app.views.prepaid.page import PrepaidPage, Step
from app.views.shell import Shell
from app.views.sync.connection import CentralConnection, CentralState
from app.views.tasks import TaskRunner
from central.embedded import free_port
from central.vending.platform import SERIES_CODE
from kernel.context import ServiceContext
from kernel.numbering import Series, format_number
from tests.central.conftest import central_sqlite_template  # noqa: F401
from tests.prepaid_desk.conftest import (  # noqa: F401
    Central,
    central,
    key_change_meter,
    pending_store,
)
from tests.prepaid_desk.desk_rows import add_prepaid_sales
from tests.vending.world import DRN_A, DRN_B, DRN_OLD
from tests.views.conftest import Answers, wait_idle

PASSWORD = "Guichet-Agent-2026"


@pytest.fixture
def open_window(qtbot: QtBot, ctx: ServiceContext,
                settings: Settings) -> Iterator[Callable[[str, str], MainWindow]]:
    runners: list[TaskRunner] = []

    def open_with(url: str, credential: str, username: str = "agent",
                  password: str = PASSWORD) -> MainWindow:
        configured = settings.model_copy(update={"central_url": url,
                                                 "central_credential": credential})
        connection = CentralConnection(configured)
        runner = TaskRunner()
        runners.append(runner)
        connection.start(ctx.installation, runner)
        assert connection.state is CentralState.READY
        user = sign_in(ctx.db, username, password)
        main = MainWindow(Shell(configured, ctx.signed_in(user), runner, connection))
        qtbot.addWidget(main)
        main.resize(1366, 768)
        main.show()
        qtbot.waitExposed(main)
        main.activateWindow()
        qtbot.waitUntil(main.isActiveWindow)
        wait_idle(qtbot)
        return main

    yield open_with
    for runner in runners:
        runner.shutdown()


def _shot(window: MainWindow, name: str) -> None:
    """A screenshot for a person to look at (GUICHET_SCREENSHOTS=folder, under Xvfb)."""
    folder = os.environ.get("GUICHET_SCREENSHOTS")
    if folder:
        QApplication.processEvents()
        window.grab().save(str(Path(folder) / f"{name}.png"))


def _focused() -> QLineEdit:
    widget = QApplication.focusWidget()
    assert isinstance(widget, QLineEdit), f"focus on {widget!r}"
    return widget


def _type(qtbot: QtBot, text: str, key: Qt.Key = Qt.Key.Key_Return) -> None:
    field = _focused()
    qtbot.keyClicks(field, text)
    qtbot.keyClick(field, key)
    wait_idle(qtbot)


def _text(page: PrepaidPage, name: str) -> str:
    label = page.findChild(QLabel, name)
    assert label is not None
    return label.text()


def test_a_whole_sale_with_the_keyboard_alone(
        qtbot: QtBot, open_window: Callable[[str, str], MainWindow],
        central: Central, answers: Answers) -> None:  # noqa: F811
    window = open_window(central.endpoint.url, central.endpoint.credential)
    qtbot.keyClick(window, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier)
    page = window.page(PrepaidPage)
    assert window.stack.currentWidget() is page
    _type(qtbot, DRN_OLD)
    assert "n'est plus en service" in _text(page, "prepaidMessage")
    assert page.step is Step.METER
    page.meter.selectAll()
    _type(qtbot, DRN_B)
    assert "T*** M." in _text(page, "prepaidMeterResult")
    _shot(window, "prepaid-1-checked")
    assert _focused() is page.amount
    _type(qtbot, "10 kWh")
    assert page.step is Step.PAYMENT
    assert _text(page, "prepaidQuote_energy_kwh") == "10,0 kWh"
    for part in ("energy", "fixed_charge", "arrears", "vat", "total"):
        assert _text(page, f"prepaidQuote_{part}").endswith("F\u202fCFA"), part
    qtbot.keyClick(_focused(), Qt.Key.Key_Escape)
    assert page.step is Step.AMOUNT and _focused() is page.amount, "Escape goes back"
    qtbot.keyClick(page.amount, Qt.Key.Key_Return)
    wait_idle(qtbot)
    assert _focused() is page.cash
    qtbot.keyClicks(page.cash, "100")
    assert _text(page, "prepaidChange").startswith("Il manque")
    _shot(window, "prepaid-2-quote")
    page.cash.clear()
    _type(qtbot, "5000")
    assert _focused() is page.phone
    _type(qtbot, "0701020304")
    assert page.step is Step.DONE
    token = _text(page, "prepaidToken")
    assert len(token) == 24 and token.count(" ") == 4
    assert page.sale is not None and token.replace(" ", "") == page.sale.token
    assert "Tapez ce code" in _text(page, "prepaidTokenNote")
    _shot(window, "prepaid-3-token")
    assert page.sale.receipt in _text(page, "prepaidTokenNote")
    assert page.receipt is not None and page.sale.receipt in page.receipt.filename
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is page.print_button
    qtbot.keyClick(page.print_button, Qt.Key.Key_Return)
    assert answers.opened and answers.opened[-1].endswith(page.receipt.filename)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Backtab)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    assert page.step is Step.METER and page.meter.text() == "" and _focused() is page.meter


def test_key_change_tokens_first_with_the_order(
        qtbot: QtBot, open_window: Callable[[str, str], MainWindow],
        central: Central, db_url: str) -> None:  # noqa: F811
    window = open_window(central.endpoint.url, central.endpoint.credential)
    page = window.show_page(PrepaidPage)
    page.activated()
    _type(qtbot, key_change_meter(1 if db_url.startswith("sqlite") else 2))
    _type(qtbot, "3000")
    _type(qtbot, "3000")
    _type(qtbot, "0701020304")
    lines = _text(page, "prepaidToken").split("\n")
    assert page.sale is not None, _text(page, "prepaidMessage")
    assert len(lines) == 3
    assert lines[-1].startswith("3.") and lines[-1][-24:].replace(" ", "") == page.sale.token, (
        "the credit token comes last")
    assert "Tapez d'abord les 2 premiers codes" in _text(page, "prepaidTokenNote")
    _shot(window, "prepaid-4-key-change")


def test_central_down_sells_nothing(
        qtbot: QtBot, open_window: Callable[[str, str], MainWindow], tmp_path: Path) -> None:
    window = open_window(f"http://127.0.0.1:{free_port()}", "gc1.101.nobody")
    page = window.show_page(PrepaidPage)
    page.activated()
    _type(qtbot, DRN_B)
    assert "aucune vente n'a été faite" in _text(page, "prepaidMessage")
    _shot(window, "prepaid-5-central-down")
    assert page.step is Step.METER


def test_find_a_token_and_reprint_a_duplicata(
        qtbot: QtBot, qtmodeltester: Any, open_window: Callable[[str, str], MainWindow],
        ctx: ServiceContext, answers: Answers) -> None:
    meter = add_prepaid_sales(ctx)
    window = open_window(f"http://127.0.0.1:{free_port()}", "gc1.101.nobody")
    control_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window, Qt.Key.Key_J, control_shift)
    page = window.page(TokenLookupPage)
    assert window.stack.currentWidget() is page
    page.activated()
    qtbot.keyClick(_focused(), Qt.Key.Key_Tab)
    qtbot.keyClick(_focused(), Qt.Key.Key_Tab)
    qtbot.keyClick(_focused(), Qt.Key.Key_Tab)
    assert _focused() is page.digits
    first_of_year = format_number(Series.VEND_RECEIPT, SERIES_CODE,
                                  ctx.installation.today().year, 1)
    assert page.receipt.placeholderText() == f"n° complet, ex. {first_of_year}", (
        "the hint is a receipt as the platform numbers them, this year, and says it is an example")
    _type(qtbot, "7134 7068")
    model = page.results.model
    qtmodeltester.check(model)
    assert model.rowCount() == 1
    assert [model.index(0, c).data() for c in (1, 3, 7)] == ["RP000-2026-000001", "USSD",
                                                             "envoyé"]
    page.digits.clear()
    _type(qtbot, "")
    assert model.rowCount() == 2, "no criterion: the latest sales"
    assert "puis" in model.index(0, 8).data(), "key change tokens listed before the credit"
    _shot(window, "prepaid-6-lookup")
    page.results.table.selectRow(1)
    answers.text = "le client a perdu son reçu"
    page.results.duplicate.click()
    wait_idle(qtbot)
    assert answers.opened and answers.opened[-1].endswith("RP000-2026-000001-duplicata.pdf")

    file_view = _file_tab(qtbot, window, ctx, meter, "Prépa&yé")
    tab = file_view.tab(PrepaidTab)
    wait_idle(qtbot)
    assert tab.sales.model.rowCount() == 2
    _shot(window, "prepaid-7-customer-tab")


def test_why_the_meter_refuses_a_code(
        qtbot: QtBot, open_window: Callable[[str, str], MainWindow],
        central: Central, tmp_path: Path) -> None:  # noqa: F811
    from app.services.prepaid_desk import VendingDesk, grouped

    with VendingDesk(central.endpoint, pending_store(tmp_path)) as desk:
        sold = desk.sell(DRN_A, 1500, "0701020304", "agent")
    window = open_window(central.endpoint.url, central.endpoint.credential)
    control_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window, Qt.Key.Key_X, control_shift)
    page = window.page(TokenLookupPage)
    assert window.stack.currentWidget() is page
    panel = page.refusal
    assert _focused() is panel.meter, "no sale chosen: the meter first"
    _type(qtbot, DRN_A)
    assert _focused() is panel.token, "Enter on the meter goes to the code"
    wrong = sold.token[:5] + str((int(sold.token[5]) + 1) % 10) + sold.token[6:]
    _type(qtbot, grouped(wrong))
    qtbot.waitUntil(lambda: panel.shown is not None, timeout=15000)
    assert _text(page, "refusalVerdict") == "Erreur de saisie"  # type: ignore[arg-type]
    assert grouped(sold.token) in _text(page, "refusalExplanation")  # type: ignore[arg-type]
    assert _focused() is panel.token, "ready for the next code"
    panel.shown = None
    _type(qtbot, sold.token)
    qtbot.waitUntil(lambda: panel.shown is not None, timeout=15000)
    assert _text(page, "refusalVerdict") == "Code déjà utilisé"  # type: ignore[arg-type]
    assert "Que faire" in _text(page, "refusalActions")  # type: ignore[arg-type]
    fields = _text(page, "refusalFields")  # type: ignore[arg-type]
    assert "Crédit électricité" in fields and sold.receipt in fields
    _shot(window, "prepaid-8-refusal")
    panel.token.clear()
    _type(qtbot, "")
    assert "Tapez le code" in _text(page, "refusalVerdict")  # type: ignore[arg-type]


def test_a_supervisors_management_token(
        qtbot: QtBot, open_window: Callable[..., MainWindow], answers: Answers,
        central: Central) -> None:  # noqa: F811
    from app.views.prepaid.management import ManagementDialog
    from tests.prepaid_desk.test_management_desk import central_users

    central_users(central, "superviseur")
    agent_window = open_window(central.endpoint.url, central.endpoint.credential)
    control_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(agent_window, Qt.Key.Key_T, control_shift)
    refused = agent_window.page(PrepaidPage).management
    assert isinstance(refused, ManagementDialog) and not refused.go.isEnabled()
    assert "réservés aux superviseurs" in refused.message.text()
    refused.reject()

    window = open_window(central.endpoint.url, central.endpoint.credential, "superviseur",
                         "Guichet-Sup-2026")
    page = window.show_page(PrepaidPage)
    page.activated()
    qtbot.keyClicks(page.meter, DRN_B)
    qtbot.keyClick(window, Qt.Key.Key_T, control_shift)
    dialog = page.management
    assert isinstance(dialog, ManagementDialog) and dialog.meter.text() == DRN_B
    qtbot.waitUntil(lambda: QApplication.focusWidget() is dialog.reason)  # the meter given
    dialog.kind.setCurrentIndex(dialog.kind.findData("power_limit"))
    assert dialog.watts.isEnabled()
    dialog.watts.setValue(2300)
    qtbot.keyClicks(dialog.reason, "abc")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    wait_idle(qtbot)
    assert "motif" in dialog.message.text().lower() and dialog.issued is None
    qtbot.keyClicks(dialog.reason, " : disjoncteur trop faible")
    qtbot.keyClick(dialog.reason, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.issued is not None, timeout=15000)
    assert dialog.issued is not None
    assert dialog.tokens.text().replace(" ", "") == dialog.issued.sale.token
    assert dialog.issued.sale.receipt in dialog.message.text()
    assert answers.opened and answers.opened[-1].endswith(f"{dialog.issued.sale.receipt}.pdf")
    if os.environ.get("GUICHET_SCREENSHOTS"):
        QApplication.processEvents()
        dialog.grab().save(str(Path(os.environ["GUICHET_SCREENSHOTS"])
                               / "prepaid-9-management.png"))


def test_a_sale_started_from_the_meter_in_the_customer_file(
        qtbot: QtBot, open_window: Callable[..., MainWindow], ctx: ServiceContext,
        central: Central) -> None:  # noqa: F811
    from app.views.customers.file_tabs import PremisesTab

    meter = add_prepaid_sales(ctx)
    window = open_window(central.endpoint.url, central.endpoint.credential)
    file_view = _file_tab(qtbot, window, ctx, meter, "&Propriétés et compteurs")
    tab = file_view.tab(PremisesTab)
    qtbot.waitUntil(lambda: tab.meter is not None)
    assert tab.recharge.isVisible(), "a prepaid meter offers its recharge"
    _shot(window, "prepaid-10-file-meter")
    tab.tree.setFocus()
    qtbot.keyClick(tab.tree, Qt.Key.Key_Return)  # Entrée on the meter (or its button)
    page = window.page(PrepaidPage)
    assert window.stack.currentWidget() is page
    assert page.meter.text() == "47100000018"
    qtbot.waitUntil(lambda: page.step is Step.AMOUNT, timeout=15000)
    assert "K*** A." in _text(page, "prepaidMeterResult")
    assert _focused() is page.amount, "the amount next"
    # mid-sale, a second start from the file keeps the sale under way
    _type(qtbot, "2000")
    assert page.step is Step.PAYMENT
    page.sale_for("47100000026")
    assert page.step is Step.PAYMENT and page.meter.text() == "47100000018"
    assert "vente est en cours" in _text(page, "prepaidMessage")


def _file_tab(qtbot: QtBot, window: MainWindow, ctx: ServiceContext, meter: Any,
              title: str) -> CustomerFileView:
    """The customer file of ``meter``'s customer, on its tab ``title``."""
    clients = window.page(ClientsPage)
    window.go_to(clients)
    file_view = clients.open_file(_customer_of(ctx, meter))
    assert isinstance(file_view, CustomerFileView)
    qtbot.waitUntil(lambda: file_view.file is not None, timeout=15000)
    tabs = file_view.tabs
    tabs.setCurrentIndex(next(i for i in range(tabs.count()) if tabs.tabText(i) == title))
    wait_idle(qtbot)
    return file_view


def _customer_of(ctx: ServiceContext, meter: Any) -> Any:
    from sqlalchemy import select

    from app.models import Customer

    with ctx.reading() as session:
        return session.scalars(select(Customer.id).where(Customer.mobile == "0705060708")).one()


def test_resend_the_sms_to_another_number(
        qtbot: QtBot, open_window: Callable[[str, str], MainWindow], ctx: ServiceContext,
        central: Central, answers: Answers, tmp_path: Path) -> None:  # noqa: F811
    from sqlalchemy import update

    from app.models import VendTransaction
    from app.services.prepaid_desk import VendingDesk
    from kernel.context import UnitOfWork

    with VendingDesk(central.endpoint, pending_store(tmp_path)) as desk:
        sold = desk.sell(DRN_B, 1500, "0701020304", "agent")
    add_prepaid_sales(ctx)
    with UnitOfWork(ctx.db, ctx.actor, from_server=True) as uow:  # as the next sync brings it
        uow.session.execute(update(VendTransaction).where(
            VendTransaction.receipt_number == "RP000-2026-000001").values(
            receipt_number=sold.receipt))
        uow.commit()
    window = open_window(central.endpoint.url, central.endpoint.credential)
    page = window.show_page(TokenLookupPage)
    page.activated()
    _type(qtbot, "")
    page.results.table.selectRow(1)
    assert page.results.selected() is not None
    assert page.results.selected().receipt == sold.receipt  # type: ignore[union-attr]
    answers.text = "0709876543"
    page.results.resend.click()
    wait_idle(qtbot)
    assert f"Le SMS du reçu {sold.receipt} part au 0709876543" in answers.texts()


def test_a_sale_whose_answer_was_lost_is_asked_again_with_its_key(
        qtbot: QtBot, open_window: Callable[[str, str], MainWindow], settings: Settings,
        ctx: ServiceContext, central: Central) -> None:  # noqa: F811
    from app.services.prepaid_desk import PendingSale, PendingStore, VendingDesk

    store = PendingStore(ctx.db)
    with VendingDesk(central.endpoint, pending_store(settings.data_dir)) as desk:
        first = desk.sell(DRN_B, 1100, "0701020304", "agent")
    store.add(PendingSale(first.reference, DRN_B, 1100, "0701020304", "agent"))  # answer lost
    window = open_window(central.endpoint.url, central.endpoint.credential)
    page = window.show_page(PrepaidPage)
    assert page.resume_button.isVisible()
    page.resume_button.click()
    wait_idle(qtbot)
    assert page.sale is not None and page.sale.receipt == first.receipt
    assert _text(page, "prepaidToken").replace(" ", "") == first.token, "the same token"
    assert "aucun second paiement ni second code" in _text(page, "prepaidTokenNote")
    assert not store.all() and not page.resume_button.isVisible()
