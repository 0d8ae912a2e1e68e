"""Bulk generation of demo customers with everything around them, consistent end to end:
accounts and premises, connections and meters (postpaid with monthly readings, prepaid STS),
contracts, consumption invoices priced by the real tariff bands, payments, balances.

Rows are made in chunks and written with Core bulk inserts (the ORM would be ~20× slower at a
million customers); they bypass the write path's capture on purpose, like a bootstrap snapshot.
"""

from __future__ import annotations

import calendar
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any

from app.models.enums import (
    AccountStatus,
    Civility,
    ConnectionStatus,
    ContractStatus,
    CustomerKind,
    Energy,
    IdentityDocumentType,
    InvoiceKind,
    InvoiceStatus,
    MeterPayment,
    MeterStatus,
    PaymentMethod,
    PaymentMode,
    ReadingKind,
    ReadingSource,
)
from app.models.network import Tariff
from app.services.demo import names
from app.services.demo.reference import DemoReference
from app.services.identifiers import make_account_number, make_drn, make_meter_serial
from app.services.money import Currency
from app.services.numbering import Series, format_number
from app.services.pricing import Band, PricedInvoice, TariffTerms, price_consumption

HISTORY_MONTHS = 6
INVOICED_MONTHS = 2
UNITS = {Energy.WATER: "m³", Energy.ELECTRICITY: "kWh"}
STS_MANUFACTURER = 4
STS_SGC = 600675


def month_shift(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(first_of_month: date) -> date:
    return first_of_month.replace(
        day=calendar.monthrange(first_of_month.year, first_of_month.month)[1]
    )


def terms_of(tariff: Tariff) -> TariffTerms:
    return TariffTerms(
        label=tariff.name,
        unit=UNITS[tariff.energy],
        bands=tuple(Band(b.lower_bound, b.upper_bound, b.unit_price) for b in tariff.bands),
        fixed_charge_minor=tariff.fixed_charge_minor,
        vat_rate=tariff.vat_rate,
    )


@dataclass
class Counters:
    """Last numbers used, to leave the number series where the demo stopped."""

    per_series: Counter[tuple[str, int]] = field(default_factory=Counter)
    meters: Counter[Energy] = field(default_factory=Counter)
    drn: int = 0

    def next(self, series: str, year: int) -> int:
        self.per_series[(series, year)] += 1
        return self.per_series[(series, year)]


@dataclass
class Chunk:
    """Rows of one chunk of customers, per table, in dependency order."""

    tables: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {
            name: []
            for name in (
                "customer",
                "premise",
                "account",
                "service_connection",
                "meter",
                "meter_reading",
                "contract",
                "invoice",
                "invoice_line",
                "payment",
            )
        }
    )

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.tables[table].append(row)


