"""The planning board's drawing: one row per technician, the day's hours (or the week's days)
across, each job a block in its time slot. A block is dragged to another slot or technician (or
moved with the arrow keys); a request is dragged in from the list of requests to plan. What a
drop means is the page's business: the board only says where.

Signals: ``job_dropped(request_id, version, technician_id, start)`` (ids as ``uuid.UUID``,
``start`` an aware UTC datetime); ``job_selected(request_id or None)``;
``technician_selected(technician_id)``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from PySide6.QtCore import QMimeData, QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QDrag,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QHelpEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QApplication, QToolTip, QWidget

from app.services.interventions.planning import Board, Job, TechnicianRow
from app.views.interventions.common import OVERDUE, STATUS_COLOURS
from kernel.vocabulary import label

MIME = "application/x-guichet-job"
NAME_WIDTH = 170
HEADER_HEIGHT = 34
FIRST_HOUR, LAST_HOUR = 7, 18
STEP_MINUTES = 15
CLASH = QColor("#d9822b")
GRID = QColor("#d5dbe3")
OFF_DUTY = QColor("#f1f2f4")
ABSENT = QColor("#e9d8d6")
SELECTED = QColor("#1f3a5f")


def job_mime(job: Job, grab_minutes: int = 0) -> QMimeData:
    data = QMimeData()
    data.setData(MIME, f"{job.request_id}:{job.version}:{grab_minutes}".encode())
    return data


def read_mime(data: QMimeData) -> tuple[uuid.UUID, int, int] | None:
    if not data.hasFormat(MIME):
        return None
    request, version, grab = bytes(data.data(MIME).data()).decode().split(":")
    return uuid.UUID(request), int(version), int(grab)


@dataclass
class _Block:
    rect: QRectF
    job: Job


class BoardView(QWidget):
    job_dropped = Signal(object, int, object, object)
    job_selected = Signal(object)
    technician_selected = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("planningBoard")
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(False)
        self.board: Board | None = None
        #: The days shown, left to right (a week's days off without jobs are left out).
        self.days: list[date] = []
        self.blocks: list[_Block] = []
        self.selected: uuid.UUID | None = None
        self.selected_technician: uuid.UUID | None = None
        self._press: QPoint | None = None
        self._pressed_block: _Block | None = None
        self._drop_hint: QRectF | None = None
        self.small = QFont(self.font())
        self.small.setPointSizeF(max(self.font().pointSizeF() - 1.5, 7.0))
        self.bold = QFont(self.font())
        self.bold.setBold(True)

    # --- geometry --------------------------------------------------------------------------
    @property
    def row_height(self) -> int:
        return 58 if self.board is not None and self.board.days == 1 else 44

    @property
    def day_width(self) -> float:
        return max((self.width() - NAME_WIDTH) / max(len(self.days), 1), 60.0)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        rows = len(self.board.technicians) if self.board else 0
        return QSize(900, HEADER_HEIGHT + rows * self.row_height + 2)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(NAME_WIDTH + 300, self.sizeHint().height())

    def _x(self, moment: datetime) -> float:
        assert self.board is not None
        local = moment.astimezone(self.board.calendar.zone)
        day_index = self._column(local.date())
        minutes = local.hour * 60 + local.minute - FIRST_HOUR * 60
        span = (LAST_HOUR - FIRST_HOUR) * 60
        return NAME_WIDTH + day_index * self.day_width + minutes / span * self.day_width

    def slot_at(self, point: QPointF) -> tuple[TechnicianRow, datetime] | None:
        """The technician and the moment (rounded to a quarter of an hour) under ``point``."""
        if self.board is None or point.x() < NAME_WIDTH or point.y() < HEADER_HEIGHT:
            return None
        row = int((point.y() - HEADER_HEIGHT) // self.row_height)
        if not 0 <= row < len(self.board.technicians):
            return None
        offset = point.x() - NAME_WIDTH
        day_index = min(int(offset // self.day_width), len(self.days) - 1)
        within = (offset - day_index * self.day_width) / self.day_width
        span = (LAST_HOUR - FIRST_HOUR) * 60
        minutes = FIRST_HOUR * 60 + round(within * span / STEP_MINUTES) * STEP_MINUTES
        day = self.days[day_index]
        return self.board.technicians[row], self._at(day, minutes)

    def _at(self, day: date, minutes: int) -> datetime:
        assert self.board is not None
        minutes = max(0, min(minutes, 24 * 60 - STEP_MINUTES))
        local = datetime.combine(day, time(minutes // 60, minutes % 60), self.board.calendar.zone)
        return local.astimezone(UTC)

    # --- content ---------------------------------------------------------------------------
    def _column(self, day: date) -> int:
        """The column of ``day`` (a day left out falls on the next one shown)."""
        for index, shown in enumerate(self.days):
            if shown >= day:
                return index
        return len(self.days)

    def show_board(self, board: Board) -> None:
        self.board = board
        busy = {j.start.astimezone(board.calendar.zone).date() for j in board.jobs if j.start}
        every = [board.first_day + timedelta(days=i) for i in range(board.days)]
        self.days = [d for d in every if board.days == 1 or board.calendar.is_working_day(d)
                     or d in busy] or every
        self._layout_blocks()
        self.updateGeometry()
        self.setMinimumHeight(self.sizeHint().height())
        self.update()

    def _layout_blocks(self) -> None:
        self.blocks = []
        self._laid_out_width = self.width()
        if self.board is None:
            return
        rows = {t.technician_id: i for i, t in enumerate(self.board.technicians)}
        columns = {day: index for index, day in enumerate(self.days)}
        height, width = self.row_height, self.day_width
        per_minute = width / ((LAST_HOUR - FIRST_HOUR) * 60)
        zone = self.board.calendar.zone
        for job in self.board.jobs:
            row = rows.get(job.technician_id) if job.technician_id else None
            if row is None or job.start is None or job.end is None:
                continue
            start = job.start.astimezone(zone)
            column = columns.get(start.date())
            if column is None:
                continue
            left = (NAME_WIDTH + column * width
                    + (start.hour * 60 + start.minute - FIRST_HOUR * 60) * per_minute)
            length = (job.end - job.start).total_seconds() / 60 * per_minute
            top = HEADER_HEIGHT + row * height + 3
            self.blocks.append(_Block(QRectF(left, top, max(length, 6.0), height - 6), job))

    def resizeEvent(self, event: object) -> None:  # noqa: N802 (Qt override)
        if self.width() != getattr(self, "_laid_out_width", None):
            self._layout_blocks()
        super().resizeEvent(event)  # type: ignore[arg-type]

    def block_of(self, request_id: uuid.UUID) -> _Block | None:
        return next((b for b in self.blocks if b.job.request_id == request_id), None)

    def _block_at(self, point: QPointF) -> _Block | None:
        for block in reversed(self.blocks):
            if block.rect.contains(point):
                return block
        return None

    # --- painting --------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().base())
        if self.board is None:
            return
        exposed = QRectF(event.rect())
        self._paint_grid(painter, exposed)
        painter.setFont(self.small)
        for block in self.blocks:
            if block.rect.intersects(exposed):
                self._paint_block(painter, block)
        if self._drop_hint is not None:
            painter.setPen(QPen(SELECTED, 2, Qt.PenStyle.DashLine))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(self._drop_hint)
        painter.end()

    def _paint_grid(self, painter: QPainter, exposed: QRectF) -> None:
        assert self.board is not None
        board, height, width = self.board, self.row_height, self.day_width
        text = self.palette().text().color()
        for day_index, day in enumerate(self.days):
            left = NAME_WIDTH + day_index * width
            column = QRectF(left, 0, width, self.height())
            if not board.calendar.is_working_day(day):
                painter.fillRect(column, OFF_DUTY)
            painter.setPen(QPen(GRID, 1))
            painter.drawLine(QPointF(left, 0), QPointF(left, self.height()))
            painter.setPen(text)
            painter.setFont(self.bold)
            title = f"{_WEEKDAYS[day.weekday()]} {day:%d/%m}"
            painter.drawText(QRectF(left + 4, 2, width - 8, 16),
                             int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), title)
            painter.setFont(self.small)
            hours = range(FIRST_HOUR, LAST_HOUR + 1, 1 if board.days == 1 else 3)
            for hour in hours:
                x = left + (hour - FIRST_HOUR) / (LAST_HOUR - FIRST_HOUR) * width
                painter.setPen(QPen(GRID, 1, Qt.PenStyle.DotLine))
                painter.drawLine(QPointF(x, HEADER_HEIGHT - 6), QPointF(x, self.height()))
                painter.setPen(text)
                if hour < LAST_HOUR:
                    painter.drawText(QPointF(x + 2, HEADER_HEIGHT - 6), f"{hour}h")
        for row, technician in enumerate(board.technicians):
            top = HEADER_HEIGHT + row * height
            band = QRectF(0, top, self.width(), height)
            if not band.intersects(exposed):
                continue
            for day_index, day in enumerate(self.days):
                absence = technician.absent_on(day)
                if absence is not None:
                    cell = QRectF(NAME_WIDTH + day_index * width, top, width, height)
                    painter.fillRect(cell, QBrush(ABSENT, Qt.BrushStyle.BDiagPattern))
                    painter.setPen(text)
                    painter.drawText(cell, int(Qt.AlignmentFlag.AlignCenter),
                                     f"Absent{' — ' + absence.reason if absence.reason else ''}")
            if technician.technician_id == self.selected_technician:
                painter.fillRect(QRectF(0, top, NAME_WIDTH, height), QColor("#dbe7f5"))
            painter.setPen(QPen(GRID, 1))
            painter.drawLine(QPointF(0, top + height), QPointF(self.width(), top + height))
            painter.setPen(text)
            painter.setFont(self.bold)
            left_middle = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
            painter.drawText(QRectF(6, top + 3, NAME_WIDTH - 10, 18), left_middle,
                             painter.fontMetrics().elidedText(
                                 technician.name, Qt.TextElideMode.ElideRight, NAME_WIDTH - 12))
            painter.setFont(self.small)
            detail = " · ".join(p for p in (technician.team, technician.skills_text) if p)
            painter.drawText(QRectF(6, top + 21, NAME_WIDTH - 10, 16), left_middle,
                             painter.fontMetrics().elidedText(
                                 detail, Qt.TextElideMode.ElideRight, NAME_WIDTH - 12))
        painter.setPen(QPen(GRID, 1))
        painter.drawLine(QPointF(0, HEADER_HEIGHT), QPointF(self.width(), HEADER_HEIGHT))
        painter.drawLine(QPointF(NAME_WIDTH, 0), QPointF(NAME_WIDTH, self.height()))

    def _paint_block(self, painter: QPainter, block: _Block) -> None:
        job, rect = block.job, block.rect
        painter.setBrush(STATUS_COLOURS.get(job.status, QColor("#dddddd")))
        if job.request_id == self.selected:
            pen = _PENS["selected"]
        elif job.clashes:
            pen = _PENS["clash"]
        elif job.overdue:
            pen = _PENS["overdue"]
        else:
            pen = _PENS["plain"]
        painter.setPen(pen)
        if rect.width() < 18:
            painter.drawRect(rect)
            return
        painter.drawRoundedRect(rect, 3, 3)
        painter.setPen(OVERDUE if job.overdue else self.palette().text().color())
        inner = rect.adjusted(3, 1, -2, -1)
        mark = "⚠ " if job.clashes else ""
        short = job.number.rsplit("-", 1)[-1].lstrip("0")
        lines = [f"{mark}{short} {label(job.type)}", job.who or job.commune]
        painter.drawText(inner, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop),
                         "\n".join(lines))

    # --- tooltips --------------------------------------------------------------------------
    def event(self, event: object) -> bool:
        if isinstance(event, QHelpEvent):
            block = self._block_at(QPointF(event.pos()))
            if block is not None:
                QToolTip.showText(event.globalPos(), tooltip(block.job, self.board), self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)  # type: ignore[arg-type]

    # --- mouse and keyboard ----------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        point = event.position()
        block = self._block_at(point)
        self._press = event.position().toPoint()
        self._pressed_block = block
        self.selected = block.job.request_id if block else None
        if self.board is not None and point.y() >= HEADER_HEIGHT:
            row = int((point.y() - HEADER_HEIGHT) // self.row_height)
            if 0 <= row < len(self.board.technicians):
                self.selected_technician = self.board.technicians[row].technician_id
                self.technician_selected.emit(self.selected_technician)
        self.job_selected.emit(self.selected)
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if self._pressed_block is None or self._press is None:
            return
        if (event.position().toPoint() - self._press).manhattanLength() \
                < QApplication.startDragDistance():
            return
        block, self._pressed_block = self._pressed_block, None
        grab = self._minutes_between(block.rect.left(), event.position().x())
        drag = QDrag(self)
        drag.setMimeData(job_mime(block.job, grab))
        drag.exec(Qt.DropAction.MoveAction)

    def _minutes_between(self, left: float, x: float) -> int:
        span = (LAST_HOUR - FIRST_HOUR) * 60
        return round((x - left) / self.day_width * span / STEP_MINUTES) * STEP_MINUTES

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        self._pressed_block = None
        self._press = None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        if event.mimeData().hasFormat(MIME):
            event.acceptProposedAction()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 (Qt override)
        read = read_mime(event.mimeData())
        slot = self.slot_at(event.position())
        if read is None or slot is None:
            self._drop_hint = None
            event.ignore()
            self.update()
            return
        event.acceptProposedAction()
        _request, _version, grab = read
        technician, start = slot
        start -= timedelta(minutes=grab)
        assert self.board is not None
        row = self.board.technicians.index(technician)
        left = self._x(start)
        self._drop_hint = QRectF(left, HEADER_HEIGHT + row * self.row_height + 2,
                                 max(self.day_width / 11, 8.0), self.row_height - 4)
        self.update()

    def dragLeaveEvent(self, event: object) -> None:  # noqa: N802 (Qt override)
        self._drop_hint = None
        self.update()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        self._drop_hint = None
        self.update()
        read = read_mime(event.mimeData())
        slot = self.slot_at(event.position())
        if read is None or slot is None:
            event.ignore()
            return
        request_id, version, grab = read
        technician, start = slot
        event.acceptProposedAction()
        self.selected = request_id
        self.job_dropped.emit(request_id, version, technician.technician_id,
                              start - timedelta(minutes=grab))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        """Arrows move the selected block: ←/→ a quarter of an hour (a day on the week's
        board with Ctrl), ↑/↓ to the technician above or below."""
        block = self.block_of(self.selected) if self.selected else None
        key = event.key()
        if block is None or self.board is None or block.job.start is None or key not in (
                Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down):
            super().keyPressEvent(event)
            return
        job = block.job
        assert job.start is not None
        ids = [t.technician_id for t in self.board.technicians]
        row = ids.index(job.technician_id) if job.technician_id in ids else 0
        start: datetime = job.start
        step = timedelta(days=1) if event.modifiers() & Qt.KeyboardModifier.ControlModifier \
            else timedelta(minutes=STEP_MINUTES)
        if key == Qt.Key.Key_Left:
            start -= step
        elif key == Qt.Key.Key_Right:
            start += step
        elif key == Qt.Key.Key_Up:
            row = max(row - 1, 0)
        else:
            row = min(row + 1, len(ids) - 1)
        self.job_dropped.emit(job.request_id, job.version, ids[row], start)


_PENS = {
    "selected": QPen(SELECTED, 2.5),
    "clash": QPen(CLASH, 2, Qt.PenStyle.DashLine),
    "overdue": QPen(OVERDUE, 2),
    "plain": QPen(QColor("#7d8ea3"), 1),
}
_WEEKDAYS = ("Lun", "Mar", "Mer", "Jeu", "Ven", "Sam", "Dim")


def tooltip(job: Job, board: Board | None) -> str:
    zone = board.calendar.zone if board else UTC
    when = ""
    if job.start is not None and job.end is not None:
        when = (f"{job.start.astimezone(zone):%d/%m %H:%M}–"
                f"{job.end.astimezone(zone):%H:%M}")
    lines = [f"<b>{job.number}</b> — {label(job.type)} ({label(job.status).lower()})",
             " · ".join(p for p in (when, job.who, job.commune) if p)]
    if job.due_at is not None:
        due = f"Échéance {job.due_at.astimezone(zone):%d/%m %H:%M}"
        lines.append(f"<span style='color:#b3261e'>{due} — en retard</span>" if job.overdue
                     else due)
    lines += [f"<span style='color:#d9822b'>⚠ {c}</span>" for c in job.clashes]
    return "<br>".join(lines)
