"""The usual night in bulk (docs/sync.md, "How central applies an entry", "In bulk").

An agency's day is mostly new rows of its own: readings, payments, letters, requests. When
every entry of a batch is such an insert, and every check of "Central trusts no desk" passes,
the batch is written with a few multi-row statements per table instead of one ORM object per
row, its audit and journal entries likewise. The checks are the same ones, made for the whole
batch at once: one query per table for the rows it inserts or points at (absent, or the
agency's own, or reference data the foreign key may point at), the values converted and
checked by ``values`` as for any entry, fields the agency may not set left at central's
default. The writes are those the one-by-one path makes (same rows, versions, journal and
audit entries, same transaction ids and their numbering, same balances).

Anything else (an update or a delete, a row central already holds, a value or a parent that
would park its transaction, a field central would refuse, a parked row waiting, a works
invoice, an adoption) and the whole batch takes the one-by-one path, which parks or refuses
entry by entry as before; so does a batch the database refuses (a unique receipt number met
twice): the bulk writes are undone in their savepoint first.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Table, Uuid, and_, bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from app.models import SCHEMA_VERSION, Account, AuditEntry, Base, SyncJournalEntry
from app.models.capture import SYSTEM, Actor
from app.models.enums import JournalOperation
from app.models.ids import new_id, utcnow
from app.models.ownership import QUEUES, TABLE_OWNER, Owner, Target, agency_may_change, target_of
from central.billing.loading import among, computed_balances
from central.copying import FastLoader
from central.ids import IdMaker
from central.sync import values
from central.sync.numbering import use_transaction
from central.sync.parking import ParkError
from central.sync.tables import BOOKKEEPING, UnknownTable, jsonable, model_of, parent_columns
from kernel.errors import environment_problem

if TYPE_CHECKING:
    from central.sync.apply import Applier, Outcome

_CHUNK = 1000
_NO_DEFAULT = object()
#: Values whose journal form is themselves.
_PLAIN = frozenset({str, int, bool})
#: The journal form (``jsonable``) of the commonest other values, by their exact class.
_FORMS: dict[type, Callable[[Any], Any]] = {datetime: datetime.isoformat, date: date.isoformat}


class _NotBulk(Exception):
    """This batch goes the one-by-one way."""


@cache
def _table(name: str) -> Table:
    try:
        return model_of(name).__table__  # type: ignore[attr-defined]
    except UnknownTable as error:
        raise _NotBulk from error


@cache
def _rank() -> dict[str, int]:
    return {table.name: position for position, table in enumerate(Base.metadata.sorted_tables)}


#: The balances of a batch in one statement on PostgreSQL (each account at the version read).
_MOVE_BALANCES = text(
    "UPDATE account AS a SET balance_minor = v.balance, balance_as_of = :now, "
    "updated_at = :now, version = v.base + 1 "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:bases AS integer[]), CAST(:balances AS bigint[])) "
    "AS v(id, base, balance) WHERE a.id = v.id AND a.version = v.base")


@dataclass(frozen=True)
class _Shape:
    """What the bulk path needs of a table: each column's value converter (as
    ``values.to_python``), the columns an agency may set, and a new row's defaults (as
    ``fill_defaults``: the scalar default, else NULL; bookkeeping columns set apart)."""

    converters: dict[str, Callable[[Any], Any]]
    identifiers: frozenset[str]
    settable: frozenset[str]
    defaults: dict[str, Any]
    #: ``created_at`` / ``updated_at`` from the wire (same type, same checks).
    stamp: Callable[[Any], Any]


@cache
def _shape(name: str) -> _Shape:
    table = _table(name)
    defaults: dict[str, Any] = {}
    for column in table.columns:
        if column.name in BOOKKEEPING:
            continue
        default = column.default
        if default is None:
            defaults[column.name] = None
        elif default.is_scalar:
            defaults[column.name] = default.arg  # type: ignore[attr-defined]
        else:
            defaults[column.name] = _NO_DEFAULT
    return _Shape(
        converters={c: values.converter(table, c) for c in defaults},
        identifiers=frozenset(c for c in defaults if isinstance(table.c[c].type, Uuid)),
        settable=frozenset(c for c in defaults
                           if c == "agency_id" or agency_may_change(name, c)),
        defaults=defaults,
        stamp=values.converter(table, "created_at"))


@dataclass
class _Plan:
    """What a batch writes: per table its rows, the journal and audit rows, in entry order."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    journal: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    transactions: list[uuid.UUID] = field(default_factory=list)
    accounts: set[uuid.UUID] = field(default_factory=set)


