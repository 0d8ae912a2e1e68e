"""The queries of one billing chunk: a page of contracts (keyset on id) and what billing needs
around them, selected column by column (no ORM objects: memory stays proportional to a chunk)."""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    RowMapping,
    String,
    Uuid,
    and_,
    any_,
    bindparam,
    func,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects import postgresql

from app.models import (
    Account,
    Contract,
    Invoice,
    InvoiceLine,
    Meter,
    MeterReading,
    Payment,
    Premise,
    ServiceConnection,
    VendTransaction,
)
from app.models.enums import (
    InvoiceKind,
    InvoiceLineKind,
    InvoiceStatus,
    ReadingSource,
    VendStatus,
)
from central import pgarrays
from central.billing.consumption import HISTORY_DAYS, KIND_RANK, MeterFacts, Point, Reading
from central.billing.plan import BillingState, ContractFacts
from central.models import BilledPeriod

_contract = Contract.__table__
_meter = Meter.__table__
_reading = MeterReading.__table__
_ledger = BilledPeriod.__table__
_invoice = Invoice.__table__
_line = InvoiceLine.__table__
_account = Account.__table__
_payment = Payment.__table__
#: Prepaid sales recover arrears: their ``arrears_minor`` pays the account like a payment.
_vend = VendTransaction.__table__
_connection = ServiceConnection.__table__
_premise = Premise.__table__


