"""For the supervisor: readings taken on premises with no contract in force (consumption nobody
is billed for: a leak, or a fraud)."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from app.models.changes import Changes
from app.services.readings import VacantReading, vacant_premise_readings
from app.views.format import day
from app.views.shell import Shell
from app.views.table_model import Column, ListTableModel
from app.views.tables import table

#: How far back the list goes.
DAYS = 90


class VacantReadingsDialog(QDialog):
    def __init__(self, shell: Shell, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Relèves sur locaux vacants")
        self.model: ListTableModel[VacantReading] = ListTableModel(
            [
                Column("Date", lambda r: day(r.reading_date)),
                Column("Compteur", lambda r: r.meter_serial),
                Column("Branchement", lambda r: r.connection_reference),
                Column("Index", lambda r: str(r.index_value), True),
                Column(
                    "Consommation",
                    lambda r: "" if r.consumption is None else str(r.consumption),
                    True,
                ),
                Column("Saisi par", lambda r: r.recorded_by),
            ]
        )
        self.summary = QLabel("Chargement…")
        self.summary.setWordWrap(True)
        view = table(self.model, "vacantReadings")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(view, 1)
        layout.addWidget(buttons)
        self.resize(820, 460)
        self.shell = shell
        shell.runner.changed.connect(self._changed)
        self.load()

    def load(self) -> None:
        ctx = self.shell.ctx
        since = ctx.installation.today() - timedelta(days=DAYS)
        self.shell.runner.read(
            lambda: vacant_premise_readings(ctx, since), on_success=self._show, parent=self
        )

    def _changed(self, changes: Changes) -> None:
        if changes.touches_any(("reading", "contract")):
            self.load()

    def _show(self, rows: list[VacantReading]) -> None:
        self.model.set_rows(rows)
        self.summary.setText(
            f"Relèves des {DAYS} derniers jours sur des branchements sans abonnement en cours : "
            "une consommation y signale une fuite ou un usage que personne ne paie."
            if rows
            else f"Aucune relève sur un local vacant ces {DAYS} derniers jours."
        )
