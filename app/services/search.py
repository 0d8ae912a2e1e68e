"""Finding a customer as the agent types: by name (any order, no accents needed), account number,
meter serial or STS number, phone (with or without spaces or country prefix), address, or the
number of a receipt, quote, intervention, invoice or letter.

At most ``MAX_RESULTS`` are ever counted: past that the screen says "plus de 500 résultats"
instead of counting a million rows.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    String,
    Uuid,
    any_,
    func,
    literal,
    select,
    table,
    text,
    type_coerce,
    union_all,
)
from sqlalchemy import column as table_column
from sqlalchemy.orm import Session

from app.models import (
    Account,
    Commune,
    Contract,
    Customer,
    InterventionRequest,
    Invoice,
    Letter,
    Meter,
    Payment,
    Premise,
    Street,
    VendTransaction,
    WorksQuote,
)
from app.models.enums import ContractStatus, CustomerKind
from app.models.search_index import ELIDED, PARTICLES, PHONE_ENDS, TABLE, normalise
from app.services.balances import balances_of
from kernel.context import ServiceContext
from kernel.identifiers import digits_only, format_account_number, normalise_phone

MAX_RESULTS = 500
PAGE = 50

FIELD_LABELS = {
    "names": "Nom",
    "accounts": "N° de compte",
    "meters": "Compteur",
    "phones": "Téléphone",
    "address": "Adresse",
}
_HUMAN_NUMBER = re.compile(r"^(DV|DI|FT|FC|CR|RC|RP|AB)\d*(-\d*)*$")
_DIGITS_ONLY = re.compile(r"^[\d\s+().\-/]+$")
_SERIAL = re.compile(r"^(EA|EL)\d*$")
#: Words in so many addresses that they cannot narrow a search (and would make the index merge
#: hundreds of thousands of entries): left out whenever another word is typed.
_STOP_WORDS = frozenset(
    {
        "de",
        "des",
        "du",
        "la",
        "le",
        "les",
        "et",
        "en",
        "au",
        "aux",
        "sur",
        "rue",
        "avenue",
        "boulevard",
        "bd",
        "allee",
        "impasse",
        "chemin",
        "place",
        "cite",
        "villa",
        "lot",
        "ilot",
        "appartement",
        "apt",
        "residence",
        "immeuble",
        "bat",
        # "12 bis", "208 ter": a fifth of all house numbers
        "bis",
        "ter",
    }
)


@dataclass(frozen=True)
class SearchHit:
    customer_id: uuid.UUID
    name: str
    accounts: str
    phone: str
    address: str
    matched_field: str
    matched_value: str
    account_ids: tuple[uuid.UUID, ...] = ()
    #: Solde à jour of all its accounts together (None: no account).
    balance_minor: int | None = None


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    #: Exact number of results, or ``None`` when there are more than ``MAX_RESULTS``.
    total: int | None

    @property
    def summary(self) -> str:
        if self.total is None:
            return f"plus de {MAX_RESULTS} résultats : précisez la recherche"
        if self.total == 0:
            return "aucun résultat"
        return f"{self.total} résultat" + ("s" if self.total > 1 else "")


@dataclass(frozen=True)
class _Plan:
    kind: str  # "words", "digits", "number", "serial", "empty"
    terms: tuple[str, ...]
    #: Words: every group must match; a group is alternatives, each a tuple of word prefixes that
    #: must all match ("n diaye" → ("ndiaye",) or ("diaye",); "ben said" → ("ben", "said") or
    #: ("bensaid",)).
    groups: tuple[tuple[tuple[str, ...], ...], ...] = ()
    #: Digits: the phone numbers' ends to look for, read backwards (at least ``PHONE_END`` digits).
    phone_end: str = ""
    #: Words matched whole, not as prefixes.
    exact: frozenset[str] = frozenset()


#: Customers often give only the last digits of their number: from this many on, they are looked
#: for at the end of phone numbers too.
PHONE_END = 4


def _word_groups(words: list[str]) -> tuple[tuple[tuple[str, ...], ...], ...]:
    """Elided letters and particles, written apart or glued, match both ways: the index holds the
    glued form of every stored pair, the query looks for either."""
    groups: list[tuple[tuple[str, ...], ...]] = []
    index = 0
    while index < len(words):
        word = words[index]
        following = words[index + 1] if index + 1 < len(words) else None
        if following is not None and word in ELIDED:
            # "n diaye" is "ndiaye" (stored glued) or "diaye" (as before); a lone letter after it
            # is a name being typed: glued only ("n d" → "nd", not every word in "d").
            single = len(following) < 2
            groups.append(((word + following,),) if single else ((word + following,), (following,)))
            index += 2
        elif following is not None and word in PARTICLES:
            groups.append(((word, following), (word + following,)))
            index += 2
        else:
            groups.append(((word,),))
            index += 1
    return tuple(dict.fromkeys(groups))


def plan_query(query: str) -> _Plan:
    stripped = query.strip()
    if not stripped:
        return _Plan("empty", ())
    upper = stripped.upper().replace(" ", "")
    if _HUMAN_NUMBER.match(upper) and len(upper) >= 4:
        return _Plan("number", (upper,))
    if _SERIAL.match(upper) and len(upper) >= 3:
        return _Plan("serial", (upper,))
    if _DIGITS_ONLY.match(stripped):
        digits = digits_only(stripped)
        if len(digits) < 2:
            return _Plan("empty", ())
        variants = dict.fromkeys((digits, normalise_phone(digits)))
        end = digits[::-1] if len(digits) >= PHONE_END else ""
        return _Plan("digits", tuple(variants), phone_end=end)
    words = [w for w in normalise(stripped).split() if w]
    last = len(words) - 1

    def kept(index: int, word: str) -> bool:
        if word in _STOP_WORDS:
            return False
        if index == last and len(word) >= 4 and any(s.startswith(word) for s in _STOP_WORDS):
            return False  # "impas", "boulev": a word that narrows nothing, still being typed
        if len(word) >= 2 or index < last:
            return True  # a one-character word followed by another is complete: "4 bis", "n diaye"
        return index > 0 and words[index - 1] in ELIDED  # "n d": the name after "n" being typed

    complete = {w for i, w in enumerate(words) if len(w) == 1 and i < last}
    meaningful = [w for i, w in enumerate(words) if kept(i, w)]
    if meaningful:
        # A letter being typed or "de", "la"… would match half the base and make the index scan
        # it: they are left out while other words narrow the search.
        words = meaningful
    elif len(words) > 1 and len(words[-1]) == 1:
        words = words[:-1]
    if not words:
        return _Plan("empty", ())
    groups = _word_groups(words)
    terms = tuple(dict.fromkeys(w for group in groups for option in group for w in option))
    # A complete one-character word is that word, not every word starting with it (which the
    # index would have to gather one by one: it keeps prefixes of 2 to 4 characters only).
    exact = frozenset(t for t in terms if t in complete)
    return _Plan("words", terms, groups, exact=exact)


# --- the index, per database ---------------------------------------------------------------


def _fts5_expression(plan: _Plan) -> str:
    if plan.kind == "digits":
        alternatives = " OR ".join(f'"{t}"*' for t in plan.terms)
        return f"{{accounts meters phones}} : ({alternatives})"
    return " AND ".join(
        _either(
            [
                " AND ".join(f'"{w}"' if w in plan.exact else f'"{w}"*' for w in option)
                for option in group
            ],
            " OR ",
        )
        for group in plan.groups
    )


def _either(options: list[str], operator: str) -> str:
    if len(options) == 1:
        return options[0]
    return "(" + operator.join(f"({o})" for o in options) + ")"


def _tsquery(plan: _Plan) -> str:
    if plan.kind == "digits":
        return " | ".join(f"'{t}':*B" for t in plan.terms)
    return " & ".join(
        _either([" & ".join(_lexeme(plan, w) for w in option) for option in group], " | ")
        for group in plan.groups
    )


def _lexeme(plan: _Plan, word: str) -> str:
    """A whole word, a prefix of 2 or 3 characters as the lexeme made for it (revision 0007: GIN
    then intersects posting lists instead of gathering every word with that start), a longer
    prefix as a prefix."""
    if word in plan.exact:
        return f"'{word}'"
    if len(word) in (2, 3):
        return f"'p{len(word)}{word}'"
    return f"'{word}':*"


def named_customer_condition(session: Session, query: str, customer_id: Any) -> Any | None:
    """``customer_id`` (another table's column: the works quotes') is one of the customers
    whose names hold every word typed (word starts, any order, no accents needed), read from
    the search index's names only; ``None`` when the text holds no name to look for. The ids
    come as a list the other table's index answers (PostgreSQL: ``= ANY(ARRAY(…))``, which it
    can OR with another index, where ``IN (subquery)`` makes it read the whole table)."""
    plan = plan_query(query)
    if plan.kind != "words":
        return None
    if session.get_bind().dialect.name == "sqlite":
        match = "{names} : (" + _fts5_expression(plan) + ")"
        ids = text(f"SELECT customer_id FROM {TABLE} WHERE {TABLE} MATCH :names_match")\
            .bindparams(names_match=match).columns(table_column("customer_id", Uuid()))
        return customer_id.in_(ids)
    names = " & ".join(
        _either([" & ".join(f"'{w}':A" if w in plan.exact else f"'{w}':*A" for w in option)
                 for option in group], " | ")
        for group in plan.groups)
    ids = text(f"SELECT customer_id FROM {TABLE} "
               "WHERE document @@ to_tsquery('simple', :names_query)")\
        .bindparams(names_query=names).columns(table_column("customer_id", Uuid()))
    return customer_id == any_(func.array(ids.scalar_subquery()))


_COLUMNS = "customer_id, names, accounts, meters, phones, address"


def _index_rows(
    session: Session, plan: _Plan, offset: int, limit: int
) -> tuple[list[Any], int | None]:
    if session.get_bind().dialect.name == "sqlite":
        return _fts5_rows(session, plan, offset, limit)
    return _tsvector_rows(session, plan, offset, limit)


class _Row(NamedTuple):
    customer_id: Any
    names: str
    accounts: str
    meters: str
    phones: str
    address: str


def _fts5_rows(
    session: Session, plan: _Plan, offset: int, limit: int
) -> tuple[list[Any], int | None]:
    """Counting up to the cap reads only the index. Past it, the page comes in index order until
    the agent types more; under it, the rows are ranked here: ``bm25()`` would first count every
    row matching each word (all of "ko*" for "aminata ko"), the slowest part of a search at a
    million customers. Plain DB-API cursor: the rows are many and short-lived."""
    raw = session.connection().connection.driver_connection
    assert raw is not None
    match = _fts5_expression(plan)
    rowids = [
        rowid
        for (rowid,) in raw.execute(
            f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH ? LIMIT {MAX_RESULTS + 1}", (match,)
        )
    ]
    capped = len(rowids) > MAX_RESULTS
    if capped and offset + limit > len(rowids):
        rows = raw.execute(
            f"SELECT {_COLUMNS} FROM {TABLE} WHERE {TABLE} MATCH ? LIMIT ? OFFSET ?",
            (match, limit, offset),
        ).fetchall()
        return [_Row(*row) for row in rows], None
    # The rows themselves by rowid: the words are not matched a second time.
    wanted = rowids[offset : offset + limit] if capped else rowids
    order = {rowid: index for index, rowid in enumerate(wanted)}
    found = sorted(
        raw.execute(
            f"SELECT rowid, {_COLUMNS} FROM {TABLE} WHERE rowid IN ({', '.join('?' * len(wanted))})",
            wanted,
        ),
        key=lambda row: order[row[0]],
    )
    rows_found = [_Row(*row[1:]) for row in found]
    if capped:
        return rows_found, None
    ranked = sorted(rows_found, key=lambda row: _rank(plan, row))
    return ranked[offset : offset + limit], len(rows_found)


#: How much a word found in each field counts (a name above a number above an address).
_WEIGHTS = (("names", 10), ("accounts", 6), ("meters", 6), ("phones", 6), ("address", 2))


def _rank(plan: _Plan, row: _Row) -> tuple[float, str]:
    """Sort key: the best field each word was found in, a whole word above a prefix; then the
    name, so that equal matches read in alphabetical order."""
    fields = [(f" {getattr(row, field)} ", weight) for field, weight in _WEIGHTS]
    score = 0.0
    for term in plan.terms:
        best = 0.0
        for content, weight in fields:
            if f" {term}" in content:
                best = max(best, weight * (1.5 if f" {term} " in content else 1.0))
        score += best
    return -score, row.names


def _tsvector_rows(
    session: Session, plan: _Plan, offset: int, limit: int
) -> tuple[list[Any], int | None]:
    """One pass over the GIN index (the costly part) gives at most ``MAX_RESULTS + 1`` keys;
    ranking and reading the page then go through the primary key."""
    query = {"q": _tsquery(plan)}
    ids = list(
        session.execute(
            text(
                f"SELECT customer_id FROM {TABLE} WHERE document @@ to_tsquery('simple', :q) "
                f"LIMIT {MAX_RESULTS + 1}"
            ),
            query,
        ).scalars()
    )
    total = len(ids) if len(ids) <= MAX_RESULTS else None
    if total is None:
        wanted = ids[offset : offset + limit]
        rows = session.execute(
            text(f"SELECT {_COLUMNS} FROM {TABLE} WHERE customer_id = ANY(:ids)"), {"ids": wanted}
        ).all()
        order = {customer_id: index for index, customer_id in enumerate(wanted)}
        return sorted(rows, key=lambda row: order[row.customer_id]), None
    rows = session.execute(
        text(
            f"SELECT {_COLUMNS} FROM {TABLE} WHERE customer_id = ANY(:ids) "
            "ORDER BY ts_rank(document, to_tsquery('simple', :q)) DESC, customer_id "
            "LIMIT :limit OFFSET :offset"
        ),
        query | {"ids": ids, "limit": limit, "offset": offset},
    ).all()
    return list(rows), total


def _matched(plan: _Plan, row: Any) -> tuple[str, str]:
    """Which field the terms were found in, and the value that matched (for the screen)."""
    fields = {name: getattr(row, name) or "" for name in FIELD_LABELS}
    found: list[str] = []
    value = ""
    for term in plan.terms:
        for name, content in fields.items():
            if plan.kind == "digits" and name in ("names", "address"):
                continue
            word = next((w for w in content.split() if w.startswith(term)), None)
            if word is not None:
                if name not in found:
                    found.append(name)
                if name in ("accounts", "meters", "phones") and not value:
                    value = (
                        format_account_number(word)
                        if name == "accounts" and len(word) == 14
                        else word.upper()
                        if name == "meters"
                        else word
                    )
                break
    return " + ".join(FIELD_LABELS[f] for f in found) or "Nom", value


# --- human numbers: an exact or prefix lookup on their unique index ---------------------------


def _prefix_range(column: Any, prefix: str) -> Any:
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return (column >= prefix) & (column < upper)


def _number_lookups(prefix: str) -> list[tuple[str, Any]]:
    code = prefix[:2]
    by_account = {
        "RC": (Payment.receipt_number, Payment.account_id, "Reçu"),
        "RP": (VendTransaction.receipt_number, VendTransaction.account_id, "Reçu de recharge"),
        "AB": (Contract.number, Contract.account_id, "Abonnement"),
        "FT": (Invoice.number, Invoice.account_id, "Facture de travaux"),
        "FC": (Invoice.number, Invoice.account_id, "Facture"),
    }
    by_customer = {
        "DV": (WorksQuote.number, WorksQuote.customer_id, "Devis"),
        "DI": (
            InterventionRequest.number,
            InterventionRequest.customer_id,
            "Demande d'intervention",
        ),
        "CR": (Letter.number, Letter.customer_id, "Courrier"),
    }
    if code in by_account:
        column, account_id, label = by_account[code]
        return [
            (
                label,
                select(Account.customer_id, column)
                .join(Account, Account.id == account_id)
                .where(_prefix_range(column, prefix))
                .order_by(column)
                .limit(MAX_RESULTS + 1),
            )
        ]
    column, customer_id, label = by_customer[code]
    return [
        (
            label,
            select(customer_id, column)
            .where(_prefix_range(column, prefix), customer_id.is_not(None))
            .order_by(column)
            .limit(MAX_RESULTS + 1),
        )
    ]


# --- account, phone and meter numbers: prefix ranges on their own indexes --------------------
# A B-tree range stops after the first few hundred entries, where a full-text prefix would
# gather every account starting with "101" before it could count them.


def _identifier_lookups(plan: _Plan) -> list[tuple[str, Any]]:
    """Each lookup is a range on one table's own index, in that index's order: a plan no
    statistics can spoil. Meter lookups give connection ids (turned into customers after), phone
    end lookups the numbers read backwards; the caller sets the limit."""

    def by_meter(column: Any, prefix: str) -> Any:
        return (
            select(Meter.connection_id, column)
            .where(_prefix_range(column, prefix), Meter.connection_id.is_not(None))
            .order_by(column)
        )

    if plan.kind == "serial":
        return [("Compteur", by_meter(Meter.serial, plan.terms[0]))]
    lookups: list[tuple[str, Any]] = []
    for term in plan.terms:
        lookups.append(
            (
                "N° de compte",
                select(Account.customer_id, Account.number)
                .where(_prefix_range(Account.number, term))
                .order_by(Account.number),
            )
        )
        for column in (Customer.mobile, Customer.phone):
            lookups.append(
                (
                    "Téléphone",
                    select(Customer.id, column)
                    .where(_prefix_range(column, term))
                    .order_by(column),
                )
            )
        lookups.append(("Compteur", by_meter(Meter.sts_drn, term)))
    if plan.phone_end:
        lookups.append((_PHONE_END, _phone_end_lookup(plan)))
    return lookups


def _meter_holders(
    session: Session, connection_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The customers whose active contract is on each of these connections."""
    holders: dict[uuid.UUID, list[uuid.UUID]] = {}
    if not connection_ids:
        return holders
    for connection_id, customer_id in session.execute(
        select(Contract.connection_id, Account.customer_id)
        .join(Account, Account.id == Contract.account_id)
        .where(
            Contract.connection_id.in_(connection_ids), Contract.status == ContractStatus.ACTIVE
        )
    ):
        holders.setdefault(connection_id, []).append(customer_id)
    return holders


