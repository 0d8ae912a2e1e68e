"""Account balances follow invoices, credit notes and payments: a balance is what the account
was invoiced (credit notes count negative) less what it paid (cancelled payments excepted).

Two ways to write it: ``refresh_accounts`` on an ORM session (a few accounts, e.g. after a works
invoice or a payment is integrated; the write path journals it), and ``refresh_all_balances``
over every account in chunks, in bulk (after a large integration, or to repair drift).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Account
from app.models.database import Database
from app.models.ids import new_id, utcnow
from central.actors import ADMINISTRATION
from central.billing.loading import accounts, computed_balances
from central.writes import BulkWriter, ChangeSet


def refresh_accounts(session: Session, account_ids: Iterable[uuid.UUID]) -> int:
    """Recomputes these accounts' balances in the session's transaction; returns how many moved."""
    ids = list(set(account_ids))
    if not ids:
        return 0
    session.flush()
    computed = computed_balances(session.connection(), ids)
    now = utcnow()
    changed = 0
    for account in session.scalars(select(Account).where(Account.id.in_(ids))):
        if account.balance_minor != computed[account.id]:
            account.balance_minor = computed[account.id]
            account.balance_as_of = now
            changed += 1
    return changed


@dataclass(frozen=True)
class BalanceRefresh:
    accounts: int
    changed: int


def refresh_all_balances(
    db: Database, agency_id: uuid.UUID | None = None, chunk_size: int = 5000
) -> BalanceRefresh:
    """Every account (of one agency, or all), chunk by chunk, each chunk one transaction."""
    writer = BulkWriter(db.dialect)
    account = Account.__table__.c
    after: uuid.UUID | None = None
    seen = changed = 0
    while True:
        with db.engine.begin() as connection:
            query = select(account.id).order_by(account.id).limit(chunk_size)
            if after is not None:
                query = query.where(account.id > after)
            if agency_id is not None:
                query = query.where(account.agency_id == agency_id)
            ids = list(connection.execute(query).scalars())
            if not ids:
                break
            after = ids[-1]
            seen += len(ids)
            states = accounts(connection, ids, lock=True)
            computed = computed_balances(connection, ids)
            now = utcnow()
            changes = ChangeSet()
            for account_id, state in states.items():
                if state.balance_minor != computed[account_id]:
                    changes.update(
                        "account", account_id, state.agency_id, state.version,
                        {"balance_minor": (state.balance_minor, computed[account_id]),
                         "balance_as_of": (state.balance_as_of, now)},
                    )
            if len(changes):
                changed += len(changes)
                writer.write(connection, changes, actor=ADMINISTRATION, now=now,
                             transaction_id=new_id(), reason="Recalcul des soldes")
    return BalanceRefresh(seen, changed)
