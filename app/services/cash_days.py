"""An agent's till for a day (*caisse du jour*) and its lock.

The agent counts the drawer and submits the count; a supervisor closes the day (the figures
locked in ``cash_day``, the report kept as a ``document``). A closed day takes nothing more:
a counter payment or a prepaid sale the agent would take into it, or the cancellation of a
payment it holds, is refused (``DayClosed``) — as in a cash office, the till stays closed until
the next day; the customer is served by another agent's open till. Closings made before the
``cash_day`` table (the report document alone) lock the day too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEntry, CashDay, Document, User
from app.models.enums import JournalOperation
from app.models.ids import new_id, utcnow
from kernel.context import ServiceContext
from kernel.errors import BusinessError

#: The closed day's report (``document.kind``).
REPORT_KIND = "prepaid_cashup"


class DayClosed(BusinessError):
    """The agent's day is closed: its figures cannot change."""


@dataclass(frozen=True)
class Count:
    """The agent's count as submitted."""

    counted_minor: int
    reason: str
    counted_by: str
    counted_at: datetime  # local
    expected_minor: int  # the cash expected then


@dataclass(frozen=True)
class Closing:
    closed_by: str
    closed_at: datetime  # local
    summary: str  # the audit entry's reason: expected, counted, difference, reason
    filename: str
    #: The figures as locked (None for a closing made before they were kept).
    expected_minor: int | None = None
    counted_minor: int | None = None
    difference_minor: int | None = None
    by_method: dict[str, int] | None = None


def cashup_filename(agent: str, day: date) -> str:
    return f"cloture-caisse-{agent}-{day:%Y-%m-%d}.pdf"


def cash_day_row(session: Session, agent: str, day: date) -> CashDay | None:
    return session.scalars(select(CashDay).where(CashDay.agent == agent,
                                                 CashDay.day == day)).first()


def count_of(ctx: ServiceContext, row: CashDay | None) -> Count | None:
    if row is None or row.counted_minor is None or row.counted_at is None:
        return None
    return Count(row.counted_minor, row.count_reason, row.counted_by,
                 ctx.installation.local(row.counted_at), row.expected_at_count or 0)


def closing_of(ctx: ServiceContext, session: Session, agent: str, day: date) -> Closing | None:
    """The day's closing: the ``cash_day`` row's, else a report document of an earlier
    version."""
    row = cash_day_row(session, agent, day)
    filename = cashup_filename(agent, day)
    summary = ""
    document_id = session.scalars(select(Document.id).where(
        Document.kind == REPORT_KIND, Document.filename == filename)).first()
    entry = None
    if document_id is not None:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.table_name == "document", AuditEntry.row_id == document_id)
            .order_by(AuditEntry.at)).first()
        summary = entry.reason if entry is not None else ""
    if row is not None and row.closed_at is not None:
        return Closing(row.closed_by or "", ctx.installation.local(row.closed_at), summary,
                       row.filename or filename, row.expected_minor, row.closed_counted_minor,
                       row.difference_minor,
                       {str(k): int(v) for k, v in (row.by_method or {}).items()})
    if document_id is None:
        return None
    created = session.scalars(select(Document.created_at).where(
        Document.id == document_id)).one()
    return Closing(entry.username if entry is not None else "",
                   ctx.installation.local(entry.at if entry is not None else created),
                   summary, filename)


#: What the agent does when their till is closed (a new sale or payment refused).
SERVE_ELSEWHERE = ("La caisse rouvre demain ; d'ici là, un agent dont la caisse est ouverte sert "
                   "le client.")


def refuse_if_closed(ctx: ServiceContext, session: Session, agent: str, day: date,
                     what: str, advice: str = SERVE_ELSEWHERE) -> None:
    """``DayClosed`` when ``agent``'s ``day`` is closed; ``what`` names the refused operation
    (« cet encaissement », « cette vente »)."""
    closing = closing_of(ctx, session, agent, day)
    if closing is None:
        return
    raise DayClosed(
        f"La caisse de {agent} du {day:%d/%m/%Y} est clôturée (par {closing.closed_by} le "
        f"{closing.closed_at:%d/%m/%Y à %H:%M}) : {what} ne peut plus y entrer. {advice}")


def ensure_counter_open(ctx: ServiceContext, what: str = "cette vente") -> None:
    """Refuses (``DayClosed``) when the signed-in agent's till of today is closed."""
    with ctx.reading() as session:
        refuse_if_closed(ctx, session, ctx.actor.username, ctx.installation.today(), what)


def username_of(session: Session, received_by: str) -> str:
    """The user name behind a payment's ``received_by`` (a full name, or the user name)."""
    found = session.scalars(select(User.username).where(
        (User.full_name == received_by) | (User.username == received_by))).first()
    return found or received_by


def audit(session: Session, ctx: ServiceContext, row: CashDay, operation: JournalOperation,
          changes: dict[str, Any], reason: str) -> None:
    """The audit entry of a change of a ``cash_day`` row (a local table: the capture of
    synchronised rows does not see it)."""
    tx = session.info.get("transaction_id") or new_id()
    session.add(AuditEntry(
        at=utcnow(), agency_id=ctx.installation.agency_id, user_id=ctx.actor.user_id,
        username=ctx.actor.username, transaction_id=tx, table_name="cash_day", row_id=row.id,
        operation=operation, changes=changes, reason=reason[:200]))
