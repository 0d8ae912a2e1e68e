"""Works invoices from an approved quote: a deposit (a percentage of the quote) then the balance,
or one invoice for the whole. Numbered in the agency's gap-free works series (``FT101-2026-…``),
posted to the customer's account at once (the solde à jour counts them until central's balance
does), integrated by central as issued at the next synchronisation. An invoice is never edited:
a credit note (same series) cancels it, and the quote can be invoiced again.

A quote made for a prospect gets its customer here: customer, premise and account are created
from what the quote holds, in the invoice's transaction; nothing is typed twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Account, Invoice, InvoiceLine, WorksQuote
from app.models.capture import set_reason
from app.models.enums import (
    AccountStatus,
    InvoiceKind,
    InvoiceLineKind,
    InvoiceStatus,
    QuoteStatus,
    Role,
)
from app.models.ids import new_id, utcnow
from app.services.customer_edit import AddressInput, NewCustomerInput, add_customer
from app.services.works.documents import (
    invoice_document_data,
    invoice_filename,
    render_and_store,
)
from app.services.works.quotes import INVOICEABLE, Prospect, line_input
from app.services.works.totals import percent_text, price_quote, summarise
from kernel.context import ServiceContext
from kernel.errors import BusinessError, NotFoundError, PermissionDeniedError, ValidationError
from kernel.numbering import Series, next_number
from kernel.pricing import PricedLine, line_vat_minor
from kernel.vocabulary import label

#: Days to pay a works invoice.
PAYMENT_DAYS = 15
CREDITING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})
DEPOSIT_LABEL = "Acompte de"
DEDUCTION_LABEL = "Déduction de l'acompte"


class InvoiceChoice(StrEnum):
    DEPOSIT = "deposit"
    BALANCE = "balance"
    FULL = "full"


@dataclass(frozen=True)
class IssuedInvoice:
    invoice_id: uuid.UUID
    number: str
    total_minor: int
    account_id: uuid.UUID
    customer_id: uuid.UUID
    pdf: bytes
    filename: str


@dataclass(frozen=True)
class QuoteInvoice:
    invoice_id: uuid.UUID
    number: str
    role: str
    total_minor: int
    credited_by: str


def role_of(invoice: Invoice) -> str:
    """deposit, balance, full or credit: read from the invoice's lines (their fixed labels)."""
    if invoice.kind is InvoiceKind.CREDIT_NOTE:
        return "credit"
    labels = [line.label for line in invoice.lines]
    if labels and all(text.startswith(DEPOSIT_LABEL) for text in labels):
        return "deposit"
    if any(text.startswith(DEDUCTION_LABEL) for text in labels):
        return "balance"
    return "full"


def _standing(session: Session, quote_id: uuid.UUID) -> list[Invoice]:
    """The quote's works invoices not cancelled by a credit note."""
    invoices = list(session.scalars(select(Invoice).where(Invoice.works_quote_id == quote_id)
                                    .order_by(Invoice.created_at)))
    credited = {i.credited_invoice_id for i in invoices if i.kind is InvoiceKind.CREDIT_NOTE}
    return [i for i in invoices if i.kind is InvoiceKind.WORKS and i.id not in credited
            and i.status is not InvoiceStatus.CREDITED]


def _deposit_lines(quote: WorksQuote, rate: Decimal, ctx: ServiceContext) -> list[PricedLine]:
    currency = ctx.installation.currency
    priced = price_quote([line_input(line) for line in quote.lines], quote.discount_rate,
                         currency)
    rates = priced.by_rate()
    lines = []
    for summary in rates:
        excl = currency.to_minor(currency.from_minor(summary.base_minor) * rate)
        text = f"{DEPOSIT_LABEL} {percent_text(rate)} sur le devis {quote.number}"
        if len(rates) > 1:
            text += f" (TVA {percent_text(summary.vat_rate)})"
        lines.append(PricedLine(InvoiceLineKind.WORKS, text, Decimal(1), "",
                                currency.from_minor(excl), excl, summary.vat_rate,
                                line_vat_minor(excl, summary.vat_rate, currency)))
    return lines


