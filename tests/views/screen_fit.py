"""What a person sees cut at 1366×768: a widget pushed past the right edge of what shows it, a
page that scrolls sideways, a caption, button or placeholder shorter than its text.

Used by the screen tests (tests/views/test_screens_fit.py) and by the walk of every screen
(bench/shots_screens.py), which prints the same findings beside its screenshots."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QComboBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QScrollBar,
    QTabBar,
    QWidget,
)
from shiboken6 import getCppPointer

from app.views.elided import ElidedLabel

#: Pixels of tolerance (a border drawn one pixel outside is not a cut).
SLACK = 2


def _name(widget: QWidget) -> str:
    text = ""
    for getter in ("text", "placeholderText", "currentText", "title"):
        read = getattr(widget, getter, None)
        if callable(read):
            try:
                value = read()
            except TypeError:
                continue
            if isinstance(value, str) and value:
                text = value
                break
    label = f"{type(widget).__name__}"
    if widget.objectName():
        label += f"#{widget.objectName()}"
    if text:
        label += f" « {text.replace(chr(10), ' ')[:40]} »"
    return label


def _shown(widget: QWidget) -> bool:
    return widget.isVisible() and widget.width() > 0 and widget.height() > 0


def _inside_item_view(widget: QWidget, top: QWidget) -> bool:
    """Editors and headers of tables scroll with their content: not the layout's business."""
    parent = widget.parentWidget()
    while parent is not None and parent is not top:
        if isinstance(parent, QAbstractItemView):
            return True
        parent = parent.parentWidget()
    return False


def _visible_rect(widget: QWidget, top: QWidget) -> QRect:
    """The part of ``top`` through which ``widget``'s parent shows it (in ``top``'s
    coordinates): the intersection of every ancestor's rectangle up to ``top``."""
    area = QRect(QPoint(0, 0), top.size())
    parent = widget.parentWidget()
    while parent is not None and parent is not top:
        origin = parent.mapTo(top, QPoint(0, 0))
        area = area.intersected(QRect(origin, parent.size()))
        parent = parent.parentWidget()
    return area


def _text_cut(widget: QWidget) -> str:
    """Why the widget's own text does not fit its width ("" when it does)."""
    metrics = widget.fontMetrics()
    if isinstance(widget, QLabel):
        if isinstance(widget, ElidedLabel) or widget.wordWrap() or not widget.text() or widget.textFormat().name == "RichText":
            return ""
        if widget.pixmap() is not None and not widget.pixmap().isNull():
            return ""
        needed = widget.sizeHint().width()
        if needed > widget.width() + SLACK:
            return f"texte coupé ({widget.width()} px pour {needed})"
        return ""
    if isinstance(widget, QAbstractButton) and not isinstance(widget, QTabBar) and widget.text():
        needed = widget.sizeHint().width()
        if needed > widget.width() + SLACK:
            return f"libellé coupé ({widget.width()} px pour {needed})"
        return ""
    if isinstance(widget, QLineEdit):
        shown = widget.text() or widget.placeholderText()
        if not shown or widget.text() and not widget.isReadOnly():
            return ""
        # The frame and the text margins of a line edit: about 12 px with the house style.
        needed = metrics.horizontalAdvance(shown) + 12
        room = widget.width() - (24 if widget.isClearButtonEnabled() else 0)
        if needed > room + SLACK:
            return f"texte coupé ({room} px pour {needed})"
        return ""
    if isinstance(widget, QComboBox) and widget.currentText() and not widget.isEditable():
        needed = metrics.horizontalAdvance(widget.currentText()) + 28
        if needed > widget.width() + SLACK:
            return f"choix coupé ({widget.width()} px pour {needed})"
    return ""


def clipped(top: QWidget) -> list[str]:
    """What is cut horizontally in ``top`` as laid out now, one line per finding."""
    found: list[str] = []
    reported: set[int] = set()
    for area in top.findChildren(QScrollArea):
        if _shown(area) and not _inside_item_view(area, top):
            bar = area.horizontalScrollBar()
            if bar.isVisible() and bar.maximum() > 0:
                content = area.widget()
                found.append(f"{_name(area)} défile en largeur "
                             f"({content.width() if content else 0} px dans "
                             f"{area.viewport().width()} px)")
    for widget in top.findChildren(QWidget):
        if not _shown(widget) or isinstance(widget, QScrollBar):
            continue
        if _inside_item_view(widget, top) or isinstance(widget.parentWidget(), QTabBar):
            continue
        parent = widget.parentWidget()
        if parent is not None and isinstance(parent.parentWidget(), QAbstractScrollArea) and \
                parent is getattr(parent.parentWidget(), "viewport", lambda: None)():
            continue  # a scroll area's content: reported above by its scroll bar
        box = QRect(widget.mapTo(top, QPoint(0, 0)), widget.size())
        visible = _visible_rect(widget, top)
        if box.right() > visible.right() + SLACK:
            reported.add(getCppPointer(widget)[0])
            if parent is not None and getCppPointer(parent)[0] in reported:
                continue
            found.append(f"{_name(widget)} dépasse à droite de {box.right() - visible.right()} px")
            continue
        cut = _text_cut(widget)
        if cut:
            found.append(f"{_name(widget)} : {cut}")
    return found
