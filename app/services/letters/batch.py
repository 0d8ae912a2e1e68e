"""Letters in batches: a selection of customers, one letter each, run by chunks that can be
cancelled and resumed, then one merged document to print in one go.

Each chunk is merged outside the write transaction (with the numbers the counter will give
next), then written in one short transaction that takes those numbers: a cancelled batch stops
between chunks, so it leaves neither a hole in the numbering nor half a letter. Resuming skips
the subjects that already have their letter in the batch: each letter is made exactly once."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Account, Document, Invoice, Letter, LetterTemplate, Payment, Premise
from app.models.enums import InvoiceStatus
from app.models.ids import new_id, utcnow
from app.services.balances import balances_of
from app.services.letters import engine
from app.services.letters.fields import Subject, amount
from app.services.letters.issue import DOCX, Merged, merge_one, peek_counter, store
from app.services.letters.templates import require_origin, require_usable, template_content
from kernel.context import ServiceContext
from kernel.errors import BusinessError
from kernel.numbering import Series, next_counter


class Selection(Protocol):
    """Who gets a letter. Modules add their own (interventions: requests due tomorrow)."""

    def describe(self, ctx: ServiceContext) -> str: ...

    def subjects(self, session: Session, ctx: ServiceContext) -> list[Subject]: ...


@dataclass(frozen=True)
class InArrears:
    """Accounts whose invoices due more than ``days`` ago and unpaid add up to ``min_minor``."""

    min_minor: int
    days: int

    def describe(self, ctx: ServiceContext) -> str:
        return (f"Comptes avec plus de {amount(ctx, self.min_minor)} d'impayés échus depuis plus "
                f"de {self.days} jours")

    def subjects(self, session: Session, ctx: ServiceContext) -> list[Subject]:
        cutoff = ctx.installation.today() - timedelta(days=self.days)
        paid = select(Payment.invoice_id).where(Payment.invoice_id.is_not(None),
                                                Payment.is_cancelled.is_(False))
        rows = session.execute(
            select(Account.id, Account.customer_id, func.sum(Invoice.total_minor))
            .join(Invoice, Invoice.account_id == Account.id)
            .where(Invoice.status == InvoiceStatus.ISSUED, Invoice.total_minor > 0,
                   Invoice.due_on < cutoff, Invoice.id.not_in(paid))
            .group_by(Account.id, Account.customer_id)
            .having(func.sum(Invoice.total_minor) >= self.min_minor)
            .order_by(Account.number)).all()
        balances = balances_of(session, [r[0] for r in rows])
        return [Subject(customer_id, account_id) for account_id, customer_id, _ in rows
                if balances[account_id].current_minor >= self.min_minor]


@dataclass(frozen=True)
class OnStreet:
    """Every account billed at a premise of a street (before works on that street)."""

    street_id: uuid.UUID
    street_name: str = ""

    def describe(self, ctx: ServiceContext) -> str:
        return f"Clients de la rue {self.street_name}".strip()

    def subjects(self, session: Session, ctx: ServiceContext) -> list[Subject]:
        rows = session.execute(
            select(Account.id, Account.customer_id)
            .join(Premise, Premise.id == Account.billing_premise_id)
            .where(Premise.street_id == self.street_id)
            .order_by(Premise.house_number, Account.number)).all()
        return [Subject(customer_id, account_id) for account_id, customer_id in rows]


@dataclass
class BatchPlan:
    template_id: uuid.UUID
    description: str
    subjects: list[Subject]
    free: dict[str, str] = field(default_factory=dict)
    ref: str = field(default_factory=lambda: f"LOT-{new_id().hex[:12]}")


@dataclass(frozen=True)
class BatchProgress:
    done: int
    total: int
    cancelled: bool


@dataclass(frozen=True)
class BatchOutput:
    data: bytes
    filename: str
    is_pdf: bool
    letters: int


def plan_batch(ctx: ServiceContext, template_id: uuid.UUID, selection: Selection,
               free: dict[str, str] | None = None) -> BatchPlan:
    """Who the batch writes to (shown as a count before it runs)."""
    with ctx.reading() as session:
        template = template_content(session, template_id)
        require_usable(template)
        subjects = selection.subjects(session, ctx)
        require_origin(template, subjects)
    return BatchPlan(template_id, selection.describe(ctx), subjects, dict(free or {}))


_Key = tuple[str, str, str, str]


def _key(subject: Subject) -> _Key:
    return (str(subject.customer_id), str(subject.account_id or ""),
            str(subject.quote_id or ""), str(subject.intervention_id or ""))


def _done(session: Session, plan: BatchPlan) -> set[_Key]:
    """The subjects that have their letter in the batch (two requests of one customer are two
    letters: the snapshot says which request each letter was made from)."""
    done = set()
    for customer_id, account_id, data in session.execute(
            select(Letter.customer_id, Letter.account_id, Letter.merged_data)
            .where(Letter.batch_ref == plan.ref)):
        made = json.loads(data or "{}").get("sujet", {})
        done.add((str(customer_id), str(account_id or ""), made.get("devis", ""),
                  made.get("intervention", "")))
    return done


def run_batch(ctx: ServiceContext, plan: BatchPlan,
              progress: Callable[[BatchProgress], None] | None = None,
              cancelled: Callable[[], bool] = lambda: False, chunk: int = 20) -> BatchProgress:
    """Makes the letters of the plan not yet made; stops between two chunks when ``cancelled``
    says so. Run it again to resume."""
    year = ctx.installation.today().year
    total = len(plan.subjects)
    with ctx.reading() as session:
        made = _done(session, plan)
    todo = [s for s in plan.subjects if _key(s) not in made]
    done = total - len(todo)
    if progress:
        progress(BatchProgress(done, total, False))
    for start in range(0, len(todo), chunk):
        if cancelled():
            return BatchProgress(done, total, True)
        part = todo[start:start + chunk]
        with ctx.reading() as session:
            template = template_content(session, plan.template_id)
            first = peek_counter(session, ctx, year)
            merged = [merge_one(session, ctx, template, subject, plan.free, first + i, year)
                      for i, subject in enumerate(part)]
            revision = template.revision
        _write_chunk(ctx, plan, merged, revision, year)
        done += len(part)
        if progress:
            progress(BatchProgress(done, total, False))
    return BatchProgress(done, total, False)


def _write_chunk(ctx: ServiceContext, plan: BatchPlan, merged: list[Merged], revision: int,
                 year: int) -> None:
    with ctx.unit_of_work() as uow:
        session = uow.session
        template = template_content(session, plan.template_id)
        for item in merged:
            counter = next_counter(session, ctx.installation.agency_code, Series.LETTER, year)
            if counter != item.counter or template.revision != revision:
                item = merge_one(session, ctx, template, item.subject, plan.free, counter, year)
            store(session, ctx, template, item, plan.free.get("objet") or template.name,
                  plan.ref)
        uow.commit()


def batch_output(ctx: ServiceContext, plan: BatchPlan, pdf: bool | None = None) -> BatchOutput:
    """One document with every letter of the batch, in number order: a PDF made by one
    LibreOffice conversion when it is installed, else a .docx. Archived as a document."""
    with ctx.reading() as session:
        letters = list(session.scalars(
            select(Document.content).join(Letter, Letter.document_id == Document.id)
            .where(Letter.batch_ref == plan.ref).order_by(Letter.number)))
        template = session.get(LetterTemplate, plan.template_id)
        assert template is not None
        name = template.code.lower()
    if not letters:
        raise BusinessError("Ce lot ne contient encore aucun courrier.")
    merged = engine.merge_docx(letters)
    as_pdf = engine.office_program() is not None if pdf is None else pdf
    data = engine.to_pdf(merged) if as_pdf else merged
    filename = f"{plan.ref.lower()}-{name}.{'pdf' if as_pdf else 'docx'}"
    with ctx.unit_of_work() as uow:
        uow.session.add(Document(agency_id=ctx.installation.agency_id, kind="letter_batch",
                                 filename=filename,
                                 media_type="application/pdf" if as_pdf else DOCX,
                                 content=data, sha256=hashlib.sha256(data).hexdigest(),
                                 size=len(data), created_at=utcnow()))
        uow.commit()
    return BatchOutput(data, filename, as_pdf, len(letters))


def streets_with_customers(ctx: ServiceContext) -> list[tuple[uuid.UUID, str]]:
    """The streets where at least one account is billed, ``(id, "street — commune")``."""
    from app.models import Commune, Street

    with ctx.reading() as session:
        rows = session.execute(
            select(Street.id, Street.name, Commune.name).join(Commune, Commune.id == Street.commune_id)
            .where(Street.id.in_(select(Premise.street_id).join(
                Account, Account.billing_premise_id == Premise.id)))
            .order_by(Commune.name, Street.name)).all()
    return [(street_id, f"{street} — {commune}") for street_id, street, commune in rows]