def _uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _owners(connection: Connection, entries: list[dict[str, Any]]
            ) -> dict[str, dict[uuid.UUID, uuid.UUID | None]]:
    """``{table: {id: agency_id}}`` of the rows the entries point at that central holds: one
    query per table. (A row the batch inserts that central already holds is found by its
    primary key when it is written: the batch then goes the one-by-one way.)"""
    wanted: dict[str, set[uuid.UUID]] = {}
    for entry in entries:
        name = entry["table"]
        _table(name)
        changes = entry["changes"]
        for column, parent in parent_columns(name).items():
            pair = changes.get(column)
            if isinstance(pair, list) and len(pair) == 2 and pair[1] is not None \
                    and column != "agency_id":
                parent_id = _uuid(pair[1])
                if parent_id is None:
                    raise _NotBulk
                wanted.setdefault(parent, set()).add(parent_id)
    found: dict[str, dict[uuid.UUID, uuid.UUID | None]] = {}
    for name, ids in wanted.items():
        table = _table(name)
        listed = list(ids)
        known = found.setdefault(name, {})
        for start in range(0, len(listed), _CHUNK * 10):
            for row_id, owner in connection.execute(
                select(table.c.id, table.c.agency_id).where(
                    among(connection, table.c.id, listed[start:start + _CHUNK * 10]))
            ):
                known[row_id] = owner
    return found


