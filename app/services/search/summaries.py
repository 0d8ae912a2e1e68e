"""What the screen shows for each customer found: name, first accounts, phone, address."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection

from app.models.enums import CustomerKind
from kernel.identifiers import format_account_number

#: A page's customers with their accounts and the accounts' billing address, in one statement
#: on the driver's own cursor: through SQLAlchemy the same 50 rows cost ten times the query
#: (an IN list rendered again each time, every value converted), more than the search itself.
_SUMMARY_SQL = (
    "SELECT c.id, c.kind, c.civility, c.last_name, c.first_name, c.organisation_name, c.mobile, "
    "c.phone, a.id, a.number, a.opened_on, a.balance_minor, a.balance_as_of, p.id, "
    "p.house_number, st.name, p.complement, co.name "
    "FROM customer c LEFT JOIN account a ON a.customer_id = c.id "
    "LEFT JOIN premise p ON p.id = a.billing_premise_id "
    "LEFT JOIN commune co ON co.id = p.commune_id "
    "LEFT JOIN street st ON st.id = p.street_id WHERE c.id {ids}"
)


class _Summary(NamedTuple):
    customer_id: uuid.UUID
    kind: str
    civility: str | None
    last_name: str
    first_name: str
    organisation_name: str
    mobile: str
    phone: str
    account_id: Any
    number: str | None
    opened_on: Any
    balance_minor: int | None
    balance_as_of: Any
    premise_id: Any
    house_number: str
    street: str | None
    complement: str
    commune: str


@dataclass(frozen=True)
class Summary:
    name: str
    accounts: str
    phone: str
    address: str
    account_ids: tuple[uuid.UUID, ...]
    #: Each account's balance as central last gave it (for ``current_minors``).
    stored: dict[uuid.UUID, int]


def _rows(connection: Connection, ids: list[uuid.UUID]) -> list[_Summary]:
    raw = connection.connection.driver_connection
    assert raw is not None
    if connection.dialect.name == "sqlite":
        sql = _SUMMARY_SQL.format(ids=f"IN ({', '.join('?' * len(ids))})")
        return [_Summary._make(row) for row in raw.execute(sql, [i.hex for i in ids])]
    return [_Summary._make(row) for row in raw.execute(_SUMMARY_SQL.format(ids="= ANY(%s)"), (ids,))]


def _opening(account: _Summary) -> tuple[str, str]:
    return str(account.opened_on), account.number or ""


def summaries(connection: Connection, ids: list[uuid.UUID]) -> dict[uuid.UUID, Summary]:
    """Name, first accounts, phone and address of each customer, and its accounts' stored
    balances."""
    if not ids:
        return {}
    accounts: dict[Any, list[_Summary]] = {}
    first_row: dict[Any, _Summary] = {}
    for row in _rows(connection, ids):
        own = accounts.get(row.customer_id)
        if own is None:
            first_row[row.customer_id] = row
            own = accounts[row.customer_id] = []
        if row.number is not None:
            own.append(row)
    organisation = CustomerKind.ORGANISATION.value
    result = {}
    for key, row in first_row.items():
        own = accounts[key]
        if len(own) > 1:
            own.sort(key=_opening)
        numbers = ", ".join(format_account_number(a.number or "") for a in own[:2]) + (
            " …" if len(own) > 2 else ""
        )
        first = own[0] if own else None
        address = (
            format_address(first.house_number, first.street, first.complement, first.commune)
            if first is not None and first.premise_id is not None
            else ""
        )
        if row.kind == organisation:
            name = row.organisation_name
        else:
            name = " ".join(p for p in (row.last_name.upper(), row.first_name) if p)
            if row.civility:
                name = f"{row.civility} {name}"
        account_ids = tuple(as_uuid(a.account_id) for a in own)
        result[as_uuid(key)] = Summary(
            name,
            numbers,
            format_phone(row.mobile or row.phone),
            address,
            account_ids,
            {
                account_id: a.balance_minor or 0
                for account_id, a in zip(account_ids, own, strict=True)
            },
        )
    return result


def as_uuid(value: Any) -> uuid.UUID:
    """An id as the driver gives it (hex text on SQLite)."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(hex=value)


def format_phone(number: str) -> str:
    if len(number) == 10 and number.isdigit():
        return " ".join(number[i : i + 2] for i in range(0, 10, 2))
    return number


def format_address(number: str, street: str | None, complement: str, commune: str) -> str:
    first = " ".join(p for p in (number, street or "") if p)
    return ", ".join(p for p in (first, complement, commune) if p)

