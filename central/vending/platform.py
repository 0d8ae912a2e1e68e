"""The vending platform's use cases for an operator: check a meter, quote both ways, purchase
(idempotent by the operator's reference), look sales up.

A sale goes through the write path (the capture: audit entry and sync journal entry under its
own transaction id, synchronised to the meter's agency): the reference row first (a second
request with the same reference waits on it, then answers the first one's sale), the meter's
vending row locked (its TIDs and key), the tokens, the receipt number last (the series row is
held only for the end of the transaction), the HES delivery and the SMS in the outbox. On
PostgreSQL the sales of a server process are written in batches, one transaction and one commit
a batch (:mod:`central.vending.sale_writer`).
"""

from __future__ import annotations

import hashlib
import re
import time as clock_time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, cast
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import Select, Table, bindparam, func, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload

from app.models import (
    Account,
    AuditEntry,
    Contract,
    Customer,
    Meter,
    NumberSeries,
    Tariff,
    User,
    VendTransaction,
)
from app.models.capture import SYSTEM, Actor, set_actor, set_reason
from app.models.database import Database
from app.models.enums import (
    ContractStatus,
    CustomerKind,
    JournalOperation,
    MeterPayment,
    MeterStatus,
    Role,
    SmsStatus,
    VendChannel,
    VendStatus,
)
from app.models.ids import new_id, utcnow
from app.models.search_index import write_pending
from central.billing.balances import refresh_accounts
from central.meters.fleet import MeterRecord
from central.models import (
    DeliveryStatus,
    HesDelivery,
    SmsMessage,
    VendingMeter,
    VendingOperator,
    VendingRequest,
)
from central.sms.text import sale_messages
from central.sts.errors import StsError
from central.sts.token_types import Token
from central.sts.tokens import encode_value
from central.sync.numbering import stamp_clause
from central.vending.diagnosis import meter_record
from central.vending.errors import refused
from central.vending.hes import TokenMaker
from central.vending.operators import OperatorInfo
from central.vending.pricing import Band, PricingError, Split, Terms, from_amount, from_energy
from central.vending.sale_writer import Order, SaleWriter, Written
from kernel.context import UnitOfWork
from kernel.errors import EnvironmentProblem, NotFoundError
from kernel.money import Currency
from kernel.numbering import PREFIX, VEND_RECEIPT_CODE, Series, format_number

#: Management tokens a supervisor may ask at the counter (code → French name).
MANAGEMENT_KINDS = {
    "clear_credit": "remise à zéro du crédit",
    "clear_tamper": "effacement de l'alarme de fraude",
    "power_limit": "puissance maximale",
    "key_change": "changement de clé",
}

#: The platform's receipt series (one for every operator): ``RP000-2026-000001``.
SERIES_CODE = VEND_RECEIPT_CODE
_PHONE = re.compile(r"\+?\d{8,15}")
_REFERENCE = re.compile(r"[A-Za-z0-9._:/-]{1,60}")


TARIFF_CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class TariffTerms:
    id: uuid.UUID
    code: str
    name: str
    payment: MeterPayment
    fixed_charge_minor: int
    vat_rate: Decimal
    arrears_recovery_share: Decimal | None
    bands: tuple[Band, ...]


def _contract(column: Any) -> Any:
    """``column`` of the meter's connection's latest active contract, read through the
    contract's (connection, start date) index (the subquery it replaces sorted every active
    contract of the installation for each sale)."""
    return (select(column).where(Contract.connection_id == Meter.connection_id,
                                 Contract.status == ContractStatus.ACTIVE)
            .order_by(Contract.start_date.desc()).limit(1).scalar_subquery())


#: A meter, its block, and the owner, account and tariff of its active contract: one query.
_FACTS = (
    select(Meter, VendingMeter.blocked_reason, _contract(Contract.tariff_id), Account.id,
           Account.balance_minor, Customer.kind, Customer.last_name, Customer.first_name,
           Customer.organisation_name)
    .outerjoin(VendingMeter, VendingMeter.meter_id == Meter.id)
    .outerjoin(Account, Account.id == _contract(Contract.account_id))
    .outerjoin(Customer, Customer.id == Account.customer_id)
    .limit(1)
)


_FACTS_BY_DRN = _FACTS.where(Meter.sts_drn == bindparam("number"))
_FACTS_BY_SERIAL = _FACTS.where(Meter.serial == bindparam("number"))


def _month_so_far(payer: bool) -> Select[Any]:
    """The meter's completed energy purchases since ``month`` (sum, count) and, with
    ``payer``, what the paying phone spent with the operator on the day: one query."""
    vt = VendTransaction
    meter = (vt.meter_id == bindparam("meter")) & (vt.sold_at >= bindparam("month"))
    wanted = meter
    columns: list[Any] = [func.coalesce(func.sum(vt.energy).filter(meter), 0),
                          func.count().filter(meter)]
    if payer:
        paid = ((vt.operator_code == bindparam("operator")) & (vt.phone == bindparam("phone"))
                & (vt.sold_at >= bindparam("day")) & (vt.sold_at < bindparam("next_day")))
        wanted = meter | paid
        columns.append(func.coalesce(func.sum(vt.amount_minor).filter(paid), 0))
    return select(*columns).where(vt.status == VendStatus.COMPLETED, vt.token_class == 0,
                                  wanted)


@cache
def _take_statement(dialect: str, check_credential: bool) -> Any:
    """``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING`` of a purchase's reference, with
    or without the check of the operator's credential (see :meth:`Platform._take_reference`)."""
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    request = VendingRequest
    values = select(bindparam("operator", type_=request.operator_id.type),
                    bindparam("reference", type_=request.reference.type),
                    bindparam("digest", type_=request.digest.type),
                    bindparam("vend", type_=request.vend_id.type),
                    bindparam("at", type_=request.at.type))
    if check_credential:
        values = values.where(select(VendingOperator.id).where(
            VendingOperator.id == bindparam("operator", type_=request.operator_id.type),
            VendingOperator.secret_hash == bindparam("secret"),
            VendingOperator.revoked_at.is_(None)).exists())
    # On the table, not the mapped class: an ORM insert given parameters is a bulk insert.
    table = cast(Table, request.__table__)
    return (insert_(table).from_select(["operator_id", "reference", "digest", "vend_id", "at"],
                                         values)
            .on_conflict_do_nothing().returning(table.c.vend_id))


