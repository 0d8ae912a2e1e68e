"""Works quotes (devis de travaux) and their workflow:

draft → sent → approved (date, signer, how) / refused (reason) / expired (validity passed, found
by ``expire_overdue``) → works ordered (``order_works``) → invoiced (``app.services.works.invoicing``).

Every step keeps who and when on the quote (and the write path audits it). A quote is edited only
as a draft; once sent it is changed by a revision (``DV101-2026-000042-2``) that replaces it, the
old one being kept as it was. Numbers come from the agency's series at creation (never reused).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Account,
    Commune,
    Customer,
    Premise,
    Street,
    Tariff,
    WorksCatalogueItem,
    WorksQuote,
    WorksQuoteLine,
)
from app.models.capture import set_reason
from app.models.enums import ApprovalMethod, Civility, CustomerKind, QuoteStatus
from app.models.ids import utcnow
from app.services.customer_edit import IdentityInput, validate_identity
from app.services.editing import get_for_edit
from app.services.interventions.links import create_works_request
from app.services.search import format_address
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


#: Called in the transaction of ``order_works`` with the quote and its lines: where the
#: interventions module creates the "works" intervention request that carries them.
WorksOrderHook = Callable[[Session, WorksQuote], None]
WORKS_ORDER_HOOKS: list[WorksOrderHook] = []


#: The identity checks' field names, as the prospect's fields.
_PROSPECT_FIELDS = {"mobile": "phone", "phone": "phone", "organisation_name": "last_name"}


def _who(ctx: ServiceContext) -> str:
    return ctx.user.full_name[:40] if ctx.user else ctx.actor.username


def _load(session: Session, quote_id: uuid.UUID, *, lock: bool = False) -> WorksQuote:
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


def _set_lines(ctx: ServiceContext, session: Session, quote: WorksQuote,
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
        quote.prepared_by = _who(ctx)
        session.add(quote)
        session.flush()
        _set_lines(ctx, session, quote, data.lines)
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
        _set_lines(ctx, session, quote, data.lines)
        uow.commit()
        return SavedQuote(quote.id, quote.number, quote.version, quote.total_minor)


def _refuse_step(quote: WorksQuote, doing: str) -> BusinessError:
    return BusinessError(f"Le devis {quote.number} est {label(quote.status).lower()} : "
                         f"impossible de {doing}.")


def send_quote(ctx: ServiceContext, quote_id: uuid.UUID) -> bytes:
    """Draft → sent: the PDF is made and kept as sent (reprints are duplicatas of it)."""
    from app.services.works.documents import quote_document_data, render_and_store

    with ctx.unit_of_work() as uow:
        session = uow.session
        quote = _load(session, quote_id, lock=True)
        if quote.status is not QuoteStatus.DRAFT:
            raise _refuse_step(quote, "l'envoyer")
        if quote.valid_until < ctx.installation.today():
            raise BusinessError(f"La validité du devis {quote.number} est dépassée : "
                                "changez la date de validité avant de l'envoyer.")
        quote.status = QuoteStatus.SENT
        quote.sent_at = utcnow()
        quote.sent_by = _who(ctx)
        session.flush()
        pdf, document_id = render_and_store(
            ctx, session, quote_document_data(ctx, session, quote), "works_quote",
            f"devis-{quote.number}.pdf")
        quote.document_id = document_id
        uow.commit()
        return pdf


def approve_quote(ctx: ServiceContext, quote_id: uuid.UUID, signer: str,
                  method: ApprovalMethod, approved_on: date | None = None,
                  scan: bytes | None = None, scan_name: str = "") -> None:
    """Sent → approved: the customer's agreement (the seed's first flow), with who signed, on
    which day and how; a signed paper is attached scanned."""
    from app.services.works.documents import store_document

    signer = " ".join(signer.split())
    today = ctx.installation.today()
    day = approved_on or today
    errors = {}
    if len(signer) < 2:
        errors["signer"] = "Indiquez qui a signé l'accord"
    if method is ApprovalMethod.SIGNED_PAPER and not scan:
        errors["scan"] = "Joignez le papier signé scanné"
    if day > today:
        errors["approved_on"] = "La date d'accord ne peut pas être dans le futur"
    if errors:
        raise ValidationError(errors)
    with ctx.unit_of_work() as uow:
        session = uow.session
        quote = _load(session, quote_id, lock=True)
        if quote.status is not QuoteStatus.SENT:
            raise _refuse_step(quote, "enregistrer l'accord du client")
        if day < quote.issued_on:
            raise ValidationError({"approved_on": "La date d'accord est avant celle du devis"})
        if day > quote.valid_until:
            raise BusinessError(f"Le devis {quote.number} n'était plus valable le "
                                f"{day:%d/%m/%Y} : faites une révision.")
        quote.status = QuoteStatus.APPROVED
        quote.approved_on = day
        quote.approved_by = signer[:120]
        quote.approval_method = method
        quote.approval_recorded_at = utcnow()
        quote.approval_recorded_by = _who(ctx)
        if scan:
            media = "application/pdf" if scan[:4] == b"%PDF" else "image/png" \
                if scan[:4] == b"\x89PNG" else "image/jpeg"
            quote.approval_document_id = store_document(
                ctx, session, "works_quote_approval",
                scan_name or f"accord-{quote.number}", media, scan)
        uow.commit()


def refuse_quote(ctx: ServiceContext, quote_id: uuid.UUID, reason: str) -> None:
    reason = " ".join(reason.split())
    if len(reason) < 3:
        raise ValidationError({"reason": "Indiquez le motif du refus"})
    with ctx.unit_of_work() as uow:
        quote = _load(uow.session, quote_id, lock=True)
        if quote.status is not QuoteStatus.SENT:
            raise _refuse_step(quote, "enregistrer un refus")
        quote.status = QuoteStatus.REFUSED
        quote.refused_reason = reason
        quote.refused_at = utcnow()
        quote.refused_by = _who(ctx)
        uow.commit()


def cancel_quote(ctx: ServiceContext, quote_id: uuid.UUID, reason: str) -> None:
    """A draft or sent quote given up (its number stays used: the series has no gaps)."""
    reason = " ".join(reason.split())
    if len(reason) < 3:
        raise ValidationError({"reason": "Indiquez le motif de l'annulation"})
    with ctx.unit_of_work() as uow:
        quote = _load(uow.session, quote_id, lock=True)
        if quote.status not in (QuoteStatus.DRAFT, QuoteStatus.SENT):
            raise _refuse_step(quote, "l'annuler")
        set_reason(uow.session, f"annulation du devis {quote.number} : {reason}"[:200])
        quote.status = QuoteStatus.CANCELLED
        quote.notes = (quote.notes + "\n" if quote.notes else "") + f"Annulé : {reason}"
        uow.commit()


def expire_overdue(ctx: ServiceContext, today: date | None = None) -> list[str]:
    """Sent quotes whose validity has passed become "expired" (done by itself when the quotes
    are listed and at each synchronisation). Returns their numbers."""
    day = today or ctx.installation.today()
    with ctx.unit_of_work() as uow:
        session = uow.session
        overdue = list(session.scalars(select(WorksQuote).where(
            WorksQuote.status == QuoteStatus.SENT, WorksQuote.valid_until < day,
            WorksQuote.agency_id == ctx.installation.agency_id)))
        if not overdue:
            return []
        now = utcnow()
        for quote in overdue:
            quote.status = QuoteStatus.EXPIRED
            quote.expired_at = now
        set_reason(session, "validité des devis dépassée")
        uow.commit()
        return [quote.number for quote in overdue]


def revision_number(number: str, revision: int) -> str:
    """``DV101-2026-000042`` (revision 1) → ``DV101-2026-000042-2``; ``…-2`` → ``…-3``."""
    root = number.rsplit("-", 1)[0] if number.count("-") >= 3 else number
    return f"{root}-{revision}"


def revise_quote(ctx: ServiceContext, quote_id: uuid.UUID) -> SavedQuote:
    """A new draft made from a sent, approved, refused or expired quote, numbered ``…-2``; the
    old one is kept as it was, marked as replaced."""
    today = ctx.installation.today()
    with ctx.unit_of_work() as uow:
        session = uow.session
        old = _load(session, quote_id, lock=True)
        if old.status not in REVISABLE:
            raise _refuse_step(old, "le réviser")
        now = utcnow()
        validity = max(old.valid_until - old.issued_on, timedelta(days=1))
        new = WorksQuote(
            agency_id=old.agency_id, number=revision_number(old.number, old.revision + 1),
            status=QuoteStatus.DRAFT, revision=old.revision + 1, previous_quote_id=old.id,
            issued_on=today, valid_until=today + validity, prepared_by=_who(ctx),
            **{key: getattr(old, key) for key in (
                "customer_id", "account_id", "premise_id", "commune_id", "prospect_civility",
                "prospect_last_name", "prospect_first_name", "prospect_phone",
                "prospect_street_id", "prospect_house_number", "prospect_complement",
                "tariff_id", "subject", "discount_rate", "notes")},
        )
        session.add(new)
        session.flush()
        _set_lines(ctx, session, new, [line_input(line) for line in old.lines])
        old.status = QuoteStatus.REVISED
        old.revised_at = now
        old.revised_by = _who(ctx)
        uow.commit()
        return SavedQuote(new.id, new.number, new.version, new.total_minor)


@dataclass(frozen=True)
class OrderedWorks:
    """What the works order carries: the quote and its lines (for the intervention request)."""

    quote_id: uuid.UUID
    number: str
    premise_id: uuid.UUID | None
    lines: tuple[QuoteLineView, ...]
    #: The "works" intervention request made for it (its content: the quote's lines).
    request_number: str = ""


def order_works(ctx: ServiceContext, quote_id: uuid.UUID) -> OrderedWorks:
    """Approved → works ordered, with who and when; the interventions module makes the "works"
    intervention request carrying the quote's lines in this same transaction
    (``create_works_request``); ``WORKS_ORDER_HOOKS`` are called too."""
    with ctx.unit_of_work() as uow:
        session = uow.session
        quote = _load(session, quote_id, lock=True)
        if quote.status is not QuoteStatus.APPROVED:
            raise _refuse_step(quote, "commander les travaux")
        quote.status = QuoteStatus.ORDERED
        quote.ordered_at = utcnow()
        quote.ordered_by = _who(ctx)
        session.flush()
        request = create_works_request(ctx, quote)
        for hook in WORKS_ORDER_HOOKS:
            hook(session, quote)
        ordered = OrderedWorks(quote.id, quote.number, quote.premise_id,
                               tuple(_line_view(session, line) for line in quote.lines),
                               request.number)
        uow.commit()
        return ordered


def line_input(line: WorksQuoteLine) -> LineInput:
    return LineInput(line.label, line.quantity, line.unit_price_minor, line.vat_rate, line.unit,
                     line.discount_rate, line.catalogue_item_id)


def _line_view(session: Session, line: WorksQuoteLine,
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
        quote = _load(session, quote_id)
        party, address = party_of(session, quote)
        account = session.get(Account, quote.account_id) if quote.account_id else None
        codes = dict(session.execute(select(WorksCatalogueItem.id, WorksCatalogueItem.code).where(
            WorksCatalogueItem.id.in_([line.catalogue_item_id for line in quote.lines
                                       if line.catalogue_item_id]))).all())
        lines = tuple(_line_view(session, line, codes) for line in quote.lines)
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
