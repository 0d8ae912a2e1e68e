"""The quotes and works invoices lists (filters, counts and totals, CSV export), the customer
file's works tab, and the monthly works report per agency."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from app.models import Account, Commune, Customer, Invoice, WorksQuote
from app.models.enums import Civility, CustomerKind, InvoiceKind, QuoteStatus
from app.models.works import glued_words
from app.services.search import named_customer_condition
from app.services.works.quotes import EXPIRING_SOON
from kernel.context import ServiceContext
from kernel.vocabulary import label

PAGE = 500


@dataclass(frozen=True)
class QuoteFilter:
    status: QuoteStatus | None = None
    date_from: date | None = None
    date_to: date | None = None
    agent: str = ""
    commune_id: uuid.UUID | None = None
    min_total_minor: int | None = None
    max_total_minor: int | None = None
    #: A quote number (or its start) or a few letters of the customer's or prospect's name.
    text: str = ""
    customer_id: uuid.UUID | None = None


@dataclass(frozen=True)
class QuoteRow:
    quote_id: uuid.UUID
    number: str
    issued_on: date
    party: str
    commune: str
    status: QuoteStatus
    valid_until: date
    total_minor: int
    prepared_by: str
    is_prospect: bool
    #: Sent and its validity ends within a week.
    expiring_soon: bool

    @property
    def status_label(self) -> str:
        return label(self.status)


@dataclass(frozen=True)
class QuoteList:
    rows: list[QuoteRow]
    count: int
    total_minor: int


def _party(kind: CustomerKind | None, civility: Civility | None, last: str | None,
           first: str | None, organisation: str | None, prospect_civility: Civility | None,
           prospect_last: str, prospect_first: str) -> str:
    if kind is CustomerKind.ORGANISATION:
        return organisation or ""
    if kind is not None:
        parts = [civility.value if civility else "", (last or "").upper(), first or ""]
    elif prospect_civility is Civility.COMPANY:
        return f"{prospect_last} (prospect)"
    else:
        parts = [prospect_civility.value if prospect_civility else "", prospect_last.upper(),
                 prospect_first, "(prospect)"]
    return " ".join(p for p in parts if p)


def _contains(dialect: str, column: Any, text: str) -> ColumnElement[bool]:
    """Case-insensitive "contains": SQLite's LIKE already ignores case (lower() on every row
    would only slow it down); PostgreSQL needs ILIKE."""
    pattern = f"%{text}%"
    return column.like(pattern) if dialect == "sqlite" else column.ilike(pattern)


def _quote_conditions(given: QuoteFilter, session: Session) -> list[ColumnElement[bool]]:
    """(A desk holds only its agency's quotes: no agency condition, which would make the
    database walk the agency index instead of the list's own.)"""
    dialect = session.get_bind().dialect.name
    conditions: list[ColumnElement[bool]] = []
    if given.status is not None:
        conditions.append(WorksQuote.status == given.status)
    if given.date_from is not None:
        conditions.append(WorksQuote.issued_on >= given.date_from)
    if given.date_to is not None:
        conditions.append(WorksQuote.issued_on <= given.date_to)
    if given.agent.strip():
        conditions.append(_contains(dialect, WorksQuote.prepared_by, given.agent.strip()))
    if given.commune_id is not None:
        conditions.append(WorksQuote.commune_id == given.commune_id)
    if given.min_total_minor is not None:
        conditions.append(WorksQuote.total_minor >= given.min_total_minor)
    if given.max_total_minor is not None:
        conditions.append(WorksQuote.total_minor <= given.max_total_minor)
    if given.customer_id is not None:
        conditions.append(WorksQuote.customer_id == given.customer_id)
    text = given.text.strip()
    if text:
        if text.upper().startswith("DV"):
            start = text.upper()  # a range, so that the numbers' index answers
            conditions += [WorksQuote.number >= start, WorksQuote.number < start + "\uffff"]
        else:
            conditions.append(_named(session, text))
    return conditions


def _named(session: Session, text: str) -> ColumnElement[bool]:
    """A few letters of the customer's names (the customer search index: any word, any order,
    accents ignored) or of the prospect's (a range on ``prospect_key``: the last name's start,
    then the other words anywhere in it). Both sides are indexed: the database reads the two
    index ranges and their union, never the whole table."""
    words = glued_words(text)
    if not words:
        return true()
    first, rest = words[0], words[1:]
    if session.get_bind().dialect.name == "sqlite":
        # the key holds only [0-9a-z ]: a byte range (SQLite's LIKE would ignore the index)
        start = [WorksQuote.prospect_key >= first, WorksQuote.prospect_key < first + "\x7f"]
    else:  # its index has text_pattern_ops: a LIKE prefix is a range whatever the collation
        start = [WorksQuote.prospect_key.like(f"{first}%")]
    prospect = and_(*start, *(WorksQuote.prospect_key.like(f"%{w}%") for w in rest))
    customers = named_customer_condition(session, text, WorksQuote.customer_id)
    return prospect if customers is None else or_(customers, prospect)


def list_quotes(ctx: ServiceContext, given: QuoteFilter, limit: int = PAGE) -> QuoteList:
    today = ctx.installation.today()
    with ctx.reading() as session:
        conditions = _quote_conditions(given, session)
        count, total = session.execute(
            select(func.count(), func.coalesce(func.sum(WorksQuote.total_minor), 0))
            .select_from(WorksQuote).where(*conditions)).one()
        rows = session.execute(
            select(WorksQuote.id, WorksQuote.number, WorksQuote.issued_on, WorksQuote.status,
                   WorksQuote.valid_until, WorksQuote.total_minor, WorksQuote.prepared_by,
                   WorksQuote.customer_id, WorksQuote.prospect_civility,
                   WorksQuote.prospect_last_name, WorksQuote.prospect_first_name,
                   Customer.kind, Customer.civility, Customer.last_name, Customer.first_name,
                   Customer.organisation_name, Commune.name)
            .outerjoin(Customer, Customer.id == WorksQuote.customer_id)
            .outerjoin(Commune, Commune.id == WorksQuote.commune_id)
            # the page's numbers first: sorted from the index that answered the filter (the
            # names search's hold the date and number), then the few rows read
            .where(WorksQuote.number.in_(
                select(WorksQuote.number).where(*conditions)
                .order_by(WorksQuote.issued_on.desc(), WorksQuote.number.desc())
                .limit(limit)))
            .order_by(WorksQuote.issued_on.desc(), WorksQuote.number.desc())).all()
    return QuoteList([
        QuoteRow(r[0], r[1], r[2], _party(r[11], r[12], r[13], r[14], r[15], r[8], r[9], r[10]),
                 r[16] or "", r[3], r[4], r[5], r[6], r[7] is None,
                 r[3] is QuoteStatus.SENT and r[4] - today <= EXPIRING_SOON)
        for r in rows
    ], int(count), int(total))


def quotes_csv(ctx: ServiceContext, given: QuoteFilter) -> str:
    """The whole filtered list (not only the rows shown), ``;``-separated for French Excel."""
    listed = list_quotes(ctx, given, limit=1_000_000)
    currency = ctx.installation.currency
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["Numéro", "Date", "Client", "Commune", "Statut", "Validité",
                     "Montant TTC", "Établi par"])
    for row in listed.rows:
        writer.writerow([row.number, f"{row.issued_on:%d/%m/%Y}", row.party, row.commune,
                         row.status_label, f"{row.valid_until:%d/%m/%Y}",
                         str(currency.from_minor(row.total_minor)).replace(".", ","),
                         row.prepared_by])
    return out.getvalue()


