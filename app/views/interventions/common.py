"""What the interventions screens share: how a request's state reads and looks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget

from app.models.enums import InterventionPriority, InterventionStatus
from app.views.shortcuts import Shortcut
from kernel.context import ServiceContext

OVERDUE = QColor("#b3261e")
OVERDUE_BACKGROUND = QColor("#fde7e4")
STATUS_COLOURS = {
    InterventionStatus.NEW: QColor("#dbe7f5"),
    InterventionStatus.REOPENED: QColor("#f7e3c4"),
    InterventionStatus.SCHEDULED: QColor("#cfe3d4"),
    InterventionStatus.IN_PROGRESS: QColor("#f3e7a6"),
    InterventionStatus.DONE: QColor("#e2e2e2"),
    InterventionStatus.CANCELLED: QColor("#eeeeee"),
}
PRIORITY_MARKS = {
    InterventionPriority.URGENT: "‼ ",
    InterventionPriority.HIGH: "! ",
    InterventionPriority.NORMAL: "",
    InterventionPriority.LOW: "",
}


def local(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%d/%m/%Y %H:%M") if value else ""


def short(value: datetime | None, zone: ZoneInfo) -> str:
    """Day, month and time, the year only when it is not this year's (the lists' columns)."""
    if value is None:
        return ""
    moment = value.astimezone(zone)
    this_year = datetime.now(zone).year
    return moment.strftime("%d/%m %H:%M" if moment.year == this_year else "%d/%m/%Y %H:%M")


def minutes_text(minutes: int | None) -> str:
    if minutes is None:
        return ""
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d}" if hours else f"{rest} min"


#: The Interventions page's own keys (declared with the page, bound inside it).
PAGE_KEYS = {
    "new": Shortcut("Ins", "Nouvelle demande d'intervention", "Interventions"),
    "edit": Shortcut("F2", "Modifier la demande", "Interventions"),
    "plan": Shortcut("Ctrl+Maj+P", "Planifier la demande", "Interventions"),
    "start": Shortcut("Ctrl+Maj+G", "Commencer l'intervention", "Interventions"),
    "close": Shortcut("Ctrl+Maj+L", "Clôturer avec le rapport", "Interventions"),
    "cancel": Shortcut("Ctrl+Maj+A", "Annuler la demande", "Interventions"),
    "reopen": Shortcut("Ctrl+Maj+R", "Rouvrir la demande", "Interventions"),
    "print": Shortcut("Ctrl+Maj+B", "Imprimer le bon d'intervention", "Interventions"),
    "letter": Shortcut("Ctrl+Maj+M", "Courrier au client (avis de passage)", "Interventions"),
}
PLANNING_KEYS = (
    Shortcut("Alt+Left", "Période précédente", "Planning"),
    Shortcut("Alt+Right", "Période suivante", "Planning"),
)


def bind(widget: QWidget, keys: str, slot: Callable[[], object]) -> QShortcut:
    """A key of the widget and what it contains (the declared French spelling accepted)."""
    shortcut = QShortcut(QKeySequence(keys.replace("Maj+", "Shift+")), widget)
    shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    shortcut.activated.connect(slot)
    return shortcut


def overdue_tile(ctx: ServiceContext) -> str:
    """The home page's card: open requests past their deadline."""
    from app.services.interventions.lists import overdue_count

    late = overdue_count(ctx)
    return "aucune" if late == 0 else f"{late} en retard"


def scrolled_layout(page: QWidget) -> QVBoxLayout:
    """The page's content layout, inside a scroll area: on a small screen the window still fits
    and the page scrolls (at 1366×768 everything shows)."""
    body = QWidget()
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidget(body)
    outer = QVBoxLayout(page)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scroll)
    return QVBoxLayout(body)
