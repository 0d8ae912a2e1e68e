"""Finding a customer inside a form: type a name, an account, meter or phone number (the customer
search service, off the GUI thread, an older answer dropped), go down to the list with ↓ or
take the first hit with Entrée; ``picked(customer_id, name)`` is emitted."""

from __future__ import annotations

import uuid

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from app.services.search import SearchPage, search_customers
from app.views.tasks import TaskRunner
from kernel.context import ServiceContext

SHOWN = 6


class CustomerPicker(QWidget):
    picked = Signal(object, str)

    def __init__(self, ctx: ServiceContext, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("customerPicker")
        self.ctx, self.runner = ctx, runner
        self.query = QLineEdit()
        self.query.setObjectName("customerPickerQuery")
        self.query.setPlaceholderText("Nom, n° de compte, de compteur ou téléphone du client")
        self.hits = QListWidget()
        self.hits.setObjectName("customerPickerHits")
        self.hits.setFixedHeight(96)
        self.hits.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.hits.hide()
        self.chosen = QLabel()
        self.chosen.setObjectName("customerPickerChosen")
        self.chosen.hide()
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.query)
        column.addWidget(self.hits)
        column.addWidget(self.chosen)
        self.setFocusProxy(self.query)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a label's mnemonic reaches it
        self._generation = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self._search)
        self.query.textEdited.connect(lambda _text: self._timer.start())
        self.hits.itemActivated.connect(self._pick)
        self.query.installEventFilter(self)
        self.hits.installEventFilter(self)

    def _search(self) -> None:
        self._generation += 1
        generation, ctx, text = self._generation, self.ctx, self.query.text()
        if len(text.strip()) < 2:
            self._show(generation, SearchPage([], 0))
            return
        self.runner.read(lambda: search_customers(ctx, text, 0, SHOWN),
                         on_success=lambda page: self._show(generation, page))

    def _show(self, generation: int, page: SearchPage) -> None:
        if generation != self._generation:
            return  # an answer to an older query
        self.hits.clear()
        for hit in page.hits:
            text = " — ".join(p for p in (hit.name, hit.accounts, hit.address) if p)
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, (hit.customer_id, hit.name))
            self.hits.addItem(item)
        if page.hits:
            self.hits.setCurrentRow(0)
        elif self.query.text().strip():
            self.hits.addItem(f"Aucun client trouvé ({page.summary})")
        self.hits.setVisible(self.hits.count() > 0)

    def _pick(self, item: QListWidgetItem | None) -> None:
        value = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if not value:
            return
        customer_id, name = value
        self.hits.hide()
        self.chosen.setText(f"Client choisi : {name}")
        self.chosen.show()
        self.picked.emit(uuid.UUID(str(customer_id)), name)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if watched is self.query and key == Qt.Key.Key_Down and self.hits.isVisible():
                self.hits.setFocus()
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.hits.isVisible() \
                    and self.hits.currentItem() is not None \
                    and self.hits.currentItem().data(Qt.ItemDataRole.UserRole):
                self._pick(self.hits.currentItem())
                return True  # Entrée picks the customer: the form is not saved yet
            if watched is self.hits and key == Qt.Key.Key_Escape:
                self.query.setFocus()
                return True
        return super().eventFilter(watched, event)
