"""One balance everywhere: the "solde à jour".

Central computes each account's balance (invoices less payments not cancelled) and sends it at
the synchronisation. What this desk did since central last saw its work is added here, by this
module only: payments taken (less), payments cancelled (more), works invoices issued (more) and their
credit notes (less: their totals are negative).

"Since central saw it" is not a matter of clocks: a change of this desk is in central's balance
when the upload batch that carried it was acknowledged before the desk last applied central's
changes (central recomputes the balance in the transaction that integrates the batch, and the
download that follows brings the new balance). Anything journaled later, or not yet sent, is
"made here since". Rows that never were in this desk's journal (received from central, rebuilt
from central) are in central's balance by definition.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, or_, select
from sqlalchemy.orm import Session

from app.models import (
    Account,
    Invoice,
    Payment,
    SyncJournalEntry,
    SyncOutboxBatch,
    SyncState,
)
from app.models.enums import InvoiceKind, JournalOperation
from kernel.context import ServiceContext
from kernel.errors import NotFoundError

#: The desk's download cursor (see ``app.sync.state``): its row moves each time a page of
#: central's changes is applied.
_DOWNLOAD_CURSOR = "download.cursor"


@dataclass(frozen=True)
class Balance:
    account_id: uuid.UUID
    #: Central's balance and when central computed it (None: never synchronised).
    central_minor: int
    as_of: datetime | None
    #: Made at this desk since (all positive amounts).
    payments_minor: int = 0
    cancellations_minor: int = 0
    works_minor: int = 0

    @property
    def current_minor(self) -> int:
        """What the account owes now (negative: an advance)."""
        return _current(
            self.central_minor, self.payments_minor, self.cancellations_minor, self.works_minor
        )

    @property
    def has_local_changes(self) -> bool:
        return bool(self.payments_minor or self.cancellations_minor or self.works_minor)


def _current(central_minor: int, payments: int, cancellations: int, works: int) -> int:
    return central_minor - payments + cancellations + works


@dataclass(frozen=True)
class Pending:
    """The desk's rows central has not yet taken into a balance the desk has received."""

    payment_inserts: frozenset[uuid.UUID]
    payment_cancellations: frozenset[uuid.UUID]
    invoice_inserts: frozenset[uuid.UUID]


def _absorbed_batch() -> Any:
    """The last upload batch central had integrated when the desk last applied its changes
    (0: never downloaded)."""
    downloaded = (
        select(SyncState.updated_at).where(SyncState.key == _DOWNLOAD_CURSOR).scalar_subquery()
    )
    return (
        select(func.coalesce(func.max(SyncOutboxBatch.number), 0))
        .where(SyncOutboxBatch.acked_at.is_not(None), SyncOutboxBatch.acked_at <= downloaded)
        .scalar_subquery()
    )


#: Built once: the search reads it at every keystroke, and making a statement costs more than
#: running it on a day's journal.
_ABSORBED = select(_absorbed_batch())
_PENDING = select(
    SyncJournalEntry.table_name,
    SyncJournalEntry.row_id,
    SyncJournalEntry.operation,
    SyncJournalEntry.changes,
).where(
    or_(SyncJournalEntry.batch_number.is_(None), SyncJournalEntry.batch_number > _absorbed_batch()),
    SyncJournalEntry.table_name.in_(("payment", "invoice")),
)
_LOCAL_PAYMENTS = select(Payment.id, Payment.account_id, Payment.amount_minor).where(
    Payment.id.in_(bindparam("rows", expanding=True)),
    Payment.account_id.in_(bindparam("accounts", expanding=True)),
)
_LOCAL_INVOICES = select(Invoice.account_id, Invoice.total_minor).where(
    Invoice.id.in_(bindparam("rows", expanding=True)),
    Invoice.account_id.in_(bindparam("accounts", expanding=True)),
    Invoice.kind.in_((InvoiceKind.WORKS, InvoiceKind.CREDIT_NOTE)),
)


