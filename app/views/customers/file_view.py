"""One customer file: a header with what the agent needs at a glance, the counter actions, and
tabs (identity, accounts, premises, history…: the ``FileTab`` entries of the registry, those the
signed-in role may see). The file reloads itself, keeping each tab's selection, whenever a write
touches what it shows."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.models.changes import Changes
from app.services.customer_file import CustomerFile, load_customer_file
from app.views.customers.file_tabs import balance_detail
from app.views.errors import show_error
from app.views.pages import FileTab, FileTabEntry
from app.views.shell import Shell

T = TypeVar("T", bound=FileTab)


class CustomerFileView(QWidget):
    """Signals: ``title_changed(str)``; ``loaded(CustomerFile)`` after each (re)load."""

    title_changed = Signal(str)
    loaded = Signal(object)

    def __init__(self, shell: Shell, customer_id: uuid.UUID) -> None:
        super().__init__()
        self.shell = shell
        self.customer_id = customer_id
        self.file: CustomerFile | None = None
        self._loads = 0
        self.setObjectName("customerFile")

        self.name = QLabel("Chargement…")
        self.name.setObjectName("fileName")
        self.summary = QLabel()
        self.summary.setObjectName("fileSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.action_buttons: dict[str, QPushButton] = {}
        buttons = QHBoxLayout()
        for key, text, keys, slot in (
            ("edit", "&Modifier", "Ctrl+E", self.edit_identity),
            ("pay", "&Encaisser", "Ctrl+P", self.record_payment),
            ("reading", "Saisir une re&lève", "Ctrl+L", self.record_reading),
            ("move", "Emménagement / &déménagement", "Ctrl+M", self.change_occupant),
            ("meter", "Changer le &compteur", "", self.replace_meter),
        ):
            button = QPushButton(text)
            button.setObjectName(f"action_{key}")
            if keys:
                button.setToolTip(f"{button.text().replace('&', '')} ({keys})")
                shortcut = QShortcut(QKeySequence(keys), self)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(slot)
            button.clicked.connect(slot)
            button.setEnabled(False)
            self.action_buttons[key] = button
            buttons.addWidget(button)
        buttons.addStretch(1)
        self._tips = {k: b.toolTip() for k, b in self.action_buttons.items()}

        letter = QShortcut(QKeySequence("Ctrl+Shift+C"), self)
        letter.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        letter.activated.connect(self.new_letter)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("fileTabs")
        role = shell.ctx.user.role if shell.ctx.user else None
        self.entries: list[FileTabEntry[Any]] = shell.modules().file_tabs_for(role)
        #: The tabs built so far, by position.
        self.built: dict[int, FileTab] = {}
        self._holders: list[QWidget] = []
        for index, entry in enumerate(self.entries):
            holder = QWidget()
            QVBoxLayout(holder).setContentsMargins(0, 0, 0, 0)
            self._holders.append(holder)
            self.tabs.addTab(holder, entry.title)
            if entry.keys:
                shortcut = QShortcut(QKeySequence(entry.keys), self)
                shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                shortcut.activated.connect(lambda i=index: self.tabs.setCurrentIndex(i))
        self.tabs.currentChanged.connect(self._tab_changed)
        if self.entries:
            self._build(0)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(self.name)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)
        self.no_connection = QLabel()
        self.no_connection.setObjectName("noConnection")
        self.no_connection.setWordWrap(True)
        self.no_connection.hide()
        layout.addWidget(self.no_connection)
        layout.addWidget(self.tabs, 1)
        shell.runner.changed.connect(self._changed)
        self.refresh()

    def _tab_changed(self, index: int) -> None:
        # Also emitted while the widget is being torn down: build only for an agent's click.
        if 0 <= index < len(self.entries) and self.isVisible():
            self._build(index)

    def _build(self, index: int) -> FileTab:
        """The tab's content, built the first time it is needed (opening a file stays quick)."""
        tab = self.built.get(index)
        if tab is None:
            tab = self.entries[index].build(self)
            self.built[index] = tab
            layout = self._holders[index].layout()
            assert layout is not None
            layout.addWidget(tab.as_widget())
            if self.file is not None:
                tab.show_file(self.file)
        return tab

    def tab(self, kind: type[T]) -> T:
        """The tab of that class, built if it was not yet (KeyError: not shown to this person)."""
        for index in range(len(self.entries)):
            built = self.built.get(index)
            if isinstance(built, kind):
                return built
        for index, entry in enumerate(self.entries):
            if isinstance(entry.build, type) and issubclass(entry.build, kind):
                tab = self._build(index)
                if isinstance(tab, kind):
                    return tab
        raise KeyError(kind.__name__)

    # --- loading -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Loads the file again; only the latest load is shown (loads run in parallel, and one
        started before a write may end after the one the write's announcement started)."""
        self._loads += 1
        ctx, customer_id, load = self.shell.ctx, self.customer_id, self._loads
        self.shell.runner.read(
            lambda: load_customer_file(ctx, customer_id),
            on_success=lambda file: self._show(file) if load == self._loads else None,
            on_failure=lambda error: show_error(self, error),
            parent=self,
        )

    def concerned(self, changes: Changes) -> bool:
        """Whether a write changed something this file shows: the customer, one of its
        accounts (a payment, an invoice, a contract hang from one), premises, connections,
        meters (a reading hangs from one) or contracts."""
        if changes.touches("customer", [self.customer_id]):
            return True
        file = self.file
        if file is None:
            return changes.everything
        connections = [c for p in file.premises for c in p.connections]
        return (
            changes.touches("account", [a.account_id for a in file.accounts])
            or changes.touches("premise", [p.premise_id for p in file.premises])
            or changes.touches("connection", [c.connection_id for c in connections])
            or changes.touches("meter", [m.meter_id for c in connections for m in c.meters])
            or changes.touches("contract", [k.contract_id for c in connections for k in c.contracts])
        )

    def _changed(self, changes: Changes) -> None:
        if self.concerned(changes):
            self.refresh()

    def _show(self, file: CustomerFile) -> None:
        self.file = file
        identity = file.identity
        self.name.setText(identity.display_name)
        currency = self.shell.ctx.installation.currency
        parts = []
        details = []
        for account in file.accounts:
            parts.append(
                f"Compte {account.formatted_number} : solde à jour "
                f"{currency.format_minor(account.balance_minor)}"
            )
            if account.balance is not None:
                details.append(
                    f"Compte {account.formatted_number}\n{balance_detail(self.shell, account.balance)}"
                )
        self.summary.setToolTip("\n\n".join(details))
        if identity.phones:
            parts.append(f"Tél. {identity.phones}")
        if file.accounts and file.accounts[0].billing_address:
            parts.append(file.accounts[0].billing_address)
        self.summary.setText(" · ".join(parts))
        meters = [c.current_meter for p in file.premises for c in p.connections if c.current_meter]
        self.action_buttons["edit"].setEnabled(True)
        self.action_buttons["pay"].setEnabled(bool(file.accounts))
        self.action_buttons["reading"].setEnabled(bool(meters))
        self.action_buttons["move"].setEnabled(any(p.connections for p in file.premises))
        no_connection = not any(p.connections for p in file.premises)
        why = (
            "Ce client n'a encore aucun branchement : relève, emménagement et changement de "
            "compteur se font sur un branchement posé. Pour en obtenir un, établissez un devis "
            "de branchement (module Devis et travaux) ; le branchement apparaîtra ici une fois "
            "les travaux réalisés et le compteur posé."
        )
        self.no_connection.setText(why if no_connection else "")
        self.no_connection.setVisible(no_connection)
        for key in ("reading", "move", "meter"):
            button = self.action_buttons[key]
            button.setToolTip(why if no_connection else self._tips[key])
        self.action_buttons["meter"].setEnabled(bool(meters))
        for tab in self.built.values():
            tab.show_file(file)
        self.title_changed.emit(identity.display_name)
        self.loaded.emit(file)

    # --- counter actions -----------------------------------------------------------------
    def edit_identity(self) -> None:
        if self.file is None:
            return
        from app.views.customers.identity_dialogs import EditIdentityDialog

        dialog = EditIdentityDialog(self.shell, self.file.identity, self)
        dialog.stale.connect(self.refresh)
        dialog.open()

    def _open(self, dialog_class: type, **kwargs: object) -> None:
        if self.file is None:
            return
        dialog = dialog_class(self.shell, self.file, self, **kwargs)
        dialog.open()

    def record_payment(self) -> None:
        from app.views.customers.payment_dialog import PaymentDialog

        self._open(PaymentDialog)

    def record_reading(self) -> None:
        from app.views.customers.reading_dialogs import ReadingDialog

        self._open(ReadingDialog)

    def change_occupant(self) -> None:
        from app.views.customers.occupant_dialog import OccupantDialog

        self._open(OccupantDialog)

    def replace_meter(self) -> None:
        from app.views.customers.reading_dialogs import MeterChangeDialog

        self._open(MeterChangeDialog)

    def new_letter(self) -> None:
        from app.views.letters.letter_dialog import LetterDialog

        self._open(LetterDialog)