@dataclass(frozen=True)
class InvoiceFilter:
    date_from: date | None = None
    date_to: date | None = None
    text: str = ""
    customer_id: uuid.UUID | None = None
    min_total_minor: int | None = None
    max_total_minor: int | None = None
    #: Who prepared the quote or invoiced it (a few letters of the name).
    agent: str = ""
    #: The commune of the works site (the quote's).
    commune_id: uuid.UUID | None = None


@dataclass(frozen=True)
class WorksInvoiceRow:
    invoice_id: uuid.UUID
    number: str
    kind: str
    issued_on: date
    party: str
    account_number: str
    quote_number: str
    total_minor: int
    credited: bool
    commune: str = ""
    #: Who invoiced the quote's works.
    invoiced_by: str = ""


@dataclass(frozen=True)
class InvoiceList:
    rows: list[WorksInvoiceRow]
    count: int
    total_minor: int


def list_works_invoices(ctx: ServiceContext, given: InvoiceFilter,
                        limit: int = PAGE) -> InvoiceList:
    credit = aliased(Invoice)
    conditions: list[ColumnElement[bool]] = [
        Invoice.kind.in_((InvoiceKind.WORKS, InvoiceKind.CREDIT_NOTE)),
        Invoice.works_quote_id.is_not(None),
        Invoice.agency_id == ctx.installation.agency_id,
    ]
    if given.date_from is not None:
        conditions.append(Invoice.issued_on >= given.date_from)
    if given.date_to is not None:
        conditions.append(Invoice.issued_on <= given.date_to)
    if given.customer_id is not None:
        conditions.append(Account.customer_id == given.customer_id)
    if given.min_total_minor is not None:
        conditions.append(Invoice.total_minor >= given.min_total_minor)
    if given.max_total_minor is not None:
        conditions.append(Invoice.total_minor <= given.max_total_minor)
    if given.text.strip():
        pattern = f"%{given.text.strip()}%"
        conditions.append(or_(Invoice.number.ilike(pattern), Customer.last_name.ilike(pattern),
                              Customer.organisation_name.ilike(pattern)))
    if given.agent.strip():
        pattern = f"%{given.agent.strip()}%"
        conditions.append(or_(WorksQuote.prepared_by.ilike(pattern),
                              WorksQuote.invoiced_by.ilike(pattern)))
    if given.commune_id is not None:
        conditions.append(WorksQuote.commune_id == given.commune_id)
    base: Any = (select(Invoice.id).join(Account, Account.id == Invoice.account_id)
                 .join(Customer, Customer.id == Account.customer_id)
                 .outerjoin(WorksQuote, WorksQuote.id == Invoice.works_quote_id)
                 .where(*conditions))
    with ctx.reading() as session:
        count, total = session.execute(
            select(func.count(), func.coalesce(func.sum(Invoice.total_minor), 0))
            .where(Invoice.id.in_(base))).one()
        rows = session.execute(
            select(Invoice.id, Invoice.number, Invoice.kind, Invoice.issued_on,
                   Customer.kind, Customer.civility, Customer.last_name, Customer.first_name,
                   Customer.organisation_name, Account.number, WorksQuote.number,
                   Invoice.total_minor, credit.id, Commune.name, WorksQuote.invoiced_by)
            .join(Account, Account.id == Invoice.account_id)
            .join(Customer, Customer.id == Account.customer_id)
            .outerjoin(WorksQuote, WorksQuote.id == Invoice.works_quote_id)
            .outerjoin(Commune, Commune.id == WorksQuote.commune_id)
            .outerjoin(credit, and_(credit.credited_invoice_id == Invoice.id,
                                    credit.kind == InvoiceKind.CREDIT_NOTE))
            .where(*conditions)
            .order_by(Invoice.issued_on.desc(), Invoice.number.desc()).limit(limit)).all()
    from kernel.identifiers import format_account_number

    return InvoiceList([
        WorksInvoiceRow(r[0], r[1], label(r[2]), r[3],
                        _party(r[4], r[5], r[6], r[7], r[8], None, "", ""),
                        format_account_number(r[9]), r[10] or "", r[11], r[12] is not None,
                        r[13] or "", r[14] or "")
        for r in rows
    ], int(count), int(total))


