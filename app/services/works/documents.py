"""The PDFs of quotes and works invoices: what they say (from the rows), kept as issued, and
reprinted as duplicatas of the stored bytes (never rendered again from today's data)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Account, Agency, Document, Invoice, WorksCatalogueItem, WorksQuote
from app.models.capture import set_reason
from app.models.enums import InvoiceKind
from app.models.ids import utcnow
from app.services.documents.works_pdf import (
    DocumentLine,
    RateLine,
    WorksDocumentData,
    render_works_document,
)
from app.services.works.totals import summarise
from kernel.context import ServiceContext
from kernel.errors import NotFoundError
from kernel.identifiers import format_account_number

QUOTE_MENTIONS = (
    "Devis gratuit. Les prix s'entendent hors taxes, TVA au taux en vigueur en sus.",
    "Les travaux commencent après l'accord écrit du client et, s'il est demandé, le "
    "règlement de l'acompte.",
    "Au-delà de sa date de validité, ce devis doit être révisé.",
)
INVOICE_MENTIONS = (
    "Facture payable à l'agence, par mobile money ou par virement, à réception.",
    "En cas de retard de paiement, la fourniture peut être suspendue après mise en demeure.",
    "Toute réclamation doit être adressée à l'agence dans les trente jours.",
)
INVOICE_TITLES = {
    "deposit": "FACTURE D'ACOMPTE",
    "balance": "FACTURE DE SOLDE",
    "full": "FACTURE DE TRAVAUX",
    "credit": "AVOIR",
}


def _agency(ctx: ServiceContext, session: Session) -> tuple[str, str, str]:
    agency = session.get(Agency, ctx.installation.agency_id)
    if agency is None:
        return ctx.installation.agency_name, "", ""
    return agency.name, agency.address, agency.phone


def quote_document_data(ctx: ServiceContext, session: Session,
                        quote: WorksQuote) -> WorksDocumentData:
    from app.services.works.quotes import line_input, party_of
    from app.services.works.totals import price_quote

    name, address, phone = _agency(ctx, session)
    party, site = party_of(session, quote)
    account = session.get(Account, quote.account_id) if quote.account_id else None
    codes = dict(session.execute(select(WorksCatalogueItem.id, WorksCatalogueItem.code)).all())
    priced = price_quote([line_input(line) for line in quote.lines], quote.discount_rate,
                         ctx.installation.currency)
    lines = [DocumentLine(codes.get(line.catalogue_item_id, "") if line.catalogue_item_id
                          else "", line.label, line.quantity, line.unit,
                          ctx.installation.currency.from_minor(line.unit_price_minor),
                          line.discount_rate, line.vat_rate, line.amount_excl_vat_minor)
             for line in quote.lines]
    lines += [DocumentLine("", d.label, d.quantity, d.unit, d.unit_price, Decimal(0), d.vat_rate, d.amount_excl_vat_minor) for d in priced.discounts]
    references = [("Valable jusqu'au", f"{quote.valid_until:%d/%m/%Y}")]
    if quote.revision > 1:
        references.append(("Révision", f"n° {quote.revision}"))
    return WorksDocumentData(
        title="DEVIS", number=quote.number, issued_on=quote.issued_on, agency_name=name,
        agency_address=address, agency_phone=phone, customer_name=party,
        customer_address=site, account_number=format_account_number(account.number)
        if account else "", subject=quote.subject, lines=tuple(lines),
        rates=tuple(RateLine(r.vat_rate, r.base_minor, r.vat_minor) for r in priced.by_rate()),
        total_excl_vat_minor=priced.total_excl_vat_minor, vat_minor=priced.vat_minor,
        total_minor=priced.total_minor, currency=ctx.installation.currency,
        references=tuple(references), mentions=QUOTE_MENTIONS, approval_box=True,
        notes=quote.notes,
    )


def invoice_document_data(ctx: ServiceContext, session: Session, invoice: Invoice,
                          kind: str) -> WorksDocumentData:
    from app.services.works.quotes import party_of
    from kernel.pricing import PricedLine

    name, address, phone = _agency(ctx, session)
    account = session.get(Account, invoice.account_id)
    quote = session.get(WorksQuote, invoice.works_quote_id) if invoice.works_quote_id else None
    party, site = party_of(session, quote) if quote else ("", "")
    lines = tuple(DocumentLine("", line.label, line.quantity, line.unit, line.unit_price,
                               Decimal(0), line.vat_rate,
                               line.amount_excl_vat_minor) for line in invoice.lines)
    rates = summarise([PricedLine(line.kind, line.label, line.quantity, line.unit,
                                  line.unit_price, line.amount_excl_vat_minor, line.vat_rate,
                                  line.vat_minor) for line in invoice.lines])
    references = []
    if quote is not None:
        references.append(("Devis", quote.number))
    if invoice.credited_invoice_id:
        credited = session.get(Invoice, invoice.credited_invoice_id)
        if credited is not None:
            references.append(("Annule la facture", credited.number))
    if invoice.due_on:
        references.append(("Échéance", f"{invoice.due_on:%d/%m/%Y}"))
    return WorksDocumentData(
        title=INVOICE_TITLES[kind], number=invoice.number, issued_on=invoice.issued_on,
        agency_name=name, agency_address=address, agency_phone=phone, customer_name=party,
        customer_address=site,
        account_number=format_account_number(account.number) if account else "",
        subject=quote.subject if quote else "", lines=lines,
        rates=tuple(RateLine(r.vat_rate, r.base_minor, r.vat_minor) for r in rates),
        total_excl_vat_minor=invoice.total_excl_vat_minor, vat_minor=invoice.vat_minor,
        total_minor=invoice.total_minor, currency=ctx.installation.currency,
        references=tuple(references), mentions=INVOICE_MENTIONS,
    )


def store_document(ctx: ServiceContext, session: Session, kind: str, filename: str,
                   media_type: str, content: bytes) -> uuid.UUID:
    document = Document(agency_id=ctx.installation.agency_id, kind=kind, filename=filename[:160],
                        media_type=media_type, content=content,
                        sha256=hashlib.sha256(content).hexdigest(), size=len(content))
    session.add(document)
    session.flush()
    return document.id


def render_and_store(ctx: ServiceContext, session: Session, data: WorksDocumentData, kind: str,
                     filename: str) -> tuple[bytes, uuid.UUID]:
    pdf = render_works_document(data)
    return pdf, store_document(ctx, session, kind, filename, "application/pdf", pdf)


def invoice_filename(number: str) -> str:
    return f"facture-{number}.pdf"


@dataclass(frozen=True)
class Printed:
    pdf: bytes
    filename: str
    duplicate: bool


def quote_pdf(ctx: ServiceContext, quote_id: uuid.UUID) -> Printed:
    """A draft's PDF made now (marked nowhere: it was never sent); a sent quote's is a
    duplicata of the stored original."""
    with ctx.reading() as session:
        quote = session.get(WorksQuote, quote_id)
        if quote is None:
            raise NotFoundError("Devis introuvable.")
        if quote.document_id is None:
            return Printed(render_works_document(quote_document_data(ctx, session, quote)),
                           f"devis-{quote.number}-brouillon.pdf", False)
        document_id = quote.document_id
    return _duplicate(ctx, document_id, f"devis {quote.number}")


def invoice_pdf(ctx: ServiceContext, invoice_id: uuid.UUID) -> Printed:
    with ctx.reading() as session:
        invoice = session.get(Invoice, invoice_id)
        if invoice is None or invoice.kind is InvoiceKind.CONSUMPTION:
            raise NotFoundError("Facture de travaux introuvable.")
        document_id = session.scalar(select(Document.id).where(
            Document.kind == "works_invoice",
            Document.filename == invoice_filename(invoice.number)))
        number = invoice.number
    if document_id is None:
        raise NotFoundError(f"Le PDF de la facture {number} n'est pas sur ce poste.")
    return _duplicate(ctx, document_id, f"facture {number}")


def original_document(ctx: ServiceContext, document_id: uuid.UUID) -> bytes:
    with ctx.reading() as session:
        document = session.get(Document, document_id)
        if document is None:
            raise NotFoundError("Document introuvable.")
        return document.content


def _duplicate(ctx: ServiceContext, document_id: uuid.UUID, what: str) -> Printed:
    from app.services.documents.stamp import stamp_duplicate

    with ctx.unit_of_work() as uow:
        document = uow.session.get(Document, document_id)
        if document is None:
            raise NotFoundError("Document introuvable.")
        set_reason(uow.session, f"réimpression du {what} (duplicata)")
        document.reprint_count += 1
        who = ctx.user.full_name if ctx.user else ctx.actor.username
        when = ctx.installation.local(utcnow())
        pdf = stamp_duplicate(document.content, f"Duplicata n° {document.reprint_count} imprimé "
                                                f"le {when:%d/%m/%Y à %H:%M} par {who}")
        filename = document.filename.removesuffix(".pdf") + "-duplicata.pdf"
        uow.commit()
        return Printed(pdf, filename, True)
