"""The Devis page driven as an agent would: a 10-line quote typed with the keyboard alone (codes
and free lines, Enter from cell to cell, totals as it is typed, the account checked as it is
typed), sent, approved, invoiced; the customer file's Devis tab shows it."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from app.models.enums import QuoteStatus
from app.services.balances import account_balance
from app.services.works.lists import QuoteFilter, list_quotes
from app.services.works.quotes import load_quote
from app.settings import Settings
from app.views.main_window import MainWindow
from app.views.works.page import QuotesPage
from app.views.works.quote_dialogs import ApprovalDialog, InvoiceDialog
from kernel.context import ServiceContext
from kernel.identifiers import format_account_number
from tests.services.helpers import Household, household
from tests.views.conftest import Answers, type_text, wait_idle
from tests.views.test_clients import dialog_of, open_file
from tests.views.test_counter_day import _window


@pytest.fixture
def home(ctx: ServiceContext) -> Household:
    return household(ctx)


@pytest.fixture
def window(qtbot: QtBot, ctx: ServiceContext, settings: Settings) -> Iterator[MainWindow]:
    yield from _window(qtbot, ctx, settings, "agent", "Guichet-Agent-2026")


def _focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None
    return widget


def _type(qtbot: QtBot, text: str) -> None:
    type_text(qtbot, _focused(), text)


def _enter(qtbot: QtBot, page: QuotesPage) -> None:
    """Enter in the cell being typed: the next cell to type opens."""
    before = _focused()
    qtbot.keyClick(before, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _focused() is not before
                    and _focused().parent() is page.editor.lines.viewport(), timeout=5000)


def _page(qtbot: QtBot, window: MainWindow) -> QuotesPage:
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    page = window.page(QuotesPage)
    wait_idle(qtbot)
    return page


def test_a_ten_line_quote_typed_at_the_keyboard_approved_and_invoiced(
        qtbot: QtBot, window: MainWindow, ctx: ServiceContext, home: Household,
        answers: Answers) -> None:
    page = _page(qtbot, window)
    assert page.search.hasFocus()
    qtbot.keyClick(page.search, Qt.Key.Key_N,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    editor = page.editor
    assert page.stack.currentWidget() is editor and editor.party.account.hasFocus()
    type_text(qtbot, editor.party.account, format_account_number(home.account_number))
    qtbot.waitUntil(lambda: "Mme KONÉ Hélène" in editor.party.holder.text(), timeout=5000)
    qtbot.keyClick(editor.party.account, Qt.Key.Key_Tab)  # to "Prospect", then the terms
    editor.lines.start()
    qtbot.keyClick(editor.lines, Qt.Key.Key_Return)  # opens the first code cell

    catalogue = [("PEHD-25", "12,5"), ("COFFRET", "1"), ("COUPURE", "2"), ("REMISE", "1"),
                 ("CABLE-16", "7,25"), ("pehd", "3"), ("COUPURE", "1"), ("REMISE", "2")]
    for code, quantity in catalogue:
        _type(qtbot, code)
        _enter(qtbot, page)
        _type(qtbot, quantity)
        _enter(qtbot, page)
    for label, quantity, unit, price, discount, vat in (
            ("Main-d'œuvre de pose", "2,5", "h", "4 000", "10", "18"),
            ("Regard préfabriqué", "1", "u", "15 000", "", "18")):
        _enter(qtbot, page)  # no code: a free line
        for text in (label, quantity, unit, price, discount, vat):
            _type(qtbot, text)
            _enter(qtbot, page)
    # Totals follow the typing, before anything is saved.
    assert editor.model.rowCount() == 11 and len(editor.model.inputs()) == 10
    priced = editor.model.priced(Decimal(0))
    # Hand-computed: 15 000 + 28 000 + 10 000 + 7 500 + 13 412,5→13 413 + 3 600 + 5 000
    # + 15 000 + (10 000 − 10 % = 9 000) + 15 000.
    assert priced.total_excl_vat_minor == 15000 + 28000 + 10000 + 7500 + 13413 + 3600 + 5000 \
        + 15000 + 9000 + 15000
    currency = ctx.installation.currency
    assert currency.format_minor(priced.total_minor) in editor.totals.text()
    assert editor.model.lines[5].code == "PEHD-25", "a few letters give the item"

    qtbot.keyClick(editor.lines, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: editor.quote is not None, timeout=10000)
    wait_idle(qtbot)
    assert editor.quote is not None
    number = editor.quote.number
    assert editor.quote.priced.total_minor == priced.total_minor
    editor.buttons["send"].click()
    qtbot.waitUntil(lambda: editor.quote is not None
                    and editor.quote.status is QuoteStatus.SENT, timeout=10000)
    assert answers.opened and answers.opened[-1].endswith(f"devis-{number}.pdf")

    editor.buttons["approve"].click()
    approval = dialog_of(ApprovalDialog)
    assert isinstance(approval, ApprovalDialog)
    approval.signer.selectAll()
    type_text(qtbot, approval.signer, "Hélène Koné")
    qtbot.keyClick(approval.signer, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: editor.quote is not None
                    and editor.quote.status is QuoteStatus.APPROVED, timeout=10000)
    assert "signé par Hélène Koné" in editor.steps.text()
    assert not editor.buttons["save"].isEnabled() and editor.model.read_only

    editor.buttons["invoice"].click()
    invoicing = dialog_of(InvoiceDialog)
    assert isinstance(invoicing, InvoiceDialog)
    qtbot.keyClick(invoicing.ok_button, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: editor.quote is not None
                    and editor.quote.status is QuoteStatus.INVOICED, timeout=10000)
    wait_idle(qtbot)
    assert account_balance(ctx, home.account_id).current_minor == priced.total_minor
    assert load_quote(ctx, editor.quote.quote_id).invoices[0][1].startswith("FT101-")

    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert page.stack.currentIndex() == 0
    qtbot.waitUntil(lambda: page.quotes_model.rowCount() == 1 and page.quotes_model.data(
        page.quotes_model.index(0, 4)) == "Facturé", timeout=10000)
    assert "1 devis" in page.summary.text()

    view = open_file(qtbot, window, "hélène kon")
    tab_index = next(i for i in range(view.tabs.count()) if view.tabs.tabText(i).replace("&", "") == "Devis")
    view.tabs.setCurrentIndex(tab_index)
    from app.views.works.file_tab import WorksTab

    tab = view.tab(WorksTab)
    qtbot.waitUntil(lambda: tab.quotes_model.rowCount() == 1, timeout=10000)
    assert tab.invoices_model.rowCount() == 1
    assert list_quotes(ctx, QuoteFilter(text=number)).count == 1
    wait_idle(qtbot)


def test_the_list_filters_and_highlights_quotes_about_to_expire(
        qtbot: QtBot, window: MainWindow, ctx: ServiceContext, home: Household) -> None:
    from datetime import timedelta

    from app.services.works.catalogue import item_for, load_catalogue
    from app.services.works.quotes import QuoteInput, create_quote, send_quote
    from app.services.works.totals import LineInput

    item = item_for(load_catalogue(ctx), "COUPURE")
    assert item is not None
    line = LineInput(item.label, Decimal(1), item.unit_price_minor, item.vat_rate,
                     catalogue_item_id=item.item_id)
    today = ctx.installation.today()
    soon = create_quote(ctx, QuoteInput([line], account_id=home.account_id,
                                        valid_until=today + timedelta(days=3)))
    send_quote(ctx, soon.quote_id)
    create_quote(ctx, QuoteInput([line, line], account_id=home.account_id))
    page = _page(qtbot, window)
    qtbot.waitUntil(lambda: page.quotes_model.rowCount() == 2, timeout=10000)
    assert "1 devis expire dans la semaine" in page.summary.text()
    rows = {row.number: row for row in page.quotes_model.rows}
    assert rows[soon.number].expiring_soon
    page.status.setCurrentIndex(2)  # Envoyés
    qtbot.waitUntil(lambda: page.quotes_model.rowCount() == 1, timeout=10000)
    assert page.quotes_model.rows[0].number == soon.number
    # A quote written elsewhere (another screen's write) is announced: the list follows.
    page.status.setCurrentIndex(0)
    qtbot.waitUntil(lambda: page.quotes_model.rowCount() == 2, timeout=10000)
    wait_idle(qtbot)
    window.shell.runner.write(lambda: create_quote(ctx, QuoteInput([line],
                                                                   account_id=home.account_id)))
    qtbot.waitUntil(lambda: page.quotes_model.rowCount() == 3, timeout=10000)
    wait_idle(qtbot)


def test_the_lines_model_keeps_qt_rules(qtmodeltester: object, ctx: ServiceContext) -> None:
    from app.services.works.catalogue import load_catalogue
    from app.services.works.totals import LineInput
    from app.views.works.lines import QuoteLinesModel

    model = QuoteLinesModel(ctx.installation.currency, load_catalogue(ctx))
    model.set_lines([LineInput("Tranchée", Decimal("12.5"), 1850, Decimal("0.18"), "m",
                               Decimal("0.1"))])
    assert model.setData(model.index(1, 0), "coffret")
    assert model.rowCount() == 3 and model.lines[1].code == "COFFRET"
    assert not model.setData(model.index(2, 2), "1,2345"), "three decimals at most"
    qtmodeltester.check(model)  # type: ignore[attr-defined]


def test_a_quote_for_a_prospect_keeps_its_address(
        qtbot: QtBot, window: MainWindow, ctx: ServiceContext) -> None:
    page = _page(qtbot, window)
    page.new_quote()
    editor = page.editor
    editor.party.for_prospect.setChecked(True)
    qtbot.waitUntil(lambda: editor.party.commune.count() > 1, timeout=10000)
    type_text(qtbot, editor.party.last_name, "Traoré")
    type_text(qtbot, editor.party.first_name, "Ali")
    type_text(qtbot, editor.party.phone, "07 11 22 33 44")
    editor.party.commune.setCurrentIndex(editor.party.commune.findText("Cocody"))
    qtbot.waitUntil(lambda: editor.party.street.count() > 1, timeout=10000)
    editor.party.street.setCurrentIndex(1)
    street = editor.party.street.value()
    editor.lines.start()
    qtbot.keyClick(editor.lines, Qt.Key.Key_Return)
    _type(qtbot, "COFFRET")
    _enter(qtbot, page)
    _type(qtbot, "1")
    _enter(qtbot, page)
    qtbot.keyClick(editor.lines, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: editor.quote is not None, timeout=10000)
    assert editor.quote is not None and editor.quote.party == "M. TRAORÉ Ali"
    quote_id = editor.quote.quote_id
    page.show_list()
    page.open_quote(quote_id)
    qtbot.waitUntil(lambda: editor.party.street.value() == street, timeout=10000)
    assert editor.party.for_prospect.isChecked() and editor.party.last_name.text() == "Traoré"
    rows = list_quotes(ctx, QuoteFilter(text="traor")).rows
    assert len(rows) == 1 and rows[0].is_prospect
    wait_idle(qtbot)


def test_a_supervisor_cancels_a_works_invoice_by_a_credit_note(
        qtbot: QtBot, ctx: ServiceContext, settings: Settings, home: Household,
        answers: Answers) -> None:
    from app.models.enums import ApprovalMethod
    from app.services.works.catalogue import item_for, load_catalogue
    from app.services.works.invoicing import InvoiceChoice, invoice_quote
    from app.services.works.quotes import QuoteInput, approve_quote, create_quote, send_quote
    from app.services.works.totals import LineInput

    item = item_for(load_catalogue(ctx), "COFFRET")
    assert item is not None
    saved = create_quote(ctx, QuoteInput([LineInput(item.label, Decimal(1), item.unit_price_minor,
                                                    item.vat_rate)], account_id=home.account_id))
    send_quote(ctx, saved.quote_id)
    approve_quote(ctx, saved.quote_id, "H. Koné", ApprovalMethod.IN_PERSON)
    issued = invoice_quote(ctx, saved.quote_id, InvoiceChoice.FULL)
    windows = _window(qtbot, ctx, settings, "superviseur", "Guichet-Sup-2026")
    page = _page(qtbot, next(windows))
    page.lists.setCurrentIndex(1)
    qtbot.waitUntil(lambda: page.invoices_model.rowCount() == 1, timeout=10000)
    page.invoices.setCurrentIndex(page.invoices_model.index(0, 0))
    answers.text = "Erreur de quantité"
    page.action_buttons["credit"].click()
    qtbot.waitUntil(lambda: page.invoices_model.rowCount() == 2, timeout=10000)
    wait_idle(qtbot)
    assert any(row.credited for row in page.invoices_model.rows)
    assert answers.opened[-1].startswith(str(settings.data_dir))
    next(windows, None)  # the window's teardown: its runner stops
    assert account_balance(ctx, home.account_id).current_minor == 0
    assert load_quote(ctx, saved.quote_id).status is QuoteStatus.APPROVED
    assert issued.total_minor == 33040


def test_the_quotes_list_model_keeps_qt_rules(qtmodeltester: object, ctx: ServiceContext,
                                              home: Household) -> None:
    from app.services.works.catalogue import item_for, load_catalogue
    from app.services.works.quotes import QuoteInput, create_quote
    from app.services.works.totals import LineInput
    from app.views.table_model import Column
    from app.views.works.page import QuotesModel

    item = item_for(load_catalogue(ctx), "COUPURE")
    assert item is not None
    create_quote(ctx, QuoteInput([LineInput(item.label, Decimal(1), item.unit_price_minor,
                                            item.vat_rate)], account_id=home.account_id))
    model = QuotesModel([Column("N°", lambda r: r.number), Column("Client", lambda r: r.party)],
                        list_quotes(ctx, QuoteFilter()).rows)
    assert model.rowCount() == 1
    qtmodeltester.check(model)  # type: ignore[attr-defined]


def test_the_invoices_list_follows_the_agent_and_commune_filters(
        qtbot: QtBot, window: MainWindow, ctx: ServiceContext) -> None:
    from sqlalchemy import select

    from app.models import Commune, Street
    from app.models.enums import ApprovalMethod, Civility
    from app.services.works.catalogue import item_for, load_catalogue
    from app.services.works.invoicing import InvoiceChoice, invoice_quote
    from app.services.works.quotes import (
        Prospect,
        QuoteInput,
        approve_quote,
        create_quote,
        send_quote,
    )
    from app.services.works.totals import LineInput

    item = item_for(load_catalogue(ctx), "COFFRET")
    assert item is not None
    for commune_name in ("Cocody", "Yopougon"):
        with ctx.reading() as session:
            commune = session.scalars(select(Commune).where(Commune.name == commune_name)).one()
            street = session.scalars(select(Street).where(Street.commune_id == commune.id)).first()
            assert street is not None
        saved = create_quote(ctx, QuoteInput(
            [LineInput(item.label, Decimal(1), item.unit_price_minor, item.vat_rate)],
            prospect=Prospect(Civility.MR, f"Client {commune_name}", "Ali", "0701020304",
                              commune.id, street.id, "5")))
        send_quote(ctx, saved.quote_id)
        approve_quote(ctx, saved.quote_id, "Ali", ApprovalMethod.IN_PERSON)
        invoice_quote(ctx, saved.quote_id, InvoiceChoice.FULL)
    page = _page(qtbot, window)
    page.lists.setCurrentIndex(1)
    qtbot.waitUntil(lambda: page.invoices_model.rowCount() == 2, timeout=10000)
    qtbot.waitUntil(lambda: page.commune.count() > 1, timeout=10000)
    page.commune.setCurrentIndex(page.commune.findText("Yopougon"))
    qtbot.waitUntil(lambda: page.invoices_model.rowCount() == 1, timeout=10000)
    assert page.invoices_model.rows[0].commune == "Yopougon"
    assert "1 facture" in page.invoices_summary.text()
    page.commune.setCurrentIndex(0)
    qtbot.waitUntil(lambda: page.invoices_model.rowCount() == 2, timeout=10000)
    page.agent.setFocus()
    type_text(qtbot, page.agent, "personne")
    qtbot.waitUntil(lambda: page.invoices_model.rowCount() == 0, timeout=10000)
    wait_idle(qtbot)


def test_a_prepaid_connection_is_put_in_service_by_hand_with_its_drn(
        qtbot: QtBot, window: MainWindow, ctx: ServiceContext, answers: Answers) -> None:
    from app.models.enums import Energy
    from app.views.works.quote_dialogs import ConnectionDialog
    from kernel.identifiers import make_drn, make_meter_serial
    from tests.services.interventions_setup import ordered_prepaid_quote

    _tariff, quote_id, _job = ordered_prepaid_quote(ctx)
    page = _page(qtbot, window)
    dialog = ConnectionDialog(page.shell, load_quote(ctx, quote_id), page)
    dialog.show()
    qtbot.waitUntil(dialog.serial.isVisible)
    dialog.serial.setFocus()
    type_text(qtbot, dialog.serial, make_meter_serial(Energy.ELECTRICITY, 9))
    qtbot.keyClick(dialog.serial, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.errors.labels["sts_drn"].isVisible(), timeout=10000)
    qtbot.keyClick(dialog, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)
    assert dialog.sts_drn.hasFocus()
    type_text(qtbot, dialog.sts_drn, make_drn(4, 10_000_009))
    qtbot.keyClick(dialog.sts_drn, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    assert any("Branchement" in text for _kind, _title, text in answers.shown)
    wait_idle(qtbot)
