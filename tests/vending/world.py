"""A small prepaid world on a central database: agency 101, a prepaid electricity tariff
(social first band, monthly fixed charge, VAT, arrears share), prepaid STS meters whose
customers are named, one with arrears, a postpaid meter, a removed one, one in stock."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from app.models import (
    Account,
    Agency,
    Commune,
    Contract,
    Customer,
    Invoice,
    Meter,
    Premise,
    ServiceConnection,
    Tariff,
    TariffBand,
)
from app.models.capture import SYSTEM
from app.models.database import Database
from app.models.enums import Energy, InvoiceKind, MeterPayment, MeterStatus
from central.billing.balances import refresh_accounts
from central.sts.vending_keys import VendingKeyRing
from central.vending.hes import TokenMaker
from central.vending.operators import OperatorInfo, add_operator
from central.vending.platform import Platform
from kernel.context import UnitOfWork
from kernel.money import Currency

#: Valid DRNs (Luhn check digit): manufacturer 47, serials 10000001...
DRN_A, DRN_B, DRN_C = "47100000018", "47100000026", "47100000034"
DRN_OLD, DRN_STOCK = "47100000042", "47100000059"
NOW = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class Prepaid:
    meter_id: uuid.UUID
    account_id: uuid.UUID
    drn: str


class VendingWorld:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.currency = Currency.of("XOF")
        self.meters: dict[str, Prepaid] = {}
        with UnitOfWork(db, SYSTEM) as uow:
            s = uow.session
            agency = Agency(code="101", name="Agence 101")
            commune = Commune(code="C101", name="Cocody")
            s.add_all([agency, commune])
            s.flush()
            self.agency_id, self.commune_id = agency.id, commune.id
            tariff = Tariff(code="ELEC-PRE", name="Électricité prépayée domestique",
                            energy=Energy.ELECTRICITY, payment=MeterPayment.PREPAID,
                            fixed_charge_minor=500, vat_rate=Decimal("0.18"),
                            valid_from=date(2020, 1, 1),
                            arrears_recovery_share=Decimal("0.2"))
            tariff.bands = [
                TariffBand(lower_bound=0, upper_bound=50, unit_price=Decimal("60"),
                           is_social=True),
                TariffBand(lower_bound=50, upper_bound=150, unit_price=Decimal("90")),
                TariffBand(lower_bound=150, upper_bound=None, unit_price=Decimal("120")),
            ]
            s.add(tariff)
            s.flush()
            self.tariff_id = tariff.id
            uow.commit()
        self.add_meter(DRN_A, "Kouassi", "Aya")
        self.add_meter(DRN_B, "Traoré", "Moussa", arrears=5000)
        self.add_meter(DRN_C, "Bamba", "Awa", krn=1, base_date=1993)
        self.add_meter("W0001", "Koné", "Ali", payment=MeterPayment.POSTPAID, drn=None)
        self.add_meter(DRN_OLD, "Yao", "Jean", status=MeterStatus.REMOVED)
        self.add_meter(DRN_STOCK, "Diallo", "Fanta", status=MeterStatus.IN_STOCK)

    def add_meter(self, serial: str, last: str, first: str, *, arrears: int = 0,
                  krn: int = 2, base_date: int = 2014, drn: str | None = "",
                  payment: MeterPayment = MeterPayment.PREPAID,
                  status: MeterStatus = MeterStatus.INSTALLED) -> Prepaid:
        drn = serial if drn == "" else drn
        n = len(self.meters) + 1
        with UnitOfWork(self.db, SYSTEM) as uow:
            s = uow.session
            customer = Customer(agency_id=self.agency_id, last_name=last, first_name=first)
            premise = Premise(agency_id=self.agency_id, commune_id=self.commune_id)
            s.add_all([customer, premise])
            s.flush()
            account = Account(agency_id=self.agency_id, number=f"10126{n:07d}00",
                              customer_id=customer.id, opened_on=date(2024, 1, 1))
            connection = ServiceConnection(agency_id=self.agency_id, reference=f"BR101-{n}",
                                           premise_id=premise.id, energy=Energy.ELECTRICITY)
            s.add_all([account, connection])
            s.flush()
            sts: dict[str, object] = {}
            if drn:
                sts = {"sts_drn": drn, "sts_iin": "600727", "sts_sgc": 123456,
                       "sts_tariff_index": 1, "sts_key_revision": krn, "sts_key_type": 2,
                       "sts_key_expiry": 255, "sts_algorithm": "07", "sts_dkga": "02",
                       "sts_base_date": base_date}
            meter = Meter(agency_id=self.agency_id, serial=serial, energy=Energy.ELECTRICITY,
                          payment=payment, status=status, connection_id=connection.id,
                          prepaid_tariff_id=self.tariff_id if drn else None, **sts)
            contract = Contract(agency_id=self.agency_id, number=f"AB101-{n}",
                                account_id=account.id, connection_id=connection.id,
                                tariff_id=self.tariff_id, start_date=date(2024, 1, 1))
            s.add_all([meter, contract])
            if arrears:
                s.add(Invoice(agency_id=self.agency_id, number=f"FC101-{n}",
                              kind=InvoiceKind.CONSUMPTION, account_id=account.id,
                              issued_on=date(2026, 10, 5), total_minor=arrears,
                              total_excl_vat_minor=arrears))
                s.flush()
                refresh_accounts(s, [account.id])
            s.flush()
            found = Prepaid(meter.id, account.id, drn or serial)
            uow.commit()
        self.meters[serial] = found
        return found

    def platform(self, clock: Clock | None = None, **kwargs: object) -> Platform:
        return Platform(self.db, self.currency, __import__("zoneinfo").ZoneInfo("Africa/Abidjan"),
                        TokenMaker(VendingKeyRing(test_keys=True)), clock=clock or Clock(),
                        **kwargs)  # type: ignore[arg-type]

    def operator(self, code: str = "moov", **limits: int) -> tuple[OperatorInfo, str]:
        return add_operator(self.db, code, code.title(), **limits)
