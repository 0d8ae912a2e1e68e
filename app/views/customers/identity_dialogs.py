"""The identity form, used to create a customer (with account and premise) and to edit one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from app.models.enums import Civility, CustomerKind, IdentityDocumentType, PaymentMode
from app.services.customer_edit import (
    AddressInput,
    CreatedCustomer,
    IdentityInput,
    NewCustomerInput,
    communes,
    create_customer,
    find_similar,
    streets,
    update_identity,
)
from app.services.customer_file import Identity
from app.views import messages
from app.views.forms import DateField, FieldErrors, FormDialog, ValueCombo, combo
from app.views.shell import Shell
from kernel.errors import ConcurrentEditError
from kernel.vocabulary import label

NO_DATE = QDate(1900, 1, 1)


class IdentityFields:
    """The identity widgets, laid on a form, reading and writing an ``IdentityInput``."""

    def __init__(self, form: QFormLayout, errors: FieldErrors) -> None:
        self.kind = combo([(label(k), k) for k in CustomerKind])
        self.civility = combo(
            [("", None)] + [(label(c), c) for c in (Civility.MR, Civility.MRS, Civility.MISS)]
        )
        self.last_name = QLineEdit()
        self.first_name = QLineEdit()
        self.organisation_name = QLineEdit()
        self.mobile = QLineEdit()
        self.mobile.setPlaceholderText("07 01 02 03 04")
        self.phone = QLineEdit()
        self.email = QLineEdit()
        self.document_type = combo([("", None)] + [(label(t), t) for t in IdentityDocumentType])
        self.document_number = QLineEdit()
        self.birth_date = DateField()
        self.birth_date.setDisplayFormat("dd/MM/yyyy")
        self.birth_date.setMinimumDate(NO_DATE)
        self.birth_date.setSpecialValueText("non renseignée")
        self.birth_date.setDate(NO_DATE)
        self.notes = QPlainTextEdit()
        self.notes.setFixedHeight(54)
        self.notes.setTabChangesFocus(True)
        for caption, field, widget in (
            ("&Type", "kind", self.kind),
            ("&Civilité", "civility", self.civility),
            ("&Nom", "last_name", self.last_name),
            ("&Prénoms", "first_name", self.first_name),
            ("&Raison sociale", "organisation_name", self.organisation_name),
            ("Téléphone &mobile", "mobile", self.mobile),
            ("Téléphone &fixe", "phone", self.phone),
            ("&E-mail", "email", self.email),
            ("Pièce d'&identité", "id_document_type", self.document_type),
            ("N° de pièce", "id_document_number", self.document_number),
            ("Date de &naissance", "birth_date", self.birth_date),
            ("Observations", "notes", self.notes),
        ):
            errors.add_row(form, caption, field, widget)
        self.form = form
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self._kind_changed()

    def _kind_changed(self) -> None:
        person = self.kind.value() is CustomerKind.PERSON
        for widget in (self.civility, self.last_name, self.first_name, self.birth_date):
            self._row_visible(widget, person)
        self._row_visible(self.organisation_name, not person)

    def _row_visible(self, widget: QWidget, visible: bool) -> None:
        holder = widget.parentWidget()
        if holder is not None:
            self.form.setRowVisible(holder, visible)

    def load(self, identity: IdentityInput) -> None:
        self.kind.set_value(identity.kind)
        self.civility.set_value(identity.civility)
        self.last_name.setText(identity.last_name)
        self.first_name.setText(identity.first_name)
        self.organisation_name.setText(identity.organisation_name)
        self.mobile.setText(identity.mobile)
        self.phone.setText(identity.phone)
        self.email.setText(identity.email)
        self.document_type.set_value(identity.id_document_type)
        self.document_number.setText(identity.id_document_number)
        born = identity.birth_date
        self.birth_date.setDate(QDate(born.year, born.month, born.day) if born else NO_DATE)
        self.notes.setPlainText(identity.notes)

    def read(self) -> IdentityInput:
        born = self.birth_date.date()
        return IdentityInput(
            kind=self.kind.value(),
            civility=self.civility.value(),
            last_name=self.last_name.text(),
            first_name=self.first_name.text(),
            organisation_name=self.organisation_name.text(),
            phone=self.phone.text(),
            mobile=self.mobile.text(),
            email=self.email.text(),
            id_document_type=self.document_type.value(),
            id_document_number=self.document_number.text(),
            birth_date=None if born == NO_DATE else date(born.year(), born.month(), born.day()),
            notes=self.notes.toPlainText(),
        )


class EditIdentityDialog(FormDialog):
    """Signals: ``saved(int)`` with the new version; ``stale()`` when the agent chose to reload
    a file saved meanwhile by another desk."""

    saved = Signal(int)
    stale = Signal()

    def __init__(self, shell: Shell, identity: Identity, parent: QWidget | None = None) -> None:
        super().__init__("Modifier l'identité", shell.runner, parent)
        self.shell = shell
        self.identity = identity
        self.fields = IdentityFields(self.form, self.errors)
        self.fields.load(IdentityInput.from_identity(identity))
        self.fields.last_name.setFocus()

    def work(self) -> Callable[[], Any]:
        ctx, customer_id, version, data = (
            self.shell.ctx,
            self.identity.customer_id,
            self.identity.version,
            self.fields.read(),
        )
        return lambda: update_identity(ctx, customer_id, version, data)

    def succeeded(self, result: Any) -> None:
        self.saved.emit(result)
        self.accept()

    def refused(self, error: BaseException) -> None:
        if not isinstance(error, ConcurrentEditError):
            super().refused(error)
            return
        self.ready()
        if messages.confirm(
            self,
            "Fiche modifiée entre-temps",
            f"{error.message}\n\nRecharger la fiche maintenant ? "
            "(Non : la fenêtre reste ouverte avec votre saisie.)",
            default_yes=True,
        ):
            self.stale.emit()
            self.reject()


class NewCustomerDialog(FormDialog):
    """Identity, address and payment mode in one dialog; warns of a possible duplicate first.
    Signals: ``created(uuid)`` with the new customer's id."""

    created = Signal(object)

    def __init__(self, shell: Shell, parent: QWidget | None = None) -> None:
        super().__init__("Nouveau client", shell.runner, parent, ok_text="&Créer le client")
        self.shell = shell
        self.confirmed_duplicates = False
        identity = QGroupBox("Identité")
        identity_form = QFormLayout(identity)
        self.fields = IdentityFields(identity_form, self.errors)
        address = QGroupBox("Adresse de la propriété")
        address_form = QFormLayout(address)
        self.commune = combo([("", None)] + [(c.label, c.value) for c in communes(shell.ctx)])
        self.street = ValueCombo()
        self.street.setEditable(False)
        self.house_number = QLineEdit()
        self.house_number.setMaximumWidth(120)
        self.complement = QLineEdit()
        self.complement.setPlaceholderText("villa, appartement, lot, repère…")
        self.payment_mode = combo([(label(m), m) for m in PaymentMode], PaymentMode.CASH)
        for caption, field, widget in (
            ("C&ommune", "commune_id", self.commune),
            ("R&ue", "street_id", self.street),
            ("N°", "house_number", self.house_number),
            ("Complément", "complement", self.complement),
            ("Mode de paiement", "payment_mode", self.payment_mode),
        ):
            self.errors.add_row(address_form, caption, field, widget)
        self.form.addRow(identity)
        self.form.addRow(address)
        self.commune.currentIndexChanged.connect(self._commune_changed)
        self.setMinimumWidth(560)
        self.fields.civility.setFocus()

    def _commune_changed(self) -> None:
        self.street.clear()
        commune_id = self.commune.value()
        if commune_id is None:
            return
        self.street.add("(sans rue : préciser le complément)", None)
        for choice in streets(self.shell.ctx, commune_id):
            self.street.add(choice.label, choice.value)
        self.street.setCurrentIndex(1 if self.street.count() > 1 else 0)

    def _input(self) -> NewCustomerInput:
        return NewCustomerInput(
            identity=self.fields.read(),
            address=AddressInput(
                commune_id=self.commune.value(),
                street_id=self.street.value(),
                house_number=self.house_number.text(),
                complement=self.complement.text(),
            ),
            payment_mode=self.payment_mode.value(),
        )

    def work(self) -> Callable[[], Any]:
        ctx, data, check = self.shell.ctx, self._input(), not self.confirmed_duplicates

        def create() -> CreatedCustomer | list[Any]:
            if check:
                similar = find_similar(ctx, data)
                if similar:
                    return similar
            return create_customer(ctx, data)

        return create

    def succeeded(self, result: Any) -> None:
        if isinstance(result, list):
            names = "\n".join(f"• {s.name} — {s.address} ({s.reason})" for s in result)
            if messages.confirm(
                self,
                "Client peut-être déjà connu",
                f"Ce client ressemble à :\n{names}\n\nCréer quand même un nouveau client ?",
            ):
                self.confirmed_duplicates = True
                self.attempt()
            return
        assert isinstance(result, CreatedCustomer)
        self.created.emit(result.customer_id)
        self.accept()
