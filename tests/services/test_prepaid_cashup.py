"""The agent's end-of-day cash-up (SQLite and PostgreSQL): the day's counter sales and invoice
payments by means of payment in the agency's time zone, reversed sales and management tokens
apart; the agent counts and submits (a difference needs a reason), only a supervisor closes
(the service refuses an agent), the closing locks the figures, is kept as issued and audited;
a closed day takes no more payment, sale or cancellation."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import cast

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

from app.models import (
    Account,
    AuditEntry,
    Document,
    Meter,
    Payment,
    PendingVendSale,
    User,
    VendTransaction,
)
from app.models.enums import PaymentMethod, VendChannel, VendStatus
from app.services.auth import sign_in
from app.services.cash_days import ensure_counter_open
from app.services.payments import cancel_payment, record_payment
from app.services.prepaid_cashup import (
    DayClosed,
    agency_day,
    close_all,
    close_day,
    closing_pdf,
    day_summary,
    provisional_pdf,
    submit_count,
)
from app.services.prepaid_desk import PendingSale, PendingStore, VendingDesk
from app.services.prepaid_sales import sell_at_counter
from kernel.context import ServiceContext, UnitOfWork
from kernel.errors import BusinessError, PermissionDeniedError, ValidationError
from tests.prepaid_desk.desk_rows import add_prepaid_sales
from tests.services.helpers import household

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


@pytest.fixture
def supervisor(ctx: ServiceContext) -> ServiceContext:
    return ctx.signed_in(sign_in(ctx.db, "superviseur", "Guichet-Sup-2026"))


def _text(pdf: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


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


def test_the_agent_submits_the_count_and_cannot_close(agent: ServiceContext) -> None:
    with pytest.raises(ValidationError) as refused:
        submit_count(agent, "agent", DAY, 17000, "  ")
    assert "motif" in str(refused.value)
    assert day_summary(agent, "agent", DAY).count is None, "nothing kept on a refusal"
    counted = submit_count(agent, "agent", DAY, 17000, "pièce fausse rendue")
    assert counted.count is not None and counted.count.counted_minor == 17000
    assert (counted.counted_minor, counted.difference_minor) == (17000, -500)
    assert counted.closing is None, "submitting does not close"
    again = submit_count(agent, "agent", DAY, 17500, "")
    assert again.count is not None and again.count.counted_minor == 17500, "recounted"
    with pytest.raises(PermissionDeniedError) as refused_role:
        close_day(agent, "agent", DAY)
    assert "superviseur" in str(refused_role.value)
    with pytest.raises(PermissionDeniedError):
        close_day(agent, "agent", DAY, 17500, "")
    with pytest.raises(PermissionDeniedError):
        close_all(agent, DAY)
    with pytest.raises(PermissionDeniedError):
        submit_count(agent, "autre", DAY, 9000, "")
    assert closing_pdf(agent, "agent", DAY) is None
    provisional = provisional_pdf(agent, "agent", DAY, None, "")
    text = _text(provisional.pdf)
    assert "PROVISOIRE" in text and "DÉFINITIF" not in text and "RC2026-00030" in text
    with agent.reading() as session:
        assert session.scalars(select(Document).where(Document.kind == "prepaid_cashup")
                               ).first() is None, "a provisional report is not stored"
        entries = session.scalars(select(AuditEntry).where(
            AuditEntry.table_name == "cash_day").order_by(AuditEntry.at)).all()
        assert [e.username for e in entries] == ["agent", "agent"]
        assert "Comptage de caisse agent" in entries[0].reason


def test_the_supervisor_closes_with_the_figures_locked(agent: ServiceContext,
                                                       supervisor: ServiceContext) -> None:
    submit_count(agent, "agent", DAY, 17000, "pièce fausse rendue")
    closed, issued = close_day(supervisor, "agent", DAY)
    assert closed.closing is not None and closed.closing.closed_by == "superviseur"
    assert (closed.closing.expected_minor, closed.closing.counted_minor,
            closed.closing.difference_minor) == (17500, 17000, -500)
    assert "pièce fausse" in closed.closing.summary and "superviseur" in closed.closing.summary
    text = _text(issued.pdf)
    for part in ("Arrêté de caisse", "DÉFINITIF", "RP000-2026-000010", "pièce fausse rendue",
                 "Signature du superviseur", "annulée", "RC2026-00030", "compté par agent"):
        assert part in text, part
    assert "PROVISOIRE" not in text
    stored = closing_pdf(agent, "agent", DAY)
    assert stored is not None and stored.pdf == issued.pdf
    assert provisional_pdf(agent, "agent", DAY, None, "").pdf == issued.pdf, \
        "a closed day prints its final report"
    with agent.reading() as session:
        document = session.scalars(select(Document).where(
            Document.filename == issued.filename)).one()
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.row_id == document.id)).one()
        assert entry.username == "superviseur" and "écart" in entry.reason
        closing_entry = session.scalars(select(AuditEntry).where(
            AuditEntry.table_name == "cash_day").order_by(AuditEntry.at.desc())).first()
        assert closing_entry is not None and closing_entry.username == "superviseur"
        assert closing_entry.changes["difference_minor"] == [None, -500]
    with UnitOfWork(agent.db, agent.actor, from_server=True) as uow:  # the night brings a sale
        meter = uow.session.scalars(select(Meter.id)).first()
        uow.session.add(VendTransaction(
            agency_id=agent.installation.agency_id, receipt_number="RP000-2026-000099",
            meter_id=meter, channel=VendChannel.COUNTER, amount_minor=4000,
            energy=Decimal("1.0"), sold_by="agent",
            sold_at=datetime(DAY.year, DAY.month, DAY.day, 15, tzinfo=agent.installation.zone)))
        uow.commit()
    after = day_summary(agent, "agent", DAY)
    assert (after.expected_cash_minor, after.counted_minor, after.difference_minor) == \
        (17500, 17000, -500), "a closed day's figures do not change"
    assert after.by_method == closed.by_method
    with pytest.raises(DayClosed):
        close_day(supervisor, "agent", DAY, 17500, "")
    with pytest.raises(DayClosed):
        submit_count(agent, "agent", DAY, 17500, "")


def test_the_supervisor_may_type_the_count_and_a_waiting_sale_blocks(
        agent: ServiceContext, supervisor: ServiceContext) -> None:
    with pytest.raises(ValidationError) as refused:
        close_day(supervisor, "agent", DAY)
    assert "pas encore soumis" in str(refused.value)
    PendingStore(agent.db).add(PendingSale("GUICHET-attente", "47100000018", 6000, "07", "autre"))
    with agent.db.session() as session, session.begin():  # created on DAY
        session.execute(update(PendingVendSale).values(created_at=datetime(
            DAY.year, DAY.month, DAY.day, 16, tzinfo=agent.installation.zone)))
    with pytest.raises(BusinessError) as waiting:
        close_day(supervisor, "autre", DAY, 9000, "")
    assert "attendent encore la réponse du central" in str(waiting.value)
    closed, _ = close_day(supervisor, "agent", DAY, 17500, "")
    assert closed.closing is not None and closed.difference_minor == 0


def test_closing_every_counted_till(agent: ServiceContext, supervisor: ServiceContext) -> None:
    submit_count(agent, "agent", DAY, 17500, "")
    agency = agency_day(supervisor, DAY)
    assert {a.agent for a in agency.agents} >= {"agent", "autre", "superviseur"}
    assert agency.by_method == {"Espèces": 34500, "ORANGE": 4000, "Chèque": 20000}, \
        "every agent's takings, the payment received by a name that is no user's included"
    assert agency.expected_cash_minor == 34500 and agency.counted_minor == 17500
    done = close_all(supervisor, DAY)
    assert done.closed == ("agent",)
    assert ("autre", "comptage non soumis") in done.left_open
    assert "superviseur" not in {who for who, _why in done.left_open}, "nothing to count"
    assert day_summary(agent, "agent", DAY).closing is not None
    assert day_summary(agent, "autre", DAY).closing is None


class _NoCentral:
    def sell(self, *_args: object) -> None:
        raise AssertionError("central asked for a sale in a closed day")


def test_a_closed_day_takes_no_more_payment_sale_or_cancellation(
        ctx: ServiceContext, supervisor: ServiceContext) -> None:
    today = ctx.installation.today()
    home = household(ctx)
    agent = ctx.signed_in(sign_in(ctx.db, "agent", "Guichet-Agent-2026"))
    taken = record_payment(agent, home.account_id, Decimal("12500"), PaymentMethod.CASH,
                           confirmed=True)
    cheque = record_payment(agent, home.account_id, Decimal("3000"), PaymentMethod.CHEQUE,
                            "CHQ 1234567", confirmed=True)
    counted = day_summary(agent, "agent", today)
    assert counted.payments_count == 2 and counted.expected_cash_minor == 12500, \
        "the counter payments taken by the payment service are in the cash-up"
    assert counted.by_method == {"Espèces": 12500, "Chèque": 3000}
    assert {line.receipt for line in counted.lines} == {taken.receipt_number,
                                                          cheque.receipt_number}
    submit_count(agent, "agent", today, 12500, "")
    close_day(supervisor, "agent", today)
    with pytest.raises(DayClosed) as refused:
        record_payment(agent, home.account_id, Decimal("1000"), PaymentMethod.CASH,
                       confirmed=True)
    assert "est clôturée" in str(refused.value) and "cet encaissement" in str(refused.value)
    with pytest.raises(DayClosed):
        sell_at_counter(agent, cast(VendingDesk, _NoCentral()), "47100000018", 1000, "07")
    with pytest.raises(DayClosed):
        ensure_counter_open(agent)
    with pytest.raises(DayClosed) as cancel:
        cancel_payment(supervisor, taken.payment_id, "erreur de compte")
    assert "annulation" in str(cancel.value)
    after = day_summary(agent, "agent", today)
    assert after.payments_count == 2 and after.expected_cash_minor == 12500
    record_payment(supervisor, home.account_id, Decimal("1000"), PaymentMethod.CASH,
                   confirmed=True)  # the supervisor's own till is open
