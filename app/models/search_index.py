"""The customer search index: one row per customer with the words an agent types to find them
(names, account numbers, meter numbers, phones, address), kept up to date by the write path.

SQLite uses an FTS5 table, PostgreSQL a ``tsvector`` with a GIN index; on both, text is stored
already lower-cased and without accents, so "helene" finds "Hélène" the same way everywhere.
Elided and glued forms of a name are both indexed ("N'Diaye" → "n diaye ndiaye", "Ould Sidi" →
"ould sidi ouldsidi"). The ends of phone numbers, read backwards, are a B-tree table of their own
(``customer_search_phone_end``) so that "3890" finds a number ending in 3890 by a range scan.
On PostgreSQL every word of the row is also a B-tree entry (``customer_search_word``: word,
customer), read as prefix ranges that stop at the cap where a GIN bitmap is always built whole.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, event, func, select, text
from sqlalchemy.orm import Session

from app.models.bulk import analyse
from app.models.customers import Account, Customer, Premise
from app.models.network import Contract, Meter, ServiceConnection
from app.models.reference import Commune, Street

TABLE = "customer_search"
PHONE_ENDS = "customer_search_phone_end"
#: PostgreSQL only: (word, customer) for every word of a customer's row.
WORDS = "customer_search_word"
#: The index's own tables on PostgreSQL (SQLite adds the FTS5 rowid keys and has no word table).
TABLES = (TABLE, PHONE_ENDS, WORDS)
COLUMNS = ("names", "accounts", "meters", "phones", "address")

_MARKS = re.compile(r"[\u0300-\u036f]")
_SEPARATORS = re.compile(r"[^0-9a-z]+")


def normalise(value: str) -> str:
    """Lower case, no accents, words separated by single spaces: "N'Guessan Hélène" →
    "n guessan helene"."""
    folded = _MARKS.sub("", unicodedata.normalize("NFKD", value.lower()))
    return " ".join(_SEPARATORS.split(folded)).strip()


#: Letters elided before a name ("N'Diaye", "M'Baye", "D'Almeida", "L'Hôte"): the name is also
#: written glued ("NDIAYE"), and a query glues them back ("n diaye" looks for "ndiaye").
ELIDED = frozenset({"n", "m", "d", "l"})
#: Name particles written apart or glued ("Ben Saïd" / "Bensaid", "Ould Sidi" / "Ouldsidi").
PARTICLES = frozenset({"ben", "ould", "ibn", "bin", "el", "ag", "mac"})


def glued_pairs(words: list[str]) -> list[str]:
    """Each elided letter or particle glued to the word after it."""
    return [
        first + following
        for first, following in zip(words, words[1:], strict=False)
        if first in ELIDED or first in PARTICLES
    ]


def _name_words(*parts: str) -> str:
    """Names, plus each compound name glued ("N'Guessan" → also "nguessan") and each elided letter
    or particle glued to the word after it ("Mamadou Ould Sidi" → also "ouldsidi")."""
    words: list[str] = []
    for part in parts:
        if not part:
            continue
        normal = normalise(part)
        words.append(normal)
        split = normal.split()
        extra = [w for w in glued_pairs(split) if w not in split]
        glued = normal.replace(" ", "")
        if glued != normal and glued not in extra:
            extra.append(glued)
        words.extend(extra)
    return " ".join(words)


def word_prefixes(*texts: str) -> str:
    """The 2- and 3-character prefixes of every word, as lexemes of their own for PostgreSQL
    ("kone" → "p2ko p3kon"): see revision 0007 (which computes the same in SQL)."""
    found = {
        f"p{n}{word[:n]}" for text_ in texts for word in text_.split() for n in (2, 3) if len(word) >= n
    }
    return " ".join(sorted(found))


def phone_ends(*numbers: str) -> list[str]:
    """Phone numbers read backwards: the end of a number becomes a prefix."""
    return list(dict.fromkeys(n[::-1] for n in numbers if n))


@dataclass(frozen=True)
class SearchDocument:
    customer_id: uuid.UUID
    names: str
    accounts: str
    meters: str
    phones: str
    address: str
    #: The phone numbers read backwards (their own table, not the full-text row).
    phone_ends: tuple[str, ...] = ()

    def values(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "names": self.names,
            "accounts": self.accounts,
            "meters": self.meters,
            "phones": self.phones,
            "address": self.address,
            "prefixes": word_prefixes(
                self.names, self.accounts, self.meters, self.phones, self.address
            ),
        }


def build_documents(session: Session, customer_ids: Iterable[uuid.UUID]) -> list[SearchDocument]:
    """The search rows of these customers, read from the database as it is in this session."""
    ids = list(customer_ids)
    if not ids:
        return []
    customers = {
        row.id: row
        for row in session.execute(
            select(
                Customer.id,
                Customer.last_name,
                Customer.first_name,
                Customer.organisation_name,
                Customer.phone,
                Customer.mobile,
            ).where(Customer.id.in_(ids))
        )
    }
    accounts: dict[uuid.UUID, list[Any]] = {}
    for account in session.execute(
        select(Account.id, Account.customer_id, Account.number, Account.billing_premise_id).where(
            Account.customer_id.in_(ids)
        )
    ):
        accounts.setdefault(account.customer_id, []).append(account)
    account_owner = {a.id: cid for cid, items in accounts.items() for a in items}
    premises_of: dict[uuid.UUID, set[uuid.UUID]] = {cid: set() for cid in ids}
    for owner, items in accounts.items():
        premises_of[owner].update(a.billing_premise_id for a in items if a.billing_premise_id)
    meters_of: dict[uuid.UUID, list[str]] = {cid: [] for cid in ids}
    if account_owner:
        rows = session.execute(
            select(Contract.account_id, ServiceConnection.premise_id, Meter.serial, Meter.sts_drn)
            .join(ServiceConnection, ServiceConnection.id == Contract.connection_id)
            .outerjoin(Meter, Meter.connection_id == ServiceConnection.id)
            .where(Contract.account_id.in_(list(account_owner)))
        ).all()
        for account_id, premise_id, serial, drn in rows:
            owner = account_owner[account_id]
            premises_of[owner].add(premise_id)
            meters_of[owner].extend(v.lower() for v in (serial, drn) if v)
    all_premises = {p for group in premises_of.values() for p in group}
    addresses: dict[uuid.UUID, str] = {}
    if all_premises:
        for premise_id, number, complement, street, commune in session.execute(
            select(Premise.id, Premise.house_number, Premise.complement, Street.name, Commune.name)
            .join(Commune, Commune.id == Premise.commune_id)
            .outerjoin(Street, Street.id == Premise.street_id)
            .where(Premise.id.in_(list(all_premises)))
        ):
            addresses[premise_id] = normalise(
                " ".join(p for p in (number, street or "", complement, commune) if p)
            )
    documents = []
    for customer_id in ids:
        customer = customers.get(customer_id)
        if customer is None:
            continue
        documents.append(
            SearchDocument(
                customer_id=customer_id,
                names=_name_words(
                    customer.last_name, customer.first_name, customer.organisation_name
                ),
                accounts=" ".join(a.number for a in accounts.get(customer_id, [])),
                meters=" ".join(dict.fromkeys(meters_of[customer_id])),
                phones=" ".join(p for p in (customer.phone, customer.mobile) if p),
                address=" ".join(
                    addresses[p] for p in sorted(premises_of[customer_id]) if p in addresses
                ),
                phone_ends=tuple(phone_ends(customer.phone, customer.mobile)),
            )
        )
    return documents


def _write_phone_ends(
    connection: Connection, documents: list[SearchDocument], replace: bool
) -> None:
    sqlite = connection.dialect.name == "sqlite"
    key = (lambda d: d.customer_id.hex) if sqlite else (lambda d: d.customer_id)
    if replace:
        if sqlite:
            raw = connection.connection.driver_connection
            assert raw is not None
            raw.executemany(
                f"DELETE FROM {PHONE_ENDS} WHERE customer_id = ?", [(key(d),) for d in documents]
            )
        else:
            connection.execute(
                text(f"DELETE FROM {PHONE_ENDS} WHERE customer_id = ANY(:ids)"),
                {"ids": [d.customer_id for d in documents]},
            )
    rows = [{"end": end, "customer_id": key(d)} for d in documents for end in d.phone_ends]
    if not rows:
        return
    if sqlite:
        raw = connection.connection.driver_connection
        assert raw is not None
        raw.executemany(
            f"INSERT INTO {PHONE_ENDS} (phone_end, customer_id) VALUES (?, ?)",
            [(r["end"], r["customer_id"]) for r in rows],
        )
        return
    connection.execute(
        text(f"INSERT INTO {PHONE_ENDS} (phone_end, customer_id) VALUES (:end, :customer_id)"),
        rows,
    )


#: A row's text as its ``document`` reads it.
_ROW_TEXT = "s.names || ' ' || s.accounts || ' ' || s.meters || ' ' || s.phones || ' ' || s.address"
#: Longest word kept whole in the word table (a B-tree entry has a size limit): a longer one is
#: kept by its start, which every prefix typed of it still finds.
WORD_LENGTH = 200
#: Every word of the search rows (``s``), with its customer: the lexemes the full-text
#: ``document`` holds and the words split on spaces its 2- and 3-character prefixes come from
#: (the same on normalised text), so that a range of the word table finds every row the
#: ``document`` matches. Revision 0017 fills the table with the same statement.
WORD_ROWS = (
    f'SELECT DISTINCT left(w.word, {WORD_LENGTH}) COLLATE "C" AS word, s.customer_id FROM {TABLE} s '
    "CROSS JOIN LATERAL ("
    f"SELECT unnest(tsvector_to_array(to_tsvector('simple', {_ROW_TEXT}))) "
    f"UNION ALL SELECT regexp_split_to_table({_ROW_TEXT}, '\\s+')"
    ") AS w(word) WHERE w.word <> ''"
)


#: Planner settings turned off while a row's words are deleted by key.
_BY_KEY = ("enable_seqscan", "enable_hashjoin", "enable_mergejoin", "jit")


def _forget_words(connection: Connection, ids: list[uuid.UUID]) -> None:
    """The word entries of these customers' rows as they are before being replaced, found by
    their key (the word table has no index on the customer alone). PostgreSQL guesses a row's
    words by the hundred: for a page of 2,000 customers it would read the 14 M entries of a
    million customers whole; told not to, it looks each one up (0.7 s for 28,000 entries)."""
    before = connection.execute(
        text("SELECT " + ", ".join(f"current_setting('{name}')" for name in _BY_KEY))
    ).one()
    connection.execute(
        text("SELECT " + ", ".join(f"set_config('{name}', 'off', true)" for name in _BY_KEY))
    )
    connection.execute(
        text(
            f"DELETE FROM {WORDS} d USING ({WORD_ROWS} AND s.customer_id = ANY(:ids)) o "
            "WHERE d.word = o.word AND d.customer_id = o.customer_id"
        ),
        {"ids": ids},
    )
    connection.execute(
        text("SELECT " + ", ".join(
            f"set_config('{name}', :setting{n}, true)" for n, name in enumerate(_BY_KEY))),
        {f"setting{n}": value for n, value in enumerate(before)},
    )


def _index_words(connection: Connection, ids: list[uuid.UUID]) -> None:
    connection.execute(
        text(
            f"INSERT INTO {WORDS} (word, customer_id) {WORD_ROWS} AND s.customer_id = ANY(:ids) "
            "ON CONFLICT DO NOTHING"
        ),
        {"ids": ids},
    )


def write_documents(
    connection: Connection, documents: list[SearchDocument], replace: bool, words: bool = True
) -> None:
    """The rows of these customers (``replace``: in place of the ones there); ``words=False``
    leaves PostgreSQL's word table to the caller (a rebuild fills it once at the end)."""
    if not documents:
        return
    _write_phone_ends(connection, documents, replace)
    if connection.dialect.name == "sqlite":
        _write_sqlite(connection, documents, replace)
        return
    ids = [d.customer_id for d in documents]
    if replace:
        _forget_words(connection, ids)
        connection.execute(text(f"DELETE FROM {TABLE} WHERE customer_id = ANY(:ids)"), {"ids": ids})
    connection.execute(
        text(
            f"INSERT INTO {TABLE} (customer_id, names, accounts, meters, phones, address, prefixes) "
            "VALUES (:customer_id, :names, :accounts, :meters, :phones, :address, :prefixes)"
        ),
        [d.values() for d in documents],
    )
    if words:
        _index_words(connection, ids)


