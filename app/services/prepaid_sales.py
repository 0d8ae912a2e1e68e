"""Prepaid sales as the desk sees them: the receipts it issues (stored as issued), the search over
every channel's sales of the agency's meters (synchronised from central), and the duplicata."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.models import Account, Customer, Document, Meter, VendTransaction
from app.models.capture import set_reason
from app.models.enums import Role
from app.models.ids import utcnow
from app.services.cash_days import ensure_counter_open
from app.services.documents.prepaid_receipt import Paper, PrepaidReceiptData, render_prepaid_receipt
from app.services.prepaid_desk import DeskSale, VendingDesk
from kernel.context import ServiceContext
from kernel.errors import NotFoundError, PermissionDeniedError, ValidationError

KIND = "prepaid_receipt"
CHANNELS = {"counter": "guichet", "ussd": "USSD", "api": "API"}
SMS = {"not_requested": "non demandé", "pending": "en file", "sent": "envoyé",
       "failed": "échec"}


@dataclass(frozen=True)
class IssuedDocument:
    filename: str
    pdf: bytes


@dataclass(frozen=True)
class SaleRow:
    receipt: str
    sold_at: datetime  # local
    meter: str
    channel: str
    amount_minor: int
    energy_kwh: str
    token: str
    key_change_tokens: tuple[str, ...]
    phone: str
    sms_status: str
    sold_by: str


def receipt_filename(receipt: str) -> str:
    return f"recu-prepaye-{receipt}.pdf"


def sell_at_counter(ctx: ServiceContext, desk: VendingDesk, meter: str, amount: int,
                    phone: str) -> DeskSale:
    """A counter sale by the signed-in agent; refused (``DayClosed``) before anything is asked
    of central when the agent's till of today is closed."""
    ensure_counter_open(ctx)
    return desk.sell(meter, amount, phone, ctx.actor.username)


def issue_receipt(ctx: ServiceContext, sale: DeskSale, owner: str, paper: Paper) -> IssuedDocument:
    """The sale's receipt, kept as issued in the desk's documents."""
    sold_at = _sold_at(ctx, sale.sold_at)
    data = PrepaidReceiptData(
        ctx.installation.agency_name, sale.receipt, sold_at, sale.meter, owner,
        sale.energy_kwh, sale.amount, sale.split.energy, sale.split.fixed_charge,
        sale.split.arrears, sale.split.vat, tuple(sale.tokens_in_order), sale.phone,
        ctx.actor.username, "guichet", ctx.installation.currency)
    pdf = render_prepaid_receipt(data, paper)
    filename = receipt_filename(sale.receipt)
    with ctx.unit_of_work() as uow:
        uow.session.add(Document(
            agency_id=ctx.installation.agency_id, kind=KIND, filename=filename,
            media_type="application/pdf", content=pdf, sha256=hashlib.sha256(pdf).hexdigest(),
            size=len(pdf)))
        uow.commit()
    return IssuedDocument(filename, pdf)


#: Management tokens (code → French name), as central names them.
MANAGEMENT_KINDS = {
    "clear_credit": "Remise à zéro du crédit",
    "clear_tamper": "Effacement de l'alarme de fraude",
    "power_limit": "Puissance maximale",
    "key_change": "Changement de clé",
}
MANAGING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})


@dataclass(frozen=True)
class ManagementToken:
    sale: DeskSale
    document: IssuedDocument


def issue_management_token(ctx: ServiceContext, desk: VendingDesk, meter: str, kind: str,
                           reason: str, paper: Paper, watts: int | None = None
                           ) -> ManagementToken:
    """A management token (supervisor or administrator only, checked here and again by
    central), with its reason; its receipt kept as issued, the reason on the audit entry."""
    if ctx.user is None or ctx.user.role not in MANAGING_ROLES:
        raise PermissionDeniedError("Les jetons de gestion sont réservés aux superviseurs et "
                                    "administrateurs.")
    if kind not in MANAGEMENT_KINDS:
        raise ValidationError({"kind": "Choisissez le type de jeton de gestion"})
    reason = " ".join(reason.split())
    if len(reason) < 5:
        raise ValidationError({"reason": "Indiquez le motif (5 caractères au moins)"})
    if kind == "power_limit" and not (watts and 100 <= watts <= 100_000):
        raise ValidationError({"watts": "Puissance maximale entre 100 et 100 000 W"})
    if not meter.strip():
        raise ValidationError({"meter": "Indiquez le compteur"})
    sale = desk.management(meter, kind, reason, ctx.user.username,
                           watts if kind == "power_limit" else None)
    name = MANAGEMENT_KINDS[kind] + (f" : {watts} W" if kind == "power_limit" else "")
    data = PrepaidReceiptData(
        ctx.installation.agency_name, sale.receipt, _sold_at(ctx, sale.sold_at), sale.meter,
        "", "0", 0, 0, 0, 0, 0, tuple(sale.tokens_in_order), "", ctx.user.username,
        "guichet", ctx.installation.currency, management=name, reason=reason)
    pdf = render_prepaid_receipt(data, paper)
    filename = receipt_filename(sale.receipt)
    with ctx.unit_of_work() as uow:
        set_reason(uow.session, f"Jeton de gestion ({name}) : {reason}")
        uow.session.add(Document(
            agency_id=ctx.installation.agency_id, kind=KIND, filename=filename,
            media_type="application/pdf", content=pdf, sha256=hashlib.sha256(pdf).hexdigest(),
            size=len(pdf)))
        uow.commit()
    return ManagementToken(sale, IssuedDocument(filename, pdf))


