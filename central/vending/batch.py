"""PostgreSQL: the plain sales of a batch written together, a few statements for the whole
batch instead of a dozen per sale.

The sale writer (:mod:`central.vending.sale_writer`) hands the batch here first, in the
batch's transaction, after the payers' locks (if this fails, the transaction is rolled back and
every order written alone). In order: the facts of every meter (one query) and the
rules a sale checks before anything is written; the references of the sales that passed,
taken in one statement (sorted, with the operators' credentials checked in it); the meters'
vending rows made when missing and locked in one statement (sorted: two batches never wait for
each other crosswise); the meters' months and the payers' days in two queries, each sale then
counting the batch's sales before it; the pricing and the tokens; then the meters' rows, the
sales, their journal and audit entries (the capture's content, each sale under its own
transaction id, synchronised to the meter's agency) and the HES deliveries, one statement each.

Anything out of the plain way goes back to the writer, which writes it alone in its own
savepoint after this (:meth:`Selling._write_sale`): a refusal (its reference, taken here, given
back first), a reference already taken (a replay, a concurrent request, a revoked credential),
a second request with a reference of the batch, a meter found by its serial, a sale recovering
arrears (the account's balance moves through the ORM's capture). The receipts are numbered with
the rest of the batch (:meth:`Selling._number_and_commit`), or first when nothing of the batch is
left to write alone (:meth:`BatchSelling._number_first`).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    ARRAY,
    String,
    Table,
    any_,
    bindparam,
    func,
    insert,
    inspect,
    null,
    select,
    union_all,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from app.models import Meter, SyncJournalEntry, VendTransaction
from app.models.base import SCHEMA_VERSION
from app.models.enums import JournalOperation, SmsStatus, VendStatus
from app.models.ids import new_id, utcnow
from app.models.jsonable import to_jsonable
from central import pgarrays
from central.models import DeliveryStatus, HesDelivery, VendingMeter
from central.sms.text import sale_messages
from central.sync.numbering import number_only, stamp_clause
from central.vending.driver_select import DriverSelect
from central.vending.hes import IssuedTokens
from central.vending.meters import _ALL_FACTS
from central.vending.pricing import from_amount
from central.vending.records import SERIES_CODE, MeterFacts, Sale
from central.vending.sale_writer import Order, Written
from central.vending.selling import Selling, driver
from kernel.numbering import Series, format_number

_TABLE: Table = VendTransaction.__table__  # type: ignore[assignment]
_JOURNAL: Table = SyncJournalEntry.__table__  # type: ignore[assignment]
_HES: Table = HesDelivery.__table__  # type: ignore[assignment]
_STATE: Table = VendingMeter.__table__  # type: ignore[assignment]
_UUIDS = ARRAY(_STATE.c.meter_id.type)
_TEXTS = ARRAY(String())

#: The sale's columns its journal and audit entries record, in the capture's order (every
#: column but the row's id and its bookkeeping: ``app.models.capture._insert_changes``).
_JOURNALED = tuple(attr.key for attr in inspect(VendTransaction).column_attrs
                   if attr.key not in {"id", "version", "created_at", "updated_at"})
assert all(attr.key == attr.columns[0].name for attr in inspect(VendTransaction).column_attrs)

_NUMBER = re.compile(r"[A-Za-z0-9]{4,20}")

#: The batch's meters found by their DRN (a number found by its serial goes the single way).
_FACTS_BY_DRNS = DriverSelect(
    _ALL_FACTS.where(Meter.sts_drn == any_(bindparam("numbers", type_=_TEXTS))))

#: The batch's references taken in one statement, in sorted order; an operator's only while
#: its credential is still the one the request came with and not revoked.
_TAKE = (
    "INSERT INTO vending_request (operator_id, reference, digest, vend_id, at) "
    "SELECT r.operator, r.reference, r.digest, r.vend, %(at)s "
    "FROM unnest(%(operators)s::uuid[], %(references)s::text[], %(digests)s::text[], "
    "%(vends)s::uuid[], %(secrets)s::text[]) AS r (operator, reference, digest, vend, secret) "
    "WHERE r.secret = '' OR EXISTS (SELECT FROM vending_operator o WHERE o.id = r.operator "
    "AND o.secret_hash = r.secret AND o.revoked_at IS NULL) "
    "ORDER BY r.operator, r.reference "
    "ON CONFLICT DO NOTHING RETURNING vend_id")

#: References of sales refused after they were taken: free again.
_GIVE_BACK = sql_text(
    "DELETE FROM vending_request WHERE (operator_id, reference) IN (SELECT * FROM "
    "unnest(CAST(:operators AS uuid[]), CAST(:references AS text[])))")

#: The meters' vending rows, locked in sorted order.
_LOCK = ("SELECT meter_id, sgc, ti, krn, kt, ken, base_date, last_tid FROM vending_meter "
         "WHERE meter_id = ANY(%(meters)s::uuid[]) ORDER BY meter_id FOR UPDATE")

_SAVE_STATES = (
    "UPDATE vending_meter AS m SET sgc = v.sgc, ti = v.ti, krn = v.krn, kt = v.kt, "
    "ken = v.ken, base_date = v.base_date, last_tid = v.last_tid, updated_at = %(now)s "
    "FROM unnest(%(meters)s::uuid[], %(sgc)s::integer[], %(ti)s::integer[], "
    "%(krn)s::integer[], %(kt)s::integer[], %(ken)s::integer[], %(base_date)s::integer[], "
    "%(last_tid)s::integer[]) AS v (meter_id, sgc, ti, krn, kt, ken, base_date, last_tid) "
    "WHERE m.meter_id = v.meter_id")

_vt = VendTransaction
_COUNTED = (_vt.status == VendStatus.COMPLETED, _vt.token_class == 0)
#: The batch's meters' completed energy purchases since the month began ``(meter, energy,
#: sales)`` and what its paying phones spent today ``(operator code, phone, spent)``, in one
#: query: each row fills one side, the other's columns null.
_SO_FAR = DriverSelect(union_all(
    select(_vt.meter_id, func.sum(_vt.energy), func.count(), null(), null(), null())
    .where(_vt.meter_id == any_(bindparam("meters", type_=_UUIDS)),
           _vt.sold_at >= bindparam("month"), *_COUNTED)
    .group_by(_vt.meter_id),
    select(null(), null(), null(), _vt.operator_code, _vt.phone, func.sum(_vt.amount_minor))
    .where(_vt.phone == any_(bindparam("phones", type_=_TEXTS)),
           _vt.operator_code == any_(bindparam("codes", type_=_TEXTS)),
           _vt.sold_at >= bindparam("day"), _vt.sold_at < bindparam("next_day"), *_COUNTED)
    .group_by(_vt.operator_code, _vt.phone)))


@dataclass
class KeyHeld:
    """A meter's vending row as the batch holds it (locked): the key the meter holds and its
    last TID, moved by each of the batch's sales of the meter in turn."""

    meter_id: uuid.UUID
    sgc: int
    ti: int
    krn: int
    kt: int
    ken: int
    base_date: int
    last_tid: int | None


