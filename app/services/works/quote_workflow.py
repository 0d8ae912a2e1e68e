"""A works quote moved along its workflow: sent (its PDF kept), approved or refused by the
customer, given up, expired, revised into a new draft, works ordered."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import WorksQuote
from app.models.capture import set_reason
from app.models.enums import ApprovalMethod, QuoteStatus
from app.models.ids import utcnow
from app.services.interventions.links import create_works_request
from app.services.works.quote_drafts import (
    REVISABLE,
    SavedQuote,
    acting_name,
    find_quote,
    set_lines,
)
from app.services.works.quote_views import QuoteLineView, line_input, line_view
from kernel.context import ServiceContext
from kernel.errors import BusinessError, ValidationError
from kernel.vocabulary import label

#: Called in the transaction of ``order_works`` with the quote and its lines: where the
#: interventions module creates the "works" intervention request that carries them.
WorksOrderHook = Callable[[Session, WorksQuote], None]
WORKS_ORDER_HOOKS: list[WorksOrderHook] = []


def _refuse_step(quote: WorksQuote, doing: str) -> BusinessError:
    return BusinessError(f"Le devis {quote.number} est {label(quote.status).lower()} : "
                         f"impossible de {doing}.")


def send_quote(ctx: ServiceContext, quote_id: uuid.UUID) -> bytes:
    """Draft → sent: the PDF is made and kept as sent (reprints are duplicatas of it)."""
    from app.services.works.documents import quote_document_data, render_and_store

    with ctx.unit_of_work() as uow:
        session = uow.session
        quote = find_quote(session, quote_id, lock=True)
        if quote.status is not QuoteStatus.DRAFT:
            raise _refuse_step(quote, "l'envoyer")
        if quote.valid_until < ctx.installation.today():
            raise BusinessError(f"La validité du devis {quote.number} est dépassée : "
                                "changez la date de validité avant de l'envoyer.")
        quote.status = QuoteStatus.SENT
        quote.sent_at = utcnow()
        quote.sent_by = acting_name(ctx)
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
        quote = find_quote(session, quote_id, lock=True)
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
        quote.approval_recorded_by = acting_name(ctx)
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
        quote = find_quote(uow.session, quote_id, lock=True)
        if quote.status is not QuoteStatus.SENT:
            raise _refuse_step(quote, "enregistrer un refus")
        quote.status = QuoteStatus.REFUSED
        quote.refused_reason = reason
        quote.refused_at = utcnow()
        quote.refused_by = acting_name(ctx)
        uow.commit()


def cancel_quote(ctx: ServiceContext, quote_id: uuid.UUID, reason: str) -> None:
    """A draft or sent quote given up (its number stays used: the series has no gaps)."""
    reason = " ".join(reason.split())
    if len(reason) < 3:
        raise ValidationError({"reason": "Indiquez le motif de l'annulation"})
    with ctx.unit_of_work() as uow:
        quote = find_quote(uow.session, quote_id, lock=True)
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
        old = find_quote(session, quote_id, lock=True)
        if old.status not in REVISABLE:
            raise _refuse_step(old, "le réviser")
        now = utcnow()
        validity = max(old.valid_until - old.issued_on, timedelta(days=1))
        new = WorksQuote(
            agency_id=old.agency_id, number=revision_number(old.number, old.revision + 1),
            status=QuoteStatus.DRAFT, revision=old.revision + 1, previous_quote_id=old.id,
            issued_on=today, valid_until=today + validity, prepared_by=acting_name(ctx),
            **{key: getattr(old, key) for key in (
                "customer_id", "account_id", "premise_id", "commune_id", "prospect_civility",
                "prospect_last_name", "prospect_first_name", "prospect_phone",
                "prospect_street_id", "prospect_house_number", "prospect_complement",
                "tariff_id", "subject", "discount_rate", "notes")},
        )
        session.add(new)
        session.flush()
        set_lines(ctx, session, new, [line_input(line) for line in old.lines])
        old.status = QuoteStatus.REVISED
        old.revised_at = now
        old.revised_by = acting_name(ctx)
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
        quote = find_quote(session, quote_id, lock=True)
        if quote.status is not QuoteStatus.APPROVED:
            raise _refuse_step(quote, "commander les travaux")
        quote.status = QuoteStatus.ORDERED
        quote.ordered_at = utcnow()
        quote.ordered_by = acting_name(ctx)
        session.flush()
        request = create_works_request(ctx, quote)
        for hook in WORKS_ORDER_HOOKS:
            hook(session, quote)
        ordered = OrderedWorks(quote.id, quote.number, quote.premise_id,
                               tuple(line_view(session, line) for line in quote.lines),
                               request.number)
        uow.commit()
        return ordered


