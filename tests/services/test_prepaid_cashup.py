"""The agent's end-of-day cash-up (SQLite and PostgreSQL): the day's counter sales by means of
payment in the agency's time zone, reversed sales and management tokens apart, the difference
needing a reason, the closing kept as issued and audited, a second closing refused."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.models import Account, AuditEntry, Document, Meter, Payment, User, VendTransaction
from app.models.enums import PaymentMethod, VendChannel, VendStatus
from app.services.auth import sign_in
from app.services.prepaid_cashup import DayClosed, close_day, closing_pdf, day_summary
from kernel.context import ServiceContext, UnitOfWork
from kernel.errors import PermissionDeniedError, ValidationError
from tests.prepaid_desk.desk_rows import add_prepaid_sales

DAY = date(2026, 12, 5)


def add_day_sales(ctx: ServiceContext, agent: str = "agent", day: date = DAY) -> None:
    """The agent's counter day: three cash sales (one at 23:30 local, one reversed), a mobile
    money sale, a management token; a sale the day after and another agent's sale; invoice
    payments received by the agent (cash, cheque, a cancelled one) and by another agent."""
    meter = add_prepaid_sales(ctx)
    zone = ctx.installation.zone
    rows = [  # (local hour of DAY, amount, operator, status, sold_by)
        (8.5, 5000, "", VendStatus.COMPLETED, agent),
        (23.5, 2500, "", VendStatus.COMPLETED, agent),
        (11, 3000, "", VendStatus.REVERSED, agent),
        (12, 4000, "ORANGE", VendStatus.COMPLETED, agent),
        (13, 0, "", VendStatus.COMPLETED, agent),
        (24.5, 7000, "", VendStatus.COMPLETED, agent),
        (10, 9000, "", VendStatus.COMPLETED, "autre"),
    ]
    with UnitOfWork(ctx.db, ctx.actor, from_server=True) as uow:
        meter_row = uow.session.get(Meter, meter.id)
        assert meter_row is not None
        for n, (hour, amount, operator, status, who) in enumerate(rows, 10):
            uow.session.add(VendTransaction(
                agency_id=ctx.installation.agency_id, receipt_number=f"RP000-2026-0000{n}",
                meter_id=meter.id, channel=VendChannel.COUNTER, status=status,
                amount_minor=amount, energy=Decimal("1.0"), operator_code=operator,
                sold_at=datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(hours=hour),
                sold_by=who))
        account = uow.session.scalars(select(Account.id)).first()
        full_name = uow.session.scalars(select(User.full_name).where(
            User.username == agent)).one()
        for n, (hour, amount, method, cancelled, who) in enumerate((
                (9, 10000, PaymentMethod.CASH, False, full_name),
                (9.5, 20000, PaymentMethod.CHEQUE, False, full_name),
                (10, 1500, PaymentMethod.CASH, True, full_name),
                (10.5, 8000, PaymentMethod.CASH, False, "Quelqu'un d'autre"),
        ), 30):
            uow.session.add(Payment(
                agency_id=ctx.installation.agency_id, receipt_number=f"RC2026-000{n}",
                account_id=account, amount_minor=amount, method=method, is_cancelled=cancelled,
                paid_at=datetime(day.year, day.month, day.day, tzinfo=zone)
                + timedelta(hours=hour), received_by=who))
        uow.commit()


@pytest.fixture
def agent(ctx: ServiceContext) -> ServiceContext:
    add_day_sales(ctx)
    return ctx.signed_in(sign_in(ctx.db, "agent", "Guichet-Agent-2026"))


def test_the_days_totals_in_the_agencys_time_zone(agent: ServiceContext) -> None:
    day = day_summary(agent, "agent", DAY)
    assert day.by_method == {"Espèces": 17500, "ORANGE": 4000, "Chèque": 20000}
    assert (day.sales_count, day.payments_count, day.voided_count, day.voided_minor,
            day.management_count) == (3, 2, 2, 4500, 1)
    assert day.expected_cash_minor == 17500 and day.total_minor == 41500
    assert [line.state for line in day.lines] == [
        "vente", "paiement", "paiement", "paiement annulé", "annulée", "vente",
        "jeton de gestion", "vente"]
    assert day.closing is None


def test_a_difference_needs_a_reason_and_a_second_closing_is_refused(
        agent: ServiceContext) -> None:
    with pytest.raises(ValidationError) as refused:
        close_day(agent, "agent", DAY, 17000, "  ")
    assert "motif" in str(refused.value)
    assert closing_pdf(agent, "agent", DAY) is None, "nothing closed on a refusal"
    closed, issued = close_day(agent, "agent", DAY, 17000, "pièce fausse rendue")
    assert closed.closing is not None and closed.closing.closed_by == "agent"
    assert "écart" in closed.closing.summary and "pièce fausse" in closed.closing.summary
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(issued.pdf)).pages)
    for part in ("Clôture de caisse", "RP000-2026-000010", "pièce fausse rendue",
                 "Signature du superviseur", "annulée", "RC2026-00030"):
        assert part in text, part
    stored = closing_pdf(agent, "agent", DAY)
    assert stored is not None and stored.pdf == issued.pdf
    with agent.reading() as session:
        document = session.scalars(select(Document).where(
            Document.filename == issued.filename)).one()
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.row_id == document.id)).one()
        assert entry.username == "agent" and "compté" in entry.reason
    with pytest.raises(DayClosed):
        close_day(agent, "agent", DAY, 17500, "")
    assert day_summary(agent, "agent", DAY).closing is not None


def test_no_difference_needs_no_reason_and_the_next_day_stays_open(
        agent: ServiceContext) -> None:
    closed, _ = close_day(agent, "agent", DAY, 17500, "")
    assert closed.closing is not None
    assert day_summary(agent, "agent", DAY + timedelta(days=1)).closing is None


def test_only_a_supervisor_closes_another_agents_day(agent: ServiceContext) -> None:
    with pytest.raises(PermissionDeniedError):
        close_day(agent, "autre", DAY, 9000, "")