class CustomerFactory:
    def __init__(
        self,
        reference: DemoReference,
        currency: Currency,
        as_of: date,
        seed: int,
    ) -> None:
        self.ref = reference
        self.currency = currency
        self.as_of = as_of
        self.rng = random.Random(seed)
        self.counters = Counters()
        self.agency_id = reference.agency.id
        self.agency_code = reference.agency.code
        self.terms = {key: terms_of(t) for key, t in reference.tariffs.items()}
        self.tariff_ids = {key: t.id for key, t in reference.tariffs.items()}
        self.this_month = as_of.replace(day=1)
        self.history_start = month_shift(self.this_month, -HISTORY_MONTHS)
        self._sequence = int(datetime.combine(as_of, time(), tzinfo=UTC).timestamp() * 1000)

    # --- helpers -------------------------------------------------------------------------
    def _id(self) -> uuid.UUID:
        """Time-ordered like a UUIDv7 (a counter stands for the clock) so indexes fill in order."""
        self._sequence += 1
        bits = (self._sequence << 80) | (0x7 << 76) | (0x2 << 62) | self.rng.getrandbits(62)
        return uuid.UUID(int=bits)

    def _at(self, day: date, hour: int = 9) -> datetime:
        return datetime.combine(day, time(hour, self.rng.randrange(60)), tzinfo=UTC)

    def _synced(self, created: datetime) -> dict[str, Any]:
        return {
            "id": self._id(),
            "agency_id": self.agency_id,
            "version": 1,
            "created_at": created,
            "updated_at": created,
        }

    def _phone(self) -> str:
        return self.rng.choice(("07", "05", "01")) + f"{self.rng.randrange(10**8):08d}"

    # --- one customer --------------------------------------------------------------------
    def add_customer(self, chunk: Chunk) -> None:
        rng = self.rng
        recent = rng.random() < 0.1
        if recent:
            opened = self.history_start + timedelta(
                days=rng.randrange((self.as_of - self.history_start).days)
            )
        else:
            opened = date(
                rng.randrange(2000, self.as_of.year), rng.randrange(1, 13), rng.randrange(1, 29)
            )
        created = self._at(opened)
        customer = self._synced(created) | self._identity()
        chunk.add("customer", customer)

        commune = rng.choice(self.ref.communes)
        street = rng.choice(self.ref.streets_by_commune[commune.code])
        premise = self._synced(created) | {
            "commune_id": commune.id,
            "street_id": street.id,
            "house_number": str(rng.randrange(1, 400)) + rng.choice(("", "", "", " bis", " ter")),
            "complement": rng.choice(names.COMPLEMENTS).format(n=rng.randrange(1, 60)),
            "plot_reference": "",
            "owner_customer_id": customer["id"] if rng.random() < 0.4 else None,
        }
        chunk.add("premise", premise)

        account_counter = self.counters.next(Series.ACCOUNT, opened.year)
        account = self._synced(created) | {
            "number": make_account_number(self.agency_code, opened.year, account_counter),
            "customer_id": customer["id"],
            "status": AccountStatus.ACTIVE,
            "payment_mode": rng.choices(list(PaymentMode), weights=(45, 5, 35, 5, 10))[0],
            "opened_on": opened,
            "closed_on": None,
            "billing_premise_id": premise["id"],
            "balance_minor": 0,
            "balance_as_of": datetime.combine(self.as_of, time(3, 0), tzinfo=UTC),
        }
        chunk.add("account", account)

        energies = []
        if rng.random() < 0.85:
            energies.append(Energy.WATER)
        if rng.random() < 0.8 or not energies:
            energies.append(Energy.ELECTRICITY)
        heavy = 5 if customer["kind"] is CustomerKind.ORGANISATION else 1
        balance = 0
        for energy in energies:
            prepaid = energy is Energy.ELECTRICITY and rng.random() < 0.18
            balance += self._connection(chunk, premise, account, energy, prepaid, opened, heavy)
        account["balance_minor"] = balance

    def _identity(self) -> dict[str, Any]:
        rng = self.rng
        if rng.random() < 0.08:
            trade = rng.choice(names.TRADES)
            owner = rng.choice(names.LAST_NAMES)
            return {
                "kind": CustomerKind.ORGANISATION,
                "civility": Civility.COMPANY,
                "last_name": "",
                "first_name": "",
                "organisation_name": f"{trade} {owner} {rng.choice(names.ORG_SUFFIXES)}",
                "phone": "27" + f"{rng.randrange(10**8):08d}",
                "mobile": self._phone(),
                "email": f"contact@{owner.lower().replace(chr(39), '')}-{rng.randrange(100)}.example",
                "id_document_type": IdentityDocumentType.TRADE_REGISTER,
                "id_document_number": f"CI-ABJ-{rng.randrange(2000, 2026)}-B-{rng.randrange(10**5):05d}",
                "birth_date": None,
                "notes": "",
                "is_active": True,
            }
        female = rng.random() < 0.5
        first = rng.choice(names.FEMALE_FIRST_NAMES if female else names.MALE_FIRST_NAMES)
        last = rng.choice(names.LAST_NAMES)
        civility = (
            rng.choice((Civility.MRS, Civility.MRS, Civility.MISS)) if female else Civility.MR
        )
        has_email = rng.random() < 0.35
        return {
            "kind": CustomerKind.PERSON,
            "civility": civility,
            "last_name": last,
            "first_name": first,
            "organisation_name": "",
            "phone": "",
            "mobile": self._phone(),
            "email": f"{first}.{last}{rng.randrange(100)}@mail.example".lower().replace("'", "")
            if has_email
            else "",
            "id_document_type": rng.choice(
                (
                    IdentityDocumentType.NATIONAL_ID,
                    IdentityDocumentType.NATIONAL_ID,
                    IdentityDocumentType.PASSPORT,
                    IdentityDocumentType.CONSULAR_CARD,
                )
            ),
            "id_document_number": f"C{rng.randrange(10**10):010d}",
            "birth_date": date(
                rng.randrange(1940, 2004), rng.randrange(1, 13), rng.randrange(1, 29)
            ),
            "notes": "",
            "is_active": True,
        }

    def _connection(
        self,
        chunk: Chunk,
        premise: dict[str, Any],
        account: dict[str, Any],
        energy: Energy,
        prepaid: bool,
        opened: date,
        heavy: int,
    ) -> int:
        """Adds a connection, its meter, contract, readings, invoices and payments; returns what
        the account still owes for it."""
        rng = self.rng
        created = self._at(opened)
        connection = self._synced(created) | {
            "reference": format_number(
                Series.CONNECTION,
                self.agency_code,
                opened.year,
                self.counters.next(Series.CONNECTION, opened.year),
            ),
            "premise_id": premise["id"],
            "energy": energy,
            "status": ConnectionStatus.ACTIVE,
            "installed_on": opened,
            "rating": rng.choice((15, 20)) if energy is Energy.WATER else rng.choice((3, 6, 9, 12)),
        }
        chunk.add("service_connection", connection)
        digits = 5 if energy is Energy.WATER else 6
        self.counters.meters[energy] += 1
        payment = MeterPayment.PREPAID if prepaid else MeterPayment.POSTPAID
        meter = self._synced(created) | {
            "serial": make_meter_serial(energy, 10_000_000 + self.counters.meters[energy]),
            "energy": energy,
            "payment": payment,
            "status": MeterStatus.INSTALLED,
            "connection_id": connection["id"],
            "make": rng.choice(("Itron", "Sagemcom", "Landis+Gyr", "Hexing", "Conlog"))
            if energy is Energy.ELECTRICITY
            else rng.choice(("Itron", "Sensus", "Zenner")),
            "digits": digits,
            "initial_index": 0,
            "installed_on": opened,
            "removed_on": None,
            **self._sts(prepaid, opened),
        }
        chunk.add("meter", meter)
        tariff_key = (energy, payment)
        contract = self._synced(created) | {
            "number": format_number(
                Series.CONTRACT,
                self.agency_code,
                opened.year,
                self.counters.next(Series.CONTRACT, opened.year),
            ),
            "account_id": account["id"],
            "connection_id": connection["id"],
            "tariff_id": self.tariff_ids[tariff_key],
            "status": ContractStatus.ACTIVE,
            "start_date": opened,
            "end_date": None,
            "move_in_reading_id": None,
            "move_out_reading_id": None,
            "billed_until": None,
        }
        chunk.add("contract", contract)
        if prepaid:
            return 0
        return self._readings_and_bills(chunk, meter, contract, account, energy, opened, heavy)

    def _sts(self, prepaid: bool, installed: date) -> dict[str, Any]:
        if not prepaid:
            return dict.fromkeys(
                (
                    "sts_drn",
                    "sts_iin",
                    "sts_sgc",
                    "sts_tariff_index",
                    "sts_key_revision",
                    "sts_key_type",
                    "sts_key_expiry",
                    "sts_algorithm",
                    "sts_dkga",
                    "sts_base_date",
                    "prepaid_tariff_id",
                ),
            )
        self.counters.drn += 1
        old = installed.year < 2014
        return {
            "sts_drn": make_drn(STS_MANUFACTURER, 10_000_000 + self.counters.drn),
            "sts_iin": "600727",
            "sts_sgc": STS_SGC,
            "sts_tariff_index": 1,
            "sts_key_revision": 1 if old else 2,
            "sts_key_type": 2,
            "sts_key_expiry": 255,
            "sts_algorithm": "07",
            "sts_dkga": "02" if old else "04",
            "sts_base_date": 1993 if old else 2014,
            "prepaid_tariff_id": self.tariff_ids[(Energy.ELECTRICITY, MeterPayment.PREPAID)],
        }

    def _readings_and_bills(
        self,
        chunk: Chunk,
        meter: dict[str, Any],
        contract: dict[str, Any],
        account: dict[str, Any],
        energy: Energy,
        opened: date,
        heavy: int,
    ) -> int:
        rng = self.rng
        maximum = 10 ** meter["digits"] - 1
        mean = (13 if energy is Energy.WATER else 160) * heavy
        start = max(opened, month_end(month_shift(self.this_month, -HISTORY_MONTHS - 1)))
        index = rng.randrange(maximum // 2) if opened < self.history_start else 0
        first = self._reading(
            chunk,
            meter,
            start,
            index,
            ReadingKind.MOVE_IN if start == opened else ReadingKind.REGULAR,
        )
        if start == opened:
            contract["move_in_reading_id"] = first["id"]
        previous = (start, index)
        consumption_by_month: dict[date, tuple[int, int]] = {}
        for back in range(HISTORY_MONTHS, 0, -1):
            month = month_shift(self.this_month, -back)
            end = month_end(month)
            if end <= start:
                continue
            days = (end - previous[0]).days
            used = max(0, round(rng.gammavariate(2.0, mean / 2.0) * days / 30))
            new_index = previous[1] + used
            kind = ReadingKind.REGULAR
            if new_index > maximum:
                new_index -= maximum + 1
                kind = ReadingKind.ROLLOVER
            self._reading(chunk, meter, end, new_index, kind, consumption=used)
            consumption_by_month[month] = (used, days)
            previous = (end, new_index)
        owed = 0
        terms = self.terms[(energy, MeterPayment.POSTPAID)]
        billed_until = None
        for back in range(INVOICED_MONTHS, 0, -1):
            month = month_shift(self.this_month, -back)
            if month not in consumption_by_month:
                continue
            issued = month_shift(month, 1) + timedelta(days=4)
            if issued > self.as_of:
                continue
            used, days = consumption_by_month[month]
            month_days = calendar.monthrange(month.year, month.month)[1]
            share = Fraction(min(days, month_days), month_days)
            priced = price_consumption(terms, used, share, self.currency)
            invoice_id = self._invoice(chunk, account, contract, month, issued, priced)
            billed_until = month_end(month)
            paid_probability = 0.85 if back > 1 else 0.4
            paid_on = issued + timedelta(days=rng.randrange(1, 25))
            if rng.random() < paid_probability and paid_on <= self.as_of:
                self._payment(chunk, account, invoice_id, paid_on, priced.total_minor)
            else:
                owed += priced.total_minor
        contract["billed_until"] = billed_until
        return owed

    def _reading(
        self,
        chunk: Chunk,
        meter: dict[str, Any],
        day: date,
        index: int,
        kind: ReadingKind,
        consumption: int | None = None,
    ) -> dict[str, Any]:
        read_at = self._at(day, hour=self.rng.randrange(8, 17))
        row = self._synced(read_at) | {
            "meter_id": meter["id"],
            "reading_date": day,
            "read_at": read_at,
            "index_value": index,
            "source": ReadingSource.AGENT if self.rng.random() < 0.9 else ReadingSource.CUSTOMER,
            "kind": kind,
            "consumption": consumption,
            "recorded_by": "releveur",
            "note": "",
        }
        chunk.add("meter_reading", row)
        return row

    def _invoice(
        self,
        chunk: Chunk,
        account: dict[str, Any],
        contract: dict[str, Any],
        month: date,
        issued: date,
        priced: PricedInvoice,
    ) -> uuid.UUID:
        created = self._at(issued, hour=3)
        invoice = self._synced(created) | {
            "number": f"FC{issued.year}-{self.counters.next('consumption_invoice', issued.year):08d}",
            "kind": InvoiceKind.CONSUMPTION,
            "status": InvoiceStatus.ISSUED,
            "account_id": account["id"],
            "contract_id": contract["id"],
            "works_quote_id": None,
            "credited_invoice_id": None,
            "period": f"{month.year}-{month.month:02d}",
            "period_start": month,
            "period_end": month_end(month),
            "issued_on": issued,
            "due_on": issued + timedelta(days=20),
            "total_excl_vat_minor": priced.total_excl_vat_minor,
            "vat_minor": priced.vat_minor,
            "total_minor": priced.total_minor,
            "is_estimated": False,
        }
        chunk.add("invoice", invoice)
        for position, line in enumerate(priced.lines, start=1):
            chunk.add(
                "invoice_line",
                self._synced(created)
                | {
                    "invoice_id": invoice["id"],
                    "position": position,
                    "kind": line.kind,
                    "label": line.label,
                    "quantity": line.quantity,
                    "unit": line.unit,
                    "unit_price": line.unit_price,
                    "amount_excl_vat_minor": line.amount_excl_vat_minor,
                    "vat_rate": line.vat_rate,
                    "vat_minor": line.vat_minor,
                    "amount_minor": line.amount_minor,
                },
            )
        return invoice["id"]

    def _payment(
        self,
        chunk: Chunk,
        account: dict[str, Any],
        invoice_id: uuid.UUID,
        issued: date,
        amount: int,
    ) -> None:
        rng = self.rng
        day = min(issued + timedelta(days=rng.randrange(1, 25)), self.as_of)
        paid_at = self._at(day, hour=rng.randrange(8, 17))
        method = rng.choices(list(PaymentMethod), weights=(50, 5, 40, 5))[0]
        reference = ""
        if method is PaymentMethod.CHEQUE:
            reference = f"CHQ {rng.randrange(10**7):07d}"
        elif method is PaymentMethod.MOBILE_MONEY:
            reference = f"MP{day:%y%m%d}.{rng.randrange(10**4):04d}.{rng.randrange(10**6):06d}"
        chunk.add(
            "payment",
            self._synced(paid_at)
            | {
                "receipt_number": format_number(
                    Series.RECEIPT,
                    self.agency_code,
                    day.year,
                    self.counters.next(Series.RECEIPT, day.year),
                ),
                "account_id": account["id"],
                "invoice_id": invoice_id,
                "amount_minor": amount,
                "method": method,
                "reference": reference,
                "paid_at": paid_at,
                "received_by": "agent",
                "is_cancelled": False,
                "cancel_reason": "",
                "receipt_document_id": None,
            },
        )


def generate(
    factory: CustomerFactory,
    count: int,
    write: Callable[[Chunk], None],
    chunk_size: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    done = 0
    while done < count:
        chunk = Chunk()
        for _ in range(min(chunk_size, count - done)):
            factory.add_customer(chunk)
        write(chunk)
        done += min(chunk_size, count - done)
        if progress:
            progress(done, count)