def _balance_lines(quote: WorksQuote, deposit: Invoice, ctx: ServiceContext) -> list[PricedLine]:
    priced = price_quote([line_input(line) for line in quote.lines], quote.discount_rate,
                         ctx.installation.currency)
    deductions = [PricedLine(InvoiceLineKind.ADJUSTMENT,
                             f"{DEDUCTION_LABEL} (facture {deposit.number})", Decimal(1), "",
                             -line.unit_price, -line.amount_excl_vat_minor, line.vat_rate,
                             -line.vat_minor)
                  for line in deposit.lines]
    return [*priced.all_lines, *deductions]


def customer_for(ctx: ServiceContext, session: Session, quote: WorksQuote) -> Account:
    """The quote's account; a prospect becomes a customer (customer, premise, account)."""
    if quote.account_id is None:
        prospect = Prospect(quote.prospect_civility, quote.prospect_last_name,
                            quote.prospect_first_name, quote.prospect_phone, quote.commune_id,
                            quote.prospect_street_id, quote.prospect_house_number,
                            quote.prospect_complement)
        created = add_customer(ctx, session, NewCustomerInput(
            prospect.identity(), AddressInput(prospect.commune_id, prospect.street_id,
                                              prospect.house_number, prospect.complement)))
        quote.customer_id = created.customer_id
        quote.account_id = created.account_id
        quote.premise_id = created.premise_id
        session.flush()
    account = session.get(Account, quote.account_id)
    assert account is not None
    if account.status is AccountStatus.CLOSED:
        raise BusinessError("Le compte du devis est clos : facturez sur un compte ouvert "
                            "(faites une révision du devis pour ce compte).")
    return account


def _issue(ctx: ServiceContext, session: Session, *, account: Account, quote: WorksQuote,
           kind: InvoiceKind, lines: list[PricedLine], role: str,
           credited: Invoice | None = None) -> IssuedInvoice:
    today = ctx.installation.today()
    invoice = Invoice(
        id=new_id(),
        agency_id=ctx.installation.agency_id,
        number=next_number(session, ctx.installation.agency_code, Series.WORKS_INVOICE,
                           today.year),
        kind=kind, status=InvoiceStatus.ISSUED, account_id=account.id,
        works_quote_id=quote.id, credited_invoice_id=credited.id if credited else None,
        issued_on=today, due_on=None if credited else today + timedelta(days=PAYMENT_DAYS),
        total_excl_vat_minor=sum(line.amount_excl_vat_minor for line in lines),
        vat_minor=sum(line.vat_minor for line in lines),
        total_minor=sum(line.amount_minor for line in lines), is_estimated=False,
    )
    invoice.lines = [
        InvoiceLine(agency_id=ctx.installation.agency_id, invoice_id=invoice.id,
                    position=position, kind=line.kind,
                    label=line.label[:200], quantity=line.quantity, unit=line.unit[:10],
                    unit_price=line.unit_price, amount_excl_vat_minor=line.amount_excl_vat_minor,
                    vat_rate=line.vat_rate, vat_minor=line.vat_minor,
                    amount_minor=line.amount_minor)
        for position, line in enumerate(lines, start=1)
    ]
    session.add(invoice)
    session.flush()
    pdf, _document = render_and_store(ctx, session,
                                      invoice_document_data(ctx, session, invoice, role),
                                      "works_invoice", invoice_filename(invoice.number))
    return IssuedInvoice(invoice.id, invoice.number, invoice.total_minor, account.id,
                         account.customer_id, pdf, invoice_filename(invoice.number))


