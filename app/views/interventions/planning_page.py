"""Planning: the board of a day or a week and the requests still to plan. A drop (or an arrow key
on a selected block) asks the service to place the job; a clash is explained, and a supervisor
may force it. Prints the selected technician's day sheet and the selected job's work order."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from PySide6.QtCore import QMimeData
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.models.changes import Changes
from app.models.enums import Role
from app.services.interventions.planning import Board, Job, PlanningClash, board, place_job
from app.services.interventions.work_order import day_sheet_pdf, work_order_pdf
from app.views import messages
from app.views.errors import show_error
from app.views.format import plural
from app.views.interventions.board import BoardView, job_mime, tooltip
from app.views.interventions.common import OVERDUE, bind, scrolled_layout
from app.views.interventions.documents import save_and_open
from app.views.shell import Shell
from kernel.vocabulary import label

FORCING = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})


class WaitingList(QListWidget):
    """The requests to plan; an item is dragged onto the board."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("waitingList")
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setSpacing(3)
        self.setWordWrap(True)
        self.jobs: list[Job] = []

    def show_jobs(self, jobs: list[Job], board_: Board) -> None:
        self.clear()
        self.jobs = jobs
        for job in jobs:
            item = QListWidgetItem(f"{job.number.rsplit('-', 1)[-1].lstrip('0')} · "
                                   f"{label(job.type)}\n{job.who or job.commune}")
            item.setToolTip(tooltip(job, board_))
            if job.overdue:
                item.setForeground(OVERDUE)
            self.addItem(item)

    def mimeData(self, items: Sequence[QListWidgetItem]) -> QMimeData:  # noqa: N802 (Qt override)
        return job_mime(self.jobs[self.row(items[0])])

    def current_job(self) -> Job | None:
        row = self.currentRow()
        return self.jobs[row] if 0 <= row < len(self.jobs) else None