class _Texts(NamedTuple):
    token: str
    key_change_tokens: str
    energy: Decimal
    amount_minor: int
    receipt_number: str


@dataclass
class _Plain:
    """An order the batch writes itself, with what it found so far."""

    order: Order
    facts: MeterFacts
    vend_id: uuid.UUID
    has_state: bool


class BatchSelling(Selling):
    def _write_plain(self, session: Session, orders: Sequence[Order], now: datetime
                     ) -> tuple[list[tuple[Order, Written]], list[Order]]:
        """Writes the batch's plain sales: ``(written, the orders left to write alone)``,
        both in the batch's order."""
        if self.tokens is None:
            return [], list(orders)
        today = now.astimezone(self.zone).date()
        plain, seen = self._facts_of(session, orders, today)
        rest = [o for o in orders if id(o) not in seen]
        taken = self._take(session, plain, now)
        rest += [p.order for p in plain if p.vend_id not in taken]
        plain = [p for p in plain if p.vend_id in taken]
        if not plain:
            return [], _in_order(orders, rest)
        states = self._lock_states(session, plain, now)
        months, days = self._so_far(session, plain, today)
        sold: list[tuple[_Plain, IssuedTokens, Any]] = []
        refused_: list[_Plain] = []
        for item in plain:
            try:
                sold.append(self._price_and_issue(item, states, months, days, now))
            except Exception:  # noqa: BLE001 (written alone next, which gives its answer)
                refused_.append(item)
        if refused_:
            session.connection().execute(_GIVE_BACK, {
                "operators": [p.order.operator.id for p in refused_],
                "references": [p.order.reference for p in refused_]})
            rest += [p.order for p in refused_]
        written = self._write(session, sold, states, now, numbered=not rest)
        return written, _in_order(orders, rest)

    def _facts_of(self, session: Session, orders: Sequence[Order], today: Any
                  ) -> tuple[list[_Plain], set[int]]:
        """The orders whose meter is found by its DRN and passes the rules, each reference
        once (a second request with it goes the single way, after the first is written)."""
        keys: set[tuple[uuid.UUID, str]] = set()
        first = []
        for order in orders:
            key = (order.operator.id, order.reference)
            if key not in keys and _NUMBER.fullmatch(order.number):
                first.append(order)
            keys.add(key)
        rows: dict[str, list[Any]] = {}
        if first:
            for row in _FACTS_BY_DRNS.rows(session,
                                           {"numbers": sorted({o.number for o in first})}):
                rows.setdefault(row.sts_drn, []).append(row)
        plain: list[_Plain] = []
        for order in first:
            found = rows.get(order.number, [])
            if len(found) != 1:
                continue
            try:
                facts = self._judge(session, found[0], order.number, today,
                                    order.desk.agency_id if order.desk else None)
                if order.desk is None:
                    self._check_limits(order.operator, order.amount_minor)
            except Exception:  # noqa: BLE001 (refused alone next)
                continue
            plain.append(_Plain(order, facts, new_id(), found[0].blocked is not None))
        return plain, {id(p.order) for p in plain}

    @staticmethod
    def _take(session: Session, plain: list[_Plain], now: datetime) -> set[uuid.UUID]:
        if not plain:
            return set()
        return {row[0] for row in driver(session).execute(_TAKE, {
            "at": now, "operators": pgarrays.uuids([p.order.operator.id for p in plain]),
            "references": pgarrays.texts([p.order.reference for p in plain]),
            "digests": pgarrays.texts([p.order.digest for p in plain]),
            "vends": pgarrays.uuids([p.vend_id for p in plain]),
            "secrets": pgarrays.texts([p.order.operator.secret_hash or "" for p in plain]),
        }, prepare=True)}

    def _lock_states(self, session: Session, plain: list[_Plain], now: datetime
                     ) -> dict[uuid.UUID, KeyHeld]:
        """The meters' vending rows locked; a meter's first sale makes its row (the key the
        meter holds taken as its record's)."""
        missing = {p.facts.meter_id: p.facts for p in plain if not p.has_state}
        if missing:
            session.connection().execute(postgresql.insert(_STATE).on_conflict_do_nothing(), [
                {"meter_id": f.meter_id, "drn": f.drn, "sgc": f.record.sgc, "ti": f.record.ti,
                 "krn": f.record.krn, "kt": f.record.kt, "ken": f.record.ken,
                 "base_date": f.record.base_date, "last_tid": None, "blocked_reason": "",
                 "updated_at": self.clock()}
                for f in sorted(missing.values(), key=lambda f: f.meter_id)])
        meters = pgarrays.uuids(sorted({p.facts.meter_id for p in plain}))
        return {row[0]: KeyHeld(*row)
                for row in driver(session).execute(_LOCK, {"meters": meters}, prepare=True)}

    def _so_far(self, session: Session, plain: list[_Plain], today: Any
                ) -> tuple[dict[uuid.UUID, list[Any]], dict[tuple[str, str], int]]:
        """The meters' months ``{meter: [energy, sales]}`` and the payers' days
        ``{(operator code, phone): spent}`` before the batch."""
        payers = {(p.order.operator.code, p.order.phone) for p in plain if p.order.desk is None}
        start = datetime.combine(today, time(0), self.zone)
        months: dict[uuid.UUID, list[Any]] = {}
        days: dict[tuple[str, str], int] = {}
        for meter, energy, count, code, phone, spent in _SO_FAR.rows(session, {
                "meters": sorted({p.facts.meter_id for p in plain}),
                "month": self._month_start(today),
                "phones": sorted({p for _c, p in payers}), "codes": sorted({c for c, _p in payers}),
                "day": start, "next_day": start + timedelta(days=1)}):
            if meter is not None:
                months[meter] = [Decimal(energy or 0), int(count)]
            else:
                days[(code, phone)] = int(spent)
        return months, days

    def _price_and_issue(self, item: _Plain, states: dict[uuid.UUID, KeyHeld],
                         months: dict[uuid.UUID, list[Any]], days: dict[tuple[str, str], int],
                         now: datetime) -> tuple[_Plain, IssuedTokens, Any]:
        """The sale's split and tokens, its meter's month and its payer's day counting the
        batch's sales before it; a refusal raises (the meter's key state left as it was)."""
        order, facts = item.order, item.facts
        month = months.setdefault(facts.meter_id, [Decimal(0), 0])
        payer = (order.operator.code, order.phone)
        if order.desk is None:
            self._check_daily(order.operator, order.amount_minor, days.get(payer, 0))
        split = from_amount(self._terms_of(facts, month[0], month[1]), order.amount_minor)
        if split.arrears_minor and facts.account_id is not None:
            raise LookupError("arrears: the account's balance moves through the ORM")
        assert self.tokens is not None
        state = states[facts.meter_id]
        before = replace(state)
        try:
            issued = self.tokens.issue(facts.record, state, split.energy, now)
        except BaseException:
            state.__dict__.update(before.__dict__)
            raise
        month[0] += split.energy
        month[1] += 1
        days[payer] = days.get(payer, 0) + order.amount_minor
        return item, issued, split

    def _write(self, session: Session, sold: list[tuple[_Plain, IssuedTokens, Any]],
               states: dict[uuid.UUID, KeyHeld], now: datetime, numbered: bool
               ) -> list[tuple[Order, Written]]:
        """The meters' rows, the sales, their journal and audit entries, the HES deliveries;
        ``numbered`` (nothing of the batch left to write alone): with their receipts, taken
        once the rows are built (:meth:`_number_first`), right before the one statement that
        writes them, else with placeholders numbered at the commit."""
        if not sold:
            return []
        transactions = [new_id() for _ in sold]
        moved = [states[m] for m in sorted({item.facts.meter_id for item, _i, _s in sold})]
        stamp = utcnow()
        sms = SmsStatus.PENDING if self.sms_enabled else SmsStatus.NOT_REQUESTED
        hes = DeliveryStatus.QUEUED.value if self.hes_enabled else None
        rows: list[dict[str, Any]] = []
        changes_json: list[str] = []
        sellers: list[str] = []
        deliveries: list[dict[str, Any]] = []
        written: list[tuple[Order, Written]] = []
        for index, (item, issued, split) in enumerate(sold):
            order, facts, vend_id = item.order, item.facts, item.vend_id
            transaction_id = transactions[index]
            placeholder = f"#{vend_id.hex[-17:]}"  # GSM-7, unique, as long as a receipt
            seller = order.desk.agent if order.desk else f"opérateur {order.operator.code}"
            changes_of = " ".join(t.digits for t in issued.key_change)
            row = {
                "agency_id": facts.agency_id, "receipt_number": placeholder,
                "meter_id": facts.meter_id, "account_id": facts.account_id,
                "tariff_id": facts.tariff.id, "channel": order.channel,
                "status": VendStatus.COMPLETED, "amount_minor": order.amount_minor,
                "energy_minor": split.energy_minor, "fixed_charge_minor": split.fixed_charge_minor,
                "arrears_minor": split.arrears_minor, "vat_minor": split.vat_minor,
                "energy": split.energy, "token": issued.credit.digits, "token_class": 0,
                "token_subclass": 0, "token_tid": issued.credit.tid,
                "key_change_tokens": changes_of, "operator_code": order.operator.code,
                "phone": order.phone, "sms_status": sms, "operator_reference": order.reference,
                "sold_at": now, "sold_by": seller, "failure_reason": "", "reprint_count": 0}
            changes = {key: [None, to_jsonable(row[key])] for key in _JOURNALED}
            row.update(id=vend_id, version=1, created_at=stamp, updated_at=stamp)
            rows.append(row)
            changes_json.append(json.dumps(changes))
            sellers.append(seller)
            if self.hes_enabled:
                deliveries.append({"vend_id": vend_id, "drn": facts.drn, "next_at": now,
                                   "tokens": " ".join(t.digits for t in issued.in_order)})
            texts = sale_messages(
                _Texts(issued.credit.digits, changes_of, split.energy, order.amount_minor,
                       placeholder), facts.drn, self.currency) if self.sms_enabled else []
            view = Sale(vend_id, order.reference, placeholder, facts.drn,
                        VendStatus.COMPLETED.value, order.channel.value, order.phone,
                        order.amount_minor, split.energy, split.energy_minor,
                        split.fixed_charge_minor, split.arrears_minor, split.vat_minor,
                        issued.credit.digits, tuple(changes_of.split()), issued.credit.tid,
                        now, sms.value, hes, facts.account_id, facts.agency_id,
                        order.operator.code, seller)
            written.append((order, Written(vend_id, transaction_id, placeholder, texts,
                                           order.phone, view)))
        if numbered:
            # Taken last: from here to the commit the batch holds the counter and the series
            # that every batch of every process takes, so nothing but statements happens here.
            receipts = self._number_first(session, transactions, now)
            for index, (order, sale) in enumerate(written):
                receipt, placeholder = receipts[index], sale.placeholder
                rows[index]["receipt_number"] = receipt
                changes_json[index] = changes_json[index].replace(placeholder, receipt)
                written[index] = (order, replace(
                    sale, placeholder=receipt, numbered=True,
                    texts=[text.replace(placeholder, receipt) for text in sale.texts],
                    view=replace(sale.view, receipt=receipt)))
        driver(session).execute(_write_statement(), {
            "now": now, "meters": pgarrays.uuids([m.meter_id for m in moved]),
            **{key: pgarrays.int4s([getattr(m, key) for m in moved]) for key in _KEY_HELD},
            **_as_arrays(rows),
            "at": stamp, "operation": _operation(), "schema_version": SCHEMA_VERSION,
            "transactions": pgarrays.uuids(transactions), "changes": pgarrays.texts(changes_json),
            "audit_ids": pgarrays.uuids([new_id() for _ in rows]),
            "usernames": pgarrays.texts(sellers)}, prepare=True)
        if deliveries:
            session.connection().execute(insert(_HES), deliveries)
        return written


    def _number_first(self, session: Session, transactions: list[uuid.UUID], now: datetime
                      ) -> list[str]:
        """The batch's commit numbers and receipts, taken right before its sales are written
        (each row then written once, with its receipt) when nothing of the batch is left to
        write alone. Gap-free as at the commit: the numbers are the transaction's, so if
        anything after fails, the writer rolls the whole transaction back (numbers with it)
        before writing the orders alone. No deadlock: the batch holds every meter's row it
        needs before it takes the commit counter and then the receipt series, in the order
        every batch's last statement takes them, and waits for nothing after."""
        number_only(session, transactions)
        sync, params = stamp_clause(session)
        year = now.astimezone(self.zone).year
        count = len(transactions)
        params.update({"code": SERIES_CODE, "series": Series.VEND_RECEIPT.value,
                       "year": year, "count": count})
        last, stamped = session.connection().exec_driver_sql(
            "WITH " + sync + ", r AS (INSERT INTO number_series (agency_code, series, year, "
            "last_value) SELECT %(code)s, %(series)s, %(year)s, %(count)s FROM sync_counter "
            "ON CONFLICT (agency_code, series, year) DO UPDATE "
            "SET last_value = number_series.last_value + %(count)s RETURNING last_value) "
            "SELECT r.last_value, (SELECT count(*) FROM sync_numbers) FROM r", params).one()
        assert stamped == count
        return [format_number(Series.VEND_RECEIPT, SERIES_CODE, year, int(last) - count + k)
                for k in range(1, count + 1)]