def _write_sqlite(connection: Connection, documents: list[SearchDocument], replace: bool) -> None:
    raw = connection.connection.driver_connection
    assert raw is not None
    keys = [(d.customer_id.hex,) for d in documents]
    raw.executemany(f"INSERT OR IGNORE INTO {TABLE}_key (customer_id) VALUES (?)", keys)
    marks = ", ".join("?" * len(keys))
    rowids = dict(
        raw.execute(
            f"SELECT customer_id, doc_rowid FROM {TABLE}_key WHERE customer_id IN ({marks})",
            [k for (k,) in keys],
        ).fetchall()
    )
    if replace:
        raw.executemany(f"DELETE FROM {TABLE} WHERE rowid = ?", [(rowids[k],) for (k,) in keys])
    raw.executemany(
        f"INSERT INTO {TABLE} (rowid, customer_id, names, accounts, meters, phones, address) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                rowids[d.customer_id.hex],
                d.customer_id.hex,
                d.names,
                d.accounts,
                d.meters,
                d.phones,
                d.address,
            )
            for d in documents
        ],
    )


def rebuild(
    connection: Connection, session: Session, progress: Any = None, chunk: int = 2000
) -> int:
    """Write the whole index again from the data (after a bulk load, or if it is damaged).

    On PostgreSQL the tables are truncated (a million dead rows would stay with autovacuum off)
    and the secondary indexes built once at the end: a GIN index filled row by row keeps a
    pending list every search reads until a vacuum, and building it whole is several times
    faster. It follows bulk loads: the tables it reads are analysed first (without statistics
    PostgreSQL reads them whole for every chunk: a rebuild at a million customers did not end in
    a quarter of an hour); the index's own statistics are the caller's (``bulk.analyse``)."""
    postgres = connection.dialect.name == "postgresql"
    analyse(connection, SOURCES)
    if postgres:
        connection.exec_driver_sql(f"TRUNCATE {TABLE}, {PHONE_ENDS}, {WORDS}")
        for name, _ddl in _LOADED_INDEXES:
            connection.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    else:
        connection.exec_driver_sql(f"DELETE FROM {TABLE}")
        connection.exec_driver_sql(f"DELETE FROM {PHONE_ENDS}")
        connection.exec_driver_sql(f"DELETE FROM {TABLE}_key")
    total = session.scalar(select(func.count()).select_from(Customer)) or 0
    done = 0
    last: uuid.UUID | None = None
    while True:
        query = select(Customer.id).order_by(Customer.id).limit(chunk)
        if last is not None:
            query = query.where(Customer.id > last)
        ids = list(session.scalars(query))
        if not ids:
            break
        write_documents(connection, build_documents(session, ids), replace=False, words=False)
        session.expunge_all()
        last = ids[-1]
        done += len(ids)
        if progress:
            progress(done, total)
    if postgres:
        # in the index's order: a range of entries then lies on a few neighbouring pages
        connection.exec_driver_sql(f"INSERT INTO {WORDS} (word, customer_id) {WORD_ROWS} ORDER BY 1, 2")
        for _name, ddl in _LOADED_INDEXES:
            connection.exec_driver_sql(ddl)
    else:
        connection.exec_driver_sql(f"INSERT INTO {TABLE}({TABLE}) VALUES ('optimize')")
    return done


