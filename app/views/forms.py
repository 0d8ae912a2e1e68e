"""Building blocks of every form dialog: a message next to each field, Enter validates, Esc
cancels, the work runs off the GUI thread, a business error is shown in French."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.views.errors import show_error
from app.views.tasks import TaskRunner
from kernel.errors import ValidationError


class FieldErrors:
    """A red message under each field that refused its value."""

    def __init__(self) -> None:
        self.labels: dict[str, QLabel] = {}
        self.widgets: dict[str, QWidget] = {}

    def add_row(self, form: QFormLayout, caption: str, field: str, widget: QWidget) -> QLabel:
        message = QLabel()
        message.setObjectName(f"error_{field}")
        message.setProperty("fieldError", True)
        message.setWordWrap(True)
        message.hide()
        holder = QWidget()
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(widget)
        column.addWidget(message)
        form.addRow(caption, holder)
        label = form.labelForField(holder)
        if isinstance(label, QLabel):
            label.setBuddy(widget)
        self.labels[field] = message
        self.widgets[field] = widget
        return message

    def clear(self) -> None:
        for field, label in self.labels.items():
            label.hide()
            label.clear()
            self._mark(self.widgets[field], False)

    def show(self, errors: dict[str, str]) -> bool:
        """Show the messages of known fields; returns whether all were placed."""
        self.clear()
        placed = True
        first: QWidget | None = None
        for field, text in errors.items():
            label = self.labels.get(field)
            if label is None:
                placed = False
                continue
            label.setText(text)
            label.show()
            self._mark(self.widgets[field], True)
            first = first or self.widgets[field]
        if first is not None:
            first.setFocus(Qt.FocusReason.OtherFocusReason)
        return placed

    @staticmethod
    def _mark(widget: QWidget, invalid: bool) -> None:
        widget.setProperty("invalid", invalid)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


class FormDialog(QDialog):
    """A dialog whose OK runs ``work()`` on the writer thread, then ``succeeded(result)``."""

    def __init__(
        self,
        title: str,
        runner: TaskRunner,
        parent: QWidget | None = None,
        ok_text: str = "&Enregistrer",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.runner = runner
        self.errors = FieldErrors()
        self.result_value: Any = None
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.general_error = QLabel()
        self.general_error.setObjectName("formError")
        self.general_error.setProperty("kind", "error")
        self.general_error.setWordWrap(True)
        self.general_error.hide()
        self.buttons = QDialogButtonBox()
        self.ok_button = self.buttons.addButton(ok_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton("Annuler", QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.accepted.connect(self.attempt)
        self.buttons.rejected.connect(self.reject)
        #: Where the cursor is put when the dialog opens (the first field by default).
        self.first_field: QWidget | None = None
        self._ordered = False
        self.layout_ = QVBoxLayout(self)
        self.layout_.addLayout(self.form)
        self.layout_.addWidget(self.general_error)
        self.layout_.addWidget(self.buttons)
        # Made default once in the dialog, it is the dialog's own: Enter presses it whichever
        # field has the cursor (not the first other button after that field, e.g. Parcourir…).
        self.ok_button.setDefault(True)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if not self._ordered:
            self._ordered = True
            fields = self.fields_in_tab_order()
            if fields:  # the buttons, made before the subclass's fields, come after them
                for button in reversed(self.buttons.buttons()):
                    QWidget.setTabOrder(fields[-1], button)
            chosen = self.focusWidget()  # a field the dialog put the cursor in itself
            if self.first_field is None and (chosen is None or self.buttons.isAncestorOf(chosen)):
                self.first_field = next(
                    (f for f in fields if f.isVisible() and f.isEnabled()), None)
        if self.first_field is not None:
            self.first_field.setFocus(Qt.FocusReason.OtherFocusReason)
            self.first_field = None

    def fields_in_tab_order(self) -> list[QWidget]:
        """The widgets Tab stops on, in order, but the OK and Cancel buttons."""
        fields: list[QWidget] = []
        widget = self.nextInFocusChain()
        while widget is not None and widget is not self:
            if (widget.focusPolicy() & Qt.FocusPolicy.TabFocus
                    and self.isAncestorOf(widget) and not self.buttons.isAncestorOf(widget)
                    and widget.focusProxy() is None):
                fields.append(widget)
            widget = widget.nextInFocusChain()
        return fields

    def work(self) -> Callable[[], Any]:
        """The function to run off the GUI thread with the values read from the form."""
        raise NotImplementedError

    def attempt(self) -> None:
        self.errors.clear()
        self.general_error.hide()
        try:
            job = self.work()
        except ValidationError as error:
            self.refused(error)
            return
        self.ok_button.setEnabled(False)
        self.runner.write(job, on_success=self._done, on_failure=self.refused, parent=self)

    def ready(self) -> None:
        """OK usable again, and again the button Enter presses."""
        self.ok_button.setEnabled(True)
        self.ok_button.setDefault(True)

    def _done(self, result: Any) -> None:
        self.ready()
        self.result_value = result
        self.succeeded(result)

    def succeeded(self, result: Any) -> None:
        self.accept()

    def refused(self, error: BaseException) -> None:
        self.ready()
        if isinstance(error, ValidationError) and self.errors.show(error.fields):
            self.fit_messages()
            return
        if isinstance(error, ValidationError):
            self.general_error.setText(error.message)
            self.general_error.show()
            self.fit_messages()
            return
        show_error(self, error)

    def fit_messages(self) -> None:
        """Grow the dialog so that a message shown under a field is read whole, never cut."""
        self.layout_.activate()
        width = self.width()
        needed = (
            self.layout_.totalHeightForWidth(width)
            if self.layout_.hasHeightForWidth()
            else self.layout_.totalSizeHint().height()
        )
        if needed > self.height():
            self.resize(width, needed)


class ValueCombo(QComboBox):
    """A combo box whose items carry Python values as they are (Qt would turn a ``StrEnum``
    into a plain string and a dataclass into an opaque wrapper)."""

    def __init__(self) -> None:
        super().__init__()
        self._values: list[Any] = []

    def add(self, text: str, value: Any) -> None:
        self._values.append(value)
        self.addItem(text)

    def clear(self) -> None:
        self._values = []
        super().clear()

    def value(self) -> Any:
        index = self.currentIndex()
        return self._values[index] if 0 <= index < len(self._values) else None

    def index_of(self, value: Any) -> int:
        for index, candidate in enumerate(self._values):
            if candidate is value or (candidate == value and type(candidate) is type(value)):
                return index
        return -1

    def set_value(self, value: Any) -> None:
        self.setCurrentIndex(max(self.index_of(value), 0))


def combo(items: list[tuple[str, Any]], current: Any = None) -> ValueCombo:
    box = ValueCombo()
    for text, value in items:
        box.add(text, value)
    if current is not None:
        box.set_value(current)
    return box


class DateField(QDateEdit):
    """A date entry where Tab goes to the next field, like everywhere else in a form (Qt's
    own moves from day to month to year; the arrow keys still do that)."""

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: A002, N802 (Qt override)
        return QWidget.focusNextPrevChild(self, next)


def date_edit(value: date) -> QDateEdit:
    edit = DateField(QDate(value.year, value.month, value.day))
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("dd/MM/yyyy")
    return edit


def read_date(edit: QDateEdit) -> date:
    value = edit.date()
    return date(value.year(), value.month(), value.day())
