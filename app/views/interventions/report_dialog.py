"""The technician's report that closes a job: findings, time spent, the index read on site
(checked like any reading: an unusual consumption or a vacant premise is confirmed), the
disputed index corrected when the check found it wrong, parts used, photos or scans, and what
follows."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.models.enums import InterventionType
from app.services.interventions.lists import RequestDetail
from app.services.interventions.report import (
    FOLLOW_UPS,
    Attachment,
    Completed,
    PartUsed,
    ReportInput,
    complete,
    parts_list,
)
from app.services.interventions.requests import KINDS
from app.services.letters.templates import list_templates
from app.services.readings import UnusualConsumptionError, VacantPremiseWarning
from app.views import messages
from app.views.forms import FormDialog, ValueCombo, combo
from app.views.letters.output import save_and_open
from app.views.shell import Shell
from kernel.errors import ValidationError
from kernel.vocabulary import label

MEDIA_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
               ".pdf": "application/pdf", ".tif": "image/tiff", ".tiff": "image/tiff"}


class ReportDialog(FormDialog):
    """``result_value`` is the ``Completed`` once the job is closed."""

    def __init__(self, shell: Shell, detail: RequestDetail, parent: QWidget | None = None) -> None:
        super().__init__(f"Rapport d'intervention — {detail.number}", shell.runner, parent,
                         ok_text="C&lôturer l'intervention")
        self.setObjectName("reportDialog")
        self.shell = shell
        self.detail = detail
        self.confirmed_unusual = False
        self.confirmed_vacant = False
        self.parts: list[tuple[PartUsed, str]] = []
        self.attachments: list[Attachment] = []

        self.findings = QPlainTextEdit()
        self.findings.setTabChangesFocus(True)
        self.findings.setFixedHeight(80)
        self.time_spent = QSpinBox()
        self.time_spent.setRange(0, 24 * 60)
        self.time_spent.setSingleStep(15)
        self.time_spent.setSuffix(" min")
        self.site_index = QLineEdit()
        self.site_index.setPlaceholderText("index lu sur le compteur")
        self.site_index.setEnabled(detail.meter_id is not None)
        self.rollover = QCheckBox("Passage par zéro")
        self.rollover.setEnabled(detail.meter_id is not None)
        # The works of a connection quote: the meter put in (the site is connected on closing).
        self.meter_serial = QLineEdit()
        self.meter_serial.setPlaceholderText("n° du compteur posé (EA…/EL…)")
        self.installed_index = QLineEdit()
        self.installed_index.setPlaceholderText("index affiché à la pose")
        self.sts_drn = QLineEdit()
        self.sts_drn.setPlaceholderText("11 ou 13 chiffres, sur la plaque du compteur")
        if detail.connects_meter:
            self.site_index.setEnabled(False)
            self.rollover.setEnabled(False)
        self.corrected = QLineEdit()
        self.corrected.setEnabled(detail.disputed_reading_id is not None)
        if detail.disputed_index is not None:
            self.corrected.setPlaceholderText(
                f"index contesté : {detail.disputed_index} (laisser vide s'il est juste)")

        self.part = combo([(text, (item_id, unit)) for item_id, text, unit in parts_list(shell.ctx)])
        self.quantity = QDoubleSpinBox()
        self.quantity.setDecimals(2)
        self.quantity.setRange(0.01, 10_000)
        self.quantity.setValue(1)
        add_part = QPushButton("&Ajouter la pièce")
        add_part.clicked.connect(self._add_part)
        add_part.setAutoDefault(False)  # Enter closes the job, wherever the cursor is
        self.part_list = QListWidget()
        self.part_list.setObjectName("partsUsed")
        self.part_list.setFixedHeight(56)
        parts_row = QWidget()
        row = QHBoxLayout(parts_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.part, 1)
        row.addWidget(self.quantity)
        row.addWidget(add_part)
        parts_box = QWidget()
        column = QVBoxLayout(parts_box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(parts_row)
        column.addWidget(self.part_list)

        attach = QPushButton("&Joindre une photo ou un scan…")
        attach.clicked.connect(self._attach)
        attach.setAutoDefault(False)
        self.attachment_list = QListWidget()
        self.attachment_list.setFixedHeight(40)
        attach_box = QWidget()
        column = QVBoxLayout(attach_box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(attach)
        column.addWidget(self.attachment_list)

        self.follow_up = combo([(text, key) for key, text in FOLLOW_UPS.items()])
        self.follow_up_type = ValueCombo()
        for kind in KINDS:
            self.follow_up_type.add(label(kind), kind)
        self.follow_up_type.set_value(InterventionType.OTHER)
        self.follow_up_note = QLineEdit()
        self.letter_template = ValueCombo()
        for template in list_templates(shell.ctx):
            self.letter_template.add(f"{template.name} ({template.category})", template.id)
        if self.letter_template.findText("rendez-vous", Qt.MatchFlag.MatchContains) >= 0:
            self.letter_template.setCurrentIndex(
                self.letter_template.findText("rendez-vous", Qt.MatchFlag.MatchContains))
        self.follow_up.currentIndexChanged.connect(self._follow_up_changed)

        add = self.errors.add_row
        add(self.form, "&Constatations", "findings", self.findings)
        add(self.form, "&Temps passé", "time_spent_minutes", self.time_spent)
        if detail.connects_meter:
            add(self.form, "Co&mpteur posé", "meter_serial", self.meter_serial)
            add(self.form, "I&ndex de pose", "installed_index", self.installed_index)
            if detail.connects_prepaid:
                add(self.form, "N° STS (&DRN)", "sts_drn", self.sts_drn)
        else:
            self.meter_serial.hide()
            self.installed_index.hide()
            add(self.form, "&Index relevé", "site_index", self.site_index)
            add(self.form, "", "rollover", self.rollover)
        add(self.form, "Index contesté c&orrigé", "corrected_disputed_index", self.corrected)
        add(self.form, "&Pièces utilisées", "parts", parts_box)
        add(self.form, "Pièces jointe&s", "attachments", attach_box)
        add(self.form, "S&uite", "follow_up", self.follow_up)
        add(self.form, "Type de la nouvelle demande", "follow_up_type", self.follow_up_type)
        add(self.form, "Modèle du courrier", "letter_template_id", self.letter_template)
        add(self.form, "Précision sur la suite", "follow_up_note", self.follow_up_note)
        self._follow_up_changed()
        self.resize(640, self.sizeHint().height())
        self.first_field = self.findings

    def _follow_up_changed(self) -> None:
        self.follow_up_type.setEnabled(self.follow_up.value() == "request")
        self.letter_template.setEnabled(self.follow_up.value() == "letter")

    def succeeded(self, result: Any) -> None:
        """A letter follow-up is opened to print; a quote follow-up opens a new quote for the
        request's account on the Devis page."""
        completed: Completed = result
        self.accept()
        parent = self.parentWidget() or self
        if completed.letter is not None:
            letter = completed.letter
            save_and_open(parent, Path(self.shell.settings.data_dir), letter.filename,
                          letter.docx, title="Courrier émis",
                          what=f"Courrier {letter.number} émis et archivé dans le dossier du "
                               "client.")
        elif self.follow_up.value() == "quote":
            from app.views.main_window import MainWindow
            from app.views.works.page import QuotesPage

            window = parent.window()
            if isinstance(window, MainWindow):
                window.show_page(QuotesPage).new_quote(completed.quote_account_number)

    def _add_part(self) -> None:
        value = self.part.value()
        if value is None:
            return
        item_id, unit = value
        quantity = Decimal(str(round(self.quantity.value(), 2))).normalize()
        self.parts.append((PartUsed(item_id, quantity), unit))
        self.part_list.addItem(f"{self.part.currentText()} × {quantity:f} {unit}")
        self.part.setFocus()

    def _attach(self) -> None:
        for path in messages.open_paths(self, "Joindre une photo ou un scan",
                                        "Photos et scans (*.jpg *.jpeg *.png *.tif *.tiff *.pdf)"):
            file = Path(path)
            media = MEDIA_TYPES.get(file.suffix.lower(), "application/octet-stream")
            try:
                content = file.read_bytes()
            except OSError as error:
                messages.warn(self, "Pièce jointe", f"Impossible de lire {file.name} : "
                                                   f"{error.strerror}")
                continue
            self.attachments.append(Attachment(file.name, media, content))
            self.attachment_list.addItem(file.name)

    @staticmethod
    def _index(text: str, field: str) -> int | None:
        text = text.replace(" ", "").replace("\u202f", "")
        if not text:
            return None
        if not text.isdigit():
            raise ValidationError({field: "Saisissez un index en chiffres"})
        return int(text)

    def report(self) -> ReportInput:
        return ReportInput(
            findings=self.findings.toPlainText(), time_spent_minutes=self.time_spent.value(),
            site_index=self._index(self.site_index.text(), "site_index"),
            rollover=self.rollover.isChecked(),
            corrected_disputed_index=self._index(self.corrected.text(),
                                                 "corrected_disputed_index"),
            parts=tuple(p for p, _unit in self.parts), attachments=tuple(self.attachments),
            follow_up=self.follow_up.value(),
            follow_up_type=self.follow_up_type.value() if self.follow_up.value() == "request"
            else None,
            follow_up_note=self.follow_up_note.text(),
            letter_template_id=self.letter_template.value()
            if self.follow_up.value() == "letter" else None,
            confirmed_unusual=self.confirmed_unusual, confirmed_vacant=self.confirmed_vacant,
            meter_serial=self.meter_serial.text(), sts_drn=self.sts_drn.text(),
            installed_index=self._index(self.installed_index.text(), "installed_index"))

    def work(self) -> Callable[[], Any]:
        data, ctx = self.report(), self.shell.ctx
        request_id, version = self.detail.request_id, self.detail.version
        return lambda: complete(ctx, request_id, version, data)

    def refused(self, error: BaseException) -> None:
        if isinstance(error, UnusualConsumptionError | VacantPremiseWarning):
            self.ready()
            if messages.confirm(self, "Index à confirmer", error.message):
                if isinstance(error, UnusualConsumptionError):
                    self.confirmed_unusual = True
                else:
                    self.confirmed_vacant = True
                self.attempt()
            return
        if isinstance(error, ValidationError) and self.detail.connects_meter:
            renamed = {"serial": "meter_serial", "first_index": "installed_index"}
            error = ValidationError({renamed.get(k, k): v for k, v in error.fields.items()},
                                    error.message)
        if isinstance(error, ValidationError) and "index_value" in error.fields:
            error = ValidationError({"site_index": error.fields["index_value"],
                                     **{k: v for k, v in error.fields.items()
                                        if k != "index_value"}})
        super().refused(error)

    def completed(self) -> Completed | None:
        value: Completed | None = self.result_value
        return value