class _Planner:
    def __init__(self, applier: Applier, session: Session) -> None:
        self.agency_id = applier.agency.id
        self.limits = applier.limits
        self.session = session
        actor: Actor = session.info.get("actor", SYSTEM)
        self.username = actor.username
        self.user_id = actor.user_id
        self.reason = session.info.get("sync_reason", "")
        self.now = utcnow()
        #: Transaction and audit ids: time-ordered, unique, without a random draw each.
        self.ids = IdMaker()
        self.plan = _Plan()
        self.born: dict[str, set[uuid.UUID]] = {}
        #: Identifiers read (their wire text → UUID) and written (UUID → journal text).
        self.idents: dict[str, Any] = {}
        self.texts: dict[uuid.UUID, str] = {}

    def group(self, entries: list[dict[str, Any]],
              owners: dict[str, dict[uuid.UUID, uuid.UUID | None]]) -> None:
        tx = self.ids()
        self.plan.transactions.append(tx)
        for entry in entries:
            self.entry(tx, entry, owners)

    def entry(self, tx: uuid.UUID, entry: dict[str, Any],
              owners: dict[str, dict[uuid.UUID, uuid.UUID | None]]) -> None:
        if entry["op"] != "insert" or int(entry.get("schema") or 0) > SCHEMA_VERSION:
            raise _NotBulk
        name = entry["table"]
        table = _table(name)
        if name in QUEUES or TABLE_OWNER[name] is Owner.CENTRAL:
            raise _NotBulk
        row_id = _uuid(entry["row"])
        if row_id is None or row_id in self.born.get(name, ()):
            raise _NotBulk
        shape = _shape(name)
        given: dict[str, Any] = {}
        convert = shape.converters
        idents = self.idents
        for column, pair in entry["changes"].items():
            if column not in convert or pair.__class__ is not list or len(pair) != 2:
                if column in BOOKKEEPING and column in table.c:
                    continue
                raise _NotBulk
            value = pair[1]
            if column in shape.identifiers and value.__class__ is str:
                known = idents.get(value)
                if known is None:  # an identifier met again (the agency, a parent) is read once
                    known = idents[value] = convert[column](value)
                given[column] = known
            else:
                given[column] = convert[column](value)
        values.check(table, given, self.limits)
        if given.get("agency_id") != self.agency_id:
            raise _NotBulk
        self._parents(name, given, owners)
        row: dict[str, Any] = {}
        for column, default in shape.defaults.items():
            if column in given:
                value = given[column]
                if column in shape.settable:
                    row[column] = value
                    continue
                if value != default:
                    raise _NotBulk  # a field central sets: refused, its value sent back down
            if default is _NO_DEFAULT:
                raise _NotBulk
            row[column] = default
        texts = self.texts
        changes = {}
        for column, value in row.items():
            if value is not None and value.__class__ not in _PLAIN:
                if value.__class__ is uuid.UUID:
                    text = texts.get(value)
                    if text is None:
                        text = texts[value] = str(value)
                    value = text
                else:
                    form = _FORMS.get(value.__class__)
                    value = jsonable(value) if form is None else form(value)
            changes[column] = [None, value]
        raw = entry["changes"]
        moments = [(raw.get(column) or [None, None])[1] or entry.get("at")
                   for column in ("created_at", "updated_at")]
        stamp = shape.stamp
        if moments[0] == moments[1]:
            row["created_at"] = row["updated_at"] = stamp(moments[0]) if moments[0] else self.now
        else:
            for column, moment in zip(("created_at", "updated_at"), moments, strict=True):
                row[column] = stamp(moment) if moment else self.now
        row["id"] = row_id
        row["version"] = int(entry["new"])
        self.plan.rows.setdefault(name, []).append(row)
        self.born.setdefault(name, set()).add(row_id)
        self._record(tx, name, row_id, JournalOperation.INSERT, changes, 0, row["version"])
        if name == "payment":
            for value in (entry["changes"].get("account_id") or ()):
                if value:
                    account = _uuid(value)
                    if account is None:
                        raise _NotBulk
                    self.plan.accounts.add(account)

    def _parents(self, name: str, given: dict[str, Any],
                 owners: dict[str, dict[uuid.UUID, uuid.UUID | None]]) -> None:
        """Every row pointed at is one central holds (or this batch inserted before) and the
        agency's own, or reference data the key may point at; otherwise the one-by-one path
        parks the transaction with its reason."""
        for column, parent in parent_columns(name).items():
            value = given.get(column)
            if value is None or column == "agency_id":
                continue
            if value in self.born.get(parent, ()):
                continue
            known = owners.get(parent, {})
            if value not in known:
                raise _NotBulk
            owner = known[value]
            if owner == self.agency_id:
                continue
            if owner is None and target_of(name, column) is Target.REFERENCE:
                continue
            raise _NotBulk

    def _record(self, tx: uuid.UUID, name: str, row_id: uuid.UUID,
                operation: JournalOperation, changes: dict[str, Any], base: int,
                new: int) -> None:
        """The audit and journal entries ``capture.record`` makes for one write."""
        at = self.now
        self.plan.audit.append({
            "id": self.ids(), "at": at, "agency_id": self.agency_id, "user_id": self.user_id,
            "username": self.username, "transaction_id": tx, "table_name": name,
            "row_id": row_id, "operation": operation, "changes": changes,
            "reason": self.reason})
        self.plan.journal.append({
            "transaction_id": tx, "at": at, "agency_id": self.agency_id, "table_name": name,
            "row_id": row_id, "operation": operation, "base_version": base,
            "new_version": new, "changes": changes, "schema_version": SCHEMA_VERSION,
            "batch_number": None})


def _write(connection: Connection, plan: _Plan) -> None:
    rank = _rank()
    for name in sorted(plan.rows, key=lambda n: rank[n]):
        _insert(connection, _table(name), plan.rows[name])
    _records(connection, plan, 0)


def _records(connection: Connection, plan: _Plan, start: int) -> None:
    """The audit and journal entries from ``start`` on (in the order they were made). On
    PostgreSQL an entry's changes are encoded once, the text its audit and journal rows share
    (``_record`` makes them in pairs), as the driver would have encoded them."""
    audit, journal = plan.audit[start:], plan.journal[start:]
    if connection.dialect.name != "postgresql" or not audit:
        _insert(connection, AuditEntry.__table__, audit)  # type: ignore[arg-type]
        _insert(connection, SyncJournalEntry.__table__, journal)  # type: ignore[arg-type]
        return
    dumps = json.dumps
    for audited, journaled in zip(audit, journal, strict=True):
        audited["changes"] = journaled["changes"] = dumps(journaled["changes"])
    for name, rows in ((AuditEntry.__tablename__, audit), (SyncJournalEntry.__tablename__, journal)):
        loader = _loader(name, raw=True)
        assert loader is not None  # their columns are all ones COPY carries
        loader.load(connection, rows)