def reprint_receipt(ctx: ServiceContext, receipt: str, reason: str,
                    paper: Paper = "a4") -> IssuedDocument:
    """A DUPLICATA of the receipt: the stored original stamped (a sale made elsewhere — USSD,
    API — is laid out from its synchronised record first); counted and audited with the agent
    and the reason."""
    from app.services.documents.stamp import stamp_duplicate

    if not reason.strip():
        raise ValidationError({"reason": "Indiquez pourquoi le reçu est réimprimé."})
    filename = receipt_filename(receipt)
    with ctx.unit_of_work() as uow:
        session = uow.session
        document = session.scalars(select(Document).where(
            Document.kind == KIND, Document.filename == filename)).first()
        if document is None:
            pdf = render_prepaid_receipt(_from_record(ctx, session, receipt), paper)
            document = Document(
                agency_id=ctx.installation.agency_id, kind=KIND, filename=filename,
                media_type="application/pdf", content=pdf,
                sha256=hashlib.sha256(pdf).hexdigest(), size=len(pdf))
            session.add(document)
        set_reason(session, f"duplicata du reçu {receipt} : {reason.strip()}")
        document.reprint_count = (document.reprint_count or 0) + 1
        when = ctx.installation.local(utcnow())
        stamped = stamp_duplicate(
            document.content, f"Duplicata n° {document.reprint_count} imprimé le "
                              f"{when:%d/%m/%Y à %H:%M} par {ctx.actor.username}")
        uow.commit()
    return IssuedDocument(f"recu-prepaye-{receipt}-duplicata.pdf", stamped)


def _from_record(ctx: ServiceContext, session: Session, receipt: str) -> PrepaidReceiptData:
    found = session.execute(
        select(VendTransaction, Meter).join(Meter, Meter.id == VendTransaction.meter_id)
        .where(VendTransaction.receipt_number == receipt)).first()
    if found is None:
        raise NotFoundError(f"Aucune vente de reçu {receipt} dans cette agence.")
    sale, meter = found
    owner = ""
    if sale.account_id is not None:
        customer = session.scalars(select(Customer).join(
            Account, Account.customer_id == Customer.id).where(
            Account.id == sale.account_id)).first()
        if customer is not None:
            owner = f"{customer.last_name} {customer.first_name}".strip()
    return PrepaidReceiptData(
        ctx.installation.agency_name, receipt, ctx.installation.local(sale.sold_at),
        meter.sts_drn or meter.serial, owner, str(sale.energy), sale.amount_minor,
        sale.energy_minor, sale.fixed_charge_minor, sale.arrears_minor, sale.vat_minor,
        (*_split_tokens(sale.key_change_tokens), sale.token), sale.phone, sale.sold_by,
        CHANNELS.get(sale.channel.value, sale.channel.value), ctx.installation.currency)


def _split_tokens(stored: str) -> tuple[str, ...]:
    return tuple(t for t in stored.replace(",", " ").split() if t)


def _sold_at(ctx: ServiceContext, iso: str) -> datetime:
    try:
        return ctx.installation.local(datetime.fromisoformat(iso))
    except ValueError:
        return ctx.installation.local(utcnow())


def find_sales(ctx: ServiceContext, *, meter: str = "", phone: str = "", receipt: str = "",
               digits: str = "", day_from: date | None = None, day_to: date | None = None,
               customer_id: uuid.UUID | None = None, limit: int = 200) -> list[SaleRow]:
    """Sales of the agency's meters over every channel (USSD, API, counter), newest first."""
    query: Select[VendTransaction, Meter] = select(VendTransaction, Meter).join(
        Meter, Meter.id == VendTransaction.meter_id)
    if meter.strip():
        typed = meter.strip()
        query = query.where((Meter.serial == typed) | (Meter.sts_drn == typed))
    if phone.strip():
        query = query.where(VendTransaction.phone == "".join(phone.split()))
    if receipt.strip():
        query = query.where(VendTransaction.receipt_number == receipt.strip().upper())
    wanted = "".join(ch for ch in digits if ch.isdigit())
    if wanted:
        query = query.where(VendTransaction.token.contains(wanted)
                            | VendTransaction.key_change_tokens.contains(wanted))
    zone = ctx.installation.zone
    if day_from is not None:
        query = query.where(VendTransaction.sold_at >= datetime.combine(day_from, time(), zone))
    if day_to is not None:
        query = query.where(VendTransaction.sold_at < datetime.combine(
            day_to + timedelta(days=1), time(), zone))
    if customer_id is not None:
        query = query.join(Account, Account.id == VendTransaction.account_id).where(
            Account.customer_id == customer_id)
    query = query.order_by(VendTransaction.sold_at.desc()).limit(limit)
    with ctx.reading() as session:
        return [_row(ctx, sale, found_meter) for sale, found_meter in session.execute(query)]


def _row(ctx: ServiceContext, sale: VendTransaction, meter: Meter) -> SaleRow:
    return SaleRow(
        sale.receipt_number, ctx.installation.local(sale.sold_at), meter.sts_drn or meter.serial,
        CHANNELS.get(sale.channel.value, sale.channel.value), sale.amount_minor,
        str(sale.energy), sale.token, _split_tokens(sale.key_change_tokens), sale.phone,
        SMS.get(sale.sms_status.value, sale.sms_status.value), sale.sold_by)

