"""Numbers: a document's number (receipt, quote, invoice…) on its unique index; account, phone
and meter numbers and the ends of phone numbers as prefix ranges on their own B-tree indexes."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import String, Uuid, func, literal, select, table, type_coerce, union_all
from sqlalchemy import column as table_column
from sqlalchemy.orm import Session

from app.models import (
    Account,
    Contract,
    Customer,
    InterventionRequest,
    Invoice,
    Letter,
    Meter,
    Payment,
    VendTransaction,
    WorksQuote,
)
from app.models.enums import ContractStatus
from app.models.search_index import PHONE_ENDS
from app.services.search.plan import Plan
from app.services.search.summaries import as_uuid, format_phone
from kernel.identifiers import format_account_number


def _prefix_range(column: Any, prefix: str) -> Any:
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return (column >= prefix) & (column < upper)


def number_lookups(prefix: str, cap: int) -> list[tuple[str, Any]]:
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
                .limit(cap + 1),
            )
        ]
    column, customer_id, label = by_customer[code]
    return [
        (
            label,
            select(customer_id, column)
            .where(_prefix_range(column, prefix), customer_id.is_not(None))
            .order_by(column)
            .limit(cap + 1),
        )
    ]


# --- account, phone and meter numbers: prefix ranges on their own indexes --------------------
# A B-tree range stops after the first few hundred entries, where a full-text prefix would
# gather every account starting with "101" before it could count them.


def _identifier_lookups(plan: Plan) -> list[tuple[str, Any]]:
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


def _phone_end_lookup(plan: Plan) -> Any:
    """Numbers ending with the digits typed: a prefix range on the numbers read backwards."""
    return (
        select(_PHONE_ENDS.c.customer_id, _PHONE_ENDS.c.phone_end)
        .where(_prefix_range(_PHONE_ENDS.c.phone_end, plan.phone_end))
        .order_by(_PHONE_ENDS.c.phone_end)
    )


def identifier_matches(
    session: Session, plan: Plan, offset: int, limit: int, cap: int
) -> tuple[list[tuple[uuid.UUID, str, str]], int | None]:
    """The page of matches, exact ones first, and their number (``None`` past ``cap``).
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
                .limit(cap + 1)
                .subquery()
            )
            .scalar_subquery()
            for _label, statement in lookups
        )
    )
    capped = sum(session.execute(counts).one()) > cap
    each = offset + limit if capped else cap + 1
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
    holders = _meter_holders(session, [as_uuid(key) for key in dict.fromkeys(meters)])
    found: dict[tuple[Any, str, str], bool] = {}
    for number, (label, _statement) in enumerate(lookups):
        rows = by_lookup.get(number, [])
        if label == "Compteur":
            rows = [
                (cid, value)
                for connection, value in rows
                for cid in holders.get(as_uuid(connection), [])
            ]
        if label == _PHONE_END:
            for customer_id, end in rows:
                found.setdefault((customer_id, "Téléphone", end[::-1]), False)
            continue
        for customer_id, value in rows:
            found.setdefault((customer_id, label, value), value in plan.terms)
    exact_first = sorted(found, key=lambda key: (not found[key], key[2]))
    page = [
        (as_uuid(cid), label, _shown_identifier(label, value))
        for cid, label, value in exact_first[offset : offset + limit]
    ]
    if capped or len(exact_first) > cap:
        return page, None
    return page, len(exact_first)
