"""The counter's day on screen: the payment dialog, cancellation, the solde à jour, readings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import update

from app.models import Account
from app.models.capture import SYSTEM
from app.models.ids import utcnow
from app.services.auth import sign_in
from app.settings import Settings
from app.views.customers.file_tabs import AccountsTab
from app.views.customers.page import ClientsPage
from app.views.home_page import HomePage
from app.views.main_window import MainWindow
from app.views.shell import Shell
from app.views.tasks import TaskRunner
from kernel.context import ServiceContext, UnitOfWork
from tests.services.helpers import Household, household
from tests.services.test_counter_money import _invoice
from tests.views.conftest import Answers, type_text, wait_idle
from tests.views.test_clients import dialog_of, open_file


@pytest.fixture
def home(ctx: ServiceContext) -> Household:
    return household(ctx)


def _window(qtbot: QtBot, ctx: ServiceContext, settings: Settings, username: str,
            password: str) -> Iterator[MainWindow]:
    user = sign_in(ctx.db, username, password)
    runner = TaskRunner()
    main = MainWindow(Shell(settings, ctx.signed_in(user), runner))
    qtbot.addWidget(main)
    with qtbot.waitActive(main):
        main.show()
        main.activateWindow()
    yield main
    runner.shutdown()


@pytest.fixture
def window(qtbot: QtBot, ctx: ServiceContext, settings: Settings) -> Iterator[MainWindow]:
    yield from _window(qtbot, ctx, settings, "agent", "Guichet-Agent-2026")


@pytest.fixture
def supervisor_window(qtbot: QtBot, ctx: ServiceContext, settings: Settings) -> Iterator[MainWindow]:
    yield from _window(qtbot, ctx, settings, "superviseur", "Guichet-Sup-2026")


def _owes(ctx: ServiceContext, home: Household, minor: int) -> None:
    today = ctx.installation.today()
    _invoice(ctx, home.account_id, "FC2026-00000900", today - timedelta(days=50), minor - 1000)
    _invoice(ctx, home.account_id, "FC2026-00000901", today - timedelta(days=20), 1000)
    with UnitOfWork(ctx.db, SYSTEM, from_server=True) as uow:
        uow.session.execute(update(Account).where(Account.id == home.account_id)
                            .values(balance_minor=minor, balance_as_of=utcnow()))
        uow.commit()


def test_the_payment_dialog_proposes_what_is_owed_and_gives_the_change(
    qtbot: QtBot, window: MainWindow, home: Household, ctx: ServiceContext, answers: Answers
) -> None:
    from app.views.customers.payment_dialog import PaymentDialog

    _owes(ctx, home, 4372)
    view = open_file(qtbot, window, "kone helene")
    qtbot.keyClick(view, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    dialog = dialog_of(PaymentDialog)
    wait_idle(qtbot)
    assert dialog.amount.text() == "4 372"  # type: ignore[attr-defined]
    assert dialog.invoice.currentText().startswith("FC2026-00000900")  # type: ignore[attr-defined]
    assert "F CFA" in dialog.amount.placeholderText() and "XOF" not in dialog.amount.placeholderText()  # type: ignore[attr-defined]
    assert "4\u202f372" in dialog.owed.text()  # type: ignore[attr-defined]
    type_text(qtbot, dialog.handed, "5 000")  # type: ignore[attr-defined]
    assert dialog.change.text() == "628\xa0F\u202fCFA"  # type: ignore[attr-defined]
    with qtbot.waitSignal(view.loaded, timeout=15000):
        qtbot.keyClick(dialog.amount, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert [kind for kind, _, _ in answers.shown] == ["info"], "what is owed needs no confirmation"
    accounts = view.tab(AccountsTab)
    qtbot.waitUntil(lambda: "reste dû : 0" in accounts.as_of.text(), timeout=10000)
    assert "solde à jour 0" in view.summary.text().replace("\u202f", " ").replace("\xa0", " ")


def test_an_amount_in_euros_is_refused_and_an_advance_is_confirmed_first(
    qtbot: QtBot, window: MainWindow, home: Household, ctx: ServiceContext, answers: Answers
) -> None:
    from app.views.customers.payment_dialog import PaymentDialog

    _owes(ctx, home, 4372)
    view = open_file(qtbot, window, "kone helene")
    qtbot.keyClick(view, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    dialog = dialog_of(PaymentDialog)
    wait_idle(qtbot)
    amount = dialog.amount  # type: ignore[attr-defined]
    amount.selectAll()
    type_text(qtbot, amount, "100 €")
    qtbot.keyClick(amount, Qt.Key.Key_Return)
    message = dialog.errors.labels["amount"]  # type: ignore[attr-defined]
    assert message.isVisible() and "euros" in message.text() and "compris : 100 €" in message.text()
    amount.selectAll()
    type_text(qtbot, amount, "1 004 372")
    answers.confirm_answer = False
    qtbot.keyClick(amount, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: any(kind == "confirm" for kind, _, _ in answers.shown), timeout=10000)
    assert "avance de 1\u202f000\u202f000" in answers.shown[-1][2]
    wait_idle(qtbot)
    assert dialog.isVisible() and dialog.ok_button.isEnabled()  # type: ignore[attr-defined]


def test_a_receipt_that_cannot_be_opened_says_so_and_offers_a_copy(
    qtbot: QtBot, window: MainWindow, home: Household, ctx: ServiceContext, answers: Answers,
    tmp_path: Path,
) -> None:
    from app.views.customers.payment_dialog import PaymentDialog

    _owes(ctx, home, 4372)
    answers.can_open = False
    answers.save_to = str(tmp_path / "copie.pdf")
    view = open_file(qtbot, window, "kone helene")
    qtbot.keyClick(view, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    dialog = dialog_of(PaymentDialog)
    wait_idle(qtbot)
    with qtbot.waitSignal(view.loaded, timeout=15000):
        qtbot.keyClick(dialog.amount, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    texts = answers.texts()
    assert "ouvert pour impression" not in texts.lower().replace("pu être ouvert pour impression", "")
    assert "n'a pas pu être ouvert" in texts and "enregistrer une copie" in texts
    assert (tmp_path / "copie.pdf").read_bytes().startswith(b"%PDF")


def test_a_supervisor_cancels_a_payment_from_the_accounts_tab(
    qtbot: QtBot, supervisor_window: MainWindow, home: Household, ctx: ServiceContext, answers: Answers
) -> None:
    from decimal import Decimal

    from app.models.enums import PaymentMethod
    from app.services.payments import record_payment

    _owes(ctx, home, 4372)
    record_payment(ctx, home.account_id, Decimal(4372), PaymentMethod.CASH)
    view = open_file(qtbot, supervisor_window, "kone helene")
    accounts = view.tab(AccountsTab)
    view.tabs.setCurrentIndex(next(i for i in range(view.tabs.count())
                                   if view.tabs.widget(i).isAncestorOf(accounts)))
    payments = accounts.payments
    qtbot.waitUntil(lambda: accounts.payments_model.rowCount() == 1, timeout=10000)
    payments.selectRow(0)
    cancel = accounts.cancel
    assert cancel.isVisible() and cancel.isEnabled()
    answers.text = "Saisi deux fois"
    with qtbot.waitSignal(view.loaded, timeout=15000):
        qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert answers.shown[-1][1] == "Encaissement annulé"
    assert Path(answers.opened[-1]).name.startswith("annulation-")
    qtbot.waitUntil(lambda: accounts.statement_model.rowCount() == 4, timeout=10000)
    model = accounts.statement_model
    assert model.data(model.index(3, 1)).startswith("Annulation de l'encaissement : Saisi deux fois")
    assert "reste dû : 4\u202f372" in accounts.as_of.text()
    assert "Solde du site central" in accounts.as_of.toolTip()


def test_an_agent_has_no_cancel_button(
    qtbot: QtBot, window: MainWindow, home: Household
) -> None:
    view = open_file(qtbot, window, "kone helene")
    assert not view.tab(AccountsTab).cancel.isVisibleTo(view)


# --- sign-in -------------------------------------------------------------------------------


def test_after_a_wrong_password_enter_signs_in_and_never_quits(qtbot: QtBot) -> None:
    from app.models.enums import Role
    from app.views.sign_in import SignInDialog
    from kernel.context import SignedInUser
    from kernel.errors import SignInError

    def check(username: str, password: str) -> SignedInUser:
        if password != "bon":
            raise SignInError("Identifiant ou mot de passe incorrect.")
        return SignedInUser(uuid.uuid4(), username, "Yao KOUASSI", Role.AGENT)

    runner = TaskRunner()
    dialog = SignInDialog(check, runner, "Agence 101")
    qtbot.addWidget(dialog)
    with qtbot.waitActive(dialog):
        dialog.show()
        dialog.activateWindow()
    dialog.username.setFocus()
    quit_button = next(b for b in dialog.buttons.buttons() if "Quitter" in b.text())
    rejected: list[bool] = []
    dialog.rejected.connect(lambda: rejected.append(True))
    qtbot.keyClicks(dialog.username, "agent")
    qtbot.keyClick(dialog.username, Qt.Key.Key_Tab)
    qtbot.keyClicks(dialog.password, "mauvais")
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    focused_during_check = QApplication.focusWidget()
    qtbot.waitUntil(lambda: "incorrect" in dialog.message.text(), timeout=5000)
    wait_idle(qtbot)
    assert focused_during_check is not quit_button
    assert QApplication.focusWidget() is dialog.password
    assert dialog.submit.isDefault() and not quit_button.isDefault()
    qtbot.keyClicks(dialog.password, "bon")
    with qtbot.waitSignal(dialog.signed_in, timeout=5000):
        qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert not rejected
    runner.shutdown()


# --- readings ------------------------------------------------------------------------------


def _second_meter(ctx: ServiceContext, home: Household) -> str:
    """An electricity connection and meter on the same premise; returns its serial."""
    from app.models import Meter, MeterReading, ServiceConnection
    from app.models.enums import Energy, ReadingKind, ReadingSource
    from kernel.identifiers import make_meter_serial

    today = ctx.installation.today()
    with UnitOfWork(ctx.db, SYSTEM) as uow:
        connection = ServiceConnection(agency_id=ctx.installation.agency_id, reference="BR-ELEC-1",
                                       premise_id=home.premise_id, energy=Energy.ELECTRICITY)
        uow.session.add(connection)
        uow.session.flush()
        meter = Meter(agency_id=ctx.installation.agency_id, serial=make_meter_serial(Energy.ELECTRICITY, 4242),
                      energy=Energy.ELECTRICITY, connection_id=connection.id, digits=6,
                      installed_on=today - timedelta(days=300))
        uow.session.add(meter)
        uow.session.flush()
        uow.session.add(MeterReading(agency_id=ctx.installation.agency_id, meter_id=meter.id,
                                     reading_date=today - timedelta(days=30), read_at=utcnow(),
                                     index_value=72939, source=ReadingSource.AGENT, kind=ReadingKind.REGULAR))
        uow.commit()
        return meter.serial


def test_the_reading_dialog_makes_the_agent_choose_among_two_meters_and_shows_it(
    qtbot: QtBot, window: MainWindow, home: Household, ctx: ServiceContext, answers: Answers
) -> None:
    from app.views.customers.reading_dialogs import ReadingDialog

    serial = _second_meter(ctx, home)
    view = open_file(qtbot, window, "kone helene")
    qtbot.mouseClick(view.action_buttons["reading"], Qt.MouseButton.LeftButton)
    dialog = dialog_of(ReadingDialog)
    meter = dialog.meter  # type: ignore[attr-defined]
    assert meter.count() == 3 and meter.value() is None, "no meter is picked for the agent"
    qtbot.keyClick(dialog.index, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert dialog.errors.labels["meter"].isVisible()  # type: ignore[attr-defined]
    electricity = next(i for i in range(meter.count()) if serial in meter.itemText(i))
    meter.setCurrentIndex(electricity)
    detail = dialog.meter_detail.text()  # type: ignore[attr-defined]
    assert serial in detail and "Électricité" in detail and "72\u202f939\xa0kWh" in detail
    assert dialog.index.value() == 72939  # type: ignore[attr-defined]
    index = dialog.index  # type: ignore[attr-defined]
    index.selectAll()
    type_text(qtbot, index, "100")
    qtbot.keyClick(index, Qt.Key.Key_Return)
    message = dialog.errors.labels["index_value"]  # type: ignore[attr-defined]
    qtbot.waitUntil(message.isVisible, timeout=10000)
    assert "inférieur au précédent (72\u202f939" in message.text()
    QApplication.processEvents()
    assert message.height() >= message.heightForWidth(message.width()), "the message is read whole"
    dialog.reject()


def test_a_reading_on_a_vacant_premise_is_confirmed_from_the_dialog(
    qtbot: QtBot, window: MainWindow, home: Household, ctx: ServiceContext, answers: Answers
) -> None:
    from app.models import Contract, MeterReading
    from app.models.enums import ContractStatus
    from app.views.customers.reading_dialogs import ReadingDialog

    with UnitOfWork(ctx.db, SYSTEM) as uow:
        uow.session.execute(update(Contract).where(Contract.id == home.contract_id)
                            .values(status=ContractStatus.CLOSED))
        uow.commit()
    view = open_file(qtbot, window, "kone helene")
    qtbot.mouseClick(view.action_buttons["reading"], Qt.MouseButton.LeftButton)
    dialog = dialog_of(ReadingDialog)
    assert "Local vacant" in dialog.meter_detail.text()  # type: ignore[attr-defined]
    index = dialog.index  # type: ignore[attr-defined]
    index.selectAll()
    type_text(qtbot, index, "240")
    with qtbot.waitSignal(view.loaded, timeout=15000):
        qtbot.keyClick(index, Qt.Key.Key_Return)
    assert answers.shown[-1][1] == "Relève sur local vacant"
    with ctx.reading() as session:
        from sqlalchemy import select

        assert session.scalar(select(MeterReading.on_vacant_premise).where(MeterReading.index_value == 240))


# --- keyboard ------------------------------------------------------------------------------


def test_ctrl_2_puts_the_cursor_in_the_search_box(qtbot: QtBot, window: MainWindow) -> None:
    window.show_page(HomePage)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    page = window.page(ClientsPage)
    assert window.current_page() is page
    assert QApplication.focusWidget() is page.search_tab.box


def test_ctrl_f_n_w_work_from_anywhere_in_the_window(
    qtbot: QtBot, window: MainWindow, home: Household, answers: Answers
) -> None:
    from app.views.customers.identity_dialogs import NewCustomerDialog

    view = open_file(qtbot, window, "kone helene")
    page = window.page(ClientsPage)
    window.navigation.setFocus()  # as after a click on the sidebar
    qtbot.keyClick(window.navigation, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    assert page.tabs.count() == 1 and page.tabs.indexOf(view) == -1
    window.show_page(HomePage)
    window.navigation.setFocus()
    qtbot.keyClick(window.navigation, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page() is page
    assert QApplication.focusWidget() is page.search_tab.box
    window.navigation.setFocus()
    qtbot.keyClick(window.navigation, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = dialog_of(NewCustomerDialog)
    dialog.reject()


def test_aide_raccourcis_lists_the_shortcuts(qtbot: QtBot, window: MainWindow, answers: Answers) -> None:
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "A&ide")
    listed = next(a for a in help_menu.actions() if "Raccourcis" in a.text())
    listed.trigger()
    title, text = answers.shown[-1][1], answers.shown[-1][2]
    assert title == "Raccourcis clavier"
    for keys in ("Ctrl+F", "Ctrl+N", "Ctrl+W", "Ctrl+2", "Ctrl+P", "Ctrl++"):
        assert f"<b>{keys}</b>" in text


def test_enter_in_the_account_field_validates_the_move_dialog(
    qtbot: QtBot, window: MainWindow, home: Household, ctx: ServiceContext, answers: Answers
) -> None:
    from app.models.enums import Civility
    from app.services.customer_edit import create_customer
    from app.views.customers.occupant_dialog import OccupantDialog
    from tests.services.helpers import new_customer_input

    newcomer = create_customer(ctx, new_customer_input(ctx, last_name="Traoré", first_name="Moussa",
                                                       civility=Civility.MR, mobile="0505050505"))
    view = open_file(qtbot, window, "kone helene")
    qtbot.keyClick(view, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    dialog = dialog_of(OccupantDialog)
    dialog.arriving.setChecked(True)  # type: ignore[attr-defined]
    dialog.index.setValue(240)  # type: ignore[attr-defined]
    field = dialog.account_number  # type: ignore[attr-defined]
    field.setFocus()
    type_text(qtbot, field, newcomer.account_number)
    wait_idle(qtbot)
    with qtbot.waitSignal(view.loaded, timeout=15000):
        qtbot.keyClick(field, Qt.Key.Key_Return)
    assert "abonnement résilié" in answers.texts()


# --- French forms ----------------------------------------------------------------------------


def test_qts_file_dialog_is_entirely_in_french(qapp: QApplication) -> None:
    from PySide6.QtWidgets import QFileDialog, QLabel

    dialog = QFileDialog(None, "Enregistrer le document")
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    texts = [label.text().replace("&", "") for label in dialog.findChildren(QLabel)]
    assert texts and all(not text.startswith(("Look", "Files", "File name")) for text in texts), texts
    assert any(text.startswith("Regarder dans") for text in texts)
    dialog.deleteLater()


# --- layout --------------------------------------------------------------------------------


def test_the_first_window_fits_the_screen_and_the_zoom_is_remembered(
    qtbot: QtBot, ctx: ServiceContext, settings: Settings
) -> None:
    windows = _window(qtbot, ctx, settings, "agent", "Guichet-Agent-2026")
    window = next(windows)
    available = window.screen().availableGeometry()
    assert available.contains(window.frameGeometry()), (available, window.frameGeometry())
    qtbot.keyClick(window, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window, Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier)
    assert "12.0pt" in QApplication.instance().styleSheet()  # type: ignore[union-attr]
    window.close()
    next(windows, None)
    QApplication.instance().setStyleSheet("")  # type: ignore[union-attr]
    again = next(_window(qtbot, ctx, settings, "agent", "Guichet-Agent-2026"))
    assert "12.0pt" in QApplication.instance().styleSheet(), "the zoom comes back"  # type: ignore[union-attr]
    qtbot.keyClick(again, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert "QWidget { font-size: 10pt; }" in QApplication.instance().styleSheet()  # type: ignore[union-attr]
    again.close()


def test_search_results_give_the_spare_width_to_the_address(
    qtbot: QtBot, window: MainWindow, home: Household
) -> None:
    from PySide6.QtWidgets import QHeaderView

    from app.views.customers.page import ADDRESS_COLUMN

    page = window.show_page(ClientsPage)
    header = page.search_tab.table.horizontalHeader()
    assert header.sectionResizeMode(ADDRESS_COLUMN) is QHeaderView.ResizeMode.Stretch
    assert header.sectionResizeMode(ADDRESS_COLUMN + 1) is QHeaderView.ResizeMode.ResizeToContents
    assert page.search_tab.model.headerData(ADDRESS_COLUMN, Qt.Orientation.Horizontal) == "Adresse"


def test_a_new_customer_without_connection_is_told_why_and_what_to_do(
    qtbot: QtBot, window: MainWindow, ctx: ServiceContext
) -> None:
    from app.services.customer_edit import create_customer
    from tests.services.helpers import new_customer_input

    create_customer(ctx, new_customer_input(ctx, last_name="Zadi", first_name="Inès"))
    view = open_file(qtbot, window, "zadi ines")
    assert not view.action_buttons["reading"].isEnabled()
    hint = view.no_connection
    assert hint.isVisibleTo(view) and "aucun branchement" in hint.text() and "devis de branchement" in hint.text()
    assert "devis de branchement" in view.action_buttons["move"].toolTip()


def test_the_move_dialog_shows_the_proposed_tariff_and_the_confirmation_names_it(
    qtbot: QtBot, window: MainWindow, home: Household, answers: Answers
) -> None:
    from app.views.customers.occupant_dialog import OccupantDialog

    view = open_file(qtbot, window, "kone helene")
    qtbot.keyClick(view, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    dialog = dialog_of(OccupantDialog)
    wait_idle(qtbot)
    assert dialog.tariff.count() >= 1 and dialog.tariff.value() is not None  # type: ignore[attr-defined]
    assert "précédent abonnement" in dialog.tariff_why.text()  # type: ignore[attr-defined]
    dialog.arriving.setChecked(True)  # type: ignore[attr-defined]
    dialog.index.setValue(240)  # type: ignore[attr-defined]
    field = dialog.account_number  # type: ignore[attr-defined]
    type_text(qtbot, field, home.account_number)
    wait_idle(qtbot)
    with qtbot.waitSignal(view.loaded, timeout=15000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert f"au tarif {dialog.tariff.currentText().split(' (')[0]}" in answers.shown[-1][2]  # type: ignore[attr-defined]


def test_the_supervisor_lists_vacant_premise_readings(
    qtbot: QtBot, supervisor_window: MainWindow, home: Household, ctx: ServiceContext
) -> None:
    from app.models import Contract
    from app.models.enums import ContractStatus
    from app.services.readings import record_reading
    from app.views.customers.vacant import VacantReadingsDialog

    with UnitOfWork(ctx.db, SYSTEM) as uow:
        uow.session.execute(update(Contract).where(Contract.id == home.contract_id)
                            .values(status=ContractStatus.CLOSED))
        uow.commit()
    record_reading(ctx, home.meter_id, ctx.installation.today(), 260, confirmed_vacant=True)
    control = next(a.menu() for a in supervisor_window.menuBar().actions() if a.text() == "&Contrôle")
    control.actions()[0].trigger()
    dialog = dialog_of(VacantReadingsDialog)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=10000)  # type: ignore[attr-defined]
    assert dialog.model.data(dialog.model.index(0, 4)) == "40"  # type: ignore[attr-defined]
    dialog.reject()


def test_an_agent_has_no_control_menu(window: MainWindow) -> None:
    assert all(a.text() != "&Contrôle" for a in window.menuBar().actions())
