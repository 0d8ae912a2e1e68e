"""The agency at a glance, for the home page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import func, select

from app.models import Account, Customer, Meter, Payment
from app.models.enums import AccountStatus, MeterPayment, MeterStatus
from kernel.context import ServiceContext


@dataclass(frozen=True)
class AgencyOverview:
    customers: int
    active_accounts: int
    postpaid_meters: int
    prepaid_meters: int
    payments_today: int
    cashed_today_minor: int
    outstanding_minor: int


def agency_overview(ctx: ServiceContext) -> AgencyOverview:
    """Whole-table figures: a desk's database holds its own agency only, and filtering on the
    agency would make the database walk an index that matches every row."""
    zone = ctx.installation.zone
    today = ctx.installation.today()
    start = datetime.combine(today, time(), tzinfo=zone)
    end = start + timedelta(days=1)
    with ctx.reading() as session:
        customers = session.scalar(select(func.count()).select_from(Customer)) or 0
        active, outstanding = session.execute(
            select(func.count(), func.coalesce(func.sum(Account.balance_minor), 0)).where(
                Account.status == AccountStatus.ACTIVE
            )
        ).one()
        meters = dict(
            session.execute(
                select(Meter.payment, func.count())
                .where(Meter.status == MeterStatus.INSTALLED)
                .group_by(Meter.payment)
            ).all()
        )
        payments, cashed = session.execute(
            select(func.count(), func.coalesce(func.sum(Payment.amount_minor), 0)).where(
                Payment.paid_at >= start,
                Payment.paid_at < end,
                Payment.is_cancelled.is_(False),
            )
        ).one()
    return AgencyOverview(
        customers=customers,
        active_accounts=active,
        postpaid_meters=meters.get(MeterPayment.POSTPAID, 0),
        prepaid_meters=meters.get(MeterPayment.PREPAID, 0),
        payments_today=payments,
        cashed_today_minor=int(cashed),
        outstanding_minor=int(outstanding),
    )
