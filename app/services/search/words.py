"""Words looked up in the full-text index: FTS5 on SQLite, ``tsvector`` + GIN on PostgreSQL.
Counted up to the cap on the index alone, ranked here under it, read in index order past it."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any, NamedTuple

from sqlalchemy import Connection, Uuid, any_, func, text
from sqlalchemy import column as table_column
from sqlalchemy.orm import Session

from app.models.search_index import TABLE
from app.services.search.plan import Plan, plan_query
from app.services.search.ranges import word_range_ids
from kernel.identifiers import format_account_number

FIELD_LABELS = {
    "names": "Nom",
    "accounts": "N° de compte",
    "meters": "Compteur",
    "phones": "Téléphone",
    "address": "Adresse",
}


def _fts5_expression(plan: Plan) -> str:
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


def _tsquery(plan: Plan, only: Mapping[str, str] | None = None) -> str:
    """``only``: the prefixes typed that only one word of the index starts with, and that word."""
    if plan.kind == "digits":
        return " | ".join(f"'{t}':*B" for t in plan.terms)
    return " & ".join(
        _either([" & ".join(_lexeme(plan, w, only or {}) for w in option) for option in group],
                " | ")
        for group in plan.groups
    )


def _lexeme(plan: Plan, word: str, only: Mapping[str, str]) -> str:
    """A whole word, a prefix of 2 or 3 characters as the lexeme made for it (revision 0007: GIN
    then intersects posting lists instead of gathering every word with that start), a longer
    prefix as a prefix, or as the one word it starts (a list GIN can skip through, where a
    prefix is gathered whole first)."""
    if word in plan.exact:
        return f"'{word}'"
    if len(word) in (2, 3):
        return f"'p{len(word)}{word}'"
    if word in only:
        return f"'{only[word]}'"
    return f"'{word}':*"


_COLUMNS = "customer_id, names, accounts, meters, phones, address"


def index_rows(
    connection: Connection, plan: Plan, offset: int, limit: int, cap: int
) -> tuple[list[Any], int | None]:
    """The page's rows, and how many there are (``None`` past ``cap``)."""
    if connection.dialect.name == "sqlite":
        return _fts5_rows(connection, plan, offset, limit, cap)
    return _tsvector_rows(connection, plan, offset, limit, cap)


class _Row(NamedTuple):
    customer_id: Any
    names: str
    accounts: str
    meters: str
    phones: str
    address: str


def _fts5_rows(
    connection: Connection, plan: Plan, offset: int, limit: int, cap: int
) -> tuple[list[Any], int | None]:
    """Counting up to the cap reads only the index. Past it, the page comes in index order until
    the agent types more; under it, the rows are ranked here: ``bm25()`` would first count every
    row matching each word (all of "ko*" for "aminata ko"), the slowest part of a search at a
    million customers. Plain DB-API cursor: the rows are many and short-lived."""
    raw = connection.connection.driver_connection
    assert raw is not None
    match = _fts5_expression(plan)
    rowids = [
        rowid
        for (rowid,) in raw.execute(
            f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH ? LIMIT {cap + 1}", (match,)
        )
    ]
    capped = len(rowids) > cap
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


def _rank(plan: Plan, row: _Row) -> tuple[float, str]:
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
    connection: Connection, plan: Plan, offset: int, limit: int, cap: int
) -> tuple[list[Any], int | None]:
    """The ids come from ranges of the word table (at most ``cap + 1``); ranking and reading
    the page then go through the primary key."""
    query = {"q": _tsquery(plan)}
    found = word_range_ids(connection, plan, query["q"], cap, partial(_tsquery, plan))
    ids = list(found)
    total = len(ids) if len(ids) <= cap else None
    if total is None:
        return _rows_in_order(connection, ids[offset : offset + limit]), None
    if None not in found.values():
        # ranked when their rows were read: only the page's rows are read again
        ranked = sorted(ids, key=lambda customer_id: (-(found[customer_id] or 0.0), customer_id))
        return _rows_in_order(connection, ranked[offset : offset + limit]), total
    rows = connection.execute(
        text(
            f"SELECT {_COLUMNS} FROM {TABLE} WHERE customer_id = ANY(:ids) "
            "ORDER BY ts_rank(document, to_tsquery('simple', :q)) DESC, customer_id "
            "LIMIT :limit OFFSET :offset"
        ),
        query | {"ids": ids, "limit": limit, "offset": offset},
    ).all()
    return list(rows), total


def _rows_in_order(connection: Connection, wanted: list[Any]) -> list[Any]:
    rows = connection.execute(
        text(f"SELECT {_COLUMNS} FROM {TABLE} WHERE customer_id = ANY(:ids)"), {"ids": wanted}
    ).all()
    order = {customer_id: index for index, customer_id in enumerate(wanted)}
    return sorted(rows, key=lambda row: order[row.customer_id])


def matched(plan: Plan, row: Any) -> tuple[str, str]:
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