#: The tables the index is made from.
SOURCES = ("customer", "account", "contract", "service_connection", "meter", "premise", "street",
            "commune")
#: PostgreSQL indexes of the search tables built after a rebuild's load (as revisions 0007,
#: 0006 and 0016 made them).
_LOADED_INDEXES = (
    (
        "ix_customer_search_document",
        f"CREATE INDEX ix_customer_search_document ON {TABLE} USING gin (document)",
    ),
    (
        "ix_customer_search_phone_end_customer",
        f"CREATE INDEX ix_customer_search_phone_end_customer ON {PHONE_ENDS} (customer_id)",
    ),
    (
        "ix_customer_search_word",
        f"CREATE UNIQUE INDEX ix_customer_search_word ON {WORDS} (word, customer_id)",
    ),
)


# --- kept up to date by the write path -------------------------------------------------------

_PENDING = "search_pending"
#: ``session.info[WITHOUT_INDEX] = True``: this session keeps no search index (central's sync
#: apply: central never searches customers, and desks build their own index).
WITHOUT_INDEX = "without_search_index"


def _customers_touched(session: Session, objects: Iterable[object]) -> set[uuid.UUID]:
    touched: set[uuid.UUID] = set()
    premises: set[uuid.UUID] = set()
    connections: set[uuid.UUID] = set()
    accounts: set[uuid.UUID] = set()
    for obj in objects:
        if isinstance(obj, Customer):
            touched.add(obj.id)
        elif isinstance(obj, Account):
            touched.add(obj.customer_id)
        elif isinstance(obj, Contract):
            accounts.add(obj.account_id)
        elif isinstance(obj, Premise):
            premises.add(obj.id)
        elif isinstance(obj, ServiceConnection):
            premises.add(obj.premise_id)
        elif isinstance(obj, Meter) and obj.connection_id is not None:
            connections.add(obj.connection_id)
    with session.no_autoflush:
        if connections:
            premises.update(
                session.scalars(
                    select(ServiceConnection.premise_id).where(
                        ServiceConnection.id.in_(connections)
                    )
                )
            )
        if premises:
            accounts.update(
                session.scalars(
                    select(Contract.account_id)
                    .join(ServiceConnection, ServiceConnection.id == Contract.connection_id)
                    .where(ServiceConnection.premise_id.in_(premises))
                )
            )
            touched.update(
                session.scalars(
                    select(Account.customer_id).where(Account.billing_premise_id.in_(premises))
                )
            )
        if accounts:
            touched.update(
                session.scalars(select(Account.customer_id).where(Account.id.in_(accounts)))
            )
    return touched


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    if session.info.get(WITHOUT_INDEX):
        return
    relevant = [
        o
        for o in (*session.new, *session.dirty, *session.deleted)
        if isinstance(o, Customer | Account | Premise | Contract | ServiceConnection | Meter)
    ]
    if relevant:
        session.info.setdefault(_PENDING, set()).update(_customers_touched(session, relevant))


