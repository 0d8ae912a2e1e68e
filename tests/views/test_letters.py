"""Letters from the customer file, driven with the keyboard, and a batch with its progress bar."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from docx import Document
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.services.auth import sign_in
from app.services.letters import engine
from app.settings import Settings
from app.views.letters.letter_dialog import LetterDialog
from app.views.main_window import MainWindow
from app.views.shell import Shell
from app.views.tasks import TaskRunner
from kernel.context import ServiceContext
from tests.services.letters.helpers import indebted, text_of
from tests.views.conftest import Answers, type_text, wait_idle
from tests.views.test_clients import dialog_of, open_file


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


@pytest.mark.parametrize("office", [True, False], ids=["libreoffice", "sans-libreoffice"])
def test_a_letter_from_the_customer_file_with_the_keyboard(
        qtbot: QtBot, window: MainWindow, ctx: ServiceContext, answers: Answers,
        monkeypatch: pytest.MonkeyPatch, office: bool) -> None:
    if office and engine.office_program() is None:
        pytest.skip("LibreOffice n'est pas installé")
    if not office:
        monkeypatch.setattr(engine, "office_program", lambda: None)
    indebted(ctx, [(8000, 40)])
    view = open_file(qtbot, window, "kone helene")
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = dialog_of(LetterDialog)
    assert isinstance(dialog, LetterDialog)
    wait_idle(qtbot)
    picker = dialog.templates
    assert picker.hasFocus()
    names = [picker.item(i).text() for i in range(picker.count())]
    assert "Réponse à une réclamation  (Réclamations)" in names
    while not picker.currentItem().text().startswith("Réponse à une réclamation"):
        qtbot.keyClick(picker, Qt.Key.Key_Down)
    assert "modèle du siège · révision 1" in dialog.template_info.text()
    qtbot.keyClick(picker, Qt.Key.Key_Tab)  # account
    qtbot.keyClick(dialog.account, Qt.Key.Key_Tab)
    assert dialog.subject.hasFocus()
    type_text(qtbot, dialog.subject, "Index contesté")
    qtbot.keyClick(dialog, Qt.Key.Key_T, Qt.KeyboardModifier.AltModifier)
    assert dialog.text.hasFocus()
    type_text(qtbot, dialog.text, "Le relevé du 2 novembre a été vérifié : il est exact.")
    qtbot.keyClick(dialog, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot)
    if office:
        assert dialog.page.pixmap() is not None and not dialog.page.pixmap().isNull()
        assert not answers.opened
    else:
        assert "LibreOffice n'est pas installé" in dialog.page.text()
        assert answers.opened[-1].endswith("apercu-courrier.docx")
        assert "Index contesté" in text_of(Path(answers.opened[-1]).read_bytes())
    with qtbot.waitSignal(dialog.finished, timeout=20000):
        qtbot.keyClick(dialog, Qt.Key.Key_E, Qt.KeyboardModifier.AltModifier)
    wait_idle(qtbot)
    assert answers.shown[-1][1] == "Courrier émis"
    year = ctx.installation.today().year
    issued = Path(answers.opened[-1])
    assert issued.name == f"courrier-CR101-{year}-000001.docx"
    text = text_of(issued.read_bytes())
    assert "Objet : Index contesté" in text and "il est exact." in text
    assert "Le solde de votre compte est à ce jour de 8 000 FCFA." in text
    from app.views.letters.letters_tab import LettersTab

    tab = view.tab(LettersTab)
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1)
    model = tab.model
    assert model.data(model.index(0, 0)) == f"CR101-{year}-000001"
    assert model.data(model.index(0, 3)) == "Index contesté"
    tab.table.selectRow(0)
    tab.reprint.click()
    wait_idle(qtbot)
    reprint = Document(str(answers.opened[-1]))
    assert reprint.paragraphs[0].text.startswith(f"RÉIMPRESSION n° 1 du courrier CR101-{year}-000001")
    qtbot.waitUntil(lambda: model.data(model.index(0, 5)) == "1")


def test_a_batch_with_its_progress_bar_cancelled_and_resumed(
        qtbot: QtBot, window: MainWindow, ctx: ServiceContext, answers: Answers,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from app.views.letters import batch_page
    from app.views.letters.batch_page import BatchPage

    for letter in "ABC":
        indebted(ctx, [(25000, 50)], last_name=f"Lot {letter}")
    indebted(ctx, [(25000, 3)], last_name="Pas Encore")
    page = window.show_page(BatchPage)
    wait_idle(qtbot)
    page.template.setCurrentIndex(page.template.findText("Avis de coupure pour impayés"))
    page.min_amount.setText("20 000")
    page.count_button.click()
    wait_idle(qtbot)
    assert page.count.text().endswith(": 3 courriers à produire.")
    gate = threading.Event()
    real = batch_page.run_batch

    def held(ctx: ServiceContext, plan: batch_page.BatchPlan,
             moved: Callable[[batch_page.BatchProgress], None],
             cancelled: Callable[[], bool]) -> batch_page.BatchProgress:
        def step(progress: batch_page.BatchProgress) -> None:
            moved(progress)
            if progress.done == 1:
                gate.wait(20)
        return real(ctx, plan, step, cancelled, chunk=1)

    monkeypatch.setattr(batch_page, "run_batch", held)
    page.run_button.click()
    qtbot.waitUntil(lambda: page.bar.value() == 1, timeout=20000)
    assert page.bar.maximum() == 3 and page.cancel_button.isEnabled()
    page.cancel_button.click()
    gate.set()
    wait_idle(qtbot)
    assert page.status.text().startswith("Lot interrompu : 1 courrier sur 3")
    assert page.run_button.text() == "&Reprendre"
    page.run_button.click()
    wait_idle(qtbot)
    assert page.bar.value() == 3
    assert page.status.text().startswith("Lot terminé : 3 courriers")
    monkeypatch.setattr(engine, "office_program", lambda: None)
    page.print_button.click()
    wait_idle(qtbot)
    assert answers.shown[-1][1] == "Lot de courriers"
    merged = text_of(Path(answers.opened[-1]).read_bytes())
    year = ctx.installation.today().year
    assert all(f"CR101-{year}-00000{n}" in merged for n in (1, 2, 3))
    assert f"CR101-{year}-000004" not in merged


def test_the_catalogue_the_check_and_an_agency_template(
        qtbot: QtBot, window: MainWindow, answers: Answers, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    from app.views import messages
    from app.views.letters.batch_page import BatchPage
    from app.views.letters.templates_dialog import TemplatesDialog
    from tests.services.letters.helpers import docx_of

    page = window.show_page(BatchPage)
    wait_idle(qtbot)
    page.templates_button.click()
    dialog = dialog_of(TemplatesDialog)
    assert isinstance(dialog, TemplatesDialog)
    wait_idle(qtbot)
    fields = dialog.fields
    names = [fields.data(fields.index(row, 0)) for row in range(fields.rowCount())]
    assert "{{ compte.impayes }}" in names and "{{ factures_impayees[].montant }}" in names
    dialog.check_button.click()
    wait_idle(qtbot)
    assert dialog.report.toPlainText() == "Le modèle est correct : il peut être utilisé."
    broken, good = tmp_path / "relance.docx", tmp_path / "relance-courte.docx"
    broken.write_bytes(docx_of("Bonjour {{ client.nom }}", "{% if compte.a_payer %}Payez."))
    good.write_bytes(docx_of("Bonjour {{ client.nom }}, vous devez {{ compte.solde }}."))
    answers.text = "Relance courte"
    monkeypatch.setattr(messages, "open_path", lambda p, t, f: str(broken))
    dialog.add_button.click()
    wait_idle(qtbot)
    assert "n'est jamais fermée" in answers.shown[-1][2]
    monkeypatch.setattr(messages, "open_path", lambda p, t, f: str(good))
    dialog.add_button.click()
    wait_idle(qtbot)
    listed = [dialog.templates.item(i).text() for i in range(dialog.templates.count())]
    assert any(text.startswith("Relance courte — agence, révision 1") for text in listed)
    dialog.accept()
    wait_idle(qtbot)
    assert page.template.findText("Relance courte") >= 0


def _letter_dialog(qtbot: QtBot) -> LetterDialog:
    """The letter dialog a shortcut opened (once the quote or request was read)."""
    qtbot.waitUntil(lambda: any(isinstance(w, LetterDialog) and w.isVisible()
                                for w in QApplication.topLevelWidgets()), timeout=10000)
    dialog = dialog_of(LetterDialog)
    assert isinstance(dialog, LetterDialog)
    wait_idle(qtbot)
    return dialog


def _issue_from(qtbot: QtBot, dialog: LetterDialog) -> None:
    with qtbot.waitSignal(dialog.finished, timeout=20000):
        qtbot.keyClick(dialog, Qt.Key.Key_E, Qt.KeyboardModifier.AltModifier)
    wait_idle(qtbot)


def test_a_letter_from_the_quote_editor_with_its_shortcut(
        qtbot: QtBot, window: MainWindow, ctx: ServiceContext, answers: Answers) -> None:
    from app.views.works.page import QuotesPage
    from tests.services.helpers import household
    from tests.services.letters.test_sources import _quote

    home = household(ctx)
    quote_id = _quote(ctx, home)
    page = window.show_page(QuotesPage)
    assert isinstance(page, QuotesPage)
    page.open_quote(quote_id)
    editor = page.editor
    qtbot.waitUntil(lambda: editor.quote is not None and editor.buttons["letter"].isEnabled(),
                    timeout=10000)
    assert editor.quote is not None
    number = editor.quote.number
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_E,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = _letter_dialog(qtbot)
    assert dialog.windowTitle() == f"Nouveau courrier — KONÉ Hélène — Devis {number}"
    assert dialog.templates.currentItem().text() == "Envoi de devis  (Travaux)"
    assert dialog.reference.text() == number
    _issue_from(qtbot, dialog)
    text = text_of(Path(answers.opened[-1]).read_bytes())
    assert f"Votre devis de travaux n° {number}" in text and "27 140 FCFA TTC" in text


def test_a_letter_from_an_intervention_request_with_its_shortcut(
        qtbot: QtBot, window: MainWindow, ctx: ServiceContext, answers: Answers) -> None:
    from app.views.interventions.page import InterventionsPage
    from tests.services.helpers import household
    from tests.services.letters.test_sources import _request, _tomorrow_at

    home = household(ctx)
    request_id = _request(ctx, home, _tomorrow_at(ctx, 9))
    page = window.show_page(InterventionsPage)
    assert isinstance(page, InterventionsPage)
    page.refresh()
    qtbot.waitUntil(lambda: page.detail is not None and page.detail.request_id == request_id
                    and page.buttons["letter"].isEnabled(), timeout=10000)
    assert page.detail is not None
    number = page.detail.number
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_M,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = _letter_dialog(qtbot)
    assert dialog.templates.currentItem().text() == \
        "Avis de passage / rendez-vous  (Interventions)"
    _issue_from(qtbot, dialog)
    text = text_of(Path(answers.opened[-1]).read_bytes())
    assert f"demande n° {number}" in text and "de 9 h à 10 h 30" in text


def test_the_batch_of_the_requests_due_tomorrow(
        qtbot: QtBot, window: MainWindow, ctx: ServiceContext, answers: Answers) -> None:
    from app.views.letters.batch_page import DUE_TOMORROW, BatchPage
    from tests.services.helpers import household
    from tests.services.letters.test_sources import _request, _tomorrow_at

    home = household(ctx)
    for hour in (8, 10):
        _request(ctx, home, _tomorrow_at(ctx, hour))
    _request(ctx, home, _tomorrow_at(ctx, 8, days=3))
    page = window.show_page(BatchPage)
    assert isinstance(page, BatchPage)
    wait_idle(qtbot)
    page.kind.setCurrentIndex(DUE_TOMORROW)
    assert page.template.currentText() == "Avis de passage / rendez-vous"
    page.count_button.click()
    wait_idle(qtbot)
    assert page.count.text().startswith("Demandes d'intervention avec rendez-vous le ")
    assert page.count.text().endswith(": 2 courriers à produire.")
    page.run_button.click()
    wait_idle(qtbot)
    assert page.status.text().startswith("Lot terminé : 2 courriers")


def test_the_catalogue_reads_in_french_and_fits_1366_by_768(
        qtbot: QtBot, window: MainWindow) -> None:
    """Examples as the program writes them (« oui », not Python's ``True``); every cell of the
    catalogue shown whole in the dialog at its size on a 1366×768 screen (wrapped when long),
    its full text in the tooltip."""
    from PySide6.QtGui import QFontMetrics
    from PySide6.QtWidgets import QStyle

    from app.views.letters.batch_page import BatchPage
    from app.views.letters.templates_dialog import TemplatesDialog

    page = window.show_page(BatchPage)
    wait_idle(qtbot)
    page.templates_button.click()
    dialog = dialog_of(TemplatesDialog)
    assert isinstance(dialog, TemplatesDialog)
    wait_idle(qtbot)
    assert dialog.width() <= 1366 and dialog.height() <= 768 - 40
    fields, view = dialog.fields, dialog.catalogue
    examples = {fields.data(fields.index(r, 0)): fields.data(fields.index(r, 2))
                for r in range(fields.rowCount())}
    assert examples["{{ compte.a_payer }}"] == "oui"
    assert not {"True", "False", "None"} & set(examples.values())
    QApplication.processEvents()
    assert not view.horizontalScrollBar().isVisible(), "every column in sight"
    metrics = QFontMetrics(view.font())
    wrap = int(Qt.TextFlag.TextWordWrap)
    # The margin the style leaves each side of a cell's text (QCommonStyle's item view text).
    margin = view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1
    for row in range(fields.rowCount()):
        for column in range(fields.columnCount()):
            index = fields.index(row, column)
            text = fields.data(index)
            assert fields.data(index, Qt.ItemDataRole.ToolTipRole) == text
            room = view.visualRect(index).adjusted(margin, 0, -margin, 0)
            needed = metrics.boundingRect(0, 0, room.width(), 10_000, wrap, text)
            assert needed.width() <= room.width() and needed.height() <= room.height(), (
                f"« {text} » is cut in column {column}")
