"""Letters made from a works quote or an intervention request, and the batch of the requests
due tomorrow.

``create_letter_for_quote`` and ``create_letter_for_intervention`` are the stable entry points
for other modules (an intervention's "letter" follow-up): they issue the letter with the
shipped template of that kind (or the template code given) and return the ``IssuedLetter``.
The screens go through ``target_for_quote`` / ``target_for_intervention`` to open the letter
dialog on the quote's or request's customer, with the template of that kind chosen first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Account, Customer, InterventionRequest, WorksQuote
from app.models.enums import InterventionStatus
from app.services.letters.fields import Subject, long_date
from app.services.letters.fields_works import WEEKDAYS
from app.services.letters.issue import IssuedLetter, issue_letter
from app.services.letters.templates import template_by_code
from kernel.context import ServiceContext
from kernel.errors import BusinessError, NotFoundError
from kernel.identifiers import format_account_number

QUOTE_TEMPLATE = "ENVOI_DEVIS"
INTERVENTION_TEMPLATE = "AVIS_PASSAGE"


@dataclass(frozen=True)
class LetterTarget:
    """Whom a letter goes to and what it is made from, as the letter dialog needs it."""

    customer_id: uuid.UUID
    name: str
    #: ``(account id, label)``; the quote's or request's account first.
    accounts: tuple[tuple[uuid.UUID, str], ...]
    quote_id: uuid.UUID | None = None
    intervention_id: uuid.UUID | None = None
    #: "Devis DV101-2026-000012" or "Demande DI101-…" ("" from the customer file).
    origin: str = ""
    #: The template chosen first in the dialog ("" for none).
    template_code: str = ""
    #: What the reference free field is prefilled with (the quote's or request's number).
    reference: str = ""

    def subject(self, account_id: uuid.UUID | None) -> Subject:
        return Subject(self.customer_id, account_id, self.quote_id, self.intervention_id)


def _target(session: Session, customer_id: uuid.UUID, account_id: uuid.UUID | None,
            **origin: Any) -> LetterTarget:
    """The customer (name, accounts: the quote's or request's first) and what the letter is
    made from."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFoundError("Client introuvable.")
    rows = sorted(session.execute(select(Account.id, Account.number)
                                  .where(Account.customer_id == customer_id)
                                  .order_by(Account.created_at)).all(),
                  key=lambda r: r[0] != account_id)
    return LetterTarget(customer_id, customer.display_name, tuple(
        (found, format_account_number(number)) for found, number in rows), **origin)


def target_for_quote(ctx: ServiceContext, quote_id: uuid.UUID) -> LetterTarget:
    with ctx.reading() as session:
        quote = session.get(WorksQuote, quote_id)
        if quote is None:
            raise NotFoundError("Devis introuvable.")
        if quote.customer_id is None:
            raise BusinessError(
                f"Le devis {quote.number} est établi pour un prospect : un courrier s'adresse à "
                "un client du fichier (le prospect devient client à la facturation du devis).")
        return _target(session, quote.customer_id, quote.account_id, quote_id=quote.id,
                       origin=f"Devis {quote.number}", template_code=QUOTE_TEMPLATE,
                       reference=quote.number)


def target_for_intervention(ctx: ServiceContext, request_id: uuid.UUID) -> LetterTarget:
    with ctx.reading() as session:
        request = session.get(InterventionRequest, request_id)
        if request is None:
            raise NotFoundError("Demande d'intervention introuvable.")
        if request.customer_id is None:
            raise BusinessError(
                f"La demande {request.number} n'est liée à aucun client : un courrier s'adresse "
                "à un client du fichier.")
        return _target(session, request.customer_id, request.account_id,
                       intervention_id=request.id, origin=f"Demande {request.number}",
                       template_code=INTERVENTION_TEMPLATE, reference=request.number)


def _issue(ctx: ServiceContext, target: LetterTarget, template_code: str,
           free: dict[str, str] | None) -> IssuedLetter:
    with ctx.reading() as session:
        template = template_by_code(session, ctx, template_code)
    texts = {"reference": target.reference, **(free or {})}
    account_id = target.accounts[0][0] if target.accounts else None
    return issue_letter(ctx, template.id, target.subject(account_id), texts)


def create_letter_for_quote(ctx: ServiceContext, quote_id: uuid.UUID,
                            template_code: str = QUOTE_TEMPLATE,
                            free: dict[str, str] | None = None) -> IssuedLetter:
    """Issues a letter about a works quote to its customer (numbered, stored as issued, listed
    on the customer file); ``devis.*`` fields are the quote's."""
    return _issue(ctx, target_for_quote(ctx, quote_id), template_code, free)


def create_letter_for_intervention(ctx: ServiceContext, request_id: uuid.UUID,
                                   template_code: str = INTERVENTION_TEMPLATE,
                                   free: dict[str, str] | None = None) -> IssuedLetter:
    """Issues a letter about an intervention request to its customer; ``intervention.*``
    fields are the request's (appointment, technician…)."""
    return _issue(ctx, target_for_intervention(ctx, request_id), template_code, free)


# --- batches ------------------------------------------------------------------------------------

#: Requests whose appointment still stands.
DUE_STATUSES = (InterventionStatus.SCHEDULED, InterventionStatus.REOPENED)


@dataclass(frozen=True)
class DueTomorrow:
    """Intervention requests with an appointment tomorrow (local day) and a customer: one
    letter each (an agency sends the "avis de passage" the day before)."""

    days_ahead: int = 1

    def day(self, ctx: ServiceContext) -> datetime:
        local = ctx.installation.today() + timedelta(days=self.days_ahead)
        return datetime.combine(local, time(0), tzinfo=ctx.installation.zone)

    def describe(self, ctx: ServiceContext) -> str:
        day = self.day(ctx)
        return (f"Demandes d'intervention avec rendez-vous le {WEEKDAYS[day.weekday()]} "
                f"{long_date(day.date())}")

    def subjects(self, session: Session, ctx: ServiceContext) -> list[Subject]:
        start = self.day(ctx)
        rows = session.execute(
            select(InterventionRequest.id, InterventionRequest.customer_id,
                   InterventionRequest.account_id)
            .where(InterventionRequest.scheduled_for >= start,
                   InterventionRequest.scheduled_for < start + timedelta(days=1),
                   InterventionRequest.status.in_(DUE_STATUSES),
                   InterventionRequest.customer_id.is_not(None))
            .order_by(InterventionRequest.scheduled_for, InterventionRequest.number)).all()
        return [Subject(customer_id, account_id, intervention_id=request_id)
                for request_id, customer_id, account_id in rows if customer_id is not None]

