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
from typing import Any

from sqlalchemy import select, text
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
from app.models.enums import ContractStatus
from app.models.search_index import TABLE, normalise
from app.services.context import ServiceContext
from app.services.identifiers import digits_only, format_account_number, normalise_phone

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
    kind: str  # "words", "digits", "number", "empty"
    terms: tuple[str, ...]


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
        return _Plan("digits", tuple(variants))
    words = [w for w in normalise(stripped).split() if w]
    meaningful = [w for w in words if len(w) >= 2 and w not in _STOP_WORDS]
    if meaningful:
        # A single letter (a word being typed) or "de", "la"… would match half the base and make
        # the index scan it: they are left out while other words narrow the search.
        words = meaningful
    return _Plan("words", tuple(dict.fromkeys(words))) if words else _Plan("empty", ())


# --- the index, per database ---------------------------------------------------------------


def _fts5_expression(plan: _Plan) -> str:
    if plan.kind == "digits":
        alternatives = " OR ".join(f'"{t}"*' for t in plan.terms)
        return f"{{accounts meters phones}} : ({alternatives})"
    return " ".join(f'"{t}"*' for t in plan.terms)


def _tsquery(plan: _Plan) -> str:
    if plan.kind == "digits":
        return " | ".join(f"'{t}':*B" for t in plan.terms)
    return " & ".join(f"'{t}':*" for t in plan.terms)


_COLUMNS = "customer_id, names, accounts, meters, phones, address"


def _index_rows(
    session: Session, plan: _Plan, offset: int, limit: int
) -> tuple[list[Any], int | None]:
    if session.get_bind().dialect.name == "sqlite":
        return _fts5_rows(session, plan, offset, limit)
    return _tsvector_rows(session, plan, offset, limit)


def _fts5_rows(
    session: Session, plan: _Plan, offset: int, limit: int
) -> tuple[list[Any], int | None]:
    match = f"{TABLE} MATCH :q"
    params: dict[str, Any] = {"q": _fts5_expression(plan), "limit": limit, "offset": offset}
    counted = session.execute(
        text(f"SELECT count(*) FROM (SELECT 1 FROM {TABLE} WHERE {match} LIMIT {MAX_RESULTS + 1})"),
        params,
    ).scalar_one()
    total = counted if counted <= MAX_RESULTS else None
    # Past the cap, ranking is not worth its cost: index order until the agent types more.
    order = "" if total is None else f"ORDER BY bm25({TABLE}, 0, 10, 6, 6, 6, 2)"
    rows = session.execute(
        text(f"SELECT {_COLUMNS} FROM {TABLE} WHERE {match} {order} LIMIT :limit OFFSET :offset"),
        params,
    ).all()
    return list(rows), total


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
    limit = MAX_RESULTS + 1
    by_meter = (
        select(Account.customer_id)
        .join(Contract, Contract.account_id == Account.id)
        .join(Meter, Meter.connection_id == Contract.connection_id)
        .where(Contract.status == ContractStatus.ACTIVE)
    )
    if plan.kind == "serial":
        return [
            (
                "Compteur",
                by_meter.add_columns(Meter.serial)
                .where(_prefix_range(Meter.serial, plan.terms[0]))
                .order_by(Meter.serial)
                .limit(limit),
            )
        ]
    lookups: list[tuple[str, Any]] = []
    for term in plan.terms:
        lookups.append(
            (
                "N° de compte",
                select(Account.customer_id, Account.number)
                .where(_prefix_range(Account.number, term))
                .order_by(Account.number)
                .limit(limit),
            )
        )
        for column in (Customer.mobile, Customer.phone):
            lookups.append(
                (
                    "Téléphone",
                    select(Customer.id, column)
                    .where(_prefix_range(column, term))
                    .order_by(column)
                    .limit(limit),
                )
            )
        lookups.append(
            (
                "Compteur",
                by_meter.add_columns(Meter.sts_drn)
                .where(_prefix_range(Meter.sts_drn, term))
                .order_by(Meter.sts_drn)
                .limit(limit),
            )
        )
    return lookups


def _shown_identifier(label: str, value: str) -> str:
    if label == "N° de compte" and len(value) == 14:
        return format_account_number(value)
    if label == "Téléphone":
        return format_phone(value)
    return value


def _identifier_matches(session: Session, plan: _Plan) -> list[tuple[uuid.UUID, str, str]]:
    found: dict[tuple[uuid.UUID, str, str], bool] = {}
    for label, statement in _identifier_lookups(plan):
        for customer_id, value in session.execute(statement):
            found.setdefault((customer_id, label, value), value in plan.terms)
    exact_first = sorted(found.items(), key=lambda item: (not item[1], item[0][2]))
    return [(cid, label, _shown_identifier(label, value)) for (cid, label, value), _ in exact_first]


# --- what the screen shows for each customer ------------------------------------------------


def _summaries(
    session: Session, ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str, str, str]]:
    customers = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(ids)))}
    accounts: dict[uuid.UUID, list[Account]] = {}
    for account in session.scalars(
        select(Account).where(Account.customer_id.in_(ids)).order_by(Account.opened_on)
    ):
        accounts.setdefault(account.customer_id, []).append(account)
    premise_ids = [
        a[0].billing_premise_id for a in accounts.values() if a and a[0].billing_premise_id
    ]
    addresses = {
        pid: format_address(number, street, complement, commune)
        for pid, number, street, complement, commune in session.execute(
            select(Premise.id, Premise.house_number, Street.name, Premise.complement, Commune.name)
            .join(Commune, Commune.id == Premise.commune_id)
            .outerjoin(Street, Street.id == Premise.street_id)
            .where(Premise.id.in_(premise_ids))
        )
    }
    result = {}
    for cid, customer in customers.items():
        own = accounts.get(cid, [])
        numbers = ", ".join(format_account_number(a.number) for a in own[:2]) + (
            " …" if len(own) > 2 else ""
        )
        address = (
            addresses.get(own[0].billing_premise_id, "")
            if own and own[0].billing_premise_id
            else ""
        )
        name = customer.display_name
        if customer.civility and customer.kind.value == "person":
            name = f"{customer.civility.value} {name}"
        result[cid] = (name, numbers, format_phone(customer.mobile or customer.phone), address)
    return result


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
        if plan.kind in ("number", "digits", "serial"):
            if plan.kind == "number":
                matches = [
                    (cid, label, number)
                    for label, statement in _number_lookups(plan.terms[0])
                    for cid, number in session.execute(statement)
                ]
            else:
                matches = _identifier_matches(session, plan)
            total = len(matches) if len(matches) <= MAX_RESULTS else None
            page = matches[offset : offset + limit]
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
    hits = []
    for cid, field, value in page:
        if cid not in summaries:
            continue
        name, accounts, phone, address = summaries[cid]
        shown = value or (address if field == "Adresse" else "")
        hits.append(SearchHit(cid, name, accounts, phone, address, field, shown))
    return SearchPage(hits, total)
