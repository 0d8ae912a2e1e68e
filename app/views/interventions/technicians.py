"""Technicians and teams: who works in which team, with which skills, from what hour to what
hour, and when they are away. Opened from the planning."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTime
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTableView,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from app.models.changes import Changes
from app.models.enums import Skill
from app.services.interventions.planning import (
    SKILL_WORDS,
    TechnicianInput,
    TechnicianRow,
    add_absence,
    save_team,
    save_technician,
    teams,
    technicians,
)
from app.views import messages
from app.views.errors import show_error
from app.views.forms import FormDialog, combo, date_edit, read_date
from app.views.shell import Shell
from app.views.table_model import Column, ListTableModel


def _hm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _absences(row: TechnicianRow) -> str:
    return ", ".join(f"{a.starts_on:%d/%m}–{a.ends_on:%d/%m}" for a in row.absences)


COLUMNS: list[Column[TechnicianRow]] = [
    Column("Technicien", lambda t: t.name),
    Column("Équipe", lambda t: t.team),
    Column("Compétences", lambda t: t.skills_text),
    Column("Horaires", lambda t: f"{_hm(t.day_starts_minute)}–{_hm(t.day_ends_minute)}"),
    Column("Absences", _absences),
]


class TechnicianDialog(FormDialog):
    def __init__(self, shell: Shell, parent: QWidget | None = None,
                 row: TechnicianRow | None = None) -> None:
        super().__init__("Technicien" if row else "Nouveau technicien", shell.runner, parent)
        self.setObjectName("technicianDialog")
        self.shell, self.row = shell, row
        self.name = QLineEdit(row.name if row else "")
        self.phone = QLineEdit(row.phone if row else "")
        self.team = combo([("(sans équipe)", None)] + [(n, i) for i, n in teams(shell.ctx)],
                          row.team_id if row else None)
        self.skills = {skill: QCheckBox(SKILL_WORDS[skill].capitalize()) for skill in Skill}
        box = QWidget()
        line = QHBoxLayout(box)
        line.setContentsMargins(0, 0, 0, 0)
        for skill, check in self.skills.items():
            check.setChecked(row is not None and skill in row.skills)
            line.addWidget(check)
        start = row.day_starts_minute if row else 450
        end = row.day_ends_minute if row else 990
        self.starts = QTimeEdit(QTime(start // 60, start % 60))
        self.ends = QTimeEdit(QTime(end // 60, end % 60))
        for edit in (self.starts, self.ends):
            edit.setDisplayFormat("HH:mm")
        add = self.errors.add_row
        add(self.form, "&Nom", "name", self.name)
        add(self.form, "&Téléphone", "phone", self.phone)
        add(self.form, "É&quipe", "team_id", self.team)
        add(self.form, "&Compétences", "skills", box)
        add(self.form, "&Début de journée", "hours", self.starts)
        add(self.form, "&Fin de journée", "day_ends", self.ends)
        self.first_field = self.name

    def work(self) -> Callable[[], Any]:
        data = TechnicianInput(
            name=self.name.text(), phone=self.phone.text(), team_id=self.team.value(),
            skills=frozenset(s for s, c in self.skills.items() if c.isChecked()),
            day_starts_minute=self.starts.time().hour() * 60 + self.starts.time().minute(),
            day_ends_minute=self.ends.time().hour() * 60 + self.ends.time().minute())
        ctx, row = self.shell.ctx, self.row
        if row is None:
            return lambda: save_technician(ctx, data)
        return lambda: save_technician(ctx, data, row.technician_id, row.version)


class AbsenceDialog(FormDialog):
    def __init__(self, shell: Shell, row: TechnicianRow, parent: QWidget | None = None) -> None:
        super().__init__(f"Absence — {row.name}", shell.runner, parent)
        self.shell, self.row = shell, row
        today = shell.ctx.installation.today()
        self.starts = date_edit(today)
        self.ends = date_edit(today)
        self.reason = QLineEdit()
        add = self.errors.add_row
        add(self.form, "&Du", "starts_on", self.starts)
        add(self.form, "&Au", "ends_on", self.ends)
        add(self.form, "&Motif", "reason", self.reason)
        self.first_field = self.starts

    def work(self) -> Callable[[], Any]:
        ctx, technician = self.shell.ctx, self.row.technician_id
        starts, ends, reason = read_date(self.starts), read_date(self.ends), self.reason.text()
        return lambda: add_absence(ctx, technician, starts, ends, reason)


class TechniciansDialog(QDialog):
    def __init__(self, shell: Shell, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Techniciens et équipes")
        self.setObjectName("techniciansDialog")
        self.shell = shell
        self.model = ListTableModel(COLUMNS)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.activated.connect(lambda _i: self.edit())
        buttons = QHBoxLayout()
        for text, slot in (("&Nouveau technicien…", self.new), ("&Modifier…", self.edit),
                           ("&Absence…", self.absence), ("Nouvelle é&quipe…", self.new_team),
                           ("&Fermer", self.accept)):
            button = QPushButton(text)
            button.setAutoDefault(False)
            button.clicked.connect(slot)
            if text == "&Fermer":
                buttons.addStretch(1)  # closing the dialog stands apart from the actions
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.resize(900, 460)
        shell.runner.changed.connect(self._changed)
        self.reload()

    def _changed(self, changes: Changes) -> None:
        if changes.touches("technician"):
            self.reload()

    def reload(self) -> None:
        ctx = self.shell.ctx
        self.shell.runner.read(lambda: technicians(ctx, active_only=False),
                               on_success=self._show, on_failure=lambda e: show_error(self, e),
                               parent=self)

    def _show(self, rows: list[TechnicianRow]) -> None:
        self.model.set_rows(rows)
        self.table.resizeColumnsToContents()
        if rows:
            self.table.selectRow(0)

    def _selected(self) -> TechnicianRow | None:
        index = self.table.currentIndex()
        return self.model.row(index.row()) if index.isValid() else None

    def new(self) -> None:
        TechnicianDialog(self.shell, self).open()

    def edit(self) -> None:
        row = self._selected()
        if row is not None:
            TechnicianDialog(self.shell, self, row).open()

    def absence(self) -> None:
        row = self._selected()
        if row is not None:
            AbsenceDialog(self.shell, row, self).open()

    def new_team(self) -> None:
        name = messages.ask_text(self, "Nouvelle équipe", "Nom de l'équipe :")
        if name:
            ctx = self.shell.ctx
            self.shell.runner.write(lambda: save_team(ctx, name),
                                    on_failure=lambda e: show_error(self, e), parent=self)