def _shown_identifier(label: str, value: str) -> str:
    if label == "N° de compte" and len(value) == 14:
        return format_account_number(value)
    if label == "Téléphone":
        return format_phone(value)
    return value


_PHONE_ENDS = table(
    PHONE_ENDS, table_column("phone_end", String), table_column("customer_id", Uuid)
)


_PHONE_END = "phone end"


def _phone_end_lookup(plan: _Plan) -> Any:
    """Numbers ending with the digits typed: a prefix range on the numbers read backwards."""
    return (
        select(_PHONE_ENDS.c.customer_id, _PHONE_ENDS.c.phone_end)
        .where(_prefix_range(_PHONE_ENDS.c.phone_end, plan.phone_end))
        .order_by(_PHONE_ENDS.c.phone_end)
    )


def _identifier_matches(
    session: Session, plan: _Plan, offset: int, limit: int
) -> tuple[list[tuple[uuid.UUID, str, str]], int | None]:
    """The page of matches, exact ones first, and their number (``None`` past ``MAX_RESULTS``).
    Each lookup is first counted on its index alone (up to the cap): past the cap only the
    page's first entries of each are read, not hundreds of rows and their customers."""
    lookups = _identifier_lookups(plan)
    # One statement counts them all, one reads them all (a statement costs more than its rows).
    counts = select(
        *(
            select(func.count())
            .select_from(
                # the indexed value alone: an index-only scan where the database can
                statement.with_only_columns(statement.selected_columns[1])
                .limit(MAX_RESULTS + 1)
                .subquery()
            )
            .scalar_subquery()
            for _label, statement in lookups
        )
    )
    capped = sum(session.execute(counts).one()) > MAX_RESULTS
    each = offset + limit if capped else MAX_RESULTS + 1
    parts = []
    for number, (_label, statement) in enumerate(lookups):
        part = statement.limit(each).subquery()
        # ids as the database gives them (hex text on SQLite): only the page's become UUIDs
        parts.append(
            select(
                literal(number).label("lookup"),
                type_coerce(part.c[0], String).label("id"),
                part.c[1].label("value"),
            )
        )
    by_lookup: dict[int, list[tuple[Any, str]]] = {}
    for number, key, value in session.execute(union_all(*parts) if len(parts) > 1 else parts[0]):
        by_lookup.setdefault(number, []).append((key, value))
    meters = [key for n, rows in by_lookup.items() if lookups[n][0] == "Compteur" for key, _ in rows]
    holders = _meter_holders(session, [_as_uuid(key) for key in dict.fromkeys(meters)])
    found: dict[tuple[Any, str, str], bool] = {}
    for number, (label, _statement) in enumerate(lookups):
        rows = by_lookup.get(number, [])
        if label == "Compteur":
            rows = [
                (cid, value)
                for connection, value in rows
                for cid in holders.get(_as_uuid(connection), [])
            ]
        if label == _PHONE_END:
            for customer_id, end in rows:
                found.setdefault((customer_id, "Téléphone", end[::-1]), False)
            continue
        for customer_id, value in rows:
            found.setdefault((customer_id, label, value), value in plan.terms)
    exact_first = sorted(found, key=lambda key: (not found[key], key[2]))
    page = [
        (_as_uuid(cid), label, _shown_identifier(label, value))
        for cid, label, value in exact_first[offset : offset + limit]
    ]
    if capped or len(exact_first) > MAX_RESULTS:
        return page, None
    return page, len(exact_first)


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(hex=value)


