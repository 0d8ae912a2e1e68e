"""The Clients module driven as an agent would: type, read, open, edit, cash, record, move."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

from app.models.enums import Civility
from app.services.auth import sign_in
from app.services.customer_file import load_customer_file
from app.settings import Settings
from app.views.customers.file_tabs import AccountsTab, HistoryTab, IdentityTab, PremisesTab
from app.views.customers.file_view import CustomerFileView
from app.views.customers.page import ClientsPage
from app.views.main_window import MainWindow
from app.views.shell import Shell
from app.views.tasks import TaskRunner
from kernel.context import ServiceContext
from kernel.identifiers import format_account_number
from tests.services.helpers import Household, household
from tests.views.conftest import Answers, type_text, wait_idle


@pytest.fixture
def window(qtbot: QtBot, ctx: ServiceContext, settings: Settings) -> Iterator[MainWindow]:
    user = sign_in(ctx.db, "agent", "Guichet-Agent-2026")
    runner = TaskRunner()
    main = MainWindow(Shell(settings, ctx.signed_in(user), runner))
    qtbot.addWidget(main)
    main.show()
    main.activateWindow()
    qtbot.waitExposed(main)
    yield main
    runner.shutdown()


@pytest.fixture
def home(ctx: ServiceContext) -> Household:
    return household(ctx)


def clients(window: MainWindow) -> ClientsPage:
    return window.show_page(ClientsPage)


def open_file(qtbot: QtBot, window: MainWindow, query: str) -> CustomerFileView:
    page = clients(window)
    box = page.search_tab.box
    box.setFocus()
    type_text(qtbot, box, query)
    qtbot.waitUntil(lambda: page.search_tab.model.rowCount() > 0, timeout=10000)
    qtbot.keyClick(box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: isinstance(page.tabs.currentWidget(), CustomerFileView))
    view = page.tabs.currentWidget()
    assert isinstance(view, CustomerFileView)
    qtbot.waitUntil(lambda: view.file is not None, timeout=10000)
    wait_idle(qtbot)
    return view


def dialog_of(kind: type) -> QDialog:
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]
    assert len(dialogs) == 1, dialogs
    return dialogs[0]


def test_typing_shows_results_and_enter_opens_the_file(qtbot: QtBot, window: MainWindow, home: Household) -> None:
    page = clients(window)
    type_text(qtbot, page.search_tab.box, "hélène kon")
    qtbot.waitUntil(lambda: page.search_tab.model.rowCount() == 1, timeout=10000)
    assert page.search_tab.summary.text() == "1 résultat"
    model = page.search_tab.model
    assert model.data(model.index(0, 0)) == "Mme KONÉ Hélène"
    assert model.data(model.index(0, 1)) == format_account_number(home.account_number)
    assert model.data(model.index(0, 4)) == "Nom"
    qtbot.keyClick(page.search_tab.box, Qt.Key.Key_Down)
    assert page.search_tab.table.hasFocus()
    qtbot.keyClick(page.search_tab.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.tabs.count() == 2)
    view = page.tabs.currentWidget()
    assert isinstance(view, CustomerFileView)
    qtbot.waitUntil(lambda: view.name.text() == "Mme KONÉ Hélène", timeout=10000)
    assert page.tabs.tabText(1) == "Mme KONÉ Hélène"
    assert "Tél. 07 01 02 03 04" in view.summary.text()


def test_ctrl_k_search_lands_in_the_clients_module(qtbot: QtBot, window: MainWindow, home: Household) -> None:
    window.search_box.setText("0701020304")
    qtbot.keyClick(window.search_box, Qt.Key.Key_Return)
    page = clients(window)
    qtbot.waitUntil(lambda: page.search_tab.model.rowCount() == 1, timeout=10000)
    assert window.current_page() is page
    assert page.search_tab.model.hit(0).matched_field == "Téléphone"


def test_edit_the_identity_and_read_it_back(qtbot: QtBot, window: MainWindow, home: Household) -> None:
    from app.views.customers.identity_dialogs import EditIdentityDialog

    view = open_file(qtbot, window, "kone helene")
    qtbot.mouseClick(view.action_buttons["edit"], Qt.MouseButton.LeftButton)
    dialog = dialog_of(EditIdentityDialog)
    email = dialog.fields.email  # type: ignore[attr-defined]
    email.clear()
    type_text(qtbot, email, "pas un mail")
    qtbot.keyClick(email, Qt.Key.Key_Return)
    error = dialog.errors.labels["email"]  # type: ignore[attr-defined]
    qtbot.waitUntil(error.isVisible)
    assert error.text() == "Adresse e-mail invalide" and dialog.isVisible()
    email.clear()
    type_text(qtbot, email, "helene.kone@mail.example")
    with qtbot.waitSignal(view.loaded, timeout=10000):
        qtbot.keyClick(email, Qt.Key.Key_Return)
    assert view.tab(IdentityTab).values["E-mail"].text() == "helene.kone@mail.example"


def test_a_stale_edit_is_refused_and_the_file_reloads(
    qtbot: QtBot, window: MainWindow, home: Household, ctx: ServiceContext, answers: Answers
) -> None:
    from dataclasses import replace

    from app.services.customer_edit import IdentityInput, update_identity
    from app.views.customers.identity_dialogs import EditIdentityDialog

    view = open_file(qtbot, window, "kone helene")
    qtbot.mouseClick(view.action_buttons["edit"], Qt.MouseButton.LeftButton)
    dialog = dialog_of(EditIdentityDialog)
    identity = load_customer_file(ctx, home.customer_id).identity
    update_identity(ctx, home.customer_id, identity.version,
                    replace(IdentityInput.from_identity(identity), first_name="Hélène Awa"))  # the other desk
    type_text(qtbot, dialog.fields.notes, "client fidèle")  # type: ignore[attr-defined]
    with qtbot.waitSignal(view.loaded, timeout=10000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert answers.shown[-1][1] == "Fiche modifiée entre-temps"
    assert "modifiée par un autre poste" in answers.shown[-1][2]
    assert view.name.text() == "Mme KONÉ Hélène Awa"


def test_cash_a_payment_and_see_it_on_the_statement(
    qtbot: QtBot, window: MainWindow, home: Household, answers: Answers
) -> None:
    from app.views.customers.payment_dialog import PaymentDialog

    view = open_file(qtbot, window, "kone helene")
    qtbot.keyClick(view, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    dialog = dialog_of(PaymentDialog)
    wait_idle(qtbot)
    type_text(qtbot, dialog.amount, "15 000")  # type: ignore[attr-defined]
    with qtbot.waitSignal(view.loaded, timeout=15000):
        qtbot.keyClick(dialog.amount, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert answers.shown[-2][1] == "Vérifier le montant" and "avance de 15 000" in answers.shown[-2][2]
    assert answers.shown[-1][1] == "Encaissement enregistré"
    assert "Ouvert pour impression" in answers.shown[-1][2]
    assert answers.opened and Path(answers.opened[-1]).read_bytes().startswith(b"%PDF")
    accounts = view.tab(AccountsTab)
    wait_idle(qtbot)
    payments = accounts.payments_model
    qtbot.waitUntil(lambda: payments.rowCount() == 1)
    assert payments.data(payments.index(0, 2)) == "15\u202f000\xa0F\u202fCFA"
    assert "avance en faveur du client : 15\u202f000" in accounts.as_of.text()


def test_record_a_reading_with_the_unusual_check(
    qtbot: QtBot, window: MainWindow, home: Household, answers: Answers
) -> None:
    from app.views.customers.reading_dialogs import ReadingDialog

    view = open_file(qtbot, window, "kone helene")
    qtbot.mouseClick(view.action_buttons["reading"], Qt.MouseButton.LeftButton)
    dialog = dialog_of(ReadingDialog)
    index = dialog.index  # type: ignore[attr-defined]
    assert index.value() == 220, "the last index is proposed"
    index.selectAll()
    type_text(qtbot, index, "150")
    qtbot.keyClick(index, Qt.Key.Key_Return)
    message = dialog.errors.labels["index_value"]  # type: ignore[attr-defined]
    qtbot.waitUntil(message.isVisible)
    assert "inférieur au précédent (220" in message.text()
    index.selectAll()
    type_text(qtbot, index, "900")
    with qtbot.waitSignal(view.loaded, timeout=15000):
        qtbot.keyClick(index, Qt.Key.Key_Return)
    assert answers.shown[-1][1] == "Consommation inhabituelle"
    premises = view.tab(PremisesTab)
    qtbot.waitUntil(lambda: premises.readings_model.rowCount() == 6, timeout=10000)
    model = premises.readings_model
    assert (model.data(model.index(0, 1)), model.data(model.index(0, 2))) == ("900", "680\xa0m³")


def test_move_out_then_move_in_from_the_file(
    qtbot: QtBot, window: MainWindow, home: Household, ctx: ServiceContext, answers: Answers
) -> None:
    from app.models.enums import Civility
    from app.services.customer_edit import create_customer
    from app.views.customers.occupant_dialog import OccupantDialog
    from tests.services.helpers import new_customer_input

    newcomer = create_customer(ctx, new_customer_input(ctx, last_name="Traoré", first_name="Moussa",
                                                       civility=Civility.MR, mobile="0505050505"))
    view = open_file(qtbot, window, "kone helene")
    qtbot.mouseClick(view.action_buttons["move"], Qt.MouseButton.LeftButton)
    dialog = dialog_of(OccupantDialog)
    assert dialog.leaving.isChecked() and "Résilier l'abonnement" in dialog.leaving.text()  # type: ignore[attr-defined]
    dialog.arriving.setChecked(True)  # type: ignore[attr-defined]
    dialog.index.setValue(240)  # type: ignore[attr-defined]
    type_text(qtbot, dialog.account_number, newcomer.account_number)  # type: ignore[attr-defined]
    qtbot.keyClick(dialog.account_number, Qt.Key.Key_Tab)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: "TRAORÉ Moussa" in dialog.arriving_name.text(), timeout=10000)  # type: ignore[attr-defined]
    with qtbot.waitSignal(view.loaded, timeout=15000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert answers.shown[-1][2].startswith("Enregistré : abonnement résilié, abonnement AB101-")
    file = load_customer_file(ctx, home.customer_id)
    (connection,) = file.premises[0].connections
    assert connection.current_contract is not None
    assert connection.current_contract.account_id == newcomer.account_id


def test_account_check_dialog(qtbot: QtBot, window: MainWindow, home: Household) -> None:
    from app.views.customers.account_check_dialog import AccountCheckDialog

    page = clients(window)
    qtbot.mouseClick(page.search_tab.check_button, Qt.MouseButton.LeftButton)
    dialog = dialog_of(AccountCheckDialog)
    type_text(qtbot, dialog.number, home.account_number[:-1] + "0" if home.account_number[-1] != "0" else home.account_number[:-1] + "1")  # type: ignore[attr-defined]
    qtbot.keyClick(dialog.number, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    qtbot.waitUntil(dialog.errors.labels["account_number"].isVisible)  # type: ignore[attr-defined]
    assert "Clé" in dialog.errors.labels["account_number"].text()  # type: ignore[attr-defined]
    dialog.number.clear()  # type: ignore[attr-defined]
    type_text(qtbot, dialog.number, format_account_number(home.account_number))  # type: ignore[attr-defined]
    qtbot.keyClick(dialog.number, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: "KONÉ Hélène" in dialog.answer.text())  # type: ignore[attr-defined]
    assert dialog.answer.text().startswith("Mme KONÉ Hélène")  # type: ignore[attr-defined]
    dialog.reject()


def test_history_restores_an_agency_value(
    qtbot: QtBot, window: MainWindow, home: Household, ctx: ServiceContext
) -> None:
    from dataclasses import replace

    from app.services.customer_edit import IdentityInput, update_identity

    identity = load_customer_file(ctx, home.customer_id).identity
    update_identity(ctx, home.customer_id, identity.version,
                    replace(IdentityInput.from_identity(identity), email="ancienne@mail.example"))
    view = open_file(qtbot, window, "kone helene")
    view.tabs.setCurrentIndex(3)
    history = view.tab(HistoryTab)
    model = history.model
    qtbot.waitUntil(lambda: model.rowCount() > 0, timeout=10000)
    row = next(r for r in range(model.rowCount()) if model.row(r).field == "email" and model.row(r).operation == "modification")
    history.table.selectRow(row)
    assert history.restore.isEnabled()
    with qtbot.waitSignal(view.loaded, timeout=10000):
        qtbot.mouseClick(history.restore, Qt.MouseButton.LeftButton)
    assert view.tab(IdentityTab).values["E-mail"].text() == "—"


def test_export_the_results_to_csv(
    qtbot: QtBot, window: MainWindow, home: Household, answers: Answers, tmp_path: Path
) -> None:
    page = clients(window)
    type_text(qtbot, page.search_tab.box, "cocody")
    qtbot.waitUntil(lambda: page.search_tab.export_button.isEnabled(), timeout=10000)
    answers.save_to = str(tmp_path / "clients.csv")
    qtbot.mouseClick(page.search_tab.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(answers.shown), timeout=10000)
    with open(answers.save_to, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert rows[0][0] == "Client" and rows[1][0] == "Mme KONÉ Hélène"
    assert answers.shown[-1] == ("info", "Export terminé", f"1 client exporté dans {answers.save_to}")


def test_new_customer_dialog_warns_of_a_duplicate(
    qtbot: QtBot, window: MainWindow, home: Household, answers: Answers
) -> None:
    from app.views.customers.identity_dialogs import NewCustomerDialog

    page = clients(window)
    page.search_tab.box.setFocus()
    qtbot.keyClick(page.search_tab.box, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = dialog_of(NewCustomerDialog)
    fields = dialog.fields  # type: ignore[attr-defined]
    fields.civility.set_value(Civility.MRS)
    type_text(qtbot, fields.last_name, "Diallo")
    type_text(qtbot, fields.first_name, "Aminata")
    type_text(qtbot, fields.mobile, "07 01 02 03 04")
    dialog.commune.setCurrentIndex(dialog.commune.findText("Cocody"))  # type: ignore[attr-defined]
    type_text(qtbot, dialog.house_number, "5")  # type: ignore[attr-defined]
    answers.confirm_answer = True
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.tabs.count() == 2, timeout=15000)
    assert answers.shown[0][1] == "Client peut-être déjà connu" and "même téléphone" in answers.shown[0][2]
    view = page.tabs.currentWidget()
    qtbot.waitUntil(lambda: view.name.text() == "Mme DIALLO Aminata", timeout=10000)  # type: ignore[attr-defined]


def test_tab_follows_the_form_and_escape_cancels(qtbot: QtBot, window: MainWindow, home: Household) -> None:
    from app.views.customers.identity_dialogs import NewCustomerDialog

    page = clients(window)
    page.new_customer()
    dialog = dialog_of(NewCustomerDialog)
    dialog.activateWindow()
    qtbot.waitActive(dialog)
    fields = dialog.fields  # type: ignore[attr-defined]
    expected = [fields.kind, fields.civility, fields.last_name, fields.first_name, fields.mobile,
                fields.phone, fields.email, fields.document_type, fields.document_number,
                fields.birth_date, fields.notes, dialog.commune, dialog.street,  # type: ignore[attr-defined]
                dialog.house_number, dialog.complement, dialog.payment_mode]  # type: ignore[attr-defined]
    fields.kind.setFocus()
    qtbot.waitUntil(fields.kind.hasFocus)
    seen: list[object] = []
    for _ in range(40):  # a date field takes one Tab per part (day, month, year)
        focused = QApplication.focusWidget()
        assert focused is not None
        if focused.objectName() == "qt_spinbox_lineedit":
            focused = focused.parentWidget()
        if not seen or seen[-1] is not focused:
            seen.append(focused)
        if focused is dialog.payment_mode:  # type: ignore[attr-defined]
            break
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert seen == expected
    with qtbot.waitSignal(dialog.rejected):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    assert page.tabs.count() == 1, "nothing was created"
