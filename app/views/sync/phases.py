"""The phases of the run in progress, side by side: a title, a progress bar and a detail each."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QGroupBox, QLabel, QProgressBar, QSizePolicy

from app.views import format as fmt
from kernel import vocabulary

PHASE_STYLE = """
QProgressBar { border: 1px solid #b8c2cf; border-radius: 3px; background: white;
               text-align: center; min-height: 20px; }
QProgressBar::chunk { background: #4a7fc1; }
QProgressBar[phaseState="done"]::chunk { background: #2e7d32; }
QProgressBar[phaseState="done"] { color: white; }
QProgressBar[phaseState="failed"]::chunk { background: #c62828; }
QProgressBar[phaseState="failed"] { border: 1px solid #c62828; color: white; font-weight: bold; }
QProgressBar[phaseState="interrupted"]::chunk { background: #d9822b; }
QProgressBar[phaseState="interrupted"] { color: white; font-weight: bold; }
QProgressBar[phaseState="skipped"] { color: #8a96a3; background: #f0f2f5; }
QLabel[phaseTitle="true"] { font-weight: bold; color: #1f3a5f; }
QLabel[phaseDetail="true"] { color: #4a5868; font-size: 9pt; }
"""
#: The phases always shown, in order; the others appear when a run goes through them.
STANDARD_PHASES = ("backup", "upload", "close", "download", "reconcile")
PHASE_ORDER = ("bootstrap", "backup", "adoption", "upload", "close", "download", "reconcile")


class PhaseRow:
    def __init__(self, name: str, label: str) -> None:
        self.name = name
        self.title = QLabel(label)
        self.title.setObjectName(f"phase_{name}_title")
        self.title.setProperty("phaseTitle", True)
        self.bar = QProgressBar()
        self.bar.setObjectName(f"phase_{name}")
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setTextVisible(True)
        self.bar.setFormat("—")
        self.bar.setMinimumWidth(70)
        self.detail = QLabel("")
        self.detail.setObjectName(f"phase_{name}_detail")
        self.detail.setProperty("phaseDetail", True)
        self.detail.setWordWrap(True)
        self.detail.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.state = "waiting"

    def reset(self) -> None:
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setFormat("—")
        self.set_detail("")
        self._mark("waiting")

    def show(self, done: int, total: int | None, detail: str) -> None:
        self._mark("running")
        if total is None or total <= 0:
            self.bar.setRange(0, 0)  # busy: the length is not known
            self.bar.setFormat(fmt.count(done) if done else "")
        else:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
            self.bar.setFormat(f"{fmt.count(min(done, total))} / {fmt.count(total)}")
        self.set_detail(detail)

    def set_detail(self, detail: str) -> None:
        # File names and identifiers may break after - _ . / so that no detail is cut.
        breakable = detail
        for mark in ("-", "_", "/", "."):
            breakable = breakable.replace(mark, mark + "\u200b")
        self.detail.setText(breakable)
        self.detail.setToolTip(detail)

    def finish(self, state: str) -> None:
        if state == "done":
            self.bar.setRange(0, 1)
            self.bar.setValue(1)
            self.bar.setFormat("Terminé")
        elif state == "skipped":
            self.bar.setRange(0, 1)
            self.bar.setValue(0)
            self.bar.setFormat("Sans objet")
        elif state in ("failed", "interrupted"):
            self.bar.setRange(0, 1)
            self.bar.setValue(1)
            self.bar.setFormat("Échec" if state == "failed" else "Arrêté")
        self._mark(state)

    def _mark(self, state: str) -> None:
        self.state = state
        self.bar.setProperty("phaseState", state)
        self.bar.style().unpolish(self.bar)
        self.bar.style().polish(self.bar)


class PhasesBox(QGroupBox):
    """« Déroulement »: the standard phases, and the others while a run goes through them."""

    def __init__(self) -> None:
        super().__init__("Déroulement")
        self.setObjectName("syncPhasesBox")
        self.setStyleSheet(PHASE_STYLE)
        self.grid = QGridLayout(self)
        self.grid.setHorizontalSpacing(14)
        self.grid.setVerticalSpacing(4)
        self.rows: dict[str, PhaseRow] = {}
        for name in STANDARD_PHASES:
            self.row(name)

    def row(self, name: str) -> PhaseRow:
        row = self.rows.get(name)
        if row is not None:
            return row
        row = PhaseRow(name, vocabulary.phase_label(name))
        self.rows[name] = row
        self._layout()
        return row

    def _layout(self) -> None:
        """The phases side by side in the order a run goes through them."""
        ordered = sorted(
            self.rows.values(),
            key=lambda r: PHASE_ORDER.index(r.name) if r.name in PHASE_ORDER else len(PHASE_ORDER),
        )
        for each in ordered:
            for widget in (each.title, each.bar, each.detail):
                self.grid.removeWidget(widget)
        for column in range(len(PHASE_ORDER) + 1):
            self.grid.setColumnStretch(column, 0)
        for column, each in enumerate(ordered):
            self.grid.addWidget(each.title, 0, column)
            self.grid.addWidget(each.bar, 1, column)
            self.grid.addWidget(each.detail, 2, column, Qt.AlignmentFlag.AlignTop)
            self.grid.setColumnStretch(column, 1)

    def _remove(self, name: str) -> None:
        row = self.rows.pop(name)
        for widget in (row.title, row.bar, row.detail):
            self.grid.removeWidget(widget)
            widget.hide()
            widget.deleteLater()
        self._layout()

    def reset(self) -> None:
        """A new run: the standard phases only, all waiting."""
        for name in [n for n in self.rows if n not in STANDARD_PHASES]:
            self._remove(name)
        for row in self.rows.values():
            row.reset()

    def progressed(self, progress: Any) -> None:
        """The runner's report (``phase``, ``done``, ``total``, ``detail``)."""
        row = self.row(progress.phase)
        for other in self.rows.values():
            if other is not row and other.state == "running":
                other.finish("done")
        if progress.total == 1 and progress.done == 1:  # the runner's "phase done"
            row.finish("done")
            row.set_detail(progress.detail)
            return
        row.show(progress.done, progress.total, progress.detail)

    def finished(self, status: str) -> None:
        """The run ended with ``status`` (succeeded, failed, interrupted)."""
        final = {"succeeded": "done", "failed": "failed", "interrupted": "interrupted"}.get(
            status, "failed"
        )
        for row in self.rows.values():
            if row.state == "running":
                row.finish(final)
            elif row.state == "waiting" and status == "succeeded":
                row.finish("skipped")  # not part of this run (a simulation makes no backup)

    def crashed(self) -> None:
        for row in self.rows.values():
            if row.state == "running":
                row.finish("failed")
