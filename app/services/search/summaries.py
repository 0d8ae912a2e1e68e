"""What the screen shows for each customer found: name, first accounts, phone, address."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Account, Commune, Customer, Premise, Street
from app.models.enums import CustomerKind
from kernel.identifiers import format_account_number


def summaries(
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



def format_phone(number: str) -> str:
    if len(number) == 10 and number.isdigit():
        return " ".join(number[i : i + 2] for i in range(0, 10, 2))
    return number


def format_address(number: str, street: str | None, complement: str, commune: str) -> str:
    first = " ".join(p for p in (number, street or "") if p)
    return ", ".join(p for p in (first, complement, commune) if p)