def invoices_csv(ctx: ServiceContext, given: InvoiceFilter) -> str:
    listed = list_works_invoices(ctx, given, limit=1_000_000)
    currency = ctx.installation.currency
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["Numéro", "Type", "Date", "Client", "Compte", "Devis", "Commune",
                     "Montant TTC", "Annulée par avoir", "Facturée par"])
    for row in listed.rows:
        writer.writerow([row.number, row.kind, f"{row.issued_on:%d/%m/%Y}", row.party,
                         row.account_number, row.quote_number, row.commune,
                         str(currency.from_minor(row.total_minor)).replace(".", ","),
                         "oui" if row.credited else "", row.invoiced_by])
    return out.getvalue()


@dataclass(frozen=True)
class CustomerWorks:
    quotes: list[QuoteRow]
    invoices: list[WorksInvoiceRow]


def customer_works(ctx: ServiceContext, customer_id: uuid.UUID) -> CustomerWorks:
    """The customer file's "Devis" tab: its quotes and its works invoices."""
    return CustomerWorks(list_quotes(ctx, QuoteFilter(customer_id=customer_id)).rows,
                         list_works_invoices(ctx, InvoiceFilter(customer_id=customer_id)).rows)


@dataclass(frozen=True)
class MonthlyReport:
    agency: str
    month: str
    issued: int
    approved: int
    refused: int
    expired: int
    invoiced_minor: int
    #: Deposits invoiced whose balance is not invoiced yet.
    deposits_outstanding_minor: int

    @property
    def approval_rate(self) -> float | None:
        decided = self.approved + self.refused + self.expired
        return self.approved / decided if decided else None