def absorbed_batch(session: Session) -> int:
    """The last upload batch central had integrated when the desk last applied its changes."""
    return int(session.connection().execute(_ABSORBED).scalar() or 0)


def pending_changes(session: Session) -> Pending:
    """Payments, cancellations and invoices journaled here and not yet in central's balance
    (a day's work at most: only the journal's tail is read, by its batch index). One statement."""
    return _pending(session.connection())


def _pending(connection: Connection) -> Pending:
    inserts: set[uuid.UUID] = set()
    cancellations: set[uuid.UUID] = set()
    invoices: set[uuid.UUID] = set()
    for table, row_id, operation, changes in connection.execute(_PENDING):
        if table == "invoice":
            if operation is JournalOperation.INSERT:
                invoices.add(row_id)
        elif operation is JournalOperation.INSERT:
            inserts.add(row_id)
        elif "is_cancelled" in changes and changes["is_cancelled"][1]:
            cancellations.add(row_id)
    return Pending(frozenset(inserts), frozenset(cancellations), frozenset(invoices))


def _made_here(
    connection: Connection, ids: list[uuid.UUID], pending: Pending
) -> dict[uuid.UUID, list[int]]:
    """Per account with any: payments, cancellations, works invoices made here since."""
    found: dict[uuid.UUID, list[int]] = {}
    local_payments = pending.payment_inserts | pending.payment_cancellations
    if local_payments:
        for row_id, account_id, amount in connection.execute(
            _LOCAL_PAYMENTS, {"rows": list(local_payments), "accounts": ids}
        ):
            made = found.setdefault(account_id, [0, 0, 0])
            if row_id in pending.payment_inserts:
                made[0] += amount
            if row_id in pending.payment_cancellations:
                made[1] += amount
    if pending.invoice_inserts:
        for account_id, total in connection.execute(
            _LOCAL_INVOICES, {"rows": list(pending.invoice_inserts), "accounts": ids}
        ):
            found.setdefault(account_id, [0, 0, 0])[2] += total
    return found


def balances_of(
    session: Session,
    account_ids: Collection[uuid.UUID],
    pending: Pending | None = None,
    stored: Mapping[uuid.UUID, tuple[int, datetime | None]] | None = None,
) -> dict[uuid.UUID, Balance]:
    """The solde à jour of these accounts (``stored``: their balance and its date as central
    gave them, already read by the caller in the same transaction)."""
    ids = list(account_ids)
    if not ids:
        return {}
    pending = pending_changes(session) if pending is None else pending
    central: dict[uuid.UUID, tuple[int, datetime | None]] = (
        {account_id: stored[account_id] for account_id in ids if account_id in stored}
        if stored is not None
        else {
            account_id: (minor, as_of)
            for account_id, minor, as_of in session.execute(
                select(Account.id, Account.balance_minor, Account.balance_as_of).where(
                    Account.id.in_(ids)
                )
            )
        }
    )
    made = _made_here(session.connection(), ids, pending)
    return {
        account_id: Balance(account_id, minor, as_of, *made.get(account_id, (0, 0, 0)))
        for account_id, (minor, as_of) in central.items()
    }


def current_minors(
    connection: Connection, central: Mapping[uuid.UUID, int]
) -> dict[uuid.UUID, int]:
    """What each account owes now, from central's balance already read by the caller in the
    same transaction: ``balances_of`` without a ``Balance`` per account (the search's page, at
    every keystroke)."""
    if not central:
        return {}
    made = _made_here(connection, list(central), _pending(connection))
    return {
        account_id: _current(minor, *made[account_id]) if account_id in made else minor
        for account_id, minor in central.items()
    }


def account_balance(ctx: ServiceContext, account_id: uuid.UUID) -> Balance:
    with ctx.reading() as session:
        balance = balances_of(session, [account_id]).get(account_id)
    if balance is None:
        raise NotFoundError("Compte introuvable.")
    return balance
