"""Numbers: a document's number (receipt, quote, invoice…) on its unique index; account, phone
and meter numbers and the ends of phone numbers as prefix ranges on their own B-tree indexes."""

from __future__ import annotations

import functools
import uuid
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    Uuid,
    bindparam,
    func,
    literal,
    select,
    table,
    type_coerce,
    union_all,
)
from sqlalchemy import column as table_column

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


def _bound_range(column: Any, name: str) -> Any:
    return (column >= bindparam(f"{name}_from")) & (column < bindparam(f"{name}_to"))


def _range_values(name: str, prefix: str) -> dict[str, str]:
    return {f"{name}_from": prefix, f"{name}_to": prefix[:-1] + chr(ord(prefix[-1]) + 1)}


def _identifier_lookups(kind: str, terms: int, phone_end: bool) -> list[tuple[str, Any]]:
    """Each lookup is a range on one table's own index, in that index's order: a plan no
    statistics can spoil. Meter lookups give connection ids (turned into customers after), phone
    end lookups the numbers read backwards. Prefixes are bound when executed (``_range_values``
    of ``serial``, ``t0``, ``t1``…, ``end``)."""

    def by_meter(column: Any, name: str) -> Any:
        return (
            select(Meter.connection_id, column)
            .where(_bound_range(column, name), Meter.connection_id.is_not(None))
            .order_by(column)
        )

    if kind == "serial":
        return [("Compteur", by_meter(Meter.serial, "serial"))]
    lookups: list[tuple[str, Any]] = []
    for term in range(terms):
        name = f"t{term}"
        lookups.append(
            (
                "N° de compte",
                select(Account.customer_id, Account.number)
                .where(_bound_range(Account.number, name))
                .order_by(Account.number),
            )
        )
        for column in (Customer.mobile, Customer.phone):
            lookups.append(
                (
                    "Téléphone",
                    select(Customer.id, column)
                    .where(_bound_range(column, name))
                    .order_by(column),
                )
            )
        lookups.append(("Compteur", by_meter(Meter.sts_drn, name)))
    if phone_end:
        lookups.append(
            (
                _PHONE_END,
                select(_PHONE_ENDS.c.customer_id, _PHONE_ENDS.c.phone_end)
                .where(_bound_range(_PHONE_ENDS.c.phone_end, "end"))
                .order_by(_PHONE_ENDS.c.phone_end),
            )
        )
    return lookups


@functools.cache
def _statements(kind: str, terms: int, phone_end: bool) -> tuple[list[str], Any, Any]:
    """The lookups' labels, the statement counting them all and the one reading them all, made
    once per shape of query: building and keying them cost more than running them. One
    statement counts them all, one reads them all (a statement costs more than its rows)."""
    lookups = _identifier_lookups(kind, terms, phone_end)
    counts = select(
        *(
            select(func.count())
            .select_from(
                # the indexed value alone: an index-only scan where the database can
                statement.with_only_columns(statement.selected_columns[1])
                .limit(bindparam("counted"))
                .subquery()
            )
            .scalar_subquery()
            for _label, statement in lookups
        )
    )
    parts = []
    for number, (_label, statement) in enumerate(lookups):
        part = statement.limit(bindparam("each")).subquery()
        # ids as the database gives them (hex text on SQLite): only the page's become UUIDs
        parts.append(
            select(
                literal(number).label("lookup"),
                type_coerce(part.c[0], String).label("id"),
                part.c[1].label("value"),
            )
        )
    rows = union_all(*parts) if len(parts) > 1 else parts[0]
    return [label for label, _statement in lookups], counts, rows


#: Built once (the search makes it at every keystroke of a number).
_HOLDERS = (
    select(Contract.connection_id, Account.customer_id)
    .join(Account, Account.id == Contract.account_id)
    .where(
        Contract.connection_id.in_(bindparam("connections", expanding=True)),
        Contract.status == ContractStatus.ACTIVE,
    )
)


def _meter_holders(
    connection: Connection, connection_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """The customers whose active contract is on each of these connections."""
    holders: dict[uuid.UUID, list[uuid.UUID]] = {}
    if not connection_ids:
        return holders
    for connection_id, customer_id in connection.execute(
        _HOLDERS, {"connections": connection_ids}
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


def identifier_matches(
    connection: Connection, plan: Plan, offset: int, limit: int, cap: int
) -> tuple[list[tuple[uuid.UUID, str, str]], int | None]:
    """The page of matches, exact ones first, and their number (``None`` past ``cap``).
    Each lookup is first counted on its index alone (up to the cap): past the cap only the
    page's first entries of each are read, not hundreds of rows and their customers."""
    labels, counts, rows = _statements(plan.kind, len(plan.terms), bool(plan.phone_end))
    values: dict[str, Any] = {"counted": cap + 1}
    if plan.kind == "serial":
        values |= _range_values("serial", plan.terms[0])
    else:
        for number, term in enumerate(plan.terms):
            values |= _range_values(f"t{number}", term)
    if plan.phone_end:
        values |= _range_values("end", plan.phone_end)
    capped = sum(connection.execute(counts, values).one()) > cap
    values["each"] = offset + limit if capped else cap + 1
    by_lookup: dict[int, list[tuple[Any, str]]] = {}
    for number, key, value in connection.execute(rows, values):
        by_lookup.setdefault(number, []).append((key, value))
    meters = [key for n, found_rows in by_lookup.items() if labels[n] == "Compteur"
              for key, _ in found_rows]
    holders = _meter_holders(connection, [as_uuid(key) for key in dict.fromkeys(meters)])
    found: dict[tuple[Any, str, str], bool] = {}
    for number, label in enumerate(labels):
        matches = by_lookup.get(number, [])
        if label == "Compteur":
            matches = [
                (cid, value)
                for connection, value in matches
                for cid in holders.get(as_uuid(connection), [])
            ]
        if label == _PHONE_END:
            for customer_id, end in matches:
                found.setdefault((customer_id, "Téléphone", end[::-1]), False)
            continue
        for customer_id, value in matches:
            found.setdefault((customer_id, label, value), value in plan.terms)
    exact_first = sorted(found, key=lambda key: (not found[key], key[2]))
    page = [
        (as_uuid(cid), label, _shown_identifier(label, value))
        for cid, label, value in exact_first[offset : offset + limit]
    ]
    if capped or len(exact_first) > cap:
        return page, None
    return page, len(exact_first)