def monthly_report(ctx: ServiceContext, year: int, month: int) -> MonthlyReport:
    """Quotes issued, approved, refused and expired in the month, the approval rate (approved
    out of the quotes decided), the amount invoiced and the deposits still waiting a balance."""
    from app.services.works.invoicing import role_of

    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    zone = ctx.installation.zone
    agency = ctx.installation.agency_id

    def in_month(column: Any) -> ColumnElement[bool]:
        from datetime import datetime, time

        low = datetime.combine(start, time(), zone)
        high = datetime.combine(end, time(), zone)
        return and_(column >= low, column < high)

    with ctx.reading() as session:
        def count(*conditions: ColumnElement[bool]) -> int:
            return int(session.scalar(select(func.count()).select_from(WorksQuote).where(
                WorksQuote.agency_id == agency, *conditions)) or 0)

        issued = count(WorksQuote.issued_on >= start, WorksQuote.issued_on < end,
                       WorksQuote.revision == 1)
        approved = count(WorksQuote.approved_on >= start, WorksQuote.approved_on < end)
        refused = count(in_month(WorksQuote.refused_at))
        expired = count(in_month(WorksQuote.expired_at))
        invoiced = int(session.scalar(select(func.coalesce(func.sum(Invoice.total_minor), 0))
                                      .where(Invoice.agency_id == agency,
                                             Invoice.works_quote_id.is_not(None),
                                             Invoice.issued_on >= start,
                                             Invoice.issued_on < end)) or 0)
        outstanding = 0
        invoices = list(session.scalars(select(Invoice).where(
            Invoice.agency_id == agency, Invoice.works_quote_id.is_not(None),
            Invoice.issued_on < end)))
        credited = {i.credited_invoice_id for i in invoices if i.kind is InvoiceKind.CREDIT_NOTE}
        standing = [i for i in invoices if i.kind is InvoiceKind.WORKS and i.id not in credited]
        balanced = {i.works_quote_id for i in standing if role_of(i) in ("balance", "full")}
        for invoice in standing:
            if role_of(invoice) == "deposit" and invoice.works_quote_id not in balanced:
                outstanding += invoice.total_minor
    return MonthlyReport(ctx.installation.agency_name, f"{start:%m/%Y}", issued, approved,
                         refused, expired, invoiced, outstanding)


def monthly_report_csv(ctx: ServiceContext, report: MonthlyReport) -> str:
    currency = ctx.installation.currency
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    rate = report.approval_rate
    writer.writerow(["Agence", "Mois", "Devis émis", "Acceptés", "Refusés", "Expirés",
                     "Taux d'acceptation", "Montant facturé", "Acomptes en attente de solde"])
    writer.writerow([report.agency, report.month, report.issued, report.approved,
                     report.refused, report.expired,
                     "" if rate is None else f"{rate * 100:.1f} %".replace(".", ","),
                     str(currency.from_minor(report.invoiced_minor)).replace(".", ","),
                     str(currency.from_minor(report.deposits_outstanding_minor))
                     .replace(".", ",")])
    return out.getvalue()


def monthly_report_pdf(ctx: ServiceContext, report: MonthlyReport) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    from app.services.documents.pdf import BOLD, REGULAR, register_fonts

    register_fonts()
    currency = ctx.installation.currency
    buffer = io.BytesIO()
    pdf = Canvas(buffer, pagesize=A4, invariant=True)
    pdf.setTitle(f"Rapport travaux {report.month}")
    y = A4[1] - 25 * mm
    pdf.setFont(BOLD, 15)
    pdf.drawString(20 * mm, y, report.agency)
    pdf.setFont(BOLD, 12)
    pdf.drawString(20 * mm, y - 10 * mm, f"Rapport mensuel des travaux — {report.month}")
    rate = report.approval_rate
    rows = [
        ("Devis émis", str(report.issued)),
        ("Devis acceptés", str(report.approved)),
        ("Devis refusés", str(report.refused)),
        ("Devis expirés", str(report.expired)),
        ("Taux d'acceptation", "—" if rate is None else f"{rate * 100:.1f} %".replace(".", ",")),
        ("Montant facturé (TTC)", currency.format_minor(report.invoiced_minor)),
        ("Acomptes en attente de solde", currency.format_minor(
            report.deposits_outstanding_minor)),
    ]
    y -= 28 * mm
    for caption, value in rows:
        pdf.setFont(REGULAR, 10.5)
        pdf.drawString(20 * mm, y, caption)
        pdf.setFont(BOLD, 10.5)
        pdf.drawRightString(A4[0] - 20 * mm, y, value)
        y -= 8 * mm
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def quotes_to_follow_up(ctx: ServiceContext) -> str:
    """The home page's card: sent quotes whose validity ends within a week."""
    today = ctx.installation.today()
    with ctx.reading() as session:
        count = int(session.scalar(select(func.count()).select_from(WorksQuote).where(
            WorksQuote.status == QuoteStatus.SENT, WorksQuote.valid_until >= today,
            WorksQuote.valid_until <= today + EXPIRING_SOON)) or 0)
    return f"{count} devis expire(nt) dans la semaine" if count else "aucun"