# --- what the screen shows for each customer ------------------------------------------------


def _summaries(
    session: Session, ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str, str, str, tuple[uuid.UUID, ...]]]:
    """Name, first accounts, phone and address of each customer: one query of plain columns
    (a page of 50 customers as ORM objects cost more than the search itself)."""
    if not ids:
        return {}
    rows = session.execute(
        select(
            Customer.id,
            Customer.kind,
            Customer.civility,
            Customer.last_name,
            Customer.first_name,
            Customer.organisation_name,
            Customer.mobile,
            Customer.phone,
            Account.id.label("account_id"),
            Account.number,
            Account.opened_on,
            Premise.id.label("premise_id"),
            Premise.house_number,
            Street.name.label("street"),
            Premise.complement,
            Commune.name.label("commune"),
        )
        .outerjoin(Account, Account.customer_id == Customer.id)
        .outerjoin(Premise, Premise.id == Account.billing_premise_id)
        .outerjoin(Commune, Commune.id == Premise.commune_id)
        .outerjoin(Street, Street.id == Premise.street_id)
        .where(Customer.id.in_(ids))
    ).all()
    accounts: dict[uuid.UUID, list[Any]] = {}
    for row in rows:
        accounts.setdefault(row[0], [])
        if row.number is not None:
            accounts[row[0]].append(row)
    result = {}
    for row in rows:
        cid = row[0]
        if cid in result:
            continue
        own = sorted(accounts[cid], key=lambda a: (a.opened_on, a.number))
        numbers = ", ".join(format_account_number(a.number) for a in own[:2]) + (
            " …" if len(own) > 2 else ""
        )
        first = own[0] if own else None
        address = (
            format_address(first.house_number, first.street, first.complement, first.commune)
            if first is not None and first.premise_id is not None
            else ""
        )
        if row.kind is CustomerKind.ORGANISATION:
            name = row.organisation_name
        else:
            name = " ".join(p for p in (row.last_name.upper(), row.first_name) if p)
            if row.civility:
                name = f"{row.civility.value} {name}"
        result[cid] = (
            name,
            numbers,
            format_phone(row.mobile or row.phone),
            address,
            tuple(a.account_id for a in own),
        )
    return result


