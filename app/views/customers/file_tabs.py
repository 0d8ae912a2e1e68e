"""The tabs of a customer file (each implements ``FileTab``: ``show_file(CustomerFile)``)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.models.enums import Energy, MeterPayment, MeterStatus, ReadingSource
from app.services.balances import Balance
from app.services.customer_file import CustomerFile, MeterInfo, ReadingLine, meter_readings
from app.services.history import HistoryLine, file_history, restore_value
from app.services.payments import (
    CANCELLING_ROLES,
    IssuedReceipt,
    IssuedSlip,
    PaymentLine,
    account_payments,
    cancel_payment,
    reprint_receipt,
)
from app.services.quantities import number, quantity
from app.services.readings import CORRECTING_ROLES
from app.services.statements import Statement, StatementLine, account_statement
from app.views import messages
from app.views.documents import deliver_document
from app.views.errors import show_error
from app.views.format import day, moment
from app.views.table_model import Column, ListTableModel
from app.views.tables import table
from kernel.vocabulary import label

if TYPE_CHECKING:
    from app.views.customers.file_view import CustomerFileView
    from app.views.shell import Shell


class IdentityTab(QWidget):
    FIELDS = (
        ("Type", lambda i: label(i.kind)),
        ("Civilité", lambda i: i.civility.value if i.civility else ""),
        ("Nom", lambda i: i.last_name.upper()),
        ("Prénoms", lambda i: i.first_name),
        ("Raison sociale", lambda i: i.organisation_name),
        ("Téléphones", lambda i: i.phones),
        ("E-mail", lambda i: i.email),
        (
            "Pièce d'identité",
            lambda i: f"{label(i.id_document_type)} {i.id_document_number}".strip(),
        ),
        ("Date de naissance", lambda i: day(i.birth_date)),
        ("Observations", lambda i: i.notes),
    )

    def __init__(self, view: CustomerFileView) -> None:
        super().__init__()
        form = QFormLayout(self)
        form.setContentsMargins(12, 12, 12, 12)
        self.values: dict[str, QLabel] = {}
        for caption, _ in self.FIELDS:
            value = QLabel()
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setWordWrap(True)
            self.values[caption] = value
            form.addRow(f"{caption} :", value)

    def as_widget(self) -> QWidget:
        return self

    def show_file(self, file: CustomerFile) -> None:
        for caption, read in self.FIELDS:
            self.values[caption].setText(read(file.identity) or "—")


class AccountsTab(QWidget):
    """The accounts, the statement of the one selected, its payments with reprint."""

    def __init__(self, view: CustomerFileView) -> None:
        super().__init__()
        self.view = view
        self.shell = view.shell
        currency = self.shell.ctx.installation.currency
        self.accounts = QListWidget()
        self.accounts.setObjectName("accountList")
        self.accounts.setMaximumWidth(230)
        self.as_of = QLabel()
        self.as_of.setObjectName("statementAsOf")
        self.statement_model: ListTableModel[StatementLine] = ListTableModel(
            [
                Column("Date", lambda r: day(r.day)),
                Column("Libellé", lambda r: r.label),
                Column("Référence", lambda r: r.reference),
                Column(
                    "Débit",
                    lambda r: currency.format_minor(r.debit_minor) if r.debit_minor else "",
                    True,
                ),
                Column(
                    "Crédit",
                    lambda r: currency.format_minor(r.credit_minor) if r.credit_minor else "",
                    True,
                ),
                Column("Solde", lambda r: currency.format_minor(r.balance_minor), True),
            ]
        )
        self.statement = table(self.statement_model, "statement", stretch=1)
        self.payments_model: ListTableModel[PaymentLine] = ListTableModel(
            [
                Column("Reçu", lambda p: p.receipt_number),
                Column("Date", lambda p: p.paid_at_local),
                Column("Montant", lambda p: currency.format_minor(p.amount_minor), True),
                Column("Mode", lambda p: p.method),
                Column("Référence", lambda p: p.reference),
                Column("Encaissé par", lambda p: p.received_by),
                Column("Annulation", lambda p: p.cancellation),
            ]
        )
        self.payments = table(self.payments_model, "payments")
        self.reprint = QPushButton("Réimprimer le reçu (&duplicata)")
        self.reprint.setEnabled(False)
        self.cancel = QPushButton("&Annuler l'encaissement…")
        self.cancel.setObjectName("cancelPayment")
        self.cancel.setEnabled(False)
        self.payments.selectionModel().selectionChanged.connect(lambda *_: self._payment_selected())
        self.reprint.clicked.connect(self._reprint)
        self.cancel.clicked.connect(self._cancel)

        right = QVBoxLayout()
        right.addWidget(self.as_of)
        right.addWidget(self.statement, 3)
        right.addWidget(QLabel("Encaissements"))
        right.addWidget(self.payments, 2)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.reprint)
        right.addLayout(buttons)
        user = self.shell.ctx.user
        if user is None or user.role not in CANCELLING_ROLES:
            self.cancel.hide()
        layout = QHBoxLayout(self)
        layout.addWidget(self.accounts)
        layout.addLayout(right, 1)
        self.accounts.currentItemChanged.connect(lambda *_: self._load_selected())
        #: Only the latest statement load is shown.
        self._loads = 0

    def as_widget(self) -> QWidget:
        return self

    def show_file(self, file: CustomerFile) -> None:
        currency = self.shell.ctx.installation.currency
        selected = self.current_account()
        self.accounts.blockSignals(True)
        self.accounts.clear()
        for account in file.accounts:
            item = QListWidgetItem(
                f"{account.formatted_number}\n{label(account.status)} · "
                f"solde à jour {currency.format_minor(account.balance_minor)}"
            )
            if account.balance is not None:
                item.setToolTip(balance_detail(self.shell, account.balance))
            item.setData(Qt.ItemDataRole.UserRole, account.account_id)
            self.accounts.addItem(item)
            if account.account_id == selected:
                self.accounts.setCurrentItem(item)
        if self.accounts.currentRow() < 0 and self.accounts.count():
            self.accounts.setCurrentRow(0)
        self.accounts.blockSignals(False)
        self._load_selected()

    def current_account(self) -> uuid.UUID | None:
        item = self.accounts.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _load_selected(self) -> None:
        account_id = self.current_account()
        if account_id is None:
            return
        self._loads += 1
        ctx, load = self.shell.ctx, self._loads
        self.shell.runner.read(
            lambda: (account_statement(ctx, account_id), account_payments(ctx, account_id)),
            on_success=lambda result: self._show_statement(result) if load == self._loads else None,
            parent=self,
        )

    def _show_statement(self, result: tuple[Statement, list[PaymentLine]]) -> None:
        statement, payments = result
        currency = self.shell.ctx.installation.currency
        closing = statement.closing_minor
        owed = (
            f"reste dû : {currency.format_minor(closing)}"
            if closing >= 0
            else f"avance en faveur du client : {currency.format_minor(-closing)}"
        )
        self.as_of.setText(f"Solde à jour : {owed}")
        self.as_of.setToolTip(balance_detail(self.shell, statement.balance))
        self.statement_model.set_rows(statement.lines)
        if statement.lines:
            self.statement.scrollToBottom()
        kept = self._selected_payment()
        self.payments_model.set_rows(payments)
        if kept is not None:
            for row, line in enumerate(payments):
                if line.payment_id == kept.payment_id:
                    self.payments.selectRow(row)
                    break
        self._payment_selected()

    def _selected_payment(self) -> PaymentLine | None:
        index = self.payments.currentIndex()
        return self.payments_model.row(index.row()) if index.isValid() else None

    def _payment_selected(self) -> None:
        payment = self._selected_payment()
        self.reprint.setEnabled(payment is not None)
        self.cancel.setEnabled(payment is not None and not payment.cancellation)

    def _reprint(self) -> None:
        payment = self._selected_payment()
        if payment is None:
            return
        ctx = self.shell.ctx
        self.shell.runner.write(
            lambda: reprint_receipt(ctx, payment.payment_id),
            on_success=self._duplicate_ready,
            on_failure=lambda error: show_error(self, error),
            parent=self,
        )

    def _duplicate_ready(self, receipt: IssuedReceipt) -> None:
        deliver_document(
            self,
            self.shell.settings.data_dir,
            receipt.filename,
            receipt.pdf,
            title="Duplicata",
            what=f"Duplicata du reçu {receipt.receipt_number} enregistré.",
        )

    def _cancel(self) -> None:
        payment = self._selected_payment()
        if payment is None:
            return
        currency = self.shell.ctx.installation.currency
        reason = messages.ask_text(
            self,
            "Annuler un encaissement",
            f"Annuler l'encaissement {payment.receipt_number} du {payment.paid_at_local} "
            f"({currency.format_minor(payment.amount_minor)}, {payment.method.lower()}) ?\n\n"
            "Le reçu reste au dossier ; un bordereau d'annulation sera imprimé.\n"
            "Motif de l'annulation :",
        )
        if reason is None:
            return
        ctx = self.shell.ctx
        self.shell.runner.write(
            lambda: cancel_payment(ctx, payment.payment_id, reason),
            on_success=self._cancelled,
            on_failure=lambda error: show_error(self, error),
            parent=self,
        )

    def _cancelled(self, slip: IssuedSlip) -> None:
        deliver_document(
            self,
            self.shell.settings.data_dir,
            slip.filename,
            slip.pdf,
            title="Encaissement annulé",
            what=f"Encaissement {slip.receipt_number} annulé ; bordereau d'annulation enregistré.",
        )


def balance_detail(shell: Shell, balance: Balance) -> str:
    """The hover text of a solde à jour: central's figure and what was done here since."""
    currency, zone = shell.ctx.installation.currency, shell.ctx.installation
    when = (
        f"au {moment(zone.local(balance.as_of))}" if balance.as_of else "(jamais synchronisé)"
    )
    lines = [f"Solde du site central {when} : {currency.format_minor(balance.central_minor)}"]
    if balance.payments_minor:
        lines.append(f"− encaissements faits ici depuis : {currency.format_minor(balance.payments_minor)}")
    if balance.cancellations_minor:
        lines.append(
            f"+ encaissements annulés depuis : {currency.format_minor(balance.cancellations_minor)}"
        )
    if balance.works_minor:
        lines.append(f"+ factures de travaux depuis : {currency.format_minor(balance.works_minor)}")
    lines.append(f"= solde à jour : {currency.format_minor(balance.current_minor)}")
    return "\n".join(lines)


