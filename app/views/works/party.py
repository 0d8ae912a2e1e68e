"""Who a quote is for: a customer's account number, checked as it is typed (the holder's name
answers it), or a prospect's name, phone and address."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QStackedWidget,
    QWidget,
)

from app.models.enums import Civility
from app.services.account_check import check_account
from app.services.customer_edit import streets
from app.services.works.quotes import Prospect, QuoteView
from app.views.errors import show_error
from app.views.forms import ValueCombo, combo
from app.views.works import run
from kernel.errors import NotFoundError, ValidationError

if TYPE_CHECKING:
    from app.views.shell import Shell


class PartyForm(QWidget):
    """The quote editor's first row: « Client » and its account number, or « Prospect »."""

    def __init__(self, shell: Shell) -> None:
        super().__init__()
        self.shell = shell
        #: The street of an opened prospect's quote, chosen once its commune's streets are read.
        self._wanted_street: uuid.UUID | None = None

        self.for_account = QRadioButton("&Client")
        self.for_prospect = QRadioButton("Pros&pect")
        self.for_account.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.for_account)
        group.addButton(self.for_prospect)
        self.party_stack = QStackedWidget()
        account_box = QWidget()
        account_row = QHBoxLayout(account_box)
        account_row.setContentsMargins(0, 0, 0, 0)
        self.account = QLineEdit()
        self.account.setObjectName("quoteAccount")
        self.account.setPlaceholderText("ex. 101 26 0000042 17")
        self.account.setMinimumWidth(190)
        self.account.setMaximumWidth(210)
        self.holder = QLabel()
        self.holder.setObjectName("accountHolder")
        account_label = QLabel("N° de c&ompte")
        account_label.setBuddy(self.account)
        account_row.addWidget(account_label)
        account_row.addWidget(self.account)
        account_row.addWidget(self.holder, 1)
        self.party_stack.addWidget(account_box)
        prospect_box = QWidget()
        grid = QGridLayout(prospect_box)
        grid.setContentsMargins(0, 0, 0, 0)
        self.civility = combo([("M.", Civility.MR), ("Mme", Civility.MRS),
                               ("Mlle", Civility.MISS), ("Sté", Civility.COMPANY)])
        self.civility.setObjectName("prospectCivility")
        self.last_name = QLineEdit()
        self.last_name.setObjectName("prospectLastName")
        self.last_name.setPlaceholderText("Nom ou raison sociale")
        self.first_name = QLineEdit()
        self.first_name.setObjectName("prospectFirstName")
        self.first_name.setPlaceholderText("Prénom")
        self.phone = QLineEdit()
        self.phone.setObjectName("prospectPhone")
        self.phone.setPlaceholderText("Téléphone")
        self.commune = ValueCombo()
        self.commune.setObjectName("prospectCommune")
        self.street = ValueCombo()
        self.street.setObjectName("prospectStreet")
        self.house = QLineEdit()
        self.house.setPlaceholderText("N°")
        self.house.setMaximumWidth(60)
        self.complement = QLineEdit()
        self.complement.setPlaceholderText("Complément (lot, îlot, repère)")
        for column, widget in enumerate((self.civility, self.last_name, self.first_name,
                                         self.phone)):
            grid.addWidget(widget, 0, column)
        for column, widget in enumerate((self.commune, self.street, self.house,
                                         self.complement)):
            grid.addWidget(widget, 1, column)
        self.party_stack.addWidget(prospect_box)
        self.for_prospect.toggled.connect(
            lambda on: self.party_stack.setCurrentIndex(1 if on else 0))
        self.commune.currentIndexChanged.connect(self._load_streets)

        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.for_account)
        row.addWidget(self.for_prospect)
        row.addWidget(self.party_stack, 1)

        self._check_timer = QTimer(self)
        self._check_timer.setSingleShot(True)
        self._check_timer.setInterval(250)
        self._check_timer.timeout.connect(self.check_account)
        self.account.textEdited.connect(lambda _t: self._check_timer.start())

    # --- choices ---------------------------------------------------------------------------
    def set_communes(self, places: list[Any]) -> None:
        self.commune.clear()
        self.commune.add("(commune)", None)
        for choice in places:
            self.commune.add(choice.label, choice.value)

    def _load_streets(self) -> None:
        commune_id = self.commune.value()
        self.street.clear()
        self.street.add("(sans rue)", None)
        if commune_id is None:
            return
        ctx = self.shell.ctx

        def fill(found: list[Any]) -> None:
            if self.commune.value() != commune_id:
                return
            for choice in found:
                self.street.add(choice.label, choice.value)
            if self._wanted_street is not None:
                self.street.set_value(self._wanted_street)
                self._wanted_street = None

        run.read(self.shell, lambda: streets(ctx, commune_id), fill, self)

    # --- showing ---------------------------------------------------------------------------
    def clear(self, account_number: str) -> None:
        """A new quote: for this account (may be empty), no prospect."""
        self.for_account.setChecked(True)
        self.account.setText(account_number)
        self.holder.clear()
        for field in (self.last_name, self.first_name, self.phone, self.house, self.complement):
            field.clear()

    def show_quote(self, view: QuoteView) -> None:
        if view.prospect is None:
            self.for_account.setChecked(True)
            self.account.setText(view.account_number)
            self.holder.setText(view.party)
            return
        prospect = view.prospect
        self.for_prospect.setChecked(True)
        self.civility.set_value(prospect.civility)
        self.last_name.setText(prospect.last_name)
        self.first_name.setText(prospect.first_name)
        self.phone.setText(prospect.phone)
        self._wanted_street = prospect.street_id
        self.commune.set_value(prospect.commune_id)
        self.house.setText(prospect.house_number)
        self.complement.setText(prospect.complement)

    def set_editable(self, editable: bool) -> None:
        for widget in (self.for_account, self.for_prospect, self.account, self.last_name,
                       self.first_name, self.phone, self.commune, self.street, self.house,
                       self.complement, self.civility):
            widget.setEnabled(editable)

    # --- reading ---------------------------------------------------------------------------
    def prospect(self) -> Prospect | None:
        if not self.for_prospect.isChecked():
            return None
        return Prospect(self.civility.value(), self.last_name.text(), self.first_name.text(),
                        self.phone.text(), self.commune.value(), self.street.value(),
                        self.house.text(), self.complement.text())

    def check_account(self) -> None:
        """The holder's civility and name (or why the number is refused) beside the number."""
        typed = self.account.text()
        if len([c for c in typed if c.isdigit()]) < 14:
            self.holder.setText("")
            return
        ctx = self.shell.ctx

        def answered(found: Any) -> None:
            if self.account.text() == typed:
                self.holder.setText(f"{found.civility} {found.name} — {found.status.lower()}")

        def refused(error: BaseException) -> None:
            if self.account.text() != typed:
                return
            if isinstance(error, ValidationError | NotFoundError):
                self.holder.setText(error.message)
            else:
                show_error(self, error)

        run.read(self.shell, lambda: check_account(ctx, typed), answered, self, refused)