def _insert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """The rows (all with the same keys) with one ``COPY`` on PostgreSQL, multi-row
    ``executemany`` elsewhere."""
    if not rows:
        return
    loader = _loader(table.name) if connection.dialect.name == "postgresql" else None
    if loader is not None:
        loader.load(connection, rows)
        return
    for start in range(0, len(rows), _CHUNK):
        connection.execute(insert(table), rows[start:start + _CHUNK])


@cache
def _loader(name: str, raw: bool = False) -> FastLoader | None:
    """A binary ``COPY`` writer of a table, or None for a table with a column it does not
    carry; ``raw``: its ``changes`` come as JSON text already encoded."""
    table = Base.metadata.tables[name]
    try:
        return FastLoader(table, "postgresql", skip=[c.name for c in table.columns
                                                     if c.name == "seq"],
                          raw=["changes"] if raw else [])
    except TypeError:
        return None


def _balances(planner: _Planner, connection: Connection) -> uuid.UUID | None:
    """Balances of the agency's accounts whose payments the batch brought, recomputed and
    written as one central change (as ``integration.refresh_balances``); the central
    transaction id, or None when no balance moved."""
    ids = list(planner.plan.accounts)
    if not ids:
        return None
    computed = computed_balances(connection, ids)
    a = Account.__table__.c
    rows = connection.execute(
        select(a.id, a.balance_minor, a.balance_as_of, a.version).where(
            among(connection, a.id, ids), a.agency_id == planner.agency_id)
        .order_by(a.id)).all()
    moved = [row for row in rows if row.balance_minor != computed[row.id]]
    if not moved:
        return None
    tx = new_id()
    now = utcnow()
    params = []
    for row in moved:
        changes = {"balance_minor": [jsonable(row.balance_minor), jsonable(computed[row.id])]}
        if row.balance_as_of != now:
            changes["balance_as_of"] = [jsonable(row.balance_as_of), jsonable(now)]
        params.append({"b_id": row.id, "b_base": row.version, "b_new": row.version + 1,
                       "b_balance": computed[row.id], "b_now": now})
        planner._record(tx, "account", row.id, JournalOperation.UPDATE, changes,  # noqa: SLF001
                        row.version, row.version + 1)
    if connection.dialect.name == "postgresql":
        result = connection.execute(_MOVE_BALANCES, {
            "ids": [p["b_id"] for p in params], "bases": [p["b_base"] for p in params],
            "balances": [p["b_balance"] for p in params], "now": now})
    else:
        table: Table = Account.__table__  # type: ignore[assignment]
        result = connection.execute(
            update(table).where(and_(table.c.id == bindparam("b_id"),
                                     table.c.version == bindparam("b_base")))
            .values(balance_minor=bindparam("b_balance"), balance_as_of=bindparam("b_now"),
                    version=bindparam("b_new"), updated_at=bindparam("b_now")),
            params)
    if result.rowcount != len(params):
        raise _NotBulk  # an account changed meanwhile: the one-by-one path sorts it out
    return tx


def apply(applier: Applier, groups: list[list[dict[str, Any]]],
          outcome: Callable[[dict[str, Any]], Outcome]) -> bool:
    """Applies the batch in bulk when every entry is a plain insert of the agency's own that
    passes every check; False (nothing written) when it must go the one-by-one way."""
    if applier.adoption or not groups:
        return False
    if applier.index.rows and any(applier.index.blocker(g) is not None for g in groups):
        return False
    session = applier.session
    entries = [entry for group in groups for entry in group]
    try:
        session.flush()
        connection = session.connection()
        owners = _owners(connection, entries)
        planner = _Planner(applier, session)
        for group in groups:
            planner.group(group, owners)
    except (_NotBulk, ParkError, KeyError, TypeError, ValueError):
        return False
    start_journal = len(planner.plan.journal)
    try:
        with session.begin_nested():
            connection = session.connection()
            _write(connection, planner.plan)
            central = _balances(planner, connection)
            _records(connection, planner.plan, start_journal)
    except _NotBulk:
        return False
    except Exception as error:  # noqa: BLE001  (the one-by-one path says which entry and why)
        problem = environment_problem(error)
        if problem is not None:
            raise problem from error
        return False
    for tx in planner.plan.transactions:
        use_transaction(session, tx, applier.agency.id)
    if central is not None:
        use_transaction(session, central, None)
    applier.outcomes.extend(outcome(entry) for entry in entries)
    return True
