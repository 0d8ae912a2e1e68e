"""« Conflits » (supervisors): the fields changed both at the agency and at central, and the
supervisor's decision, which travels up at the next synchronisation.

Signals: ``count_changed(int)`` with the number of conflicts still to decide after each load;
``failed(object)`` when a decision could not be recorded (the page says why and reloads).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.models.sync import ConflictChoice, ConflictStatus
from app.services import sync_admin
from app.services.sync_admin import ConflictRecord
from app.views import format as fmt
from app.views import messages
from app.views.errors import show_error
from app.views.shell import Shell
from app.views.sync import dialogs
from app.views.sync.common import fit_columns, table
from app.views.table_model import Column, ListTableModel


class ConflictsTab(QWidget):
    count_changed = Signal(int)
    failed = Signal(object)

    def __init__(self, shell: Shell) -> None:
        super().__init__()
        self.shell = shell
        local = shell.ctx.installation.local
        self.model: ListTableModel[ConflictRecord] = ListTableModel([
            Column("Date", lambda c: fmt.moment(local(c.detected_at))),
            Column("Élément", lambda c: f"{c.table_label} {c.row_caption}".strip()),
            Column("Champ", lambda c: c.field_label),
            Column("Origine", lambda c: c.old_text),
            Column("Reçue (agence)", lambda c: c.incoming_text),
            Column("En place (central)", lambda c: c.current_text),
            Column("Décision", decision_text),
        ])
        self.table = table("syncConflicts")
        self.table.setModel(self.model)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._enable_actions())
        self.show_resolved = QCheckBox("Afficher aussi les conflits résol&us")
        self.show_resolved.toggled.connect(lambda _on: self.load())
        self.keep_current = QPushButton("Garder la valeur &en place")
        self.take_incoming = QPushButton("Prendre la valeur &reçue")
        self.custom_value = QPushButton("Autre &valeur…")
        self.keep_current.clicked.connect(lambda: self.resolve(ConflictChoice.CURRENT))
        self.take_incoming.clicked.connect(lambda: self.resolve(ConflictChoice.INCOMING))
        self.custom_value.clicked.connect(lambda: self.resolve(ConflictChoice.CUSTOM))
        self.summary = QLabel("")
        self.summary.setObjectName("hint")
        self.summary.setWordWrap(True)
        self.detail = QLabel("")
        self.detail.setObjectName("conflictDetail")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        for button in (self.keep_current, self.take_incoming, self.custom_value):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        heading = QHBoxLayout()
        heading.addWidget(self.summary, 1)
        heading.addWidget(self.show_resolved, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(heading)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.detail)
        layout.addLayout(buttons)
        self._enable_actions()

    def load(self) -> None:
        ctx = self.shell.ctx
        status = None if self.show_resolved.isChecked() else ConflictStatus.OPEN

        def load() -> tuple[list[ConflictRecord], int]:
            return sync_admin.list_conflicts(ctx, status), sync_admin.count_open_conflicts(ctx)

        self.shell.runner.read(
            load, on_success=self._show, on_failure=lambda e: show_error(self, e), parent=self
        )

    def _show(self, loaded: tuple[list[ConflictRecord], int]) -> None:
        conflicts, open_count = loaded
        self.model.set_rows(conflicts)
        fit_columns(self.table, 190)
        self.count_changed.emit(open_count)
        if open_count:
            self.summary.setText(
                f"{fmt.plural(open_count, 'conflit', 'conflits')} à décider. Tant qu'un conflit "
                "n'est pas décidé, la valeur en place au site central reste. Votre décision part "
                "au site central à la prochaine synchronisation."
            )
        else:
            self.summary.setText("Aucun conflit à décider.")
        if conflicts:
            self.table.selectRow(0)
        self._enable_actions()

    def _current(self) -> ConflictRecord | None:
        index = self.table.currentIndex()
        if not index.isValid() or index.row() >= len(self.model.rows):
            return None
        return self.model.row(index.row())

    def _enable_actions(self) -> None:
        conflict = self._current()
        self.detail.setText(conflict_text(conflict) if conflict else "")
        open_ = conflict is not None and conflict.status is ConflictStatus.OPEN
        for button in (self.keep_current, self.take_incoming):
            button.setEnabled(open_)
        self.custom_value.setEnabled(open_ and conflict is not None and conflict.field != "*")

    def resolve(self, choice: ConflictChoice) -> None:
        conflict = self._current()
        if conflict is None or conflict.status is not ConflictStatus.OPEN:
            return
        custom = ""
        what = f"« {conflict.field_label} » ({conflict.table_label})"
        if choice is ConflictChoice.CUSTOM:
            value = dialogs.ask_value(
                self, "Autre valeur", f"Valeur à garder pour {what} :", conflict.current_text
                if conflict.current_value is not None else "",
            )
            if value is None:
                return
            custom = value
            kept = value.strip()
        elif choice is ConflictChoice.INCOMING:
            kept = conflict.incoming_text
        else:
            kept = conflict.current_text
        if not messages.confirm(
            self,
            "Résoudre le conflit",
            f"Garder « {kept} » pour {what} ?\n\nLa décision sera envoyée au site central à la "
            "prochaine synchronisation.",
            default_yes=True,
        ):
            return
        ctx = self.shell.ctx
        self.shell.runner.write(
            lambda: sync_admin.resolve_conflict(
                ctx, conflict.id, conflict.version, choice, custom
            ),
            on_success=lambda _done: self.load(),
            on_failure=self.failed.emit,
            parent=self,
        )


def conflict_text(c: ConflictRecord) -> str:
    """The whole conflict in one sentence, values in full."""
    text = (
        f"{c.table_label} {c.row_caption} — {c.field_label} : valeur d'origine « {c.old_text} », "
        f"reçue de l'agence « {c.incoming_text} », en place au site central "
        f"« {c.current_text} »."
    )
    if c.status is not ConflictStatus.OPEN:
        text += f" Décision : {c.choice_label.lower()} « {c.chosen_text} » ({c.resolved_by})."
    return text


def decision_text(conflict: ConflictRecord) -> str:
    if conflict.status is ConflictStatus.OPEN:
        return "À décider"
    return f"{conflict.choice_label} : {conflict.chosen_text} ({conflict.resolved_by})"