def invoice_quote(ctx: ServiceContext, quote_id: uuid.UUID, choice: InvoiceChoice,
                  deposit_rate: Decimal | None = None) -> IssuedInvoice:
    """Issues the deposit, the balance or the one invoice of an approved quote."""
    if choice is InvoiceChoice.DEPOSIT and (deposit_rate is None or not 0 < deposit_rate < 1):
        raise ValidationError({"deposit": "L'acompte est un pourcentage entre 0 et 100"})
    with ctx.unit_of_work() as uow:
        session = uow.session
        quote = session.get(WorksQuote, quote_id,
                            with_for_update=session.get_bind().dialect.name == "postgresql")
        if quote is None:
            raise NotFoundError("Devis introuvable.")
        if quote.status not in INVOICEABLE:
            raise BusinessError(f"Le devis {quote.number} est {label(quote.status).lower()} : "
                                "seul un devis accepté se facture.")
        standing = _standing(session, quote.id)
        deposits = [i for i in standing if role_of(i) == "deposit"]
        if choice is InvoiceChoice.BALANCE:
            if not deposits:
                raise BusinessError(f"Aucun acompte facturé sur le devis {quote.number} : "
                                    "faites une facture unique.")
            lines = _balance_lines(quote, deposits[0], ctx)
        elif standing:
            raise BusinessError(f"Le devis {quote.number} a déjà la facture "
                                f"{standing[0].number}" + (" : facturez le solde." if deposits
                                                           else "."))
        elif choice is InvoiceChoice.DEPOSIT:
            assert deposit_rate is not None
            lines = _deposit_lines(quote, deposit_rate, ctx)
        else:
            lines = list(price_quote([line_input(line) for line in quote.lines],
                                     quote.discount_rate, ctx.installation.currency).all_lines)
        account = customer_for(ctx, session, quote)
        issued = _issue(ctx, session, account=account, quote=quote, kind=InvoiceKind.WORKS,
                        lines=lines, role=choice.value)
        if choice is not InvoiceChoice.DEPOSIT:
            quote.status = QuoteStatus.INVOICED
            quote.invoiced_at = utcnow()
            quote.invoiced_by = ctx.user.full_name[:40] if ctx.user else ctx.actor.username
        uow.commit()
        return issued


def credit_invoice(ctx: ServiceContext, invoice_id: uuid.UUID, reason: str) -> IssuedInvoice:
    """A credit note (supervisor) cancelling a works invoice: same lines, opposite amounts, in
    the works series; the quote can be invoiced again."""
    if ctx.user is None or ctx.user.role not in CREDITING_ROLES:
        raise PermissionDeniedError("Seul un superviseur peut faire un avoir.")
    reason = " ".join(reason.split())
    if len(reason) < 5:
        raise ValidationError({"reason": "Indiquez le motif de l'avoir"})
    with ctx.unit_of_work() as uow:
        session = uow.session
        invoice = session.get(Invoice, invoice_id)
        if invoice is None or invoice.kind is not InvoiceKind.WORKS \
                or invoice.works_quote_id is None:
            raise NotFoundError("Facture de travaux introuvable.")
        quote = session.get(WorksQuote, invoice.works_quote_id)
        assert quote is not None
        if invoice not in _standing(session, quote.id):
            raise BusinessError(f"La facture {invoice.number} est déjà annulée par un avoir.")
        role = role_of(invoice)
        if role == "deposit" and any(role_of(i) == "balance" for i in _standing(session,
                                                                                 quote.id)):
            raise BusinessError("Le solde déduit cet acompte : faites d'abord l'avoir du solde.")
        set_reason(session, f"avoir sur la facture {invoice.number} : {reason}"[:200])
        lines = [PricedLine(line.kind, f"Annulation : {line.label}"[:200], line.quantity,
                            line.unit, -line.unit_price, -line.amount_excl_vat_minor,
                            line.vat_rate, -line.vat_minor) for line in invoice.lines]
        account = session.get(Account, invoice.account_id)
        assert account is not None
        issued = _issue(ctx, session, account=account, quote=quote,
                        kind=InvoiceKind.CREDIT_NOTE, lines=lines, role="credit",
                        credited=invoice)
        if role != "deposit" and quote.status is QuoteStatus.INVOICED:
            quote.status = QuoteStatus.ORDERED if quote.ordered_at else QuoteStatus.APPROVED
            quote.invoiced_at = None
            quote.invoiced_by = ""
        uow.commit()
        return issued


def quote_invoices(ctx: ServiceContext, quote_id: uuid.UUID) -> list[QuoteInvoice]:
    with ctx.reading() as session:
        invoices = list(session.scalars(select(Invoice).where(
            Invoice.works_quote_id == quote_id).order_by(Invoice.created_at)))
        credits = {i.credited_invoice_id: i.number for i in invoices
                   if i.kind is InvoiceKind.CREDIT_NOTE}
        return [QuoteInvoice(i.id, i.number, role_of(i), i.total_minor, credits.get(i.id, ""))
                for i in invoices]


def vat_summary(invoice: Invoice) -> list[tuple[Decimal, int, int]]:
    return [(r.vat_rate, r.base_minor, r.vat_minor) for r in summarise(
        [PricedLine(line.kind, line.label, line.quantity, line.unit, line.unit_price,
                    line.amount_excl_vat_minor, line.vat_rate, line.vat_minor)
         for line in invoice.lines])]
