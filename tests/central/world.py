"""A small, hand-made central world for billing tests: agencies, tariffs, contracts, meters and
readings written through the ORM, and helpers to bill and read the results."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.models import (
    Account,
    Agency,
    Commune,
    Contract,
    Customer,
    Invoice,
    Meter,
    MeterReading,
    Payment,
    Premise,
    ServiceConnection,
    Tariff,
    TariffBand,
)
from app.models.capture import SYSTEM
from app.models.database import Database
from app.models.enums import (
    ContractStatus,
    Energy,
    MeterPayment,
    MeterStatus,
    PaymentMethod,
    PremiseCategory,
    ReadingKind,
    ReadingSource,
)
from central.billing.engine import BillingEngine, BillingReport
from central.billing.period import Period
from kernel.context import UnitOfWork
from kernel.money import Currency

XOF_BANDS = [(0, 10, "245"), (10, 30, "445"), (30, None, "690")]
EUR_BANDS = [(0, 10, "0.3735"), (10, 30, "0.6784"), (30, None, "1.0519")]


@dataclass(frozen=True)
class Subscription:
    contract_id: uuid.UUID
    account_id: uuid.UUID
    connection_id: uuid.UUID
    meter_id: uuid.UUID


class World:
    def __init__(self, db: Database, currency: str = "XOF", agency_code: str = "101") -> None:
        self.db = db
        self.currency = Currency.of(currency)
        self._counter = 0
        with UnitOfWork(db, SYSTEM) as uow:
            agency = Agency(code=agency_code, name=f"Agence {agency_code}")
            commune = Commune(code=f"C{agency_code}", name="Cocody")
            uow.session.add_all([agency, commune])
            uow.session.flush()
            self.agency_id = agency.id
            self.commune_id = commune.id
            euro = currency == "EUR"
            self.water = self._tariff(uow, "EAU-DOM", MeterPayment.POSTPAID,
                                      229 if euro else 1500, EUR_BANDS if euro else XOF_BANDS,
                                      Decimal("0.20") if euro else Decimal("0.18"))
            self.prepaid = self._tariff(uow, "ELEC-PRE", MeterPayment.PREPAID, 0,
                                        [(0, None, "79.5")], Decimal("0.18"))
            uow.commit()

    @staticmethod
    def _tariff(uow: UnitOfWork, code: str, payment: MeterPayment, fixed: int,
                bands: list[tuple[int, int | None, str]], vat: Decimal) -> uuid.UUID:
        tariff = Tariff(code=code, name=code, energy=Energy.WATER, payment=payment,
                        fixed_charge_minor=fixed, vat_rate=vat, valid_from=date(2020, 1, 1))
        tariff.bands = [TariffBand(lower_bound=lo, upper_bound=hi, unit_price=Decimal(p))
                        for lo, hi, p in bands]
        uow.session.add(tariff)
        uow.session.flush()
        return tariff.id

    def subscribe(
        self,
        *,
        start: date = date(2020, 1, 1),
        billed_until: date | None = date(2026, 10, 31),
        digits: int = 5,
        initial_index: int = 0,
        prepaid: bool = False,
        category: PremiseCategory = PremiseCategory.DOMESTIC,
    ) -> Subscription:
        self._counter += 1
        n = self._counter
        with UnitOfWork(self.db, SYSTEM) as uow:
            s = uow.session
            customer = Customer(agency_id=self.agency_id, last_name=f"Client {n}")
            premise = Premise(agency_id=self.agency_id, commune_id=self.commune_id,
                              category=category)
            s.add_all([customer, premise])
            s.flush()
            account = Account(agency_id=self.agency_id, number=f"A{self.agency_id.hex[:6]}{n:06d}",
                              customer_id=customer.id, opened_on=start)
            connection = ServiceConnection(agency_id=self.agency_id,
                                           reference=f"BR{self.agency_id.hex[:6]}{n:06d}",
                                           premise_id=premise.id, energy=Energy.WATER,
                                           installed_on=start)
            s.add_all([account, connection])
            s.flush()
            meter = Meter(agency_id=self.agency_id, serial=f"M{self.agency_id.hex[:6]}{n:06d}",
                          energy=Energy.WATER, connection_id=connection.id, digits=digits,
                          initial_index=initial_index, installed_on=start,
                          payment=MeterPayment.PREPAID if prepaid else MeterPayment.POSTPAID)
            contract = Contract(agency_id=self.agency_id, number=f"AB{self.agency_id.hex[:6]}{n:06d}",
                                account_id=account.id, connection_id=connection.id,
                                tariff_id=self.prepaid if prepaid else self.water,
                                start_date=start, billed_until=billed_until)
            s.add_all([meter, contract])
            s.flush()
            found = Subscription(contract.id, account.id, connection.id, meter.id)
            uow.commit()
        return found

    def read(self, meter_id: uuid.UUID, day: date, index: int,
             kind: ReadingKind = ReadingKind.REGULAR,
             source: ReadingSource = ReadingSource.AGENT) -> uuid.UUID:
        with UnitOfWork(self.db, SYSTEM) as uow:
            reading = MeterReading(agency_id=self.agency_id, meter_id=meter_id, reading_date=day,
                                   read_at=datetime.combine(day, time(9), tzinfo=UTC),
                                   index_value=index, kind=kind, source=source)
            uow.session.add(reading)
            uow.session.flush()
            uow.commit()
            return reading.id

    def set_move_in(self, contract_id: uuid.UUID, reading_id: uuid.UUID) -> None:
        with UnitOfWork(self.db, SYSTEM) as uow:
            contract = uow.session.get(Contract, contract_id)
            assert contract is not None
            contract.move_in_reading_id = reading_id
            uow.commit()

    def move_out(self, contract_id: uuid.UUID, day: date) -> None:
        with UnitOfWork(self.db, SYSTEM) as uow:
            contract = uow.session.get(Contract, contract_id)
            assert contract is not None
            contract.end_date = day
            contract.status = ContractStatus.CLOSED
            uow.commit()

    def replace_meter(self, sub: Subscription, day: date, final_index: int, *,
                      digits: int = 5, initial_index: int = 0) -> uuid.UUID:
        """The old meter's last index on ``day``, a new meter from ``initial_index``."""
        self.read(sub.meter_id, day, final_index, ReadingKind.METER_REMOVED)
        self._counter += 1
        with UnitOfWork(self.db, SYSTEM) as uow:
            old = uow.session.get(Meter, sub.meter_id)
            assert old is not None
            old.removed_on = day
            old.status = MeterStatus.REMOVED
            new = Meter(agency_id=self.agency_id, serial=f"N{self.agency_id.hex[:6]}{self._counter:06d}",
                        energy=Energy.WATER, connection_id=sub.connection_id, digits=digits,
                        initial_index=initial_index, installed_on=day)
            uow.session.add(new)
            uow.session.flush()
            uow.commit()
            new_id = new.id
        self.read(new_id, day, initial_index, ReadingKind.METER_INSTALLED)
        return new_id

    def pay(self, account_id: uuid.UUID, amount: int, number: str) -> None:
        with UnitOfWork(self.db, SYSTEM) as uow:
            uow.session.add(Payment(agency_id=self.agency_id, receipt_number=number,
                                    account_id=account_id, amount_minor=amount,
                                    method=PaymentMethod.CASH,
                                    paid_at=datetime(2026, 11, 20, 10, tzinfo=UTC)))
            uow.commit()

    def bill(self, period: str, issued_on: date | None = None, **kwargs: object) -> BillingReport:
        engine = BillingEngine(self.db, self.currency, chunk_size=int(kwargs.pop("chunk_size", 100)))
        when = issued_on or Period.parse(period).end + timedelta(days=5)
        kwargs.setdefault("today", when)  # the run is made on its issue day
        return engine.run(Period.parse(period), when, **kwargs)  # type: ignore[arg-type]

    def invoices(self, contract_id: uuid.UUID) -> list[Invoice]:
        with self.db.reading() as session:
            return list(session.scalars(
                select(Invoice).options(selectinload(Invoice.lines))
                .where(Invoice.contract_id == contract_id).order_by(Invoice.number)
            ))

    def balance(self, account_id: uuid.UUID) -> int:
        with self.db.reading() as session:
            account = session.get(Account, account_id)
            assert account is not None
            return account.balance_minor

    def count(self, model: type) -> int:
        with self.db.reading() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

    def estimates(self, meter_id: uuid.UUID) -> list[MeterReading]:
        with self.db.reading() as session:
            return list(session.scalars(
                select(MeterReading).where(MeterReading.meter_id == meter_id,
                                           MeterReading.source == ReadingSource.ESTIMATE)
            ))
