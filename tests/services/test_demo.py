"""The demo agency is realistic, consistent and reproducible."""

import hashlib
from pathlib import Path

from sqlalchemy import func, select, text

from app.models import Account, Customer, Invoice, InvoiceLine, Meter, Payment
from app.models.database import Database
from app.models.enums import MeterPayment
from app.services.demo import build_demo
from kernel.identifiers import validate_account_number, validate_drn, validate_meter_serial
from kernel.money import Currency
from kernel.numbering import Series, next_number
from tests.conftest import AS_OF, make_demo


def _digest(db: Database) -> str:
    digest = hashlib.sha256()
    with db.engine.connect() as connection:
        for table in ("customer", "account", "premise", "meter", "meter_reading", "contract",
                      "invoice", "invoice_line", "payment", "tariff", "commune", "street"):
            for row in connection.execute(text(f"select * from {table} order by id")):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def test_same_seed_gives_the_same_data(tmp_path: Path, sqlite_template: Path) -> None:
    digests = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.sqlite3"
        path.write_bytes(sqlite_template.read_bytes())
        db = Database(f"sqlite:///{path}")
        # build_demo itself, twice: make_demo would copy its first build.
        build_demo(db, agency_code="101", currency=Currency.of("XOF"), customers=150, as_of=AS_OF)
        digests.append(_digest(db))
        db.dispose()
    assert digests[0] == digests[1]


def test_demo_data_is_consistent(db: Database) -> None:
    make_demo(db, customers=200)
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 200
        names = session.scalars(select(Customer.last_name)).all()
        assert any(not n.isascii() for n in names), "accented names expected"
        for number in session.scalars(select(Account.number)):
            validate_account_number(number)
        for meter in session.scalars(select(Meter)):
            validate_meter_serial(meter.serial)
            if meter.payment is MeterPayment.PREPAID:
                assert meter.sts_drn is not None
                validate_drn(meter.sts_drn)
        # Invoice totals add up line by line.
        mismatched = session.execute(
            select(Invoice.id)
            .join(InvoiceLine)
            .group_by(Invoice.id, Invoice.total_minor)
            .having(func.sum(InvoiceLine.amount_minor) != Invoice.total_minor)
        ).all()
        assert mismatched == []
        # Balances: invoiced minus paid.
        for account in session.scalars(select(Account)):
            invoiced = session.scalar(
                select(func.coalesce(func.sum(Invoice.total_minor), 0)).where(Invoice.account_id == account.id)
            )
            paid = session.scalar(
                select(func.coalesce(func.sum(Payment.amount_minor), 0)).where(Payment.account_id == account.id)
            )
            assert account.balance_minor == invoiced - paid


def test_series_continue_after_the_demo(db: Database) -> None:
    make_demo(db, customers=50)
    with db.reading() as session:
        numbers = set(session.scalars(select(Payment.receipt_number)))
        year = max(int(n.split("-")[1]) for n in numbers)
    with db.session() as session, session.begin():
        receipt = next_number(session, "101", Series.RECEIPT, year)
    assert receipt not in numbers
    assert int(receipt.rsplit("-", 1)[1]) == sum(1 for n in numbers if f"-{year}-" in n) + 1


def test_demo_in_euros_uses_cents(db: Database) -> None:
    make_demo(db, customers=30, currency="EUR")
    with db.reading() as session:
        totals = session.scalars(select(Invoice.total_minor)).all()
    assert totals and all(t < 100_000 for t in totals), "euro invoices are in cents, not francs"