def among(
    connection: Connection, column: ColumnElement[Any], values: Collection[Any]
) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``= ANY(array)``: one parameter whatever the chunk
    size, so the statement is parsed and planned once instead of carrying thousands of
    placeholders."""
    if connection.dialect.name == "postgresql":
        # UUIDs (nearly every such list) encoded at once rather than one by one by psycopg.
        if isinstance(column.type, Uuid):
            pgarrays.ready(connection)
            array = bindparam(None, pgarrays.uuids(values), type_=pgarrays.EncodedUuidArray())
        else:
            array = bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column == any_(array)
    return column.in_(list(values))


def _to_bill(
    connection: Connection,
    period_end: date,
    tariff_ids: Collection[uuid.UUID],
    agency_id: uuid.UUID | None,
) -> list[ColumnElement[bool]]:
    """Contracts under a postpaid tariff with days left to bill up to the end of the period."""
    c = _contract.c
    conditions = [
        among(connection, c.tariff_id, tariff_ids),
        c.start_date <= period_end,
        or_(
            c.billed_until.is_(None),
            and_(
                c.billed_until < period_end,
                or_(c.end_date.is_(None), c.billed_until < c.end_date),
            ),
        ),
    ]
    if agency_id is not None:
        conditions.append(c.agency_id == agency_id)
    return conditions


def contract_page(
    connection: Connection,
    *,
    after: uuid.UUID | None,
    limit: int,
    period_end: date,
    tariff_ids: Collection[uuid.UUID],
    agency_id: uuid.UUID | None,
    lock: bool,
    upto: uuid.UUID | None = None,
) -> list[ContractFacts]:
    """The next contracts to bill (by id), after ``after`` and up to ``upto`` included."""
    c = _contract.c
    query = (
        select(
            c.id, c.agency_id, c.account_id, c.connection_id, c.tariff_id, c.start_date,
            c.end_date, c.billed_until, c.version, c.move_in_reading_id,
        )
        .where(*_to_bill(connection, period_end, tariff_ids, agency_id))
        .order_by(c.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(c.id > after)
    if upto is not None:
        query = query.where(c.id <= upto)
    if lock and connection.dialect.name == "postgresql":
        query = query.with_for_update(of=_contract)
    return [ContractFacts._make(row) for row in connection.execute(query).all()]


def contract_bounds(
    connection: Connection,
    *,
    size: int,
    period_end: date,
    tariff_ids: Collection[uuid.UUID],
    agency_id: uuid.UUID | None,
) -> list[uuid.UUID]:
    """The id of every ``size``-th contract to bill, in order: the last of each full chunk
    (only ids are read; the chunks themselves are loaded, and locked, by whoever bills them)."""
    c = _contract.c
    ranked = (
        select(c.id, func.row_number().over(order_by=c.id).label("rank"))
        .where(*_to_bill(connection, period_end, tariff_ids, agency_id))
        .subquery()
    )
    query = select(ranked.c.id).where(ranked.c.rank % size == 0).order_by(ranked.c.id)
    return list(connection.execute(query).scalars())


def ledger_states(
    connection: Connection, contract_ids: list[uuid.UUID], before_period: str
) -> dict[uuid.UUID, BillingState]:
    """The latest billed period of each contract (before ``before_period``), as a state."""
    if not contract_ids:
        return {}
    led = _ledger.c
    if connection.dialect.name == "postgresql":
        pgarrays.ready(connection)
        # One backward step on the (contract, period) key per contract.
        ids = select(
            func.unnest(bindparam("ids", pgarrays.uuids(contract_ids),
                                  type_=pgarrays.EncodedUuidArray()))
            .column_valued("contract_id")
        ).subquery("wanted")
        latest = (
            select(_ledger)
            .where(led.contract_id == ids.c.contract_id, led.period < before_period)
            .order_by(led.period.desc())
            .limit(1)
            .lateral("latest")
        )
        query = select(latest).select_from(ids).join(latest, true())
    else:
        inner = _ledger.alias("later")
        newest = (
            select(func.max(inner.c.period))
            .where(inner.c.contract_id == led.contract_id, inner.c.period < before_period)
            .scalar_subquery()
        )
        query = select(_ledger).where(led.contract_id.in_(contract_ids), led.period == newest)
    states: dict[uuid.UUID, BillingState] = {}
    for row in connection.execute(query).mappings().all():
        states[row["contract_id"]] = BillingState(
            end=_point(row, "end"),
            is_estimated=row["is_estimated"],
            anchor=_point(row, "anchor"),
            anchor_since=row["anchor_since"],
        )
    return states


def _point(row: RowMapping, prefix: str) -> Point | None:
    meter = row[f"{prefix}_meter_id"]
    if meter is None:
        return None
    return Point(meter, row[f"{prefix}_day"], row[f"{prefix}_index"])


def meters_of(
    connection: Connection, connection_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[MeterFacts]]:
    m = _meter.c
    found: dict[uuid.UUID, list[MeterFacts]] = defaultdict(list)
    if not connection_ids:
        return found
    query = select(
        m.connection_id, m.id, m.digits, m.initial_index, m.installed_on, m.removed_on
    ).where(among(connection, m.connection_id, connection_ids))
    for connection_id, *facts in connection.execute(query).all():
        found[connection_id].append(MeterFacts(*facts))
    return found


def real_readings(
    connection: Connection, meter_ids: Collection[uuid.UUID], since: date, until: date
) -> dict[uuid.UUID, list[Reading]]:
    """Agent and customer readings of the meters on ``since``..``until``, in order per meter."""
    r = _reading.c
    found: dict[uuid.UUID, list[Reading]] = defaultdict(list)
    if not meter_ids:
        return found
    query = (
        select(r.id, r.meter_id, r.reading_date, r.index_value, type_coerce(r.kind, String))
        .where(
            among(connection, r.meter_id, meter_ids),
            r.reading_date >= since,
            r.reading_date <= until,
            type_coerce(r.source, String) != ReadingSource.ESTIMATE.value,
        )
    )
    rank = KIND_RANK
    for reading_id, meter_id, day, index, kind in connection.execute(query).all():
        found[meter_id].append(Reading(reading_id, meter_id, day, index, rank[kind], False, kind))
    for own in found.values():
        own.sort(key=lambda x: (x.day, x.rank))
    return found


@dataclass(frozen=True)
class IssuedInvoice:
    """An issued invoice with its lines, as rows (to credit it)."""

    row: dict[str, Any]
    lines: list[dict[str, Any]]


def estimated_invoices(
    connection: Connection, since_by_contract: Mapping[uuid.UUID, date]
) -> dict[uuid.UUID, list[IssuedInvoice]]:
    """Issued estimated consumption invoices of the contracts from their first estimated day."""
    found: dict[uuid.UUID, list[IssuedInvoice]] = defaultdict(list)
    if not since_by_contract:
        return found
    i = _invoice.c
    rows = connection.execute(
        select(_invoice)
        .where(
            among(connection, i.contract_id, since_by_contract),
            i.kind == InvoiceKind.CONSUMPTION,
            i.status == InvoiceStatus.ISSUED,
            i.is_estimated.is_(True),
        )
        .order_by(i.period_start)
    ).mappings().all()
    chosen = [
        dict(row) for row in rows
        if row["period_start"] >= since_by_contract[row["contract_id"]]
    ]
    lines = invoice_lines(connection, [row["id"] for row in chosen])
    for row in chosen:
        found[row["contract_id"]].append(IssuedInvoice(row, lines.get(row["id"], [])))
    return found


def invoice_lines(
    connection: Connection, invoice_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    found: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    if not invoice_ids:
        return found
    query = select(_line).where(among(connection, _line.c.invoice_id, invoice_ids)).order_by(
        _line.c.position)
    for row in connection.execute(query).mappings().all():
        found[row["invoice_id"]].append(dict(row))
    return found


class AccountState(NamedTuple):
    id: uuid.UUID
    agency_id: uuid.UUID | None
    version: int
    balance_minor: int
    balance_as_of: datetime | None


def accounts(
    connection: Connection, account_ids: Collection[uuid.UUID], *, lock: bool
) -> dict[uuid.UUID, AccountState]:
    a = _account.c
    query = select(a.id, a.agency_id, a.version, a.balance_minor, a.balance_as_of).where(
        among(connection, a.id, account_ids)
    )
    if lock and connection.dialect.name == "postgresql":
        # In id order: two chunks sharing an account wait for each other, never deadlock.
        query = query.order_by(a.id).with_for_update()
    return {row[0]: AccountState(*row) for row in connection.execute(query).all()}


def computed_balances(
    connection: Connection, account_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """What each account owes: every invoice (credit notes are negative) less every payment
    that was not cancelled."""
    ids = list(account_ids)
    owed: dict[uuid.UUID, int] = dict.fromkeys(ids, 0)
    if not ids:
        return owed
    invoiced = select(_invoice.c.account_id, func.sum(_invoice.c.total_minor)).where(
        among(connection, _invoice.c.account_id, ids)
    ).group_by(_invoice.c.account_id)
    for account_id, total in connection.execute(invoiced).all():
        owed[account_id] += int(total or 0)
    paid = select(_payment.c.account_id, func.sum(_payment.c.amount_minor)).where(
        among(connection, _payment.c.account_id, ids), _payment.c.is_cancelled.is_(False)
    ).group_by(_payment.c.account_id)
    for account_id, total in connection.execute(paid).all():
        owed[account_id] -= int(total or 0)
    recovered = select(_vend.c.account_id, func.sum(_vend.c.arrears_minor)).where(
        among(connection, _vend.c.account_id, ids), _vend.c.arrears_minor > 0,
        _vend.c.status == VendStatus.COMPLETED.value,
    ).group_by(_vend.c.account_id)
    for account_id, total in connection.execute(recovered).all():
        owed[account_id] -= int(total or 0)
    return owed


def handed_over(connection: Connection, ending: Collection[ContractFacts]) -> set[uuid.UUID]:
    """The contracts among ``ending`` (each ending on its window's last day) whose connection
    has another contract starting the day they end: that day is the next occupant's."""
    if not ending:
        return set()
    c = _contract.c
    wanted = {(e.connection_id, e.end_date): e.id for e in ending}
    query = select(c.id, c.connection_id, c.start_date).where(
        among(connection, c.connection_id, {e.connection_id for e in ending})
    )
    found: set[uuid.UUID] = set()
    for other_id, connection_id, start in connection.execute(query).all():
        own = wanted.get((connection_id, start))
        if own is not None and own != other_id:
            found.add(own)
    return found


Kind = tuple[str, str]


def connection_categories(
    connection: Connection, connection_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Kind]:
    """(premise category, energy) of each service connection."""
    if not connection_ids:
        return {}
    sc, p = _connection.c, _premise.c
    query = (
        select(sc.id, type_coerce(p.category, String), type_coerce(sc.energy, String))
        .join_from(_connection, _premise, p.id == sc.premise_id)
        .where(among(connection, sc.id, connection_ids))
    )
    return {row[0]: (row[1], row[2]) for row in connection.execute(query).all()}


@dataclass(frozen=True)
class CategoryTable:
    """Average use per day of each (premise category, energy), from the invoices billed on real
    readings that end in the year before the period being billed; an energy's overall average stands in for a category with no
    such invoice."""

    by_kind: dict[Kind, Fraction]
    by_energy: dict[str, Fraction]

    def average(self, kind: Kind | None) -> Fraction:
        if kind is None:
            return Fraction(0)
        found = self.by_kind.get(kind)
        return found if found is not None else self.by_energy.get(kind[1], Fraction(0))


def category_averages(connection: Connection, until: date) -> CategoryTable:
    i, line, c, sc, p = _invoice.c, _line.c, _contract.c, _connection.c, _premise.c
    since = until - timedelta(days=HISTORY_DAYS)
    if connection.dialect.name == "postgresql":
        days: ColumnElement[Any] = type_coerce(i.period_end - i.period_start, Integer) + 1
    else:
        days = func.julianday(i.period_end) - func.julianday(i.period_start) + 1
    kind = (type_coerce(p.category, String), type_coerce(sc.energy, String))
    billed = (
        _invoice.join(_contract, c.id == i.contract_id)
        .join(_connection, sc.id == c.connection_id)
        .join(_premise, p.id == sc.premise_id)
    )
    real = (
        i.kind == InvoiceKind.CONSUMPTION,
        i.status == InvoiceStatus.ISSUED,
        i.is_estimated.is_(False),
        i.period_end > since,
        i.period_end <= until,
    )
    used: dict[Kind, Decimal] = {}
    for category, energy, quantity in connection.execute(
        select(*kind, func.sum(line.quantity))
        .select_from(billed.join(_line, line.invoice_id == i.id))
        .where(*real, line.kind == InvoiceLineKind.CONSUMPTION)
        .group_by(*kind)
    ).all():
        used[(category, energy)] = Decimal(quantity or 0)
    elapsed: dict[Kind, int] = {}
    for category, energy, total in connection.execute(
        select(*kind, func.sum(days)).select_from(billed).where(*real).group_by(*kind)
    ).all():
        elapsed[(category, energy)] = int(total or 0)
    by_kind = {k: Fraction(used.get(k, Decimal(0))) / n for k, n in elapsed.items() if n > 0}
    by_energy: dict[str, Fraction] = {}
    for energy in {k[1] for k in elapsed}:
        n = sum(v for k, v in elapsed.items() if k[1] == energy)
        if n > 0:
            by_energy[energy] = sum(
                (Fraction(v) for k, v in used.items() if k[1] == energy), Fraction(0)) / n
    return CategoryTable(by_kind, by_energy)


class CategoryAverages:
    """The category table of a run, loaded the first time a chunk needs it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._table: CategoryTable | None = None

    def get(self, connection: Connection, until: date) -> CategoryTable:
        with self._lock:
            if self._table is None:
                self._table = category_averages(connection, until)
            return self._table
