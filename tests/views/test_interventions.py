"""Interventions on screen, driven as an agent would: a request taken from the customer file with
the keyboard, a block dragged on the planning board to another technician and day, a job closed
with its report, a clash forced by a supervisor, the list's overdue rows in red."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.models.enums import InterventionStatus, InterventionType, Skill
from app.services.auth import sign_in
from app.services.interventions import lists, planning, workflow
from app.services.interventions.requests import RequestInput, create_request
from app.settings import Settings
from app.views.interventions.board import job_mime
from app.views.interventions.editor import RequestEditor
from app.views.interventions.file_tab import InterventionsTab
from app.views.interventions.page import InterventionsPage
from app.views.interventions.planning_page import PlanningPage
from app.views.interventions.report_dialog import ReportDialog
from app.views.main_window import MainWindow
from app.views.shell import Shell
from app.views.tasks import TaskRunner
from kernel.context import ServiceContext
from tests.services.helpers import Household, household
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
    main.resize(1366, 768)
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


def _monday(ctx: ServiceContext) -> datetime:
    today = ctx.installation.today()
    day = today + timedelta(days=7 - today.weekday())
    return datetime(day.year, day.month, day.day, tzinfo=ctx.installation.zone)


# About one run in six under load this test finds the request editor, or a background task, in a
# state nobody left it in (the editor without its fields; a task never delivered), on this
# code and on stop 12's alike; not explained yet (docs/architecture.md, "Known flaky test").
@pytest.mark.flaky(reruns=2)
def test_a_request_is_taken_from_the_customer_file_with_the_keyboard(
        qtbot: QtBot, window: MainWindow, home: Household, ctx: ServiceContext) -> None:
    view = open_file(qtbot, window, "kone helene")
    qtbot.keyClick(view, Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier)  # the tab's key
    qtbot.waitUntil(lambda: view.tabs.tabText(view.tabs.currentIndex()) == "Interventi&ons")
    tab = view.tab(InterventionsTab)
    qtbot.waitUntil(lambda: tab.new_button.isEnabled(), timeout=10000)  # type: ignore[attr-defined]
    wait_idle(qtbot)
    qtbot.keyClick(view, Qt.Key.Key_T, Qt.KeyboardModifier.AltModifier)  # "Nouvelle demande d'in&tervention"
    qtbot.waitUntil(lambda: any(isinstance(w, RequestEditor) and w.isVisible()
                                for w in QApplication.topLevelWidgets()))
    editor = dialog_of(RequestEditor)
    assert isinstance(editor, RequestEditor)
    qtbot.waitUntil(editor.kind.hasFocus)
    qtbot.keyClick(editor.kind, Qt.Key.Key_Down)  # Fuite chez le client
    assert editor.kind.value() is InterventionType.LEAK_AT_CUSTOMER
    assert editor.meter.currentIndex() == 1, "the customer's meter is offered first"
    qtbot.keyClick(editor, Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)
    assert editor.description.hasFocus()
    type_text(qtbot, editor.description, "Fuite avant compteur, trottoir mouillé")
    qtbot.keyClick(editor.description, Qt.Key.Key_Tab)
    type_text(qtbot, editor.reporter, "Mme Koné")
    qtbot.keyClick(editor.reporter, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not editor.isVisible(), timeout=10000)
    model = tab.model  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=10000)
    row = model.row(0)
    assert (row.type, row.status) == (InterventionType.LEAK_AT_CUSTOMER, InterventionStatus.NEW)
    detail = lists.request_detail(ctx, row.request_id)
    assert (detail.meter_id, detail.account_id) == (home.meter_id, home.account_id)
    assert detail.reporter_name == "Mme Koné" and detail.due_at is not None


def test_a_block_is_dragged_to_another_technician_and_day(
        qtbot: QtBot, window: MainWindow, ctx: ServiceContext) -> None:
    first = planning.save_technician(ctx, planning.TechnicianInput(
        name="Awa TRAORÉ", skills=frozenset(Skill)))
    second = planning.save_technician(ctx, planning.TechnicianInput(
        name="Béa YAO", skills=frozenset(Skill)))
    home = household(ctx)
    saved = create_request(ctx, RequestInput(type=InterventionType.LEAK_AT_CUSTOMER,
                                             description="Fuite", account_id=home.account_id))
    monday = _monday(ctx)
    planning.place_job(ctx, saved.request_id, saved.version, first,
                       (monday + timedelta(hours=9)).astimezone(UTC))
    page = window.show_page(PlanningPage)
    assert isinstance(page, PlanningPage)
    page.first_day = monday.date()
    page.refresh()
    board = page.view
    qtbot.waitUntil(lambda: board.block_of(saved.request_id) is not None, timeout=10000)
    block = board.block_of(saved.request_id)
    assert block is not None
    qtbot.mouseClick(board, Qt.MouseButton.LeftButton, pos=block.rect.center().toPoint())
    assert board.selected == saved.request_id
    rows = [t.technician_id for t in page.current.technicians]  # type: ignore[union-attr]
    target_y = 34 + rows.index(second) * board.row_height + board.row_height // 2
    # Tuesday 10:00 on the second technician's row: the block is held at its left edge.
    tuesday_ten = 170 + board.day_width * (1 + 3 / 11) + 1
    mime = job_mime(block.job)  # held: the event does not own it
    drop = QDropEvent(QPointF(tuesday_ten, target_y), Qt.DropAction.MoveAction,
                      mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(board.job_dropped):
        board.dropEvent(drop)
    wait_idle(qtbot)
    detail = lists.request_detail(ctx, saved.request_id)
    zone = ctx.installation.zone
    assert detail.technician_id == second
    assert detail.scheduled_for is not None
    assert detail.scheduled_for.astimezone(zone) == monday + timedelta(days=1, hours=10)
    qtbot.waitUntil(lambda: (b := board.block_of(saved.request_id)) is not None
                    and b.job.technician_id == second, timeout=10000)
    # The keyboard moves it too: → a quarter of an hour later.
    board.setFocus()
    qtbot.keyClick(board, Qt.Key.Key_Right)
    wait_idle(qtbot)
    moved = lists.request_detail(ctx, saved.request_id).scheduled_for
    assert moved is not None and moved.astimezone(zone) == monday + timedelta(days=1, hours=10,
                                                                               minutes=15)


def test_a_clash_is_refused_for_an_agent_and_forced_by_a_supervisor(
        qtbot: QtBot, supervisor_window: MainWindow, ctx: ServiceContext, answers: Answers) -> None:
    tech = planning.save_technician(ctx, planning.TechnicianInput(
        name="Awa TRAORÉ", skills=frozenset(Skill)))
    home = household(ctx)
    one = create_request(ctx, RequestInput(type=InterventionType.OTHER, description="Un",
                                           account_id=home.account_id))
    two = create_request(ctx, RequestInput(type=InterventionType.COMPLAINT, description="Deux",
                                           account_id=home.account_id))
    monday = _monday(ctx)
    nine = (monday + timedelta(hours=9)).astimezone(UTC)
    planning.place_job(ctx, one.request_id, one.version, tech, nine)
    page = supervisor_window.show_page(PlanningPage)
    assert isinstance(page, PlanningPage)
    page.first_day = monday.date()
    page.refresh()
    qtbot.waitUntil(lambda: page.waiting.count() == 1, timeout=10000)
    with qtbot.waitSignal(page.view.job_dropped):
        page.view.job_dropped.emit(two.request_id, two.version, tech, nine)
    qtbot.waitUntil(lambda: lists.request_detail(ctx, two.request_id).forced_by != "",
                    timeout=10000)
    assert any(kind == "confirm" and "déjà la demande" in text for kind, _t, text in answers.shown)
    wait_idle(qtbot)


def test_a_job_is_closed_with_its_report(
        qtbot: QtBot, window: MainWindow, ctx: ServiceContext, answers: Answers,
        tmp_path: Path) -> None:
    home = household(ctx)
    saved = create_request(ctx, RequestInput(type=InterventionType.METER_CHECK,
                                             description="Index contesté", meter_id=home.meter_id))
    workflow.start(ctx, saved.request_id, saved.version)
    page = window.show_page(InterventionsPage)
    assert isinstance(page, InterventionsPage)
    page.refresh()
    qtbot.waitUntil(lambda: page.detail is not None and page.detail.request_id == saved.request_id,
                    timeout=10000)
    qtbot.waitUntil(lambda: page.buttons["close"].isEnabled())
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_L,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = dialog_of(ReportDialog)
    assert isinstance(dialog, ReportDialog)
    qtbot.waitUntil(dialog.findings.hasFocus)
    type_text(qtbot, dialog.findings, "Index conforme au compteur")
    qtbot.keyClick(dialog.findings, Qt.Key.Key_Tab)
    assert dialog.time_spent.hasFocus()
    dialog.time_spent.selectAll()
    type_text(qtbot, dialog.time_spent, "30")
    qtbot.keyClick(dialog, Qt.Key.Key_I, Qt.KeyboardModifier.AltModifier)
    type_text(qtbot, dialog.site_index, "100")
    qtbot.keyClick(dialog.site_index, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.errors.labels["site_index"].isVisible(), timeout=10000)
    assert "inférieur au précédent" in dialog.errors.labels["site_index"].text()
    photo = tmp_path / "compteur.png"
    photo.write_bytes(b"\x89PNG photo")
    answers.pick = [str(photo)]
    qtbot.keyClick(dialog, Qt.Key.Key_J, Qt.KeyboardModifier.AltModifier)  # a button: clicked
    qtbot.waitUntil(lambda: dialog.attachment_list.count() == 1)  # after its short animation
    dialog.site_index.selectAll()
    type_text(qtbot, dialog.site_index, "250")
    qtbot.keyClick(dialog.site_index, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    qtbot.waitUntil(lambda: page.detail is not None and page.detail.status is InterventionStatus.DONE,
                    timeout=10000)
    assert "Index conforme" in page.panel.summary.text() and "index relevé 250" in page.panel.summary.text()
    assert page.panel.history.item(0).text().split(" · ")[1].startswith("Terminée par Yao KOUASSI")
    assert page.panel.attachments.count() == 1
    page.panel.attachments.setCurrentRow(0)
    page.panel._open_attachment()
    qtbot.waitUntil(lambda: len(answers.opened) == 1, timeout=10000)
    assert Path(answers.opened[0]).read_bytes() == b"\x89PNG photo"
    wait_idle(qtbot)


def test_a_request_is_taken_on_the_interventions_page_for_an_account_number(
        qtbot: QtBot, window: MainWindow, ctx: ServiceContext) -> None:
    from kernel.identifiers import format_account_number

    home = household(ctx)
    page = window.show_page(InterventionsPage)
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_Insert)
    qtbot.waitUntil(lambda: any(isinstance(w, RequestEditor) and w.isVisible()
                                for w in QApplication.topLevelWidgets()))
    editor = dialog_of(RequestEditor)
    assert isinstance(editor, RequestEditor)
    qtbot.waitUntil(editor.kind.hasFocus)
    qtbot.keyClick(editor, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)
    assert editor.account_number.hasFocus()
    type_text(qtbot, editor.account_number, "12345678901234")
    qtbot.keyClick(editor, Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)
    type_text(qtbot, editor.description, "Plus d'eau depuis ce matin")
    qtbot.keyClick(editor.account_number, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: editor.errors.labels["account_number"].isVisible(), timeout=10000)
    editor.account_number.clear()
    type_text(qtbot, editor.account_number, format_account_number(home.account_number))
    qtbot.keyClick(editor.account_number, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not editor.isVisible(), timeout=10000)
    qtbot.waitUntil(lambda: page.detail is not None and page.detail.account_id == home.account_id,
                    timeout=10000)
    assert page.detail is not None and page.detail.customer_id == home.customer_id
    wait_idle(qtbot)


def test_the_list_shows_overdue_requests_in_red_and_counts(
        qtbot: QtBot, window: MainWindow, ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch,
        qtmodeltester: ModelTester) -> None:
    from app.services.interventions import requests
    from app.views.interventions.common import OVERDUE

    home = household(ctx)
    monkeypatch.setattr(requests, "utcnow", lambda: datetime(2026, 1, 5, 9, tzinfo=UTC))
    late = create_request(ctx, RequestInput(type=InterventionType.BREAKDOWN, description="Vieille",
                                            account_id=home.account_id))
    monkeypatch.undo()
    create_request(ctx, RequestInput(type=InterventionType.COMPLAINT, description="Récente",
                                     account_id=home.account_id))
    page = window.show_page(InterventionsPage)
    assert isinstance(page, InterventionsPage)
    page.refresh()
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=10000)
    model = page.model
    qtmodeltester.check(model)
    reds = {model.row(r).number: model.data(model.index(r, 0), Qt.ItemDataRole.ForegroundRole)
            for r in range(2)}
    assert reds[late.number] == OVERDUE and list(reds.values()).count(None) == 1
    assert "Nouvelle 2" in page.counts.text() and "1 en retard" in page.counts.text()
    warning = window.findChild(QLabel, "statusInterventionsWarning")
    assert isinstance(warning, QLabel)
    qtbot.waitUntil(warning.isVisible)
    assert "Interventions en retard" in warning.text()
    assert "1 demande d'intervention ouverte a dépassé son échéance" in warning.toolTip()
    page.overdue.setChecked(True)
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=10000)
    wait_idle(qtbot)



def test_technicians_are_managed_from_the_planning(
        qtbot: QtBot, window: MainWindow, ctx: ServiceContext) -> None:
    from app.views.interventions.technicians import TechnicianDialog, TechniciansDialog

    page = window.show_page(PlanningPage)
    assert isinstance(page, PlanningPage)
    page.people_button.click()
    people = dialog_of(TechniciansDialog)
    assert isinstance(people, TechniciansDialog)
    qtbot.waitUntil(lambda: people.model.rowCount() == 6, timeout=10000)
    people.new()
    editor = dialog_of(TechnicianDialog)
    assert isinstance(editor, TechnicianDialog)
    qtbot.waitUntil(editor.name.hasFocus)
    type_text(qtbot, editor.name, "Awa DIALLO")
    editor.skills[Skill.WATER].setChecked(True)
    qtbot.keyClick(editor.name, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: people.model.rowCount() == 7, timeout=10000)
    assert "Awa DIALLO" in {people.model.row(r).name for r in range(7)}
    qtbot.waitUntil(lambda: any(t.name == "Awa DIALLO" for t in page.current.technicians)  # type: ignore[union-attr]
                    , timeout=10000)
    people.accept()
    wait_idle(qtbot)


def test_a_connection_job_is_closed_with_the_meter_put_in(
        qtbot: QtBot, window: MainWindow, ctx: ServiceContext) -> None:
    """The works of a connection quote: the report asks for the meter put in and its index;
    closing it connects the site (the job then names the meter)."""
    from app.models.enums import Energy
    from kernel.identifiers import make_meter_serial
    from tests.services.interventions_setup import ordered_connection_quote

    _quote_id, job_id, _version = ordered_connection_quote(ctx)
    page = window.show_page(InterventionsPage)
    assert isinstance(page, InterventionsPage)
    page.refresh()
    qtbot.waitUntil(lambda: page.table.model().rowCount() > 0, timeout=10000)
    row = next(r for r in range(page.table.model().rowCount())
               if page.model.rows[r].request_id == job_id)
    page.table.selectRow(row)
    qtbot.waitUntil(lambda: page.detail is not None and page.detail.request_id == job_id,
                    timeout=10000)
    qtbot.waitUntil(lambda: page.buttons["close"].isEnabled())
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_L,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = dialog_of(ReportDialog)
    assert isinstance(dialog, ReportDialog)
    assert not dialog.site_index.isEnabled() and dialog.meter_serial.isVisible()
    qtbot.waitUntil(dialog.findings.hasFocus)
    type_text(qtbot, dialog.findings, "Branchement posé")
    qtbot.keyClick(dialog.findings, Qt.Key.Key_Tab)
    dialog.time_spent.selectAll()
    type_text(qtbot, dialog.time_spent, "90")
    qtbot.keyClick(dialog.time_spent, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.errors.labels["meter_serial"].isVisible(), timeout=10000)
    serial = make_meter_serial(Energy.WATER, 88001)
    qtbot.keyClick(dialog, Qt.Key.Key_M, Qt.KeyboardModifier.AltModifier)
    assert dialog.meter_serial.hasFocus()
    type_text(qtbot, dialog.meter_serial, serial)
    qtbot.keyClick(dialog, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)
    type_text(qtbot, dialog.installed_index, "7")
    qtbot.keyClick(dialog.installed_index, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    qtbot.waitUntil(lambda: page.detail is not None and page.detail.status is InterventionStatus.DONE,
                    timeout=10000)
    assert page.detail.meter_serial == serial
    assert f"compteur {serial} posé à l'index 7" in page.detail.history[-1].note
    wait_idle(qtbot)


def test_a_customer_is_found_by_name_inside_the_request_editor(
        qtbot: QtBot, window: MainWindow, ctx: ServiceContext) -> None:
    """From the interventions page: type a few letters of the name, Entrée takes the first
    customer found; the editor then offers that customer's accounts and meters."""
    home = household(ctx, last_name="Gbagbo", first_name="Armel")
    household(ctx)  # Mme KONÉ Hélène: not found by "gbag"
    page = window.show_page(InterventionsPage)
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_Insert)
    qtbot.waitUntil(lambda: any(isinstance(w, RequestEditor) and w.isVisible()
                                for w in QApplication.topLevelWidgets()))
    editor = dialog_of(RequestEditor)
    assert isinstance(editor, RequestEditor) and editor.picker is not None
    qtbot.waitUntil(editor.kind.hasFocus)
    assert not editor.meter.isVisible() and editor.account_number.isVisible()
    qtbot.keyClick(editor, Qt.Key.Key_F, Qt.KeyboardModifier.AltModifier)
    assert editor.picker.query.hasFocus()
    type_text(qtbot, editor.picker.query, "gbag arm")
    qtbot.waitUntil(lambda: editor.picker.hits.isVisible() and editor.picker.hits.count() == 1,
                    timeout=10000)
    assert "GBAGBO" in editor.picker.hits.item(0).text().upper()
    qtbot.keyClick(editor.picker.query, Qt.Key.Key_Return)  # picks: the request is not saved
    qtbot.waitUntil(lambda: editor.meter.isVisible(), timeout=10000)
    assert editor.isVisible() and not editor.account_number.isVisible()
    assert editor.account.value() == home.account_id
    assert editor.meter.value()[0] == home.meter_id
    assert "GBAGBO" in editor.contact.text()
    qtbot.keyClick(editor, Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier)
    type_text(qtbot, editor.description, "Fuite avant compteur")
    qtbot.keyClick(editor.description, Qt.Key.Key_Tab)
    qtbot.keyClick(editor.reporter, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not editor.isVisible(), timeout=10000)
    qtbot.waitUntil(lambda: page.detail is not None and page.detail.customer_id == home.customer_id,
                    timeout=10000)
    assert page.detail.meter_id == home.meter_id and page.detail.account_id == home.account_id
    wait_idle(qtbot)


