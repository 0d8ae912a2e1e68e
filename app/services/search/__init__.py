"""Finding a customer as the agent types: by name (any order, no accents needed), account number,
meter serial or STS number, phone (with or without spaces or country prefix), address, or the
number of a receipt, quote, intervention, invoice or letter.

At most ``MAX_RESULTS`` are ever counted: past that the screen says "plus de 500 résultats"
instead of counting a million rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection

from app.services.balances import current_minors
from app.services.search.identifiers import identifier_matches, number_lookups
from app.services.search.plan import Plan, plan_query
from app.services.search.summaries import as_uuid, format_address, format_phone, summaries
from app.services.search.words import index_rows, matched, named_customer_condition
from kernel.context import ServiceContext

__all__ = [
    "MAX_RESULTS",
    "PAGE",
    "Plan",
    "SearchHit",
    "SearchPage",
    "format_address",
    "format_phone",
    "named_customer_condition",
    "plan_query",
    "search_customers",
]

MAX_RESULTS = 500
PAGE = 50


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



#: Every search query is meant to walk an index in its order for a few hundred entries at most,
#: and look rows up by their key. On PostgreSQL, without statistics (just after a bulk load,
#: autovacuum off or late) the planner may guess a full scan, a hash join or a bitmap is cheaper;
#: the search's connections are told they are not (and not to compile: a guessed cost can wake the
#: JIT for a query of a millisecond). A bitmap scan would read every entry of a range and sort it
#: before the ``LIMIT`` (3,263 customers for "05 51" at a million). Set when each connection
#: starts (``Database.reading_connection``), not at every keystroke.
INDEX_PLANS = {
    "enable_seqscan": "off",
    "jit": "off",
    "enable_bitmapscan": "off",
    "enable_hashjoin": "off",
    "enable_mergejoin": "off",
}


#: SQLite: the search's connections keep 64 MiB of pages (the default is 2 MiB). A keystroke at a
#: million customers touches 1,000–1,400 pages (the index's lists, the rows it ranks, the page's
#: customers and accounts); in 2 MiB the B-trees' upper pages were pushed out by each keystroke
#: and read again by the next. The process's own memory, which a host that drops the file cache
#: (page-out of pages not touched lately) leaves in place.
SEARCH_PRAGMAS = {"cache_size": "-65536"}


def search_customers(
    ctx: ServiceContext, query: str, offset: int = 0, limit: int = PAGE
) -> SearchPage:
    plan = plan_query(query)
    if plan.kind == "empty":
        return SearchPage([], 0)
    return ctx.db.reading_with(partial(_search, plan, offset, limit), INDEX_PLANS, SEARCH_PRAGMAS)


def _search(plan: Plan, offset: int, limit: int, connection: Connection) -> SearchPage:
    if plan.kind in ("number", "digits", "serial"):
        if plan.kind == "number":
            matches = [
                (cid, label, number)
                for label, statement in number_lookups(plan.terms[0], MAX_RESULTS)
                for cid, number in connection.execute(statement)
            ]
            total = len(matches) if len(matches) <= MAX_RESULTS else None
            page = matches[offset : offset + limit]
        else:
            page, total = identifier_matches(connection, plan, offset, limit, MAX_RESULTS)
    else:
        rows, total = index_rows(connection, plan, offset, limit, MAX_RESULTS)
        page = []
        for row in rows:
            field, value = matched(plan, row)
            page.append((as_uuid(row.customer_id), field, value))
    found = summaries(connection, [cid for cid, _, _ in page])
    stored = {k: v for summary in found.values() for k, v in summary.stored.items()}
    balances = current_minors(connection, stored)
    hits = []
    for cid, field, value in page:
        summary = found.get(cid)
        if summary is None:
            continue
        shown = value or (summary.address if field == "Adresse" else "")
        owed = [balances[a] for a in summary.account_ids if a in balances]
        hits.append(
            SearchHit(
                cid, summary.name, summary.accounts, summary.phone, summary.address, field, shown,
                summary.account_ids, sum(owed) if owed else None,
            )
        )
    return SearchPage(hits, total)