class PremisesTab(QWidget):
    """Premises → connections → meters and contracts; the readings of the selected meter."""

    def __init__(self, view: CustomerFileView) -> None:
        super().__init__()
        self.view = view
        self.shell = view.shell
        self.tree = QTreeWidget()
        self.tree.setObjectName("premisesTree")
        self.tree.setHeaderLabels(["Élément", "Détail", "Depuis", "Jusqu'au"])
        self.tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.readings_title = QLabel("Sélectionnez un compteur pour voir ses relèves.")
        self.readings_model: ListTableModel[ReadingLine] = ListTableModel(
            [
                Column("Date", lambda r: day(r.reading_date)),
                Column("Index", lambda r: number(r.index_value), True),
                Column(
                    "Consommation",
                    lambda r: "" if r.consumption is None else quantity(r.consumption, self.energy),
                    True,
                ),
                Column("Type", lambda r: label(r.kind)),
                Column("Source", lambda r: label(r.source)),
                Column("Saisi par", lambda r: r.recorded_by),
            ]
        )
        self.readings = table(self.readings_model, "readings")
        self.meter: MeterInfo | None = None
        self.energy: Energy | None = None
        self.correct = QPushButton("&Corriger l'index…")
        self.correct.setObjectName("correctReading")
        self.correct.setEnabled(False)
        self.correct.clicked.connect(self._correct)
        self.recharge = QPushButton("Vendre une rechar&ge sur ce compteur")
        self.recharge.setObjectName("rechargeMeter")
        self.recharge.setToolTip("Ouvre le module Prépayé avec ce compteur vérifié (aussi : "
                                 "Entrée ou double-clic sur un compteur prépayé)")
        self.recharge.setVisible(False)
        self.recharge.clicked.connect(self.sell_recharge)
        self.readings.selectionModel().selectionChanged.connect(lambda *_: self._reading_selected())
        bottom = QWidget()
        column = QVBoxLayout(bottom)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.readings_title)
        column.addWidget(self.readings)
        buttons = QHBoxLayout()
        buttons.addWidget(self.recharge)
        buttons.addStretch(1)
        buttons.addWidget(self.correct)
        column.addLayout(buttons)
        user = self.shell.ctx.user
        if user is None or user.role not in CORRECTING_ROLES:
            self.correct.hide()
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.tree)
        splitter.addWidget(bottom)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self.tree.currentItemChanged.connect(lambda item, _old: self._selected(item))
        self.tree.itemActivated.connect(lambda item, _column: self._activated(item))

    def as_widget(self) -> QWidget:
        return self

    def show_file(self, file: CustomerFile) -> None:
        kept = self.meter.meter_id if self.meter is not None else None
        self.tree.clear()
        first_meter: QTreeWidgetItem | None = None
        chosen: QTreeWidgetItem | None = None
        for premise in file.premises:
            top = QTreeWidgetItem(["Propriété", premise.address])
            self.tree.addTopLevelItem(top)
            for connection in premise.connections:
                branch = QTreeWidgetItem(
                    [
                        f"Branchement {label(connection.energy).lower()}",
                        f"{connection.reference} · {label(connection.status)}",
                    ]
                )
                top.addChild(branch)
                for meter in connection.meters:
                    last = meter.last_reading
                    detail = f"{meter.serial} · {label(meter.payment)} · {label(meter.status)}"
                    if meter.sts_drn:
                        detail += f" · n° STS {meter.sts_drn}"
                    if last:
                        detail += (
                            f" · dernier index relevé {quantity(last.index_value, meter.energy)}"
                            f" le {day(last.reading_date)}"
                        )
                    item = QTreeWidgetItem(
                        ["Compteur", detail, day(meter.installed_on), day(meter.removed_on)]
                    )
                    item.setData(0, Qt.ItemDataRole.UserRole, meter)
                    branch.addChild(item)
                    first_meter = first_meter or item
                    if meter.meter_id == kept:
                        chosen = item
                for contract in connection.contracts:
                    holder = (
                        "ce client"
                        if contract.is_this_customer
                        else f"compte {contract.account_number}"
                    )
                    branch.addChild(
                        QTreeWidgetItem(
                            [
                                "Abonnement",
                                f"{contract.number} · {contract.tariff_name} · {holder} · {label(contract.status)}",
                                day(contract.start_date),
                                day(contract.end_date),
                            ]
                        )
                    )
        self.tree.expandAll()
        shown = chosen or first_meter
        if shown is not None:
            self.tree.setCurrentItem(shown)

    @staticmethod
    def _sellable(meter: MeterInfo | None) -> bool:
        return (meter is not None and meter.payment is MeterPayment.PREPAID
                and meter.status is MeterStatus.INSTALLED and bool(meter.sts_drn))

    def _activated(self, item: QTreeWidgetItem | None) -> None:
        meter = item.data(0, Qt.ItemDataRole.UserRole) if item else None
        if isinstance(meter, MeterInfo) and self._sellable(meter):
            self.meter = meter
            self.sell_recharge()

    def sell_recharge(self) -> None:
        """The Prépayé page, this meter typed and checked, the amount next."""
        from app.views.main_window import MainWindow
        from app.views.prepaid.page import PrepaidPage

        meter = self.meter
        window = self.window()
        if not self._sellable(meter) or not isinstance(window, MainWindow):
            return
        assert meter is not None
        window.show_page(PrepaidPage).sale_for(meter.sts_drn or meter.serial)

    def _selected(self, item: QTreeWidgetItem | None) -> None:
        meter = item.data(0, Qt.ItemDataRole.UserRole) if item else None
        if not isinstance(meter, MeterInfo):
            return
        self.meter = meter
        self.recharge.setVisible(self._sellable(meter))
        self.energy = meter.energy
        self.readings_title.setText(f"Relèves du compteur {meter.serial}")
        ctx = self.shell.ctx
        self.shell.runner.read(
            lambda: meter_readings(ctx, meter.meter_id),
            on_success=self.readings_model.set_rows,
            parent=self,
        )


    def _reading_selected(self) -> None:
        index = self.readings.currentIndex()
        line = self.readings_model.row(index.row()) if index.isValid() else None
        self.correct.setEnabled(line is not None and line.source is not ReadingSource.ESTIMATE)

    def _correct(self) -> None:
        from app.views.customers.reading_dialogs import ReadingCorrectionDialog

        index = self.readings.currentIndex()
        if self.meter is None or not index.isValid():
            return
        dialog = ReadingCorrectionDialog(self.shell, self.meter, self.readings_model.row(index.row()), self)
        dialog.open()