def _report_for(qtbot: QtBot, window: MainWindow, ctx: ServiceContext,
                home: Household) -> tuple[InterventionsPage, ReportDialog]:
    saved = create_request(ctx, RequestInput(type=InterventionType.LEAK_AT_CUSTOMER,
                                             description="Fuite après compteur",
                                             customer_id=home.customer_id,
                                             account_id=home.account_id,
                                             premise_id=home.premise_id))
    workflow.start(ctx, saved.request_id, saved.version)
    page = window.show_page(InterventionsPage)
    page.refresh()
    qtbot.waitUntil(lambda: page.detail is not None and page.detail.request_id == saved.request_id,
                    timeout=10000)
    qtbot.waitUntil(lambda: page.buttons["close"].isEnabled())
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_L,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = dialog_of(ReportDialog)
    assert isinstance(dialog, ReportDialog)
    qtbot.waitUntil(dialog.findings.hasFocus)
    type_text(qtbot, dialog.findings, "Joint refait, client à prévenir")
    qtbot.keyClick(dialog.findings, Qt.Key.Key_Tab)
    dialog.time_spent.selectAll()
    type_text(qtbot, dialog.time_spent, "30")
    return page, dialog


def test_a_letter_follow_up_is_issued_and_opened(
        qtbot: QtBot, window: MainWindow, ctx: ServiceContext, home: Household,
        answers: Answers) -> None:
    from app.services.letters.issue import letters_of_customer

    page, dialog = _report_for(qtbot, window, ctx, home)
    assert not dialog.letter_template.isEnabled()
    dialog.follow_up.set_value("letter")
    assert dialog.letter_template.isEnabled() and "rendez-vous" in dialog.letter_template.currentText()
    qtbot.keyClick(dialog.follow_up_note, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    qtbot.waitUntil(lambda: len(answers.opened) == 1, timeout=10000)
    letters = letters_of_customer(ctx, home.customer_id)
    assert len(letters) == 1 and answers.opened[0].endswith(f"courrier-{letters[0].number}.docx")
    wait_idle(qtbot)


def test_a_quote_follow_up_opens_a_new_quote_for_the_account(
        qtbot: QtBot, window: MainWindow, ctx: ServiceContext, home: Household) -> None:
    from app.views.works.page import QuotesPage
    from kernel.identifiers import format_account_number

    _page, dialog = _report_for(qtbot, window, ctx, home)
    dialog.follow_up.set_value("quote")
    qtbot.keyClick(dialog.follow_up_note, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=10000)
    quotes = window.show_page(QuotesPage)
    qtbot.waitUntil(lambda: quotes.stack.currentWidget() is quotes.editor, timeout=10000)
    qtbot.waitUntil(lambda: quotes.editor.party.account.text() == format_account_number(
        home.account_number), timeout=10000)
    wait_idle(qtbot)
