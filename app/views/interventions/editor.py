"""The request editor: kind, priority, channel, what is asked, who reported it, and where — one of
the customer's accounts, premises or meters when opened from a customer file, or an address
(commune, street, landmark) for a leak in the street. A request of the same kind already open at
the same place is pointed out and taken only once the agent confirms."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtWidgets import QLabel, QLineEdit, QPlainTextEdit, QSpinBox, QWidget

from app.models.enums import InterventionPriority, InterventionType, MeterStatus, RequestChannel
from app.services.account_check import account_id_for
from app.services.customer_edit import communes, streets
from app.services.customer_file import CustomerFile, load_customer_file
from app.services.interventions.lists import RequestDetail
from app.services.interventions.requests import (
    CHANNELS,
    KINDS,
    DuplicateRequestWarning,
    RequestInput,
    SavedRequest,
    create_request,
    update_request,
)
from app.views import messages
from app.views.customers.picker import CustomerPicker
from app.views.forms import FormDialog, ValueCombo, combo
from app.views.shell import Shell
from kernel.vocabulary import label


class RequestEditor(FormDialog):
    """``result_value`` is the ``SavedRequest`` once saved."""

    def __init__(self, shell: Shell, parent: QWidget | None = None, *,
                 file: CustomerFile | None = None, detail: RequestDetail | None = None,
                 kind: InterventionType | None = None) -> None:
        title = f"Demande {detail.number}" if detail else "Nouvelle demande d'intervention"
        super().__init__(title, shell.runner, parent)
        self.setObjectName("requestEditor")
        self.shell = shell
        self.file = file
        self.detail = detail
        self.confirmed_duplicate = False
        self.result_value: SavedRequest | None = None

        self.kind = combo([(label(k), k) for k in KINDS], detail.type if detail else kind)
        self.priority = combo([(label(p), p) for p in InterventionPriority],
                              detail.priority if detail else InterventionPriority.NORMAL)
        self.channel = combo([(label(c), c) for c in CHANNELS],
                             detail.channel if detail else RequestChannel.COUNTER)
        self.description = QPlainTextEdit(detail.description if detail else "")
        self.description.setTabChangesFocus(True)
        self.description.setFixedHeight(70)
        self.reporter = QLineEdit(detail.reporter_name if detail else "")
        self.contact = QLineEdit(detail.contact_name if detail else "")
        self.phone = QLineEdit(detail.contact_phone if detail else "")
        self.duration = QSpinBox()
        self.duration.setRange(15, 480)
        self.duration.setSingleStep(15)
        self.duration.setSuffix(" min")
        self.duration.setValue(detail.duration_minutes if detail else 60)

        self.account_number = QLineEdit()
        self.account_number.setPlaceholderText("14 chiffres, si la demande concerne un compte")
        self.account = ValueCombo()
        self.meter = ValueCombo()
        self.disputed = ValueCombo()
        self.fixed_links = QLabel()
        self.commune = combo([("", None)] + [(c.label, c.value) for c in communes(shell.ctx)])
        self.street = ValueCombo()
        self.house = QLineEdit(detail.house_number if detail else "")
        self.landmark = QLineEdit(detail.landmark if detail else "")

        add = self.errors.add_row
        add(self.form, "&Type", "type", self.kind)
        add(self.form, "&Priorité", "priority", self.priority)
        add(self.form, "C&anal", "channel", self.channel)
        self.picker: CustomerPicker | None = None
        if detail is None and file is None:
            # A new request from the interventions page: the customer is found here (or the
            # account number typed, or only an address).
            self.picker = CustomerPicker(shell.ctx, shell.runner)
            self.picker.picked.connect(self._customer_picked)
            add(self.form, "&Fiche client", "customer_id", self.picker)
            add(self.form, "&N° de compte", "account_number", self.account_number)
        if detail is None:
            add(self.form, "C&ompte", "account_id", self.account)
            add(self.form, "Compteur / &lieu", "meter_id", self.meter)
            add(self.form, "Relève conte&stée", "disputed_reading_id", self.disputed)
            self.meter.currentIndexChanged.connect(self._place_changed)
            self.kind.currentIndexChanged.connect(self._place_changed)
            if file is not None:
                self._fill_file(file)
            else:
                self._show_file_rows(False)
        elif detail.customer or detail.meter_serial:
            parts = [detail.customer, detail.account_number, detail.meter_serial]
            self.fixed_links.setText(" — ".join(p for p in parts if p))
            add(self.form, "Client", "customer_id", self.fixed_links)
        add(self.form, "Co&mmune", "commune_id", self.commune)
        add(self.form, "R&ue", "street_id", self.street)
        add(self.form, "N°", "house_number", self.house)
        add(self.form, "Point de &repère", "landmark", self.landmark)
        add(self.form, "&Description", "description", self.description)
        add(self.form, "S&ignalé par", "reporter_name", self.reporter)
        add(self.form, "&Contact sur place", "contact_name", self.contact)
        add(self.form, "Télép&hone", "contact_phone", self.phone)
        add(self.form, "Durée pré&vue", "duration_minutes", self.duration)

        self.commune.currentIndexChanged.connect(self._commune_changed)
        if detail is not None and detail.commune_id is not None:
            self.commune.set_value(detail.commune_id)
            self._commune_changed()
            self.street.set_value(detail.street_id)
        self._place_changed()
        self.resize(620, self.sizeHint().height())
        self.first_field = self.kind

    # --- the customer -----------------------------------------------------------------------
    def _fill_file(self, file: CustomerFile) -> None:
        """The customer's accounts and the meters and premises the request may be about."""
        self.file = file
        self.account.clear()
        self.account.add("(aucun)", None)
        for account in file.accounts:
            self.account.add(f"{account.formatted_number} — {account.billing_address}",
                             account.account_id)
        self.account.setCurrentIndex(1 if len(file.accounts) == 1 else 0)
        self.meter.clear()
        self.meter.add("(aucun : l'adresse ci-dessous)", None)
        for premise in file.premises:
            for connection in premise.connections:
                for meter in connection.meters:
                    if meter.status is MeterStatus.INSTALLED:
                        self.meter.add(f"{meter.serial} — {label(meter.energy)} — "
                                       f"{premise.address}", (meter.meter_id, premise))
        for premise in file.premises:
            self.meter.add(f"Propriété : {premise.address}", (None, premise))
        self.meter.setCurrentIndex(1 if self.meter.count() > 1 else 0)

    def _show_file_rows(self, shown: bool) -> None:
        rows: list[tuple[QWidget, bool]] = [
            (w, shown) for w in (self.account, self.meter, self.disputed)]
        if self.picker is not None:
            rows.append((self.account_number, not shown))
        for widget, visible in rows:
            holder = widget.parentWidget()  # the form row's holder (field and its message)
            if holder is not None:
                self.form.setRowVisible(holder, visible)

    def _customer_picked(self, customer_id: uuid.UUID, _name: str) -> None:
        ctx = self.shell.ctx

        def loaded(file: CustomerFile) -> None:
            self._fill_file(file)
            self.account_number.clear()
            self._show_file_rows(True)
            if not self.contact.text().strip():
                identity = file.identity
                self.contact.setText(" ".join(p for p in (
                    identity.organisation_name or identity.last_name.upper(),
                    identity.first_name) if p))
                self.phone.setText(self.phone.text() or identity.mobile or identity.phone)
            self._place_changed()
            self.account.setFocus()

        self.shell.runner.read(lambda: load_customer_file(ctx, customer_id), on_success=loaded,
                               parent=self)

    # --- the place --------------------------------------------------------------------------
    def _chosen_premise(self) -> Any:
        value = self.meter.value() if self.file is not None else None
        return value[1] if value else None

    def _place_changed(self) -> None:
        premise = self._chosen_premise()
        by_address = premise is None and not (self.detail and self.detail.premise_id)
        for widget in (self.commune, self.street, self.house, self.landmark):
            widget.setEnabled(by_address)
        self.disputed.clear()
        self.disputed.add("(aucune)", None)
        value = self.meter.value() if self.file is not None else None
        if value and value[0] is not None and self.file is not None:
            for premise in self.file.premises:
                for connection in premise.connections:
                    for meter in connection.meters:
                        if meter.meter_id == value[0] and meter.last_reading is not None:
                            last = meter.last_reading
                            self.disputed.add(
                                f"Dernière relève : {last.index_value} le "
                                f"{last.reading_date:%d/%m/%Y}", last.reading_id)
        self.disputed.setEnabled(self.kind.value() is InterventionType.METER_CHECK
                                 and self.disputed.count() > 1)
        if self.disputed.isEnabled():
            self.disputed.setCurrentIndex(1)

    def _commune_changed(self) -> None:
        self.street.clear()
        commune_id = self.commune.value()
        self.street.add("(aucune)", None)
        if commune_id is None:
            return
        for choice in streets(self.shell.ctx, commune_id):
            self.street.add(choice.label, choice.value)

    # --- saving -----------------------------------------------------------------------------
    def _input(self) -> RequestInput:
        meter_id: uuid.UUID | None = None
        premise_id: uuid.UUID | None = None
        customer_id: uuid.UUID | None = None
        account_id: uuid.UUID | None = None
        disputed: uuid.UUID | None = None
        if self.file is not None:
            customer_id = self.file.identity.customer_id
            account_id = self.account.value()
            value = self.meter.value()
            if value:
                meter_id, premise = value
                premise_id = premise.premise_id
            disputed = self.disputed.value() if self.disputed.isEnabled() else None
        elif self.detail is not None:
            customer_id, account_id = self.detail.customer_id, self.detail.account_id
            premise_id, meter_id = self.detail.premise_id, self.detail.meter_id
            disputed = self.detail.disputed_reading_id
        by_address = premise_id is None
        return RequestInput(
            type=self.kind.value(), priority=self.priority.value(),
            channel=self.channel.value(), description=self.description.toPlainText(),
            reporter_name=self.reporter.text(), contact_name=self.contact.text(),
            contact_phone=self.phone.text(), customer_id=customer_id, account_id=account_id,
            premise_id=premise_id, meter_id=meter_id,
            commune_id=self.commune.value() if by_address else None,
            street_id=self.street.value() if by_address else None,
            house_number=self.house.text() if by_address else "",
            landmark=self.landmark.text() if by_address else "",
            duration_minutes=self.duration.value(), disputed_reading_id=disputed)

    def work(self) -> Callable[[], Any]:
        data, ctx, confirmed = self._input(), self.shell.ctx, self.confirmed_duplicate
        if self.detail is not None:
            request_id, version = self.detail.request_id, self.detail.version
            return lambda: update_request(ctx, request_id, version, data)
        typed = self.account_number.text().strip() if self.file is None else ""

        def create() -> SavedRequest:
            linked = replace(data, account_id=account_id_for(ctx, typed)) if typed else data
            return create_request(ctx, linked, confirmed_duplicate=confirmed)

        return create

    def refused(self, error: BaseException) -> None:
        if isinstance(error, DuplicateRequestWarning):
            self.ready()
            if messages.confirm(self, "Demande déjà ouverte au même endroit", error.message):
                self.confirmed_duplicate = True
                self.attempt()
            return
        super().refused(error)