#: The key state columns of a meter's vending row the batch moves.
_KEY_HELD = ("sgc", "ti", "krn", "kt", "ken", "base_date", "last_tid")


@cache
def _write_statement() -> str:
    """The meters' rows, the sales, their journal and audit entries: one statement (each
    data-modifying part of a ``WITH`` runs whole, whether read or not), prepared."""
    assert _ENTRIES.startswith("WITH ")
    return (f"WITH s AS ({_SAVE_STATES}), v AS ({_sales_statement()}), "
            + _ENTRIES[len("WITH "):])


@cache
def _sales_statement() -> str:
    """The sales' rows in one statement: one array parameter per column (a prepared
    statement whatever the batch's size)."""
    columns = list(_TABLE.columns)
    dialect = postgresql.dialect()
    arrays = ", ".join(f"CAST(%({c.name})s AS {c.type.compile(dialect)}[])" for c in columns)
    return (f"INSERT INTO {_TABLE.name} ({', '.join(c.name for c in columns)}) "
            f"SELECT * FROM unnest({arrays})")


def _as_arrays(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The rows as one encoded array per column (:mod:`central.pgarrays`), each value as the
    column's type binds it."""
    return {name: encode([process(row[name]) for row in rows] if process
                         else [row[name] for row in rows])
            for name, process, encode in _column_encoders()}


@cache
def _column_encoders() -> list[tuple[str, Any, Any]]:
    """``(column, its bind processor or None, the array encoder of its type)``; strings for
    the types PostgreSQL casts from text (``varchar``, ``text``, the enums' names)."""
    dialect = postgresql.psycopg.dialect()
    kinds = {"UUID": pgarrays.uuids, "BIGINT": pgarrays.int8s, "INTEGER": pgarrays.int4s,
             "SMALLINT": pgarrays.int4s, "TIMESTAMP WITH TIME ZONE": pgarrays.timestamps}
    found = []
    for column in _TABLE.columns:
        encode = kinds.get(column.type.compile(dialect), _strings)
        found.append((column.name, column.type.bind_processor(dialect), encode))
    return found


def _strings(values: list[Any]) -> Any:
    return pgarrays.texts([None if v is None else str(v) for v in values])


@cache
def _operation() -> Any:
    process = _JOURNAL.c.operation.type.bind_processor(postgresql.psycopg.dialect())
    return process(JournalOperation.INSERT) if process else JournalOperation.INSERT


#: The sales' journal entries and, in the same statement, their audit entries copied from
#: them (the same transaction, time, agency, operation and changes, as the capture writes a
#: sale's), each with its own id and seller.
_ENTRIES = (
    "WITH j AS (INSERT INTO sync_journal (transaction_id, at, agency_id, table_name, row_id, "
    "operation, base_version, new_version, changes, schema_version, batch_number) "
    "SELECT t.tx, %(at)s, t.agency, 'vend_transaction', t.row, %(operation)s, 0, 1, t.changes, "
    "%(schema_version)s, NULL FROM unnest(CAST(%(transactions)s AS uuid[]), "
    "CAST(%(agency_id)s AS uuid[]), CAST(%(id)s AS uuid[]), CAST(%(changes)s AS json[])) "
    "AS t (tx, agency, row, changes) "
    "RETURNING transaction_id, at, agency_id, table_name, row_id, operation, changes) "
    "INSERT INTO audit_entry (id, user_id, username, reason, transaction_id, at, agency_id, "
    "table_name, row_id, operation, changes) "
    "SELECT a.id, NULL, a.username, '', j.transaction_id, j.at, j.agency_id, j.table_name, "
    "j.row_id, j.operation, j.changes FROM j JOIN unnest(CAST(%(audit_ids)s AS uuid[]), "
    "CAST(%(id)s AS uuid[]), CAST(%(usernames)s AS text[])) AS a (id, row, username) "
    "ON a.row = j.row_id")


def _in_order(orders: Sequence[Order], some: list[Order]) -> list[Order]:
    wanted = {id(o) for o in some}
    return [o for o in orders if id(o) in wanted]
