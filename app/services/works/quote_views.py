"""A works quote as the screens and documents read it: its party and site, its lines with
their catalogue codes, its totals and the steps of its life."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Account,
    Commune,
    Customer,
    Premise,
    Street,
    WorksCatalogueItem,
    WorksQuote,
    WorksQuoteLine,
)
from app.models.enums import Civility, CustomerKind, QuoteStatus
from app.services.search import format_address
from app.services.works.quote_drafts import EDITABLE, Prospect, find_quote
from app.services.works.totals import LineInput, PricedQuote, price_quote
from kernel.context import ServiceContext
from kernel.vocabulary import label


@dataclass(frozen=True)
class Step:
    """One step of a quote's life, as the history shows it."""

    what: str
    at: datetime | date
    who: str
    detail: str = ""


@dataclass(frozen=True)
class QuoteLineView:
    position: int
    code: str
    label: str
    quantity: Decimal
    unit: str
    unit_price_minor: int
    vat_rate: Decimal
    discount_rate: Decimal
    amount_excl_vat_minor: int
    catalogue_item_id: uuid.UUID | None

    def as_input(self) -> LineInput:
        return LineInput(self.label, self.quantity, self.unit_price_minor, self.vat_rate,
                         self.unit, self.discount_rate, self.catalogue_item_id, self.code)


@dataclass(frozen=True)
class QuoteView:
    quote_id: uuid.UUID
    number: str
    version: int
    status: QuoteStatus
    customer_id: uuid.UUID | None
    account_id: uuid.UUID | None
    account_number: str
    premise_id: uuid.UUID | None
    #: "M. KONÉ Ali" (customer or prospect) and the works site's address.
    party: str
    address: str
    prospect: Prospect | None
    subject: str
    issued_on: date
    valid_until: date
    discount_rate: Decimal
    tariff_id: uuid.UUID | None
    notes: str
    lines: tuple[QuoteLineView, ...]
    priced: PricedQuote
    steps: tuple[Step, ...]
    revision: int
    previous_number: str = ""
    next_number: str = ""
    invoices: tuple[tuple[uuid.UUID, str, str, int], ...] = field(default=())

    @property
    def status_label(self) -> str:
        return label(self.status)

    @property
    def editable(self) -> bool:
        return self.status in EDITABLE


def line_input(line: WorksQuoteLine) -> LineInput:
    return LineInput(line.label, line.quantity, line.unit_price_minor, line.vat_rate, line.unit,
                     line.discount_rate, line.catalogue_item_id)


def line_view(session: Session, line: WorksQuoteLine,
               codes: dict[uuid.UUID, str] | None = None) -> QuoteLineView:
    code = ""
    if line.catalogue_item_id is not None:
        if codes is not None and line.catalogue_item_id in codes:
            code = codes[line.catalogue_item_id]
        else:
            item = session.get(WorksCatalogueItem, line.catalogue_item_id)
            code = item.code if item else ""
    return QuoteLineView(line.position, code, line.label, line.quantity, line.unit,
                         line.unit_price_minor, line.vat_rate, line.discount_rate,
                         line.amount_excl_vat_minor, line.catalogue_item_id)


def party_of(session: Session, quote: WorksQuote) -> tuple[str, str]:
    """Who the quote is for ("M. KONÉ Ali", or the prospect's name) and the site's address."""
    if quote.customer_id is not None:
        customer = session.get(Customer, quote.customer_id)
        name = customer.display_name if customer else ""
        if customer and customer.civility and customer.kind is CustomerKind.PERSON:
            name = f"{customer.civility.value} {name}"
        premise = session.get(Premise, quote.premise_id) if quote.premise_id else None
        address = format_address(premise.house_number, premise.street.name if premise.street
                                 else None, premise.complement, premise.commune.name) \
            if premise else ""
        return name, address
    civility = quote.prospect_civility
    parts = [civility.value if civility and civility is not Civility.COMPANY else "",
             quote.prospect_last_name.upper() if civility is not Civility.COMPANY
             else quote.prospect_last_name, quote.prospect_first_name]
    street = session.get(Street, quote.prospect_street_id) if quote.prospect_street_id else None
    commune = session.get(Commune, quote.commune_id) if quote.commune_id else None
    address = format_address(quote.prospect_house_number, street.name if street else None,
                             quote.prospect_complement, commune.name if commune else "")
    return " ".join(p for p in parts if p), address


def _steps(quote: WorksQuote) -> tuple[Step, ...]:
    steps = [Step("Créé", quote.created_at, quote.prepared_by)]
    if quote.sent_at:
        steps.append(Step("Envoyé", quote.sent_at, quote.sent_by))
    if quote.approval_recorded_at:
        how = label(quote.approval_method)
        on = f" le {quote.approved_on:%d/%m/%Y}" if quote.approved_on else ""
        steps.append(Step("Accepté", quote.approval_recorded_at, quote.approval_recorded_by,
                          f"signé par {quote.approved_by}{on} ({how})"))
    if quote.refused_at:
        steps.append(Step("Refusé", quote.refused_at, quote.refused_by, quote.refused_reason))
    if quote.expired_at:
        steps.append(Step("Expiré", quote.expired_at, "",
                          f"validité jusqu'au {quote.valid_until:%d/%m/%Y}"))
    if quote.ordered_at:
        steps.append(Step("Travaux commandés", quote.ordered_at, quote.ordered_by))
    if quote.invoiced_at:
        steps.append(Step("Facturé", quote.invoiced_at, quote.invoiced_by))
    if quote.revised_at:
        steps.append(Step("Remplacé par une révision", quote.revised_at, quote.revised_by))
    return tuple(steps)


def load_quote(ctx: ServiceContext, quote_id: uuid.UUID) -> QuoteView:
    from app.models import Invoice

    with ctx.reading() as session:
        quote = find_quote(session, quote_id)
        party, address = party_of(session, quote)
        account = session.get(Account, quote.account_id) if quote.account_id else None
        codes = dict(session.execute(select(WorksCatalogueItem.id, WorksCatalogueItem.code).where(
            WorksCatalogueItem.id.in_([line.catalogue_item_id for line in quote.lines
                                       if line.catalogue_item_id]))).all())
        lines = tuple(line_view(session, line, codes) for line in quote.lines)
        previous = session.get(WorksQuote, quote.previous_quote_id) \
            if quote.previous_quote_id else None
        following = session.scalar(select(WorksQuote.number).where(
            WorksQuote.previous_quote_id == quote.id))
        prospect = None
        if quote.customer_id is None:
            prospect = Prospect(quote.prospect_civility, quote.prospect_last_name,
                                quote.prospect_first_name, quote.prospect_phone,
                                quote.commune_id, quote.prospect_street_id,
                                quote.prospect_house_number, quote.prospect_complement)
        invoices = tuple(
            (i.id, i.number, label(i.kind), i.total_minor)
            for i in session.scalars(select(Invoice).where(Invoice.works_quote_id == quote.id)
                                     .order_by(Invoice.created_at)))
        from kernel.identifiers import format_account_number

        return QuoteView(
            quote.id, quote.number, quote.version, quote.status, quote.customer_id,
            quote.account_id, format_account_number(account.number) if account else "",
            quote.premise_id, party, address, prospect, quote.subject, quote.issued_on,
            quote.valid_until, quote.discount_rate, quote.tariff_id, quote.notes, lines,
            price_quote([line.as_input() for line in lines], quote.discount_rate,
                        ctx.installation.currency),
            _steps(quote), quote.revision, previous.number if previous else "",
            following or "", invoices,
        )
