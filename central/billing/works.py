"""Works invoices made by the agencies (AGT), integrated on central as they were issued.

They keep their agency number (``FT101-2026-000042``) and are never edited here: integrating the
same invoice again is a no-op, and a different content under an integrated invoice's id or
number is refused. The account's balance follows in the same transaction.

The sync's upload integration calls ``integrate_works_invoice`` with the rows the agency sent;
the API exposes it as ``POST /agencies/{code}/works-invoices``.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models import Account, Agency, Invoice, InvoiceLine, WorksQuote
from app.models.enums import InvoiceKind, InvoiceLineKind, InvoiceStatus
from central.billing.balances import refresh_accounts
from kernel.errors import BusinessError, NotFoundError, ValidationError
from kernel.numbering import PREFIX, Series

Minor = Annotated[int, Field(ge=-(10**15), le=10**15)]


class WorksInvoiceLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    position: int = Field(ge=1, le=999)
    kind: InvoiceLineKind = InvoiceLineKind.WORKS
    label: str = Field(min_length=1, max_length=200)
    quantity: Decimal = Field(decimal_places=3, max_digits=15)
    unit: str = Field(default="u", max_length=10)
    unit_price: Decimal = Field(decimal_places=4, max_digits=18)
    amount_excl_vat_minor: Minor
    vat_rate: Decimal = Field(ge=0, le=1, decimal_places=4)
    vat_minor: Minor
    amount_minor: Minor


class WorksInvoiceIn(BaseModel):
    """A works invoice as its agency issued it (amounts in minor units)."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    number: str = Field(min_length=1, max_length=24)
    #: A works invoice, or the credit note (same series) that cancels one.
    kind: InvoiceKind = InvoiceKind.WORKS
    credited_invoice_id: uuid.UUID | None = None
    account_id: uuid.UUID
    works_quote_id: uuid.UUID | None = None
    issued_on: date
    due_on: date | None = None
    total_excl_vat_minor: Minor
    vat_minor: Minor
    total_minor: Minor
    lines: list[WorksInvoiceLineIn] = Field(min_length=1, max_length=500)


@dataclass(frozen=True)
class Integrated:
    invoice_id: uuid.UUID
    number: str
    created: bool


def _check_amounts(data: WorksInvoiceIn) -> None:
    problems: dict[str, str] = {}
    for line in data.lines:
        if line.amount_excl_vat_minor + line.vat_minor != line.amount_minor:
            problems[f"lines.{line.position}"] = "montant TTC ≠ HT + TVA"
    if len({line.position for line in data.lines}) != len(data.lines):
        problems["lines"] = "positions de ligne en double"
    sums = (
        sum(line.amount_excl_vat_minor for line in data.lines),
        sum(line.vat_minor for line in data.lines),
        sum(line.amount_minor for line in data.lines),
    )
    if sums != (data.total_excl_vat_minor, data.vat_minor, data.total_minor):
        problems["total"] = "les totaux ne sont pas la somme des lignes"
    if problems:
        raise ValidationError(
            problems,
            f"Facture de travaux {data.number} incohérente : " + "; ".join(problems.values()),
        )


def _same(invoice: Invoice, data: WorksInvoiceIn) -> bool:
    def line_key(line: Any) -> tuple[Any, ...]:
        return (line.id, line.position, line.label, line.quantity, line.unit_price,
                line.amount_excl_vat_minor, line.vat_rate, line.vat_minor, line.amount_minor)

    return (
        invoice.number == data.number
        and invoice.kind is data.kind
        and invoice.credited_invoice_id == data.credited_invoice_id
        and invoice.account_id == data.account_id
        and invoice.issued_on == data.issued_on
        and invoice.total_minor == data.total_minor
        and invoice.vat_minor == data.vat_minor
        and sorted(map(line_key, invoice.lines)) == sorted(map(line_key, data.lines))
    )


def _credited(session: Session, agency: Agency, data: WorksInvoiceIn) -> Invoice | None:
    """The works invoice a credit note cancels (of the same agency and account)."""
    if data.kind is InvoiceKind.WORKS:
        if data.credited_invoice_id is not None:
            raise ValidationError({"credited_invoice_id": "une facture n'annule rien"})
        return None
    if data.kind is not InvoiceKind.CREDIT_NOTE or data.credited_invoice_id is None:
        raise ValidationError({"kind": "type de facture de travaux inconnu"},
                              f"La facture {data.number} n'est ni une facture de travaux ni un "
                              "avoir sur l'une d'elles.")
    credited = session.get(Invoice, data.credited_invoice_id)
    if credited is None or credited.agency_id != agency.id \
            or credited.kind is not InvoiceKind.WORKS or credited.account_id != data.account_id:
        raise NotFoundError(f"La facture annulée par l'avoir {data.number} est inconnue du "
                            "central pour ce compte.")
    return credited


def integrate_works_invoice(session: Session, agency: Agency, data: WorksInvoiceIn) -> Integrated:
    """Adds the agency's works invoice (and moves the account balance) in the session's
    transaction; the caller commits. Raises a business error for anything inconsistent."""
    if not re.fullmatch(rf"{PREFIX[Series.WORKS_INVOICE]}{agency.code}-\d{{4}}-\d{{6}}", data.number):
        raise ValidationError(
            {"number": "numéro hors de la série de l'agence"},
            f"Le numéro {data.number} n'appartient pas à la série des factures de travaux de "
            f"l'agence {agency.code}.",
        )
    _check_amounts(data)
    credited = _credited(session, agency, data)
    existing = session.scalars(
        select(Invoice).options(selectinload(Invoice.lines)).where(
            (Invoice.id == data.id) | (Invoice.number == data.number)
        )
    ).first()
    if existing is not None:
        if existing.id == data.id and _same(existing, data):
            return Integrated(existing.id, existing.number, created=False)
        raise BusinessError(
            f"La facture {data.number} est déjà intégrée avec un autre contenu : une facture "
            "émise ne se modifie pas (faites un avoir puis une nouvelle facture)."
        )
    account = session.get(Account, data.account_id)
    if account is None or account.agency_id != agency.id:
        raise NotFoundError(f"Le compte de la facture {data.number} est inconnu pour l'agence "
                            f"{agency.code}.")
    if data.works_quote_id is not None:
        quote = session.get(WorksQuote, data.works_quote_id)
        if quote is None or quote.agency_id != agency.id:
            raise NotFoundError(f"Le devis de la facture {data.number} n'est pas encore connu du "
                                "central : synchronisez-le d'abord.")
    invoice = Invoice(
        id=data.id,
        agency_id=agency.id,
        number=data.number,
        kind=data.kind,
        status=InvoiceStatus.ISSUED,
        account_id=data.account_id,
        credited_invoice_id=data.credited_invoice_id,
        works_quote_id=data.works_quote_id,
        issued_on=data.issued_on,
        due_on=data.due_on,
        total_excl_vat_minor=data.total_excl_vat_minor,
        vat_minor=data.vat_minor,
        total_minor=data.total_minor,
        is_estimated=False,
    )
    invoice.lines = [
        InvoiceLine(agency_id=agency.id, **line.model_dump()) for line in data.lines
    ]
    session.add(invoice)
    if credited is not None:
        credited.status = InvoiceStatus.CREDITED
    session.flush()
    refresh_accounts(session, [data.account_id])
    return Integrated(invoice.id, invoice.number, created=True)
