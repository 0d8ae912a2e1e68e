"""Letter templates: the catalogue of fields for whoever writes a template, the check of a
template on demand, and adding the agency's own template (checked first; refused when wrong)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.services.letters.checker import Problem
from app.services.letters.fields import Field, catalogue
from app.services.letters.templates import (
    TemplateInfo,
    check_stored,
    list_templates,
    save_agency_template,
)
from app.views import messages
from app.views.errors import show_error
from app.views.format import day
from app.views.table_model import Column, ListTableModel

#: The example and group columns wrap beyond this width: the meaning keeps room to be read.
GROUP_WIDTH = 170

if TYPE_CHECKING:
    from app.views.shell import Shell


class TemplatesDialog(QDialog):
    def __init__(self, shell: Shell, parent: QWidget | None = None) -> None:
        from app.views.tables import table

        super().__init__(parent)
        self.shell = shell
        self.setWindowTitle("Modèles de courrier")
        self.resize(1300, 680)
        self.templates = QListWidget()
        self.templates.setObjectName("templateList")
        self.report = QPlainTextEdit()
        self.report.setObjectName("checkReport")
        self.report.setReadOnly(True)
        self.fields: ListTableModel[tuple[str, Field]] = ListTableModel([
            Column("Champ", lambda f: "{{ " + f[1].name + " }}"),
            Column("Signification", lambda f: f[1].meaning),
            Column("Exemple", lambda f: f[1].shown_example),
            Column("Groupe", lambda f: f[0]),
        ], catalogue())
        self.catalogue = table(self.fields, "fieldCatalogue", stretch=1)
        # The meaning takes the spare width; the example and group wrap beyond GROUP_WIDTH; each
        # row as tall as its wrapped text, again whenever a column's width changes.
        self.catalogue.setWordWrap(True)
        for column in (2, 3):
            if self.catalogue.horizontalHeader().sectionSize(column) > GROUP_WIDTH:
                self.catalogue.horizontalHeader().resizeSection(column, GROUP_WIDTH)
        self.catalogue.verticalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.catalogue.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.check_button = QPushButton("&Vérifier le modèle")
        self.add_button = QPushButton("&Ajouter un modèle de l'agence…")
        close = QPushButton("Fermer")
        close.clicked.connect(self.accept)
        self.check_button.clicked.connect(self.check)
        self.add_button.clicked.connect(self.add)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel("&Modèles :")
        label.setBuddy(self.templates)
        left_layout.addWidget(label)
        left_layout.addWidget(self.templates, 2)
        left_layout.addWidget(self.report, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(QLabel("Catalogue des champs (à écrire dans le modèle Word) :"))
        right_layout.addWidget(self.catalogue)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([330, 970])
        buttons = QHBoxLayout()
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)
        self.load()

    def load(self) -> None:
        ctx = self.shell.ctx
        self.shell.runner.read(lambda: list_templates(ctx), on_success=self._show,
                               on_failure=lambda e: show_error(self, e), parent=self)

    def _show(self, templates: list[TemplateInfo]) -> None:
        self.templates.clear()
        for template in templates:
            origin = "agence" if template.is_agency_own else "siège"
            item = QListWidgetItem(f"{template.name} — {origin}, révision {template.revision} du "
                                   f"{day(template.revised_at)}")
            item.setToolTip(item.text())
            item.setData(Qt.ItemDataRole.UserRole, template.id)
            self.templates.addItem(item)
        if templates:
            self.templates.setCurrentRow(0)

    def check(self) -> None:
        item = self.templates.currentItem()
        if item is None:
            return
        template_id: uuid.UUID = item.data(Qt.ItemDataRole.UserRole)
        ctx = self.shell.ctx
        self.shell.runner.read(lambda: check_stored(ctx, template_id), on_success=self._checked,
                               on_failure=lambda e: show_error(self, e), parent=self)

    def _checked(self, problems: list[Problem]) -> None:
        if not problems:
            self.report.setPlainText("Le modèle est correct : il peut être utilisé.")
            return
        errors = [p for p in problems if p.is_error]
        verdict = ("Le modèle ne peut pas être utilisé :" if errors
                   else "Le modèle peut être utilisé ; à savoir :")
        self.report.setPlainText("\n".join([verdict, *(f"• {p}" for p in problems)]))

    def add(self) -> None:
        path = messages.open_path(self, "Modèle Word de l'agence", "Documents Word (*.docx)")
        if not path:
            return
        name = messages.ask_text(self, "Nouveau modèle", "Nom du modèle (tel qu'il sera proposé) :")
        if not name:
            return
        content = Path(path).read_bytes()
        code = Path(path).stem.upper()[:30]
        ctx = self.shell.ctx
        self.shell.runner.write(
            lambda: save_agency_template(ctx, code, name, "Modèles de l'agence", content),
            on_success=self._added, on_failure=lambda e: show_error(self, e), parent=self)

    def _added(self, saved: tuple[uuid.UUID, list[Problem]]) -> None:
        _template_id, warnings = saved
        self._checked(warnings)
        self.load()