#: Statements built once (their SQL and cache key are then reused by every sale).
_MONTH = _month_so_far(payer=False)
_MONTH_AND_PAYER = _month_so_far(payer=True)

#: The payers' advisory locks of a batch, taken in the order of the (sorted) array.
_LOCK_PAYERS = sql_text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) "
                        "WITH ORDINALITY AS t (k, o) ORDER BY o")


def payer_lock_key(operator_id: uuid.UUID, phone: str) -> int:
    """The PostgreSQL advisory lock key of a paying phone's day with an operator."""
    digest = hashlib.sha256(f"vending-payer\0{operator_id}\0{phone}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_payers(session: Session, orders: Sequence[Order]) -> None:
    """Holds, until the batch's transaction ends, the paying phones of the batch's operator
    sales: a payer's sales in batches of two server processes are checked against the daily
    limit one batch after the other, the second seeing the first's committed. Taken before
    any sale of the batch (outside their savepoints, which would release them) in sorted
    order: two batches never wait for each other's payers crosswise, and a batch that holds
    meters' rows already holds every payer lock it needs."""
    keys = sorted({payer_lock_key(o.operator.id, o.phone) for o in orders if o.desk is None})
    if keys:
        session.execute(_LOCK_PAYERS, {"keys": keys})


#: The meter's vending row, locked for the sale (its TIDs and key).
_LOCK_METER = (select(VendingMeter).where(VendingMeter.meter_id == bindparam("meter"))
               .with_for_update())


@dataclass(frozen=True)
class MeterFacts:
    meter_id: uuid.UUID
    agency_id: uuid.UUID | None
    drn: str
    record: MeterRecord
    owner: str
    account_id: uuid.UUID | None
    arrears_owed_minor: int
    tariff: TariffTerms
    arrears_share: Decimal


@dataclass(frozen=True)
class Sale:
    """A sale as the operator sees it (a plain copy: no session behind it)."""

    id: uuid.UUID
    reference: str
    receipt: str
    meter: str
    status: str
    channel: str
    phone: str
    amount_minor: int
    energy: Decimal
    energy_minor: int
    fixed_charge_minor: int
    arrears_minor: int
    vat_minor: int
    token: str
    key_change_tokens: tuple[str, ...]
    token_tid: int | None
    sold_at: datetime
    sms_status: str
    hes_status: str | None
    account_id: uuid.UUID | None
    agency_id: uuid.UUID | None
    operator: str
    sold_by: str

    @classmethod
    def of(cls, row: VendTransaction, drn: str, hes: str | None) -> Sale:
        return cls(row.id, row.operator_reference, row.receipt_number, drn, row.status.value,
                   row.channel.value, row.phone, row.amount_minor, row.energy,
                   row.energy_minor, row.fixed_charge_minor, row.arrears_minor, row.vat_minor,
                   row.token, tuple(row.key_change_tokens.split()), row.token_tid, row.sold_at,
                   row.sms_status.value, hes, row.account_id, row.agency_id, row.operator_code,
                   row.sold_by)


@dataclass(frozen=True)
class DeskSeller:
    agency_id: uuid.UUID
    agency_code: str
    #: The agent at the counter (recorded on the sale and its audit entry).
    agent: str


@dataclass(frozen=True)
class Quote:
    meter: str
    owner: str
    tariff_code: str
    tariff_name: str
    split: Split
    first_of_month: bool
    month_energy: Decimal


#: A live search's answer is short (the agent picks one meter) and needs a few characters.
SEARCH_LIMIT = 20
SEARCH_MIN_TEXT = 3
SEARCH_MAX_TEXT = 40


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def mask_name(last: str, first: str) -> str:
    """``Kouassi Aya`` → ``K*** A.``: enough for the payer to recognise the meter."""
    last, first = last.strip(), first.strip()
    if not last and not first:
        return "***"
    head = f"{last[0].upper()}***" if last else ""
    tail = f"{first[0].upper()}." if first else ""
    return f"{head} {tail}".strip()


def _digest(meter: str, amount_minor: int, phone: str, channel: str) -> str:
    return hashlib.sha256(f"{meter}|{amount_minor}|{phone}|{channel}".encode()).hexdigest()


def normalise_meter_number(text: str) -> str:
    return re.sub(r"[\s.-]", "", text or "")


def check_phone(phone: str) -> str:
    cleaned = re.sub(r"[\s.-]", "", phone or "")
    if not _PHONE.fullmatch(cleaned):
        raise refused("phone_invalid", "Numéro de téléphone invalide.", 422)
    return cleaned


def parse_energy(text: str | Decimal) -> Decimal:
    try:
        value = Decimal(str(text).strip().replace(",", "."))
    except InvalidOperation:
        raise refused("energy_invalid", "Quantité d'énergie invalide (ex. 25 ou 25.5).",
                      422) from None
    if not value.is_finite() or value <= 0 or value > 100_000:
        raise refused("energy_invalid", "Quantité d'énergie invalide (ex. 25 ou 25.5).", 422)
    return value


class Platform:
    """The platform's rules over one database; built once per server process."""

    def __init__(self, db: Database, currency: Currency, zone: ZoneInfo,
                 tokens: TokenMaker | None, *, hes_enabled: bool = False,
                 sms_enabled: bool = False,
                 clock: Callable[[], datetime] = utcnow,
                 wake: Callable[[], None] | None = None) -> None:
        self.db = db
        self.currency = currency
        self.zone = zone
        self.tokens = tokens
        self.hes_enabled = hes_enabled
        self.sms_enabled = sms_enabled
        self.clock = clock
        self.wake = wake or (lambda: None)
        self._tariffs: dict[tuple[uuid.UUID, date], tuple[float, TariffTerms | None]] = {}
        #: PostgreSQL: the process's sales written in groups, one commit a group.
        self.writer = SaleWriter(
            db.session, lambda *order: self._write_sale(*order),
            lambda *batch: self._number_and_commit(*batch), lambda: self.clock(),
            lambda: self.wake(), lock=lock_payers)

    # --- meters -------------------------------------------------------------------------
    def _meter(self, session: Session, number: str, today: date,
               agency_id: uuid.UUID | None = None) -> MeterFacts:
        """The meter's facts; with ``agency_id`` (a desk), another agency's meter is refused
        before anything of it (block, owner, tariff, arrears) is read."""
        number = normalise_meter_number(number)
        if not re.fullmatch(r"[A-Za-z0-9]{4,20}", number):
            raise refused("meter_unknown", "Numéro de compteur invalide : vérifiez le numéro "
                          "sur votre carte ou sur le compteur.", 404)
        row = session.execute(_FACTS_BY_DRN, {"number": number}).first() or \
            session.execute(_FACTS_BY_SERIAL, {"number": number}).first()
        if row is None:
            raise refused("meter_unknown", f"Compteur {number} inconnu : vérifiez le numéro "
                          "sur votre carte ou sur le compteur.", 404)
        meter, blocked, contract_tariff, account_id, balance, kind, last, first, organisation = row
        if agency_id is not None and meter.agency_id != agency_id:
            raise refused("meter_other_agency", f"Le compteur {number} dépend d'une autre "
                          "agence : la vente se fait dans son agence ou par paiement mobile.",
                          403)
        if meter.payment is not MeterPayment.PREPAID:
            raise refused("meter_postpaid", f"Le compteur {number} n'est pas un compteur à "
                          "prépaiement : payez vos factures en agence.")
        if meter.status is MeterStatus.REMOVED:
            raise refused("meter_retired", f"Le compteur {number} n'est plus en service.")
        if meter.status is not MeterStatus.INSTALLED:
            raise refused("meter_not_installed", f"Le compteur {number} n'est pas encore "
                          "installé.")
        if not meter.sts_drn:
            raise refused("meter_not_sts", f"Le compteur {number} n'a pas d'identité STS : "
                          "adressez-vous à votre agence.")
        if blocked:
            raise refused("meter_blocked", f"Le compteur {number} est bloqué : "
                          "adressez-vous à votre agence.")
        owner = "***"
        if kind is not None:
            owner = (mask_name(organisation, "") if kind is CustomerKind.ORGANISATION
                     else mask_name(last, first))
        tariff = self._tariff(session, meter.prepaid_tariff_id or contract_tariff, today)
        if tariff is None or tariff.payment is not MeterPayment.PREPAID:
            raise refused("no_tariff", f"Aucun tarif prépayé en vigueur pour le compteur "
                          f"{number} : adressez-vous à votre agence.")
        record = meter_record(meter)
        return MeterFacts(meter.id, meter.agency_id, meter.sts_drn, record, owner, account_id,
                          max(0, balance or 0), tariff,
                          tariff.arrears_recovery_share or Decimal(0))

    def _tariff(self, session: Session, tariff_id: uuid.UUID | None,
                today: date) -> TariffTerms | None:
        """The version in force today of the meter's tariff (kept a short while: tariffs
        change a few times a year, every sale reads them)."""
        if tariff_id is None:
            return None
        key = (tariff_id, today)
        cached = self._tariffs.get(key)
        if cached is not None and clock_time.monotonic() - cached[0] < TARIFF_CACHE_SECONDS:
            return cached[1]
        given = session.get(Tariff, tariff_id)
        if given is None:
            return None
        in_force = session.scalars(
            select(Tariff).options(selectinload(Tariff.bands))
            .where(Tariff.code == given.code, Tariff.agency_id.is_(given.agency_id)
                   if given.agency_id is None else Tariff.agency_id == given.agency_id,
                   Tariff.valid_from <= today,
                   (Tariff.valid_to.is_(None)) | (Tariff.valid_to >= today))
            .order_by(Tariff.valid_from.desc())).first()
        terms = None
        if in_force is not None:
            terms = TariffTerms(
                in_force.id, in_force.code, in_force.name, in_force.payment,
                in_force.fixed_charge_minor, in_force.vat_rate, in_force.arrears_recovery_share,
                tuple(Band(b.lower_bound, b.upper_bound, b.unit_price, b.is_social)
                      for b in sorted(in_force.bands, key=lambda b: b.lower_bound)))
        self._tariffs[key] = (clock_time.monotonic(), terms)
        return terms

    def today(self) -> date:
        return self.clock().astimezone(self.zone).date()

    def _month_start(self, day: date) -> datetime:
        return datetime.combine(day.replace(day=1), time(0), self.zone)

    def _terms(self, session: Session, facts: MeterFacts, today: date,
               payer: tuple[str, str] | None = None) -> tuple[Terms, int]:
        """The meter's month so far, and what ``payer`` (operator, phone) spent today: one
        query."""
        params: dict[str, Any] = {"meter": facts.meter_id, "month": self._month_start(today)}
        if payer is not None:
            start = datetime.combine(today, time(0), self.zone)
            params.update(operator=payer[0], phone=payer[1], day=start,
                          next_day=start + timedelta(days=1))
        row = session.execute(_MONTH if payer is None else _MONTH_AND_PAYER, params).one()
        energy, count = row[0], row[1]
        spent = int(row[2]) if payer is not None else 0
        return Terms(bands=facts.tariff.bands, fixed_charge_minor=facts.tariff.fixed_charge_minor,
                     vat_rate=facts.tariff.vat_rate, arrears_share=facts.arrears_share,
                     exponent=self.currency.exponent, month_energy=Decimal(energy),
                     first_of_month=int(count) == 0,
                     arrears_owed_minor=facts.arrears_owed_minor), spent

    def check_meter(self, number: str, agency_id: uuid.UUID | None = None) -> dict[str, Any]:
        """The meter as a payer may see it; ``agency_id`` (a desk): its own meters only."""
        with self.db.reading() as session:
            facts = self._meter(session, number, self.today(), agency_id)
        return {"meter": facts.drn, "owner": facts.owner, "tariff": facts.tariff.name,
                "tariff_code": facts.tariff.code, "unit": "kWh",
                "message": f"Compteur {facts.drn} — {facts.owner}"}

    def search_meters(self, text: str, agency_id: uuid.UUID,
                      limit: int = SEARCH_LIMIT) -> list[dict[str, Any]]:
        """The agency's own installed prepaid meters whose DRN or serial starts with ``text``
        or whose holder's name starts with it (a meter installed today, not yet on the desk):
        at most ``limit``, owners masked. Another agency's meters are never read."""
        text = " ".join(text.split())[:SEARCH_MAX_TEXT]
        number = normalise_meter_number(text)
        if len(number) < SEARCH_MIN_TEXT:
            raise refused("search_too_short", f"Tapez au moins {SEARCH_MIN_TEXT} caractères "
                          "du numéro ou du nom.", 422)
        prefix = _like_prefix(number)
        name = _like_prefix(text.lower())
        query = (
            select(Meter, _contract(Contract.tariff_id), Customer.kind, Customer.last_name,
                   Customer.first_name, Customer.organisation_name)
            .select_from(Meter)
            .outerjoin(Account, Account.id == _contract(Contract.account_id))
            .outerjoin(Customer, Customer.id == Account.customer_id)
            .where(Meter.agency_id == agency_id, Meter.payment == MeterPayment.PREPAID,
                   Meter.status == MeterStatus.INSTALLED, Meter.sts_drn.is_not(None),
                   Meter.sts_drn != "",
                   or_(Meter.sts_drn.like(prefix, escape="\\"),
                       Meter.serial.like(prefix, escape="\\"),
                       func.lower(Customer.last_name).like(name, escape="\\"),
                       func.lower(Customer.organisation_name).like(name, escape="\\")))
            .order_by(Meter.sts_drn).limit(max(1, min(limit, SEARCH_LIMIT))))
        today = self.today()
        found: list[dict[str, Any]] = []
        with self.db.reading() as session:
            for meter, tariff_id, kind, last, first, organisation in session.execute(query):
                owner = "***"
                if kind is not None:
                    owner = (mask_name(organisation or "", "")
                             if kind is CustomerKind.ORGANISATION
                             else mask_name(last or "", first or ""))
                tariff = self._tariff(session, meter.prepaid_tariff_id or tariff_id, today)
                found.append({"meter": meter.sts_drn, "serial": meter.serial, "owner": owner,
                              "tariff": tariff.name if tariff is not None else ""})
        return found

    def quote(self, number: str, *, energy: Decimal | None = None,
              amount_minor: int | None = None, agency_id: uuid.UUID | None = None) -> Quote:
        if (energy is None) == (amount_minor is None):
            raise refused("quote_invalid", "Indiquez soit l'énergie (kWh), soit le montant.",
                          422)
        today = self.today()
        with self.db.reading() as session:
            facts = self._meter(session, number, today, agency_id)
            terms, _spent = self._terms(session, facts, today)
        try:
            split = (from_energy(terms, energy) if energy is not None
                     else from_amount(terms, int(amount_minor or 0)))
        except PricingError as error:
            raise refused(error.code, error.message, 422) from None
        return Quote(facts.drn, facts.owner, facts.tariff.code, facts.tariff.name, split,
                     terms.first_of_month, terms.month_energy)

    # --- purchases ----------------------------------------------------------------------
    def sell_at_desk(self, desk: DeskSeller, *, reference: str, meter: str, amount_minor: int,
                     phone: str) -> tuple[Sale, bool]:
        """A sale at an agency's counter: the agency's own meters, its agent, its references
        (no operator, so no operator's limits and no operator's settlement)."""
        seller = OperatorInfo(desk.agency_id, "", f"agence {desk.agency_code}", 1, 10**15,
                              10**15, False)
        return self.purchase(seller, reference=reference, meter=meter,
                             amount_minor=amount_minor, phone=phone,
                             channel=VendChannel.COUNTER, desk=desk)

    def purchase(self, operator: OperatorInfo, *, reference: str, meter: str,
                 amount_minor: int, phone: str, channel: VendChannel = VendChannel.USSD,
                 desk: DeskSeller | None = None) -> tuple[Sale, bool]:
        """The sale of this reference: ``(sale, replayed)``; a retry answers the same sale."""
        if not _REFERENCE.fullmatch(reference or ""):
            raise refused("reference_invalid", "Référence d'opération invalide.", 422)
        phone = check_phone(phone)
        number = normalise_meter_number(meter)
        if amount_minor <= 0:
            raise refused("amount_invalid", "Montant invalide.", 422)
        digest = _digest(number, amount_minor, phone, channel.value)
        order = Order(operator, reference, number, amount_minor, phone, channel, digest, desk)
        if self.db.engine.dialect.name == "postgresql":
            return self.writer.sell(order)
        for attempt in range(3):
            try:
                return self._purchase_once(order)
            except (IntegrityError, OperationalError, EnvironmentProblem):
                # SQLite: the writer moved on under a deferred transaction; the next round
                # reads the other request's sale.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _existing(self, session: Session, operator: OperatorInfo, reference: str,
                  digest: str) -> Sale:
        request = session.get(VendingRequest, (operator.id, reference))
        assert request is not None
        if request.digest != digest:
            raise refused("reference_reused", "Cette référence d'opération a déjà servi pour "
                          "un autre achat.")
        found = self._sales(session, select(VendTransaction).where(
            VendTransaction.id == request.vend_id))
        return found[0]

    def _take_reference(self, session: Session, operator: OperatorInfo, reference: str,
                        digest: str, vend_id: uuid.UUID, now: datetime) -> bool:
        """Takes the reference for this sale; False if it was taken (a concurrent request
        with it is waited for: the unique key holds this one until the other one ends).

        The same statement checks that the operator's credential is still the one the request
        came with and is not revoked (the server keeps a recognised credential a moment, but a
        sale never goes through on a credential revoked or replaced before it)."""
        statement = _take_statement(session.get_bind().dialect.name,
                                    bool(operator.secret_hash))
        taken = session.execute(statement, {
            "operator": operator.id, "reference": reference, "digest": digest,
            "vend": vend_id, "at": now, "secret": operator.secret_hash}).first()
        if taken is None and operator.secret_hash:
            current = session.get(VendingOperator, operator.id)
            if (current is None or current.revoked_at is not None
                    or current.secret_hash != operator.secret_hash):
                raise refused("unauthorized", "Identifiant d'opérateur inconnu ou révoqué.", 401)
        return taken is not None

    def _purchase_once(self, order: Order) -> tuple[Sale, bool]:
        """SQLite (one writer): one sale, one transaction, its receipt taken in it."""
        with UnitOfWork(self.db, SYSTEM) as uow:
            written = self._write_sale(uow.session, order, self.clock())
            if not isinstance(written, Written):
                return written, True
            for text_ in written.texts:
                uow.session.add(SmsMessage(vend_id=written.vend_id, phone=written.phone,
                                           text=text_, next_at=written.view.sold_at))
            uow.commit()
        self.wake()
        return written.view, False

    def _write_sale(self, session: Session, order: Order, now: datetime) -> Written | Sale:
        """Writes one sale in ``session`` under its own actor and transaction id (audit and
        journal entries, commit number), or answers the sale its reference already has.
        PostgreSQL: the receipt is a placeholder, numbered with the batch
        (:meth:`_number_and_commit`)."""
        operator, desk, amount_minor, phone = (order.operator, order.desk, order.amount_minor,
                                               order.phone)
        seller = desk.agent if desk else f"opérateur {operator.code}"
        set_actor(session, Actor(username=seller, agency_id=desk.agency_id if desk else None))
        vend_id = new_id()
        if not self._take_reference(session, operator, order.reference, order.digest, vend_id,
                                    now):
            return self._existing(session, operator, order.reference, order.digest)
        today = now.astimezone(self.zone).date()
        facts = self._meter(session, order.number, today, desk.agency_id if desk else None)
        if desk is None:
            self._check_limits(operator, amount_minor)
        state = self._lock_meter(session, facts)
        terms, spent = self._terms(session, facts, today,
                                   None if desk else (operator.code, phone))
        if desk is None:
            self._check_daily(operator, amount_minor, spent)
        try:
            split = from_amount(terms, amount_minor)
        except PricingError as error:
            raise refused(error.code, error.message, 422) from None
        if self.tokens is None:
            raise refused("token_unavailable", "Service de jetons indisponible : réessayez "
                          "plus tard.", 503)
        try:
            issued = self.tokens.issue(facts.record, state, split.energy, now)
        except StsError as error:
            raise refused("token_unavailable", "Jeton impossible à produire pour ce "
                          f"compteur : {error.message_fr}", 503) from None
        # The sale's own transaction id from here (the meter's first sale released a
        # savepoint above, which ends the capture's transaction id).
        session.info["transaction_id"] = new_id()
        state.updated_at = now
        if self.hes_enabled:
            session.add(HesDelivery(vend_id=vend_id, drn=facts.drn, next_at=now,
                                    tokens=" ".join(t.digits for t in issued.in_order)))
        postgres = session.get_bind().dialect.name == "postgresql"
        placeholder = f"#{vend_id.hex[-17:]}"  # GSM-7, unique, as long as a receipt
        sale = VendTransaction(
            id=vend_id, agency_id=facts.agency_id,
            receipt_number=placeholder if postgres else self._receipt(session, now),
            meter_id=facts.meter_id, account_id=facts.account_id,
            tariff_id=facts.tariff.id, channel=order.channel, status=VendStatus.COMPLETED,
            amount_minor=amount_minor, energy=split.energy,
            energy_minor=split.energy_minor, fixed_charge_minor=split.fixed_charge_minor,
            arrears_minor=split.arrears_minor, vat_minor=split.vat_minor,
            token=issued.credit.digits, token_class=0, token_subclass=0,
            token_tid=issued.credit.tid,
            key_change_tokens=" ".join(t.digits for t in issued.key_change),
            phone=phone, operator_reference=order.reference, operator_code=operator.code,
            sms_status=SmsStatus.PENDING if self.sms_enabled else SmsStatus.NOT_REQUESTED,
            sold_at=now, sold_by=seller)
        session.add(sale)
        if split.arrears_minor and facts.account_id is not None:
            refresh_accounts(session, [facts.account_id])
        texts = sale_messages(sale, facts.drn, self.currency) if self.sms_enabled else []
        view = Sale.of(sale, facts.drn, DeliveryStatus.QUEUED.value if self.hes_enabled else None)
        session.flush()
        return Written(vend_id, session.info["transaction_id"], placeholder, texts, phone, view)

    def _number_and_commit(self, session: Session, sales: Sequence[Written],
                           now: datetime) -> list[str]:
        """PostgreSQL: the two rows every sale takes — the commit counter (sync numbering) and
        the receipt series — in one statement sent together with the COMMIT (one round trip),
        for a batch of sales written with placeholders: each row is locked for that statement
        and the commit's disk write only, once for the whole batch. The statement numbers the
        commits (one per sale's transaction id), gives the sales consecutive receipt numbers in
        order and puts them in the sales, their journal and audit entries and their SMS.
        Answers the receipts, in order, once committed."""
        session.flush()
        write_pending(session)
        sync, params = stamp_clause(session)
        year = now.astimezone(self.zone).year
        count = len(sales)
        params.update({
            "code": SERIES_CODE, "series": Series.VEND_RECEIPT.value, "year": year,
            "prefix": f"{PREFIX[Series.VEND_RECEIPT]}{SERIES_CODE}-{year}-", "count": count,
            "now": now})
        batch, messages = [], []
        for index, sale in enumerate(sales):
            params[f"vend{index}"], params[f"tx{index}"] = sale.vend_id, sale.transaction_id
            params[f"ph{index}"], params[f"phone{index}"] = sale.placeholder, sale.phone
            batch.append(f"({index}, CAST(%(vend{index})s AS uuid), "
                         f"CAST(%(tx{index})s AS uuid), CAST(%(ph{index})s AS text), "
                         f"CAST(%(phone{index})s AS text))")
            for part, text_ in enumerate(sale.texts):
                key = f"{index}_{part}"
                params[f"sms{key}"], params[f"text{key}"] = new_id(), text_
                messages.append(f"({index}, CAST(%(sms{key})s AS uuid), "
                                f"CAST(%(text{key})s AS text))")
        sms = ""
        if messages:
            sms = (
                ", s AS (INSERT INTO sms_outbox (id, vend_id, phone, text, status, attempts, "
                "next_at, last_error, created_at) SELECT m.id, n.vend, n.phone, "
                "replace(m.text, n.ph, n.receipt), 'queued', 0, %(now)s, '', %(now)s "
                f"FROM n JOIN (VALUES {', '.join(messages)}) AS m (o, id, text) ON m.o = n.o)")
        statement = (
            "WITH " + sync + ", "
            "r AS (INSERT INTO number_series (agency_code, series, year, last_value) "
            "SELECT %(code)s, %(series)s, %(year)s, %(count)s FROM sync_counter "
            "ON CONFLICT (agency_code, series, year) DO UPDATE "
            "SET last_value = number_series.last_value + %(count)s RETURNING last_value), "
            f"b (o, vend, tx, ph, phone) AS (VALUES {', '.join(batch)}), "
            "n AS (SELECT b.*, %(prefix)s || lpad(k::text, greatest(6, length(k::text)), '0') "
            "AS receipt FROM r, b, LATERAL (SELECT r.last_value - %(count)s + 1 + b.o AS k) x), "
            "v AS (UPDATE vend_transaction SET receipt_number = n.receipt FROM n "
            "WHERE vend_transaction.id = n.vend RETURNING vend_transaction.id), "
            "j AS (UPDATE sync_journal SET changes = replace(changes::text, n.ph, "
            "n.receipt)::json FROM n WHERE transaction_id = n.tx AND row_id = n.vend "
            "RETURNING seq), "
            "a AS (UPDATE audit_entry SET changes = replace(changes::text, n.ph, "
            "n.receipt)::json FROM n WHERE transaction_id = n.tx AND row_id = n.vend "
            "RETURNING audit_entry.id)"
            + sms +
            # Checked inside the statement (the COMMIT is already on its way): a sale, its
            # journal or audit entry or its commit number missing divides by zero, and the
            # transaction is rolled back whole.
            " SELECT n.o, n.receipt, 1 / (((SELECT count(*) FROM v) = %(count)s "
            "AND (SELECT count(*) FROM j) = %(count)s AND (SELECT count(*) FROM a) = %(count)s "
            "AND (SELECT count(*) FROM sync_numbers) = %(count)s)::int) FROM n ORDER BY n.o")
        raw = session.connection().connection.driver_connection
        assert isinstance(raw, psycopg.Connection)
        try:
            with raw.pipeline():
                cursor = raw.cursor()
                cursor.execute(statement, params)
                raw.commit()
            rows = cursor.fetchall()
        except psycopg.Error as error:
            raise DBAPIError.instance(statement, params, error, psycopg.Error) from error
        assert len(rows) == count and all(row[2] == 1 for row in rows)
        return [str(row[1]) for row in rows]

    def _receipt(self, session: Session, now: datetime) -> str:
        year = now.astimezone(self.zone).year
        dialect = session.get_bind().dialect.name
        insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert_(NumberSeries).values(
            agency_code=SERIES_CODE, series=Series.VEND_RECEIPT.value, year=year, last_value=1)
        counter = session.execute(statement.on_conflict_do_update(
            index_elements=["agency_code", "series", "year"],
            set_={"last_value": NumberSeries.last_value + 1})
            .returning(NumberSeries.last_value)).scalar_one()
        return format_number(Series.VEND_RECEIPT, SERIES_CODE, year, int(counter))

    def _check_limits(self, operator: OperatorInfo, amount_minor: int) -> None:
        fmt = self.currency.format_minor
        if amount_minor < operator.min_amount_minor:
            raise refused("amount_below_minimum", "Montant trop faible : minimum "
                          f"{fmt(operator.min_amount_minor)} par achat.", 422)
        if amount_minor > operator.max_amount_minor:
            raise refused("amount_above_maximum", "Montant trop élevé : maximum "
                          f"{fmt(operator.max_amount_minor)} par achat.", 422)

    def _check_daily(self, operator: OperatorInfo, amount_minor: int, spent: int) -> None:
        if spent + amount_minor > operator.max_payer_day_minor:
            left = max(0, operator.max_payer_day_minor - spent)
            raise refused("daily_limit_exceeded", "Plafond journalier atteint pour ce numéro : "
                          f"reste {self.currency.format_minor(left)} aujourd'hui.", 422)

    def _lock_meter(self, session: Session, facts: MeterFacts) -> VendingMeter:
        return self._lock(session, facts.meter_id, facts.drn, facts.record)

    def _lock(self, session: Session, meter_id: uuid.UUID, drn: str,
              record: MeterRecord) -> VendingMeter:
        """The meter's vending row, locked (``FOR UPDATE``); its first sale makes it (from
        the record: the key the meter holds is taken as the record's)."""
        state = session.scalars(_LOCK_METER, {"meter": meter_id}).first()
        if state is not None:
            return state
        dialect = session.get_bind().dialect.name
        insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(insert_(VendingMeter).values(
            meter_id=meter_id, drn=drn, sgc=record.sgc, ti=record.ti, krn=record.krn,
            kt=record.kt, ken=record.ken, base_date=record.base_date, last_tid=None,
            blocked_reason="", updated_at=self.clock()).on_conflict_do_nothing())
        state = session.scalars(_LOCK_METER, {"meter": meter_id}).first()
        assert state is not None
        return state

    # --- management tokens (supervisors at an agency's counter) -------------------------
    def issue_management(self, desk: DeskSeller, *, reference: str, meter: str, kind: str,
                         reason: str, watts: int | None = None) -> tuple[Sale, bool]:
        """A management token (``clear_credit``, ``clear_tamper``, ``power_limit``,
        ``key_change``) for one of the agency's meters, asked by a supervisor or an
        administrator of the agency (checked here against central's users, not only on the
        desk), with a reason (on the audit entry); stored as a ``vend_transaction`` of amount 0
        with its own receipt, idempotent by ``reference``: ``(sale, replayed)``."""
        if kind not in MANAGEMENT_KINDS:
            raise refused("kind_invalid", "Type de jeton de gestion inconnu.", 422)
        reason = " ".join(reason.split())
        if len(reason) < 5:
            raise refused("reason_missing", "Indiquez le motif du jeton de gestion "
                          "(5 caractères au moins).", 422)
        if kind == "power_limit" and not (watts and 100 <= watts <= 100_000):
            raise refused("power_invalid", "Puissance maximale invalide (100 à 100 000 W).",
                          422)
        if not _REFERENCE.fullmatch(reference or ""):
            raise refused("reference_invalid", "Référence d'opération invalide.", 422)
        number = normalise_meter_number(meter)
        digest = _digest(number, watts or 0, kind, "management")
        operator = OperatorInfo(desk.agency_id, "", f"agence {desk.agency_code}", 1, 10**15,
                                10**15, False)
        with UnitOfWork(self.db, Actor(username=desk.agent, agency_id=desk.agency_id)) as uow:
            session = uow.session
            user = session.execute(select(User.role, User.agency_id, User.is_active).where(
                User.username == desk.agent)).first()
            if user is None or not user[2] or user[1] not in (desk.agency_id, None) \
                    or user[0] not in (Role.SUPERVISOR, Role.ADMINISTRATOR):
                raise refused("role_forbidden", "Jetons de gestion réservés aux superviseurs et "
                              "administrateurs de l'agence.", 403)
            now = self.clock()
            vend_id = new_id()
            if not self._take_reference(session, operator, reference, digest, vend_id, now):
                return self._existing(session, operator, reference, digest), True
            found = session.scalars(select(Meter).where(Meter.sts_drn == number)).first() or \
                session.scalars(select(Meter).where(Meter.serial == number)).first()
            if found is None:
                raise refused("meter_unknown", f"Compteur {number} inconnu.", 404)
            if found.agency_id != desk.agency_id:
                raise refused("meter_other_agency", f"Le compteur {number} dépend d'une autre "
                              "agence.", 403)
            if not found.sts_drn or found.payment is not MeterPayment.PREPAID:
                raise refused("meter_not_sts", f"Le compteur {number} n'est pas un compteur "
                              "prépayé STS.", 422)
            if self.tokens is None:
                raise refused("token_unavailable", "Service de jetons indisponible : réessayez "
                              "plus tard.", 503)
            record = meter_record(found)
            state = self._lock(session, found.id, found.sts_drn, record)
            subclass, credit, changes = self._management_tokens(kind, record, state, now,
                                                                watts)
            state.updated_at = now
            set_reason(session, f"Jeton de gestion ({MANAGEMENT_KINDS[kind]}) : {reason}")
            postgres = session.get_bind().dialect.name == "postgresql"
            placeholder = f"#{vend_id.hex[-17:]}"
            row = VendTransaction(
                id=vend_id, agency_id=found.agency_id,
                receipt_number=placeholder if postgres else self._receipt(session, now),
                meter_id=found.id, account_id=None, tariff_id=None,
                channel=VendChannel.COUNTER, status=VendStatus.COMPLETED, amount_minor=0,
                energy=Decimal(0), energy_minor=0, fixed_charge_minor=0, arrears_minor=0,
                vat_minor=0, token=credit.digits if credit else "", token_class=2,
                token_subclass=subclass, token_tid=credit.tid if credit else None,
                key_change_tokens=" ".join(t.digits for t in changes), phone="",
                operator_reference=reference, operator_code="",
                sms_status=SmsStatus.NOT_REQUESTED, sold_at=now, sold_by=desk.agent)
            session.add(row)
            view = Sale.of(row, found.sts_drn, None)
            if postgres:
                session.flush()
                written = Written(vend_id, session.info["transaction_id"], placeholder, [], "",
                                  view)
                view = replace(view, receipt=self._number_and_commit(session, [written],
                                                                     now)[0])
            uow.commit()  # PostgreSQL: committed above; this ends the session's transaction
        return view, False

    def _management_tokens(self, kind: str, record: MeterRecord, state: VendingMeter,
                           now: datetime, watts: int | None
                           ) -> tuple[int, Token | None, tuple[Token, ...]]:
        assert self.tokens is not None
        try:
            if kind == "key_change":
                changes = self.tokens.key_change(record, state, now)
                if not changes:
                    raise refused("key_current", "La clé du compteur est déjà celle de sa fiche : "
                                  "pour redonner les codes du dernier changement de clé, "
                                  "réimprimez son reçu ou renvoyez son SMS.", 409)
                return 3, None, changes
            subclass = {"clear_credit": 1, "clear_tamper": 5, "power_limit": 0}[kind]
            value = (encode_value(2, 0, watts, None) if kind == "power_limit"
                     else 0xFFFF if kind == "clear_credit" else 0)
            issued = self.tokens.issue_tid(record, state, 2, subclass, value, now)
        except StsError as error:
            raise refused("token_unavailable", "Jeton impossible à produire pour ce compteur : "
                          f"{error.message_fr}", 503) from None
        return subclass, issued.credit, issued.key_change

    # --- look-ups -----------------------------------------------------------------------
    def find(self, operator: OperatorInfo, *, reference: str | None = None,
             receipt: str | None = None, meter: str | None = None, phone: str | None = None,
             day_from: date | None = None, day_to: date | None = None,
             limit: int = 100) -> list[Sale]:
        """The operator's own sales only (another operator's never answer)."""
        query = select(VendTransaction).where(VendTransaction.operator_code == operator.code)
        if reference:
            query = query.where(VendTransaction.operator_reference == reference)
        if receipt:
            query = query.where(VendTransaction.receipt_number == receipt)
        if phone:
            query = query.where(VendTransaction.phone == check_phone(phone))
        if day_from:
            query = query.where(VendTransaction.sold_at >= datetime.combine(day_from, time(0),
                                                                            self.zone))
        if day_to:
            query = query.where(VendTransaction.sold_at < datetime.combine(
                day_to + timedelta(days=1), time(0), self.zone))
        with self.db.reading() as session:
            if meter:
                number = normalise_meter_number(meter)
                ids = list(session.scalars(select(Meter.id).where(
                    (Meter.sts_drn == number) | (Meter.serial == number))))
                query = query.where(VendTransaction.meter_id.in_(ids))
            return self._sales(session, query.order_by(VendTransaction.sold_at).limit(limit))

    @staticmethod
    def _sales(session: Session, query: Select[Any]) -> list[Sale]:
        rows: list[VendTransaction] = list(session.scalars(query))
        if not rows:
            return []
        drns = {m: d for m, d in session.execute(select(Meter.id, Meter.sts_drn).where(
            Meter.id.in_({r.meter_id for r in rows})))}
        hes = {v: st.value for v, st in session.execute(
            select(HesDelivery.vend_id, HesDelivery.status)
            .where(HesDelivery.vend_id.in_([r.id for r in rows])))}
        return [Sale.of(r, drns.get(r.meter_id) or "", hes.get(r.id)) for r in rows]

    def resend_sms(self, desk: DeskSeller, *, receipt: str, phone: str, reason: str) -> Sale:
        """The sale's SMS queued again (to the same or another number), at an agency's
        counter for one of its own sales; audited with the agent and the reason."""
        phone = check_phone(phone)
        if not reason.strip():
            raise refused("reason_missing", "Indiquez pourquoi le SMS est renvoyé.", 422)
        if not self.sms_enabled:
            raise refused("sms_disabled", "L'envoi de SMS n'est pas configuré sur la "
                          "plateforme.", 503)
        with UnitOfWork(self.db, Actor(username=desk.agent, agency_id=desk.agency_id)) as uow:
            session = uow.session
            found = session.execute(
                select(VendTransaction, Meter).join(Meter, Meter.id == VendTransaction.meter_id)
                .where(VendTransaction.receipt_number == receipt.strip().upper())).first()
            if found is None or found[0].agency_id != desk.agency_id:
                raise refused("not_found", f"Aucune vente de reçu {receipt} pour cette "
                              "agence.", 404)
            sale, meter = found
            set_reason(session, f"SMS renvoyé au {phone} : {reason.strip()}")
            now = self.clock()
            # Audited even when the status does not change (the first SMS still queued).
            session.add(AuditEntry(
                agency_id=sale.agency_id, user_id=None, username=desk.agent,
                transaction_id=new_id(), table_name="vend_transaction", row_id=sale.id,
                operation=JournalOperation.UPDATE, changes={"sms_resent_to": [None, phone]},
                reason=f"SMS renvoyé au {phone} : {reason.strip()}"))
            sale.sms_status = SmsStatus.PENDING
            for text_ in sale_messages(sale, meter.sts_drn or meter.serial, self.currency):
                session.add(SmsMessage(vend_id=sale.id, phone=phone, text=text_, next_at=now))
            view = Sale.of(sale, meter.sts_drn or meter.serial, None)
            uow.commit()
        self.wake()
        return view

    def block(self, number: str, reason: str) -> None:
        """Blocks a meter's sales at the platform (fraud, tampering); empty reason unblocks."""
        with self.db.session() as session, session.begin():
            facts_meter = session.scalars(select(Meter).where(
                Meter.sts_drn == normalise_meter_number(number))).first()
            if facts_meter is None or not facts_meter.sts_drn:
                raise NotFoundError(f"Compteur {number} inconnu.")
            state = session.get(VendingMeter, facts_meter.id)
            if state is None:
                state = VendingMeter(
                    meter_id=facts_meter.id, drn=facts_meter.sts_drn,
                    sgc=facts_meter.sts_sgc or 0, ti=facts_meter.sts_tariff_index or 0,
                    krn=facts_meter.sts_key_revision or 1,
                    kt=2 if facts_meter.sts_key_type is None else facts_meter.sts_key_type,
                    ken=0xFF if facts_meter.sts_key_expiry is None else
                    facts_meter.sts_key_expiry,
                    base_date=facts_meter.sts_base_date or 1993, last_tid=None,
                    blocked_reason="")
                session.add(state)
            state.blocked_reason = reason