def _change(line: HistoryLine) -> str:
    """"Statut : En cours → Résilié"; a creation reads as what was made."""
    if not line.field_label:
        return line.new
    if line.old == "—":
        return f"{line.field_label} : {line.new}"
    return f"{line.field_label} : {line.old} → {line.new}"


class HistoryTab(QWidget):
    def __init__(self, view: CustomerFileView) -> None:
        super().__init__()
        self.view = view
        self.shell = view.shell
        self.model: ListTableModel[HistoryLine] = ListTableModel(
            [
                Column("Date", lambda h: moment(h.at)),
                Column("Par", lambda h: h.username),
                Column("Élément", lambda h: h.what),
                Column("Opération", lambda h: h.operation),
                Column("Changement", _change),
                Column("Motif", lambda h: h.reason),
            ]
        )
        self.table = table(self.model, "history", cap=270)
        self.empty = QLabel(
            "Aucune modification enregistrée pour ce dossier depuis sa reprise dans Guichet."
        )
        self.empty.setObjectName("hint")
        self.empty.hide()
        self.restore = QPushButton("&Restaurer l'ancienne valeur")
        self.restore.setObjectName("restoreValue")
        self.restore.setEnabled(False)
        self.restore.setToolTip(
            "Possible pour les champs gérés par l'agence ; la restauration est elle-même tracée."
        )
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection())
        self.restore.clicked.connect(self._restore)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.restore, 0, Qt.AlignmentFlag.AlignRight)

    def as_widget(self) -> QWidget:
        return self

    def show_file(self, file: CustomerFile) -> None:
        ctx, customer_id = self.shell.ctx, file.identity.customer_id
        self.shell.runner.read(
            lambda: file_history(ctx, customer_id), on_success=self._show, parent=self
        )

    def _show(self, lines: list[HistoryLine]) -> None:
        """The same entry stays selected (and in view) across a reload."""
        index = self.table.currentIndex()
        kept = self.model.row(index.row()) if index.isValid() else None
        self.model.set_rows(lines)
        if kept is None:
            return
        for row, line in enumerate(lines):
            if (line.entry_id, line.field) == (kept.entry_id, kept.field):
                self.table.selectRow(row)
                self.table.scrollTo(self.model.index(row, 0))
                break

    def _selection(self) -> None:
        index = self.table.currentIndex()
        self.restore.setEnabled(index.isValid() and self.model.row(index.row()).restorable)

    def _restore(self) -> None:
        index = self.table.currentIndex()
        if not index.isValid():
            return
        line = self.model.row(index.row())
        if not messages.confirm(
            self,
            "Restaurer une valeur",
            f"Remettre « {line.field_label} » à « {line.old} » (au lieu de « {line.new} ») ?",
        ):
            return
        ctx = self.shell.ctx
        self.shell.runner.write(
            lambda: restore_value(ctx, line.entry_id, line.field),
            on_failure=lambda error: show_error(self, error),
            parent=self,
        )
