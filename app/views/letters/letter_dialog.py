"""Write one letter from the customer file, a works quote or an intervention request: choose a
template, fill the free fields, preview, issue. The preview is the PDF LibreOffice makes (its first page shown here) or, without
LibreOffice, the .docx opened in the word processor."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.services.customer_file import CustomerFile
from app.services.letters import engine
from app.services.letters.fields import Subject
from app.services.letters.issue import IssuedLetter, issue_letter, preview_letter
from app.services.letters.sources import LetterTarget
from app.services.letters.templates import TemplateInfo, list_templates
from app.views.errors import show_error
from app.views.format import day
from app.views.letters.output import save_and_open

if TYPE_CHECKING:
    from app.views.shell import Shell


@dataclass(frozen=True)
class Preview:
    docx: bytes
    pdf: bytes | None
    pages: list[bytes] | None


def target_of_file(file: CustomerFile) -> LetterTarget:
    return LetterTarget(file.identity.customer_id, file.identity.display_name, tuple(
        (a.account_id, f"{a.formatted_number} — {a.billing_address}") for a in file.accounts))


def make_preview(docx: bytes) -> Preview:
    if engine.office_program() is None:
        return Preview(docx, None, None)
    pdf = engine.to_pdf(docx)
    return Preview(docx, pdf, engine.page_pictures(pdf, 90))


class LetterDialog(QDialog):
    def __init__(self, shell: Shell, file: CustomerFile | LetterTarget,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.shell = shell
        self.target = file if isinstance(file, LetterTarget) else target_of_file(file)
        self.preview: Preview | None = None
        origin = f" — {self.target.origin}" if self.target.origin else ""
        self.setWindowTitle(f"Nouveau courrier — {self.target.name}{origin}")
        self.setObjectName("letterDialog")
        self.resize(1180, 700)

        self.templates = QListWidget()
        self.templates.setObjectName("templatePicker")
        self.template_info = QLabel()
        self.template_info.setObjectName("hint")
        self.template_info.setWordWrap(True)
        self.account = QComboBox()
        for account_id, account_label in self.target.accounts:
            self.account.addItem(account_label, account_id)
        self.subject = QLineEdit()
        self.subject.setPlaceholderText("Objet (réponse à une réclamation…)")
        self.appointment = QLineEdit()
        self.appointment.setPlaceholderText("mardi 8 décembre 2026 à 9 h")
        self.reference = QLineEdit()
        self.reference.setPlaceholderText("n° de devis, de réclamation…")
        self.reference.setText(self.target.reference)
        self.text = QPlainTextEdit()
        self.text.setTabChangesFocus(True)
        self.text.setPlaceholderText("Paragraphe ajouté au courrier (facultatif)")
        self.text.setFixedHeight(90)

        form = QFormLayout()
        form.addRow("&Compte :", self.account)
        form.addRow("&Objet :", self.subject)
        form.addRow("&Rendez-vous :", self.appointment)
        form.addRow("Ré&férence :", self.reference)
        form.addRow("&Texte libre :", self.text)

        self.preview_button = QPushButton("A&perçu")
        self.preview_button.setObjectName("previewLetter")
        self.open_button = QPushButton("Ou&vrir l'aperçu")
        self.open_button.setEnabled(False)
        self.issue_button = QPushButton("Ém&ettre le courrier")
        self.issue_button.setObjectName("issueLetter")
        self.issue_button.setDefault(True)
        close = QPushButton("Fermer")
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        for button in (self.preview_button, self.open_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.issue_button)
        buttons.addWidget(close)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel("&Modèle :")
        label.setBuddy(self.templates)
        left_layout.addWidget(label)
        left_layout.addWidget(self.templates, 1)
        left_layout.addWidget(self.template_info)
        left_layout.addLayout(form)

        self.page = QLabel("Choisissez un modèle puis « Aperçu » (Ctrl+R).")
        self.page.setObjectName("previewImage")
        self.page.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        self.page.setWordWrap(True)
        scroll = QScrollArea()
        scroll.setWidget(self.page)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(560)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(scroll)
        splitter.setSizes([480, 700])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)

        QShortcut(QKeySequence("Ctrl+R"), self).activated.connect(self.show_preview)
        self.preview_button.clicked.connect(self.show_preview)
        self.open_button.clicked.connect(self.open_preview)
        self.issue_button.clicked.connect(self.issue)
        self.templates.currentItemChanged.connect(lambda *_: self._template_chosen())
        for edit in (self.subject, self.appointment, self.reference):
            edit.textChanged.connect(self._stale)
        self.text.textChanged.connect(self._stale)
        self.account.currentIndexChanged.connect(self._stale)
        ctx = shell.ctx
        shell.runner.read(lambda: list_templates(ctx), on_success=self._show_templates,
                          on_failure=lambda error: show_error(self, error), parent=self)

    def _show_templates(self, templates: list[TemplateInfo]) -> None:
        for template in templates:
            item = QListWidgetItem(f"{template.name}  ({template.category})")
            item.setData(Qt.ItemDataRole.UserRole, template)
            self.templates.addItem(item)
        if templates:
            codes = [t.code for t in templates]
            wanted = self.target.template_code
            self.templates.setCurrentRow(codes.index(wanted) if wanted in codes else 0)
        self.templates.setFocus()

    def template(self) -> TemplateInfo | None:
        item = self.templates.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _template_chosen(self) -> None:
        template = self.template()
        if template is not None:
            origin = "modèle de l'agence" if template.is_agency_own else "modèle du siège"
            self.template_info.setText(
                f"{origin} · révision {template.revision} du {day(template.revised_at)}"
                f"{' par ' + template.revised_by if template.revised_by else ''}")
        self._stale()

    def _stale(self) -> None:
        self.preview = None
        self.open_button.setEnabled(False)
        if self.page.pixmap() is not None and not self.page.pixmap().isNull():
            self.page.setPixmap(QPixmap())
            self.page.setText("Le courrier a changé : « Aperçu » (Ctrl+R) pour le revoir.")

    def subject_of(self) -> Subject:
        account_id = self.account.currentData()
        return self.target.subject(account_id if isinstance(account_id, uuid.UUID) else None)

    def free_fields(self) -> dict[str, str]:
        return {"objet": self.subject.text(), "rendez_vous": self.appointment.text(),
                "reference": self.reference.text(), "texte": self.text.toPlainText()}

    def show_preview(self) -> None:
        template = self.template()
        if template is None:
            return
        ctx, subject, free = self.shell.ctx, self.subject_of(), self.free_fields()
        self.page.setText("Préparation de l'aperçu…")
        self.shell.runner.read(
            lambda: make_preview(preview_letter(ctx, template.id, subject, free)),
            on_success=self._preview_ready, on_failure=lambda error: show_error(self, error),
            label="Préparation de l'aperçu…", parent=self)

    def _preview_ready(self, preview: Preview) -> None:
        self.activateWindow()  # back from the progress window, keys go to the letter again
        self.preview = preview
        self.open_button.setEnabled(True)
        if preview.pages:
            pixmap = QPixmap()
            pixmap.loadFromData(preview.pages[0])
            self.page.setPixmap(pixmap)
            more = len(preview.pages) - 1
            self.page.setToolTip(f"Page 1 sur {len(preview.pages)}" if more else "")
        else:
            self.page.setText("LibreOffice n'est pas installé sur ce poste : l'aperçu s'ouvre "
                              "dans le traitement de texte.")
            self.open_preview()

    def open_preview(self) -> None:
        if self.preview is None:
            return
        data, name = (self.preview.pdf, "apercu-courrier.pdf") if self.preview.pdf \
            else (self.preview.docx, "apercu-courrier.docx")
        save_and_open(self, Path(self.shell.settings.data_dir), name, data, title="Aperçu",
                      what="Aperçu du courrier (sans numéro, non émis).")

    def issue(self) -> None:
        template = self.template()
        if template is None:
            return
        ctx, subject, free = self.shell.ctx, self.subject_of(), self.free_fields()
        self.issue_button.setEnabled(False)
        self.shell.runner.write(
            lambda: issue_letter(ctx, template.id, subject, free),
            on_success=self._issued, on_failure=self._failed,
            label="Émission du courrier…", parent=self)

    def _failed(self, error: BaseException) -> None:
        self.issue_button.setEnabled(True)
        show_error(self, error)

    def _issued(self, issued: IssuedLetter) -> None:
        save_and_open(self.parentWidget() or self, Path(self.shell.settings.data_dir),
                      issued.filename, issued.docx, title="Courrier émis",
                      what=f"Courrier {issued.number} émis et archivé dans le dossier du client.")
        self.accept()


def open_letter(shell: Shell, parent: QWidget, load: Callable[[], LetterTarget]) -> None:
    """Reads whom the letter goes to (``load`` runs off the GUI thread: a quote's or request's
    customer) and opens the letter dialog on it; a refusal (a prospect's quote) is shown."""

    def opened(target: LetterTarget) -> None:
        LetterDialog(shell, target, parent).open()

    shell.runner.read(load, on_success=opened, on_failure=lambda error: show_error(parent, error),
                      parent=parent)
