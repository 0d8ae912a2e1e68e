"""Selling: the reference taken, the meter locked, the tokens issued, the sale written through
the write path; on PostgreSQL numbered and committed with its batch.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, cast

import psycopg
from sqlalchemy import Select, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from app.models import (
    Meter,
    NumberSeries,
    VendTransaction,
)
from app.models.capture import SYSTEM, Actor, set_actor
from app.models.enums import (
    SmsStatus,
    VendChannel,
    VendStatus,
)
from app.models.ids import new_id
from app.models.search_index import write_pending
from central import pgarrays
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
from central.sync.numbering import stamp_clause
from central.vending.errors import refused
from central.vending.meters import MeterRules
from central.vending.operators import OperatorInfo
from central.vending.pricing import PricingError, from_amount
from central.vending.records import (
    REFERENCE_FORMAT,
    SERIES_CODE,
    DeskSeller,
    MeterFacts,
    Sale,
    _digest,
    check_phone,
    normalise_meter_number,
)
from central.vending.sale_writer import Order, Written
from kernel.context import UnitOfWork
from kernel.errors import EnvironmentProblem
from kernel.numbering import PREFIX, Series, format_number


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
#: The payers' advisory locks of a batch, taken in the order of the (sorted) array.
_LOCK_PAYERS = ("SELECT pg_advisory_xact_lock(k) FROM unnest(%(keys)s::bigint[]) "
                "WITH ORDINALITY AS t (k, o) ORDER BY o")


def payer_lock_key(operator_id: uuid.UUID, phone: str) -> int:
    """The PostgreSQL advisory lock key of a paying phone's day with an operator."""
    digest = hashlib.sha256(f"vending-payer\0{operator_id}\0{phone}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def driver(session: Session) -> psycopg.Connection[Any]:
    """The session's psycopg connection (its transaction), ready for ``central.pgarrays``'
    arrays: a batch's statements go to the driver as they are, prepared (no SQLAlchemy
    compilation or execution context; psycopg dumps each array in one piece)."""
    raw = session.connection().connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    pgarrays.ready(raw)
    return raw


def lock_payers(session: Session, orders: Sequence[Order]) -> None:
    """Holds, until the batch's transaction ends, the paying phones of the batch's operator
    sales: a payer's sales in batches of two server processes are checked against the daily
    limit one batch after the other, the second seeing the first's committed. Taken before
    any sale of the batch (outside their savepoints, which would release them) in sorted
    order: two batches never wait for each other's payers crosswise, and a batch that holds
    meters' rows already holds every payer lock it needs."""
    keys = sorted({payer_lock_key(o.operator.id, o.phone) for o in orders if o.desk is None})
    if keys:
        raw = driver(session)
        with raw.pipeline():  # the transaction's BEGIN goes with it: one round trip
            raw.execute(_LOCK_PAYERS, {"keys": pgarrays.int8s(keys)}, prepare=True)


#: The meter's vending row, locked for the sale (its TIDs and key).
_LOCK_METER = (select(VendingMeter).where(VendingMeter.meter_id == bindparam("meter"))
               .with_for_update())



#: The SMS of sales numbered before the commit (as the numbering statement writes them).
_OUTBOX_ROWS = (
    "INSERT INTO sms_outbox (id, vend_id, phone, text, status, attempts, next_at, last_error, "
    "created_at) VALUES (%(id)s, %(vend_id)s, %(phone)s, %(text)s, 'queued', 0, %(next_at)s, "
    "'', %(created_at)s)")


class Selling(MeterRules):
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
        if not REFERENCE_FORMAT.fullmatch(reference or ""):
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
        Answers the receipts, in order, once committed.

        Sales already numbered (a batch of plain sales only: ``Written.numbered``) have their
        commit numbers and receipts: their SMS only are written, with the COMMIT."""
        session.flush()
        write_pending(session)
        if any(sale.numbered for sale in sales):
            return self._commit_numbered(session, sales, now)
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

    @staticmethod
    def _commit_numbered(session: Session, sales: Sequence[Written], now: datetime
                         ) -> list[str]:
        if not all(sale.numbered for sale in sales):
            raise ValueError("a batch's sales are numbered together, before or at the commit")
        messages = [{"id": new_id(), "vend_id": sale.vend_id, "phone": sale.phone,
                     "text": text_, "next_at": now, "created_at": now}
                    for sale in sales for text_ in sale.texts]
        raw = session.connection().connection.driver_connection
        assert isinstance(raw, psycopg.Connection)
        statement = _OUTBOX_ROWS
        try:
            with raw.pipeline():
                if messages:
                    raw.cursor().executemany(statement, messages)
                raw.commit()
        except psycopg.Error as error:
            raise DBAPIError.instance(statement, {}, error, psycopg.Error) from error
        return [sale.placeholder for sale in sales]

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

