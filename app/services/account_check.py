"""The account-number check of the works office (AGT in the seeds): a typed number is answered
with the holder's civility and name, once its check key is verified."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from app.models import Account, Customer
from kernel.context import ServiceContext
from kernel.errors import NotFoundError
from kernel.identifiers import format_account_number, validate_account_number
from kernel.vocabulary import label


@dataclass(frozen=True)
class AccountCheck:
    account_number: str
    civility: str
    name: str
    status: str


def check_account(ctx: ServiceContext, typed: str) -> AccountCheck:
    number = validate_account_number(typed)
    with ctx.reading() as session:
        row = session.execute(
            select(Account, Customer)
            .join(Customer, Customer.id == Account.customer_id)
            .where(Account.number == number)
        ).first()
        if row is None:
            raise NotFoundError(
                f"Aucun compte {format_account_number(number)} dans la base de l'agence."
            )
        account, customer = row
        civility = customer.civility.value if customer.civility else ""
        return AccountCheck(
            format_account_number(number), civility, customer.display_name, label(account.status)
        )


def account_id_for(ctx: ServiceContext, typed: str) -> uuid.UUID:
    """The id of the account with this number (check key verified), for a move-in."""
    number = validate_account_number(typed)
    with ctx.reading() as session:
        account_id = session.scalar(select(Account.id).where(Account.number == number))
    if account_id is None:
        raise NotFoundError(
            f"Aucun compte {format_account_number(number)} dans la base de l'agence."
        )
    return account_id
