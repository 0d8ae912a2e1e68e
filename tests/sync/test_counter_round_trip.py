"""The counter's money and readings through a real night: a payment and its cancellation reach
central, which recomputes the balance; the desk's solde à jour is the same before and after."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import select

from app.models import Account, MeterReading, Payment
from app.models.database import Database
from app.models.enums import PaymentMethod, ReadingSource, Role
from app.services.balances import account_balance
from app.services.payments import cancel_payment, record_payment
from app.services.readings import correct_reading
from app.services.statements import account_statement
from kernel.context import ServiceContext, SignedInUser
from tests.sync.conftest import Central, Desk


def _supervisor(desk: Desk) -> ServiceContext:
    return desk.ctx.signed_in(SignedInUser(uuid.uuid4(), "superviseur", "Awa KONÉ", Role.SUPERVISOR))


def test_a_cancelled_payment_and_a_corrected_reading_go_through_the_night(
    desk: Desk, central: Central
) -> None:
    first = desk.sync()
    assert first.status == "succeeded", first.message
    with desk.db.session() as session:
        account_id = session.scalars(select(Account.id).order_by(Account.id)).first()
        reading = session.scalars(select(MeterReading).where(MeterReading.source == ReadingSource.AGENT)
                                  .order_by(MeterReading.reading_date.desc())).first()
        assert account_id is not None and reading is not None
        reading_id, first_index = reading.id, reading.index_value
    before = account_balance(desk.ctx, account_id)
    kept = record_payment(desk.ctx, account_id, Decimal(1000), PaymentMethod.CASH, confirmed=True)
    wrong = record_payment(desk.ctx, account_id, Decimal(2500), PaymentMethod.CASH, confirmed=True)
    cancel_payment(_supervisor(desk), wrong.payment_id, "encaissé deux fois")
    correct_reading(_supervisor(desk), reading_id, first_index + 1, "index mal recopié")
    owed = account_balance(desk.ctx, account_id).current_minor
    assert owed == before.current_minor - 1000
    night = desk.sync()
    assert night.status == "succeeded", night.message
    central_db = Database(central.db_url)
    try:
        with central_db.session() as session:
            payment = session.get(Payment, wrong.payment_id)
            assert payment is not None and payment.is_cancelled and payment.cancelled_by == "Awa KONÉ"
            assert session.get(Payment, kept.payment_id) is not None
            account = session.get(Account, account_id)
            assert account is not None and account.balance_minor == owed
            corrected = session.get(MeterReading, reading_id)
            assert corrected is not None
            assert (corrected.index_value, corrected.corrected_from_index) == (first_index + 1, first_index)
    finally:
        central_db.dispose()
    after = account_balance(desk.ctx, account_id)
    assert (after.central_minor, after.current_minor) == (owed, owed)
    assert not after.has_local_changes
    assert account_statement(desk.ctx, account_id).closing_minor == owed
