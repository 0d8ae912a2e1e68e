"""Bulk generation of demo customers with everything around them, consistent end to end:
accounts and premises, connections and meters (postpaid with monthly readings, prepaid STS),
contracts, consumption invoices priced by the real tariff bands, payments, balances.

Rows are made in chunks directly in the database's storage form (hex UUIDs, ISO dates, enum
values, scaled integers) and written by ``app.models.bulk``: at a million customers, per-value
ORM or Core processing would cost more than the generation itself. They bypass the write path's
capture on purpose, like a bootstrap snapshot.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction

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
    PremiseCategory,
    ReadingKind,
    ReadingSource,
)
from app.services.demo import names
from app.services.demo.reference import DemoReference
from app.services.demo.rows import (
    Chunk,
    Counters,
    Row,
    Storage,
    month_end,
    month_shift,
)
from kernel.identifiers import make_account_number, make_drn, make_meter_serial
from kernel.money import Currency
from kernel.numbering import Series, format_number
from kernel.pricing import price_consumption, terms_of

HISTORY_MONTHS = 6
INVOICED_MONTHS = 2
STS_MANUFACTURER = 4
STS_SGC = 600675
class CustomerFactory:
    def __init__(
        self,
        reference: DemoReference,
        currency: Currency,
        as_of: date,
        seed: int,
        dialect: str,
        history: bool = True,
    ) -> None:
        self.currency = currency
        #: Readings, invoices and payments (three quarters of the rows); without them the agency
        #: has its customers, premises, accounts, meters and contracts only (search benches).
        self.history = history
        self.as_of = as_of
        self.rng = random.Random(seed)
        start_ms = int(datetime.combine(as_of, time(), tzinfo=UTC).timestamp() * 1000)
        self.s = Storage(dialect, self.rng, start_ms)
        self.counters = Counters()
        self.agency_id = reference.agency.id.hex
        self.agency_code = reference.agency.code
        self.places = [
            (
                commune.id.hex,
                [street.id.hex for street in reference.streets_by_commune[commune.code]],
            )
            for commune in reference.communes
        ]
        self.terms = {key: terms_of(t) for key, t in reference.tariffs.items()}
        self.tariff_ids = {key: t.id.hex for key, t in reference.tariffs.items()}
        self.this_month = as_of.replace(day=1)
        self.history_start = month_shift(self.this_month, -HISTORY_MONTHS)
        self.balance_as_of = self.s.moment(as_of, 3, 0)
        self._priced: dict[tuple[Energy, int, Fraction], tuple[int, int, int, list[Row]]] = {}

    def _at(self, day: date, hour: int = 9) -> str:
        return self.s.moment(day, hour, self.rng.randrange(60))

    def _synced(self, created: str) -> Row:
        return {
            "id": self.s.id(),
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
        if rng.random() < 0.1:
            span = (self.as_of - self.history_start).days
            opened = self.history_start + timedelta(days=rng.randrange(span))
        else:
            opened = date(
                rng.randrange(2000, self.as_of.year), rng.randrange(1, 13), rng.randrange(1, 29)
            )
        created = self._at(opened)
        customer = chunk.add("customer", self._synced(created) | self._identity())

        commune_id, streets = rng.choice(self.places)
        premise = chunk.add(
            "premise",
            self._synced(created)
            | {
                "commune_id": commune_id,
                "street_id": rng.choice(streets),
                "house_number": str(rng.randrange(1, 400))
                + rng.choice(("", "", "", " bis", " ter")),
                "complement": rng.choice(names.COMPLEMENTS).format(n=rng.randrange(1, 60)),
                "plot_reference": "",
                "category": PremiseCategory.COMMERCIAL.value
                if customer["kind"] == CustomerKind.ORGANISATION.value
                else PremiseCategory.DOMESTIC.value,
                "owner_customer_id": customer["id"] if rng.random() < 0.4 else None,
            },
        )
        account = chunk.add(
            "account",
            self._synced(created)
            | {
                "number": make_account_number(
                    self.agency_code, opened.year, self.counters.next(Series.ACCOUNT, opened.year)
                ),
                "customer_id": customer["id"],
                "status": AccountStatus.ACTIVE.value,
                "payment_mode": rng.choices(list(PaymentMode), weights=(45, 5, 35, 5, 10))[0].value,
                "opened_on": self.s.day(opened),
                "closed_on": None,
                "billing_premise_id": premise["id"],
                "balance_minor": 0,
                "balance_as_of": self.balance_as_of,
            },
        )
        energies = []
        if rng.random() < 0.85:
            energies.append(Energy.WATER)
        if rng.random() < 0.8 or not energies:
            energies.append(Energy.ELECTRICITY)
        heavy = 5 if customer["kind"] == CustomerKind.ORGANISATION.value else 1
        for energy in energies:
            prepaid = energy is Energy.ELECTRICITY and rng.random() < 0.18
            account["balance_minor"] += self._connection(
                chunk, premise, account, energy, prepaid, opened, heavy
            )

    def _identity(self) -> Row:
        rng = self.rng
        if rng.random() < 0.08:
            owner = rng.choice(names.LAST_NAMES)
            return {
                "kind": CustomerKind.ORGANISATION.value,
                "civility": Civility.COMPANY.value,
                "last_name": "",
                "first_name": "",
                "organisation_name": f"{rng.choice(names.TRADES)} {owner} {rng.choice(names.ORG_SUFFIXES)}",
                "phone": "27" + f"{rng.randrange(10**8):08d}",
                "mobile": self._phone(),
                "email": f"contact@{owner.lower().replace(chr(39), '').replace(' ', '')}-{rng.randrange(100)}.example",
                "id_document_type": IdentityDocumentType.TRADE_REGISTER.value,
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
        email = ""
        if rng.random() < 0.35:
            email = f"{first}.{last}{rng.randrange(100)}@mail.example".lower().replace("'", "").replace(" ", "")
        document = rng.choice(
            (
                IdentityDocumentType.NATIONAL_ID,
                IdentityDocumentType.NATIONAL_ID,
                IdentityDocumentType.PASSPORT,
                IdentityDocumentType.CONSULAR_CARD,
            )
        )
        born = date(rng.randrange(1940, 2004), rng.randrange(1, 13), rng.randrange(1, 29))
        return {
            "kind": CustomerKind.PERSON.value,
            "civility": civility.value,
            "last_name": last,
            "first_name": first,
            "organisation_name": "",
            "phone": "",
            "mobile": self._phone(),
            "email": email,
            "id_document_type": document.value,
            "id_document_number": f"C{rng.randrange(10**10):010d}",
            "birth_date": self.s.day(born),
            "notes": "",
            "is_active": True,
        }

    def _connection(
        self,
        chunk: Chunk,
        premise: Row,
        account: Row,
        energy: Energy,
        prepaid: bool,
        opened: date,
        heavy: int,
    ) -> int:
        """Adds a connection, its meter, contract, readings, invoices and payments; returns what
        the account still owes for it."""
        rng = self.rng
        created = self._at(opened)
        year = opened.year
        connection = chunk.add(
            "service_connection",
            self._synced(created)
            | {
                "reference": format_number(
                    Series.CONNECTION,
                    self.agency_code,
                    year,
                    self.counters.next(Series.CONNECTION, year),
                ),
                "premise_id": premise["id"],
                "energy": energy.value,
                "status": ConnectionStatus.ACTIVE.value,
                "installed_on": self.s.day(opened),
                "rating": rng.choice((15, 20))
                if energy is Energy.WATER
                else rng.choice((3, 6, 9, 12)),
            },
        )
        self.counters.meters[energy] += 1
        payment = MeterPayment.PREPAID if prepaid else MeterPayment.POSTPAID
        makes = (
            ("Itron", "Sagemcom", "Landis+Gyr", "Hexing", "Conlog")
            if energy is Energy.ELECTRICITY
            else ("Itron", "Sensus", "Zenner")
        )
        meter = chunk.add(
            "meter",
            self._synced(created)
            | {
                "serial": make_meter_serial(energy, 10_000_000 + self.counters.meters[energy]),
                "energy": energy.value,
                "payment": payment.value,
                "status": MeterStatus.INSTALLED.value,
                "connection_id": connection["id"],
                "make": rng.choice(makes),
                "digits": 5 if energy is Energy.WATER else 6,
                "initial_index": 0,
                "installed_on": self.s.day(opened),
                "removed_on": None,
                **self._sts(prepaid, opened),
            },
        )
        contract = chunk.add(
            "contract",
            self._synced(created)
            | {
                "number": format_number(
                    Series.CONTRACT,
                    self.agency_code,
                    year,
                    self.counters.next(Series.CONTRACT, year),
                ),
                "account_id": account["id"],
                "connection_id": connection["id"],
                "tariff_id": self.tariff_ids[(energy, payment)],
                "status": ContractStatus.ACTIVE.value,
                "start_date": self.s.day(opened),
                "end_date": None,
                "move_in_reading_id": None,
                "move_out_reading_id": None,
                "billed_until": None,
            },
        )
        if prepaid or not self.history:
            return 0
        return self._readings_and_bills(chunk, meter, contract, account, energy, opened, heavy)

    def _sts(self, prepaid: bool, installed: date) -> Row:
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
                )
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
        meter: Row,
        contract: Row,
        account: Row,
        energy: Energy,
        opened: date,
        heavy: int,
    ) -> int:
        rng = self.rng
        maximum = 10 ** meter["digits"] - 1
        mean = (13 if energy is Energy.WATER else 160) * heavy
        start = max(opened, month_end(month_shift(self.this_month, -HISTORY_MONTHS - 1)))
        index = rng.randrange(maximum // 2) if opened < self.history_start else 0
        moved_in = start == opened
        first = self._reading(
            chunk, meter, start, index, ReadingKind.MOVE_IN if moved_in else ReadingKind.REGULAR
        )
        if moved_in:
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
        for back in range(INVOICED_MONTHS, 0, -1):
            month = month_shift(self.this_month, -back)
            issued = month_shift(month, 1) + timedelta(days=4)
            if month not in consumption_by_month or issued > self.as_of:
                continue
            used, days = consumption_by_month[month]
            month_days = calendar.monthrange(month.year, month.month)[1]
            share = Fraction(min(days, month_days), month_days)
            invoice_id, total = self._invoice(
                chunk, account, contract, energy, month, issued, used, share
            )
            contract["billed_until"] = self.s.day(month_end(month))
            paid_on = issued + timedelta(days=rng.randrange(1, 25))
            if rng.random() < (0.85 if back > 1 else 0.4) and paid_on <= self.as_of:
                self._payment(chunk, account, invoice_id, paid_on, total)
            else:
                owed += total
        return owed

    def _reading(
        self,
        chunk: Chunk,
        meter: Row,
        day: date,
        index: int,
        kind: ReadingKind,
        consumption: int | None = None,
    ) -> Row:
        read_at = self._at(day, hour=self.rng.randrange(8, 17))
        source = ReadingSource.AGENT if self.rng.random() < 0.9 else ReadingSource.CUSTOMER
        return chunk.add(
            "meter_reading",
            self._synced(read_at)
            | {
                "meter_id": meter["id"],
                "reading_date": self.s.day(day),
                "read_at": read_at,
                "index_value": index,
                "source": source.value,
                "kind": kind.value,
                "consumption": consumption,
                "recorded_by": "releveur",
                "note": "",
            },
        )

    def _priced_lines(
        self, energy: Energy, used: int, share: Fraction
    ) -> tuple[int, int, int, list[Row]]:
        """Totals and storage-form lines of a consumption, computed once per distinct case."""
        key = (energy, used, share)
        cached = self._priced.get(key)
        if cached is None:
            priced = price_consumption(
                self.terms[(energy, MeterPayment.POSTPAID)], used, share, self.currency
            )
            lines = [
                {
                    "position": position,
                    "kind": line.kind.value,
                    "label": line.label,
                    "quantity": int(line.quantity.scaleb(3)),
                    "unit": line.unit,
                    "unit_price": int(line.unit_price.scaleb(4)),
                    "amount_excl_vat_minor": line.amount_excl_vat_minor,
                    "vat_rate": int(line.vat_rate.scaleb(4)),
                    "vat_minor": line.vat_minor,
                    "amount_minor": line.amount_minor,
                }
                for position, line in enumerate(priced.lines, start=1)
            ]
            cached = self._priced[key] = (
                priced.total_excl_vat_minor,
                priced.vat_minor,
                priced.total_minor,
                lines,
            )
        return cached

    def _invoice(
        self,
        chunk: Chunk,
        account: Row,
        contract: Row,
        energy: Energy,
        month: date,
        issued: date,
        used: int,
        share: Fraction,
    ) -> tuple[str, int]:
        excl, vat, total, lines = self._priced_lines(energy, used, share)
        created = self._at(issued, hour=3)
        counter = self.counters.next("consumption_invoice", issued.year)
        invoice = chunk.add(
            "invoice",
            self._synced(created)
            | {
                "number": f"FC{issued.year}-{counter:08d}",
                "kind": InvoiceKind.CONSUMPTION.value,
                "status": InvoiceStatus.ISSUED.value,
                "account_id": account["id"],
                "contract_id": contract["id"],
                "works_quote_id": None,
                "credited_invoice_id": None,
                "period": f"{month.year}-{month.month:02d}",
                "period_start": self.s.day(month),
                "period_end": self.s.day(month_end(month)),
                "issued_on": self.s.day(issued),
                "due_on": self.s.day(issued + timedelta(days=20)),
                "total_excl_vat_minor": excl,
                "vat_minor": vat,
                "total_minor": total,
                "is_estimated": False,
            },
        )
        for line in lines:
            chunk.add("invoice_line", self._synced(created) | {"invoice_id": invoice["id"]} | line)
        return invoice["id"], total

    def _payment(self, chunk: Chunk, account: Row, invoice_id: str, day: date, amount: int) -> None:
        rng = self.rng
        method = rng.choices(list(PaymentMethod), weights=(50, 5, 40, 5))[0]
        reference = ""
        if method is PaymentMethod.CHEQUE:
            reference = f"CHQ {rng.randrange(10**7):07d}"
        elif method is PaymentMethod.MOBILE_MONEY:
            reference = f"MP{day:%y%m%d}.{rng.randrange(10**4):04d}.{rng.randrange(10**6):06d}"
        paid_at = self._at(day, hour=rng.randrange(8, 17))
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
                "method": method.value,
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
    chunk_size: int = 2000,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    done = 0
    while done < count:
        size = min(chunk_size, count - done)
        chunk = Chunk()
        for _ in range(size):
            factory.add_customer(chunk)
        write(chunk)
        done += size
        if progress:
            progress(done, count)