def _index_plans_only(session: Session, ordered: bool) -> None:
    """Every search query is meant to walk an index for a few hundred entries at most. On
    PostgreSQL, without statistics (just after a bulk load, autovacuum off or late) the planner
    may guess a full scan is cheaper; for this transaction it is told it is not (and not to
    compile: a guessed cost can wake the JIT for a query of a millisecond). Number lookups
    (``ordered``) walk their B-tree in order and stop at the cap: a bitmap scan would read every
    row of the range and sort it first (3,263 customers for "05 51" at a million)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "SELECT set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true),"
                " set_config('enable_bitmapscan', :bitmap, true)"
            ),
            {"bitmap": "off" if ordered else "on"},
        )


def format_phone(number: str) -> str:
    if len(number) == 10 and number.isdigit():
        return " ".join(number[i : i + 2] for i in range(0, 10, 2))
    return number


def format_address(number: str, street: str | None, complement: str, commune: str) -> str:
    first = " ".join(p for p in (number, street or "") if p)
    return ", ".join(p for p in (first, complement, commune) if p)


def search_customers(
    ctx: ServiceContext, query: str, offset: int = 0, limit: int = PAGE
) -> SearchPage:
    plan = plan_query(query)
    if plan.kind == "empty":
        return SearchPage([], 0)
    with ctx.reading() as session:
        _index_plans_only(session, ordered=plan.kind != "words")
        if plan.kind in ("number", "digits", "serial"):
            if plan.kind == "number":
                matches = [
                    (cid, label, number)
                    for label, statement in _number_lookups(plan.terms[0])
                    for cid, number in session.execute(statement)
                ]
                total = len(matches) if len(matches) <= MAX_RESULTS else None
                page = matches[offset : offset + limit]
            else:
                page, total = _identifier_matches(session, plan, offset, limit)
        else:
            rows, total = _index_rows(session, plan, offset, limit)
            page = []
            for row in rows:
                field, value = _matched(plan, row)
                cid = (
                    row.customer_id
                    if isinstance(row.customer_id, uuid.UUID)
                    else uuid.UUID(hex=row.customer_id)
                )
                page.append((cid, field, value))
        summaries = _summaries(session, [cid for cid, _, _ in page])
        balances = balances_of(session, [a for s in summaries.values() for a in s[4]])
    hits = []
    for cid, field, value in page:
        if cid not in summaries:
            continue
        name, accounts, phone, address, account_ids = summaries[cid]
        shown = value or (address if field == "Adresse" else "")
        owed = [balances[a].current_minor for a in account_ids if a in balances]
        hits.append(
            SearchHit(
                cid, name, accounts, phone, address, field, shown, account_ids,
                sum(owed) if owed else None,
            )
        )
    return SearchPage(hits, total)