class PlanningPage(QWidget):
    """Signals: none. ``refresh`` reads the board again (F5)."""

    def __init__(self, shell: Shell) -> None:
        super().__init__()
        self.setObjectName("planningPage")
        self.shell = shell
        self.days = 7
        today = shell.ctx.installation.today()
        self.first_day = today - timedelta(days=today.weekday())
        self.current: Board | None = None

        title = QLabel("Planning des interventions")
        title.setObjectName("pageTitle")
        self.period = QLabel()
        self.period.setObjectName("planningPeriod")
        self.day_button = QPushButton("&Jour")
        self.week_button = QPushButton("&Semaine")
        for button in (self.day_button, self.week_button):
            button.setCheckable(True)
        self.week_button.setChecked(True)
        self.day_button.clicked.connect(lambda: self.set_days(1))
        self.week_button.clicked.connect(lambda: self.set_days(7))
        previous = QPushButton("◀ &Précédent")
        previous.clicked.connect(lambda: self.shift_period(-1))
        today_button = QPushButton("&Aujourd'hui")
        today_button.clicked.connect(self.go_today)
        following = QPushButton("Sui&vant ▶")
        following.clicked.connect(lambda: self.shift_period(1))
        self.sheet_button = QPushButton("&Feuille de journée")
        self.sheet_button.setToolTip("Feuille de journée du technicien choisi (jour affiché, "
                                     "ou premier jour de la semaine)")
        self.sheet_button.clicked.connect(self.print_day_sheet)
        self.order_button = QPushButton("&Bon d'intervention")
        self.order_button.setToolTip("Bon d'intervention de la demande choisie")
        self.order_button.clicked.connect(self.print_work_order)
        heading = QHBoxLayout()
        heading.addWidget(title)
        heading.addSpacing(12)
        heading.addWidget(self.period, 1)
        bar = QHBoxLayout()
        for widget in (self.day_button, self.week_button, previous, today_button, following):
            bar.addWidget(widget)
        bar.addStretch(1)
        self.people_button = QPushButton("&Techniciens…")
        self.people_button.setToolTip("Techniciens, équipes, compétences, horaires et absences")
        self.people_button.clicked.connect(self.manage_technicians)
        bar.addWidget(self.people_button)
        bar.addWidget(self.sheet_button)
        bar.addWidget(self.order_button)

        self.view = BoardView()
        self.view.job_dropped.connect(self.place)
        self.board_scroll = QScrollArea()
        self.board_scroll.setWidgetResizable(True)
        self.board_scroll.setWidget(self.view)
        self.waiting = WaitingList()
        self.waiting.itemActivated.connect(lambda _item: self.schedule_waiting())
        waiting_box = QWidget()
        column = QVBoxLayout(waiting_box)
        column.setContentsMargins(0, 0, 0, 0)
        self.waiting_title = QLabel("À planifier")
        self.waiting_title.setObjectName("sectionTitle")
        column.addWidget(self.waiting_title)
        column.addWidget(self.waiting, 1)
        hint = QLabel("Glissez une demande sur un technicien, ou Entrée pour la planifier. "
                      "Flèches : déplacer le bloc choisi (Ctrl : d'un jour).")
        hint.setWordWrap(True)
        hint.setObjectName("hint")
        column.addWidget(hint)
        splitter = QSplitter()
        splitter.addWidget(self.board_scroll)
        splitter.addWidget(waiting_box)
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([1000, 230])
        self.status = QLabel()
        self.status.setObjectName("planningStatus")
        layout = scrolled_layout(self)
        layout.setContentsMargins(12, 10, 12, 8)
        layout.addLayout(heading)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)
        bind(self, "Alt+Left", lambda: self.shift_period(-1))
        bind(self, "Alt+Right", lambda: self.shift_period(1))
        shell.runner.changed.connect(self._changed)
        self.refresh()

    def _changed(self, changes: Changes) -> None:
        if changes.touches_any(("intervention", "technician")):
            self.refresh()

    # --- Page -------------------------------------------------------------------------------
    def as_widget(self) -> QWidget:
        return self

    def activated(self) -> None:
        self.view.setFocus()

    def closing(self) -> None:
        pass

    # --- period -----------------------------------------------------------------------------
    def set_days(self, days: int) -> None:
        self.days = days
        self.day_button.setChecked(days == 1)
        self.week_button.setChecked(days == 7)
        if days == 7:
            self.first_day -= timedelta(days=self.first_day.weekday())
        self.refresh()

    def shift_period(self, steps: int) -> None:
        self.first_day += timedelta(days=steps * self.days)
        self.refresh()

    def go_today(self) -> None:
        today = self.shell.ctx.installation.today()
        self.first_day = today if self.days == 1 else today - timedelta(days=today.weekday())
        self.refresh()

    def show_day(self, day: date, days: int = 1) -> None:
        self.days = days
        self.first_day = day
        self.day_button.setChecked(days == 1)
        self.week_button.setChecked(days == 7)
        self.refresh()

    # --- loading ----------------------------------------------------------------------------
    def refresh(self) -> None:
        last = self.first_day + timedelta(days=self.days - 1)
        self.period.setText(f"du {self.first_day:%d/%m/%Y} au {last:%d/%m/%Y}"
                            if self.days > 1 else f"le {self.first_day:%d/%m/%Y}")
        ctx, first, days = self.shell.ctx, self.first_day, self.days
        self.shell.runner.read(lambda: board(ctx, first, days), on_success=self._show,
                               on_failure=lambda e: show_error(self, e), parent=self)

    def _show(self, result: Board) -> None:
        if (result.first_day, result.days) != (self.first_day, self.days):
            return  # an older period's answer
        self.current = result
        self.view.show_board(result)
        self.waiting.show_jobs(result.unscheduled, result)
        self.waiting_title.setText(f"À planifier ({len(result.unscheduled)})")
        clashing = sum(1 for j in result.jobs if j.clashes)
        late = sum(1 for j in result.jobs if j.overdue)
        self.status.setText(
            f"{plural(len(result.technicians), 'technicien', 'techniciens')} · "
            f"{plural(len(result.jobs), 'intervention planifiée', 'interventions planifiées')}"
            f" · {plural(clashing, 'en conflit', 'en conflit')} · "
            f"{plural(late, 'en retard', 'en retard')}")

    # --- placing ----------------------------------------------------------------------------
    def place(self, request_id: uuid.UUID, version: int, technician_id: uuid.UUID,
              start: datetime, force: bool = False) -> None:
        ctx = self.shell.ctx
        self.shell.runner.write(
            lambda: place_job(ctx, request_id, version, technician_id, start, force=force),
            on_failure=lambda e: self._refused(e, request_id, version, technician_id, start),
            parent=self)

    def _refused(self, error: BaseException, request_id: uuid.UUID, version: int,
                 technician_id: uuid.UUID, start: datetime) -> None:
        user = self.shell.ctx.user
        if isinstance(error, PlanningClash) and user is not None and user.role in FORCING:
            if messages.confirm(self, "Créneau en conflit",
                                error.message.replace("Un superviseur peut forcer ce créneau.",
                                                      "Forcer ce créneau quand même ?")):
                self.place(request_id, version, technician_id, start, force=True)
                return
        else:
            show_error(self, error)
        self.refresh()

    # --- printing ---------------------------------------------------------------------------
    def print_day_sheet(self) -> None:
        technician = self.view.selected_technician
        if technician is None:
            messages.inform(self, "Feuille de journée", "Choisissez d'abord un technicien "
                                                        "(cliquez sur sa ligne).")
            return
        ctx, day = self.shell.ctx, self.first_day
        self.shell.runner.read(lambda: day_sheet_pdf(ctx, technician, day),
                                 on_success=lambda r: save_and_open(self, *r),
                                 on_failure=lambda e: show_error(self, e), parent=self)

    def print_work_order(self) -> None:
        request_id = self.view.selected
        if request_id is None:
            job = self.waiting.current_job()
            request_id = job.request_id if job else None
        if request_id is None:
            messages.inform(self, "Bon d'intervention", "Choisissez d'abord une intervention.")
            return
        ctx = self.shell.ctx
        self.shell.runner.read(lambda: work_order_pdf(ctx, request_id),
                                 on_success=lambda r: save_and_open(self, *r),
                                 on_failure=lambda e: show_error(self, e), parent=self)

    def manage_technicians(self) -> None:
        from app.views.interventions.technicians import TechniciansDialog

        TechniciansDialog(self.shell, self).open()

    def schedule_waiting(self) -> None:
        """Enter on a request to plan: the planning dialog (technician, day, hour)."""
        from app.services.interventions.lists import request_detail
        from app.views.interventions.page import ScheduleDialog

        job = self.waiting.current_job()
        if job is None:
            return
        ctx, request_id = self.shell.ctx, job.request_id
        self.shell.runner.read(
            lambda: request_detail(ctx, request_id),
            on_success=lambda detail: ScheduleDialog(self.shell, detail, self).open(),
            on_failure=lambda e: show_error(self, e), parent=self)
