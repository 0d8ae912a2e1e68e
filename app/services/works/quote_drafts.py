"""Works quotes being written: who a quote is for, its terms and lines, checked and priced, a
new draft numbered in the agency's series, a draft saved again (``app.services.works.quotes``
tells the whole workflow)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Account,
    Commune,
    Premise,
    Street,
    Tariff,
    WorksCatalogueItem,
    WorksQuote,
    WorksQuoteLine,
)
from app.models.enums import Civility, CustomerKind, QuoteStatus
from app.services.customer_edit import IdentityInput, validate_identity
from app.services.editing import get_for_edit
from app.services.works.totals import MAX_LINES, LineInput, PricedQuote, check_line, price_quote
from kernel.context import ServiceContext
from kernel.errors import BusinessError, NotFoundError, ValidationError
from kernel.numbering import Series, next_number
from kernel.vocabulary import label

#: How long a quote is valid by default.
DEFAULT_VALIDITY = timedelta(days=30)
#: Quotes sent and expiring within this many days are highlighted in the lists.
EXPIRING_SOON = timedelta(days=7)
EDITABLE = frozenset({QuoteStatus.DRAFT})
REVISABLE = frozenset({QuoteStatus.SENT, QuoteStatus.APPROVED, QuoteStatus.REFUSED,
                       QuoteStatus.EXPIRED})
INVOICEABLE = frozenset({QuoteStatus.APPROVED, QuoteStatus.ORDERED})


@dataclass(frozen=True)
class Prospect:
    """Someone not yet a customer (a connection quote usually comes before the contract)."""

    civility: Civility | None
    last_name: str
    first_name: str = ""
    phone: str = ""
    commune_id: uuid.UUID | None = None
    street_id: uuid.UUID | None = None
    house_number: str = ""
    complement: str = ""

    def identity(self) -> IdentityInput:
        if self.civility is Civility.COMPANY:
            return IdentityInput(kind=CustomerKind.ORGANISATION, organisation_name=self.last_name,
                                 mobile=self.phone)
        return IdentityInput(civility=self.civility, last_name=self.last_name,
                             first_name=self.first_name, mobile=self.phone)


@dataclass(frozen=True)
class QuoteInput:
    """What the editor saves: for an account (its customer, a premise) or for a prospect."""

    lines: Sequence[LineInput]
    account_id: uuid.UUID | None = None
    premise_id: uuid.UUID | None = None
    prospect: Prospect | None = None
    subject: str = ""
    valid_until: date | None = None
    discount_rate: Decimal = Decimal(0)
    tariff_id: uuid.UUID | None = None
    notes: str = ""


@dataclass(frozen=True)
class SavedQuote:
    quote_id: uuid.UUID
    number: str
    version: int
    total_minor: int


#: The identity checks' field names, as the prospect's fields.
_PROSPECT_FIELDS = {"mobile": "phone", "phone": "phone", "organisation_name": "last_name"}


def acting_name(ctx: ServiceContext) -> str:
    return ctx.user.full_name[:40] if ctx.user else ctx.actor.username


def find_quote(session: Session, quote_id: uuid.UUID, *, lock: bool = False) -> WorksQuote:
    quote = session.get(WorksQuote, quote_id,
                        with_for_update=lock and session.get_bind().dialect.name == "postgresql")
    if quote is None:
        raise NotFoundError("Devis introuvable.")
    return quote


def _check_input(ctx: ServiceContext, session: Session, data: QuoteInput,
                 issued_on: date) -> dict[str, object]:
    """The columns the input sets on a quote (party, site, terms), after every check."""
    errors: dict[str, str] = {}
    values: dict[str, object] = {}
    if (data.account_id is None) == (data.prospect is None):
        errors["party"] = "Indiquez le compte du client ou les coordonnées du prospect"
    if data.account_id is not None:
        account = session.get(Account, data.account_id)
        if account is None or account.agency_id != ctx.installation.agency_id:
            errors["account"] = "Compte introuvable dans cette agence"
        else:
            premise_id = data.premise_id or account.billing_premise_id
            premise = session.get(Premise, premise_id) if premise_id else None
            values.update(customer_id=account.customer_id, account_id=account.id,
                          premise_id=premise.id if premise else None,
                          commune_id=premise.commune_id if premise else None)
    if data.prospect is not None:
        prospect = data.prospect
        try:
            identity = validate_identity(prospect.identity(), issued_on)
        except ValidationError as error:
            for key, message in error.fields.items():
                errors[f"prospect.{_PROSPECT_FIELDS.get(key, key)}"] = message
            identity = None
        if prospect.commune_id is None or session.get(Commune, prospect.commune_id) is None:
            errors["prospect.commune"] = "Choisissez la commune des travaux"
        elif prospect.street_id is not None:
            street = session.get(Street, prospect.street_id)
            if street is None or street.commune_id != prospect.commune_id:
                errors["prospect.street"] = "Cette rue n'est pas dans la commune choisie"
        if prospect.street_id is None and not prospect.complement.strip():
            errors.setdefault("prospect.complement",
                              "Sans rue, décrivez l'emplacement (lot, îlot, repère)")
        if identity is not None:
            values.update(
                customer_id=None, account_id=None, premise_id=None,
                commune_id=prospect.commune_id, prospect_civility=identity.civility,
                prospect_last_name=identity.organisation_name or identity.last_name,
                prospect_first_name=identity.first_name,
                prospect_phone=identity.mobile, prospect_street_id=prospect.street_id,
                prospect_house_number=prospect.house_number.strip(),
                prospect_complement=prospect.complement.strip(),
            )
    if not data.lines:
        errors["lines"] = "Ajoutez au moins une ligne au devis"
    elif len(data.lines) > MAX_LINES:
        errors["lines"] = f"{MAX_LINES} lignes au plus par devis"
    for position, line in enumerate(data.lines, start=1):
        errors |= check_line(line, position)
    valid_until = data.valid_until or issued_on + DEFAULT_VALIDITY
    if valid_until < issued_on:
        errors["valid_until"] = "La date de validité est avant la date du devis"
    elif valid_until > issued_on + timedelta(days=366):
        errors["valid_until"] = "Un devis est valable un an au plus"
    if not 0 <= data.discount_rate < 1:
        errors["discount"] = "La remise doit être entre 0 et 100 %"
    if data.tariff_id is not None and session.get(Tariff, data.tariff_id) is None:
        errors["tariff"] = "Tarif inconnu"
    if errors:
        raise ValidationError(errors, "Le devis n'est pas complet :\n" + "\n".join(
            dict.fromkeys(errors.values())))
    values.update(subject=" ".join(data.subject.split())[:200], valid_until=valid_until,
                  discount_rate=data.discount_rate, tariff_id=data.tariff_id,
                  notes=data.notes.strip())
    return values


def set_lines(ctx: ServiceContext, session: Session, quote: WorksQuote,
               lines: Sequence[LineInput]) -> PricedQuote:
    """Replaces the lines (the quote is flushed: its id is known; the journal captures each
    line with its quote's id)."""
    priced = price_quote(lines, quote.discount_rate, ctx.installation.currency)
    catalogue = {line.catalogue_item_id for line in lines if line.catalogue_item_id}
    known = set(session.scalars(select(WorksCatalogueItem.id).where(
        WorksCatalogueItem.id.in_(catalogue)))) if catalogue else set()
    if catalogue - known:
        raise ValidationError({"lines": "Article du catalogue inconnu"})
    quote.lines.clear()
    session.flush()
    for position, (line, price) in enumerate(zip(lines, priced.lines, strict=True), start=1):
        quote.lines.append(WorksQuoteLine(
            agency_id=ctx.installation.agency_id, quote_id=quote.id, position=position,
            catalogue_item_id=line.catalogue_item_id, label=price.label[:200],
            quantity=line.quantity, unit=(line.unit or "u")[:10],
            unit_price_minor=line.unit_price_minor, vat_rate=line.vat_rate,
            discount_rate=line.discount_rate, amount_excl_vat_minor=price.amount_excl_vat_minor,
            vat_minor=price.vat_minor, amount_minor=price.amount_minor,
        ))
    quote.total_excl_vat_minor = priced.total_excl_vat_minor
    quote.vat_minor = priced.vat_minor
    quote.total_minor = priced.total_minor
    return priced


def create_quote(ctx: ServiceContext, data: QuoteInput) -> SavedQuote:
    """A new draft, numbered at once in the agency's series (``DV101-2026-000042``)."""
    today = ctx.installation.today()
    with ctx.unit_of_work() as uow:
        session = uow.session
        quote = WorksQuote()
        for key, value in _check_input(ctx, session, data, today).items():
            setattr(quote, key, value)
        quote.agency_id = ctx.installation.agency_id
        quote.number = next_number(session, ctx.installation.agency_code, Series.WORKS_QUOTE,
                                   today.year)
        quote.status = QuoteStatus.DRAFT
        quote.issued_on = today
        quote.prepared_by = acting_name(ctx)
        session.add(quote)
        session.flush()
        set_lines(ctx, session, quote, data.lines)
        uow.commit()
        return SavedQuote(quote.id, quote.number, quote.version, quote.total_minor)


def update_quote(ctx: ServiceContext, quote_id: uuid.UUID, opened_version: int,
                 data: QuoteInput) -> SavedQuote:
    """Saves a draft edited on screen (refused once sent: make a revision)."""
    with ctx.unit_of_work() as uow:
        session = uow.session
        quote = get_for_edit(session, WorksQuote, quote_id, opened_version, "Le devis")
        if quote.status not in EDITABLE:
            raise BusinessError(
                f"Le devis {quote.number} est {label(quote.status).lower()} : il ne se modifie "
                "plus. Faites une révision.")
        for key, value in _check_input(ctx, session, data, quote.issued_on).items():
            setattr(quote, key, value)
        set_lines(ctx, session, quote, data.lines)
        uow.commit()
        return SavedQuote(quote.id, quote.number, quote.version, quote.total_minor)


