"""The agency's supplier invoices (EDF, France Telecom…), integrated at central from EDIFACT and
received by the nightly synchronisation: read-only at the desk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from app.models import SupplierInvoice
from kernel.context import ServiceContext


@dataclass(frozen=True)
class SupplierInvoiceRow:
    supplier: str
    number: str
    is_credit_note: bool
    issued_on: date
    period_start: date | None
    period_end: date | None
    site: str
    currency: str
    amount_excl_vat_minor: int
    vat_minor: int
    total_minor: int


def supplier_invoices(ctx: ServiceContext, *, issued_from: date | None = None,
                      issued_until: date | None = None, limit: int = 500
                      ) -> list[SupplierInvoiceRow]:
    """The most recent first; the site is the invoice's, or « plusieurs sites » when its lines
    are for several (a telephone invoice for the agency's lines)."""
    query = select(SupplierInvoice).order_by(SupplierInvoice.issued_on.desc(),
                                             SupplierInvoice.number).limit(limit)
    if issued_from is not None:
        query = query.where(SupplierInvoice.issued_on >= issued_from)
    if issued_until is not None:
        query = query.where(SupplierInvoice.issued_on <= issued_until)
    with ctx.reading() as session:
        return [
            SupplierInvoiceRow(
                supplier=invoice.supplier_name, number=invoice.number,
                is_credit_note=invoice.is_credit_note, issued_on=invoice.issued_on,
                period_start=invoice.period_start, period_end=invoice.period_end,
                site=invoice.site_reference or "plusieurs sites", currency=invoice.currency,
                amount_excl_vat_minor=invoice.amount_excl_vat_minor,
                vat_minor=invoice.vat_minor, total_minor=invoice.total_minor,
            )
            for invoice in session.scalars(query)
        ]