@event.listens_for(Session, "before_commit")
def _refresh(session: Session) -> None:
    write_pending(session)


def write_pending(session: Session) -> None:
    """Writes the documents of the customers this transaction touched (done before the commit;
    called by a writer that commits by other means than ``Session.commit``)."""
    session.flush()
    pending: set[uuid.UUID] = session.info.pop(_PENDING, set())
    if not pending:
        return
    documents = build_documents(session, pending)
    write_documents(session.connection(), documents, replace=True)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


#: The fields of each table a customer's search document is made of (``build_documents``),
#: links to the customer included: a row written without one of them changing leaves the
#: documents as they are.
SEARCHED_FIELDS: dict[str, frozenset[str]] = {
    "customer": frozenset({"last_name", "first_name", "organisation_name", "phone", "mobile"}),
    "account": frozenset({"customer_id", "number", "billing_premise_id"}),
    "contract": frozenset({"account_id", "connection_id"}),
    "service_connection": frozenset({"premise_id"}),
    "meter": frozenset({"serial", "sts_drn", "connection_id"}),
    "premise": frozenset({"house_number", "complement", "street_id", "commune_id"}),
}


def searched_fields(table: str, fields: Iterable[str]) -> bool:
    """Whether changing these fields of a row of ``table`` changes a search document."""
    wanted = SEARCHED_FIELDS.get(table)
    return wanted is not None and not wanted.isdisjoint(fields)


def refresh_rows(session: Session, touched: dict[str, set[uuid.UUID]]) -> None:
    """Brings the index up to date after rows were written without the ORM (rows applied from
    central), given the ids written per table."""
    models: dict[str, type[Customer | Account | Premise | Contract | ServiceConnection | Meter]] = {
        "customer": Customer, "account": Account, "premise": Premise, "contract": Contract,
        "service_connection": ServiceConnection, "meter": Meter}
    objects: list[object] = []
    for table, model in models.items():
        ids = list(touched.get(table, ()))
        for start in range(0, len(ids), 500):
            objects.extend(session.scalars(select(model).where(model.id.in_(ids[start:start + 500]))))
    if not objects:
        return
    customers = _customers_touched(session, objects)
    customers.update(touched.get("customer", ()))
    present: set[uuid.UUID] = set()
    listed = list(customers)
    for start in range(0, len(listed), 500):
        present.update(session.scalars(
            select(Customer.id).where(Customer.id.in_(listed[start:start + 500]))))
    documents = build_documents(session, present)
    write_documents(session.connection(), documents, replace=True)
    for obj in objects:
        session.expunge(obj)
