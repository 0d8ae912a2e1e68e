"""What one contract owes for one period: the window of days, the consumption, the estimate and
the priced lines. Pure: the engine gives it the contract's facts and readings.

The window runs from the day after ``billed_until`` (or the move-in day) to the end of the period
(or the move-out day). While a contract is on estimates and a real reading arrives, the window
goes back to the first estimated day and starts from the last real point: the estimated
invoices are credited and that whole stretch is billed again on the real consumption.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

from central.billing.consumption import (
    MeterFacts,
    Point,
    Reading,
    estimate_point,
    estimate_units,
    has_real_reading_after,
    measure,
)
from central.billing.period import ONE_DAY, Period, fixed_charge_share
from central.billing.tariffs import TariffBook, TariffVersion, exact, priced
from kernel.money import Currency
from kernel.pricing import PricedInvoice, PricedLine, Quantity


class ContractFacts(NamedTuple):
    id: uuid.UUID
    agency_id: uuid.UUID | None
    account_id: uuid.UUID
    connection_id: uuid.UUID
    tariff_id: uuid.UUID
    start_date: date
    end_date: date | None
    billed_until: date | None
    version: int
    move_in_reading_id: uuid.UUID | None


class BillingState(NamedTuple):
    """Where the last invoice left the contract (``known`` False: central has no record yet)."""

    end: Point | None
    is_estimated: bool = False
    anchor: Point | None = None
    anchor_since: date | None = None
    known: bool = True


class Window(NamedTuple):
    start: date
    end: date
    base: Point | None
    #: The estimated invoices since ``start`` are credited and billed again.
    correcting: bool = False
    #: An estimate chain carried on (last real point, first estimated day).
    anchor: Point | None = None
    anchor_since: date | None = None


class Prepared(NamedTuple):
    contract: ContractFacts
    window: Window
    measured_units: int
    end: Point | None
    to_estimate: MeterFacts | None
    #: (first day of a tariff version starting inside the window, units measured up to a real
    #: reading taken at that change), for the changes that have such a reading.
    measured_at: tuple[tuple[date, int], ...] = ()


class ContractBill(NamedTuple):
    contract: ContractFacts
    window: Window
    tariff: TariffVersion
    units: int
    estimated_units: int
    #: (from, to) of the estimate recorded as a reading, when the invoice is estimated.
    estimate: tuple[Point, Point] | None
    end: Point | None
    priced: PricedInvoice

    @property
    def is_estimated(self) -> bool:
        return self.estimate is not None

    @property
    def anchor(self) -> Point | None:
        return self.window.anchor if self.window.anchor_since else self.window.base

    @property
    def anchor_since(self) -> date:
        return self.window.anchor_since or self.window.start


def last_day(contract: ContractFacts, period: Period) -> date:
    if contract.end_date is not None and contract.end_date < period.end:
        return contract.end_date
    return period.end


def fallback_state(
    contract: ContractFacts, readings: Mapping[uuid.UUID, Sequence[Reading]]
) -> BillingState:
    """For a contract central has not billed yet (or billed before its records): the last real
    reading on or before ``billed_until``, else the move-in reading."""
    candidates = [r for own in readings.values() for r in own]
    if contract.billed_until is None and contract.move_in_reading_id is not None:
        for reading in candidates:
            if reading.id == contract.move_in_reading_id:
                return BillingState(Point(reading.meter_id, reading.day, reading.value), known=False)
    limit = contract.billed_until or contract.start_date
    before = [r for r in candidates if r.day <= limit]
    if not before:
        return BillingState(None, known=False)
    last = max(before, key=lambda r: (r.day, r.rank))
    return BillingState(Point(last.meter_id, last.day, last.value), known=False)


def window_for(
    contract: ContractFacts,
    state: BillingState,
    period: Period,
    readings: Mapping[uuid.UUID, Sequence[Reading]],
) -> Window | None:
    end = last_day(contract, period)
    if state.is_estimated and state.anchor_since is not None:
        anchor_day = state.anchor.day if state.anchor else state.anchor_since - ONE_DAY
        if has_real_reading_after(readings, anchor_day, end):
            return Window(state.anchor_since, end, state.anchor, correcting=True)
    start = contract.billed_until + ONE_DAY if contract.billed_until else contract.start_date
    if start > end:
        return None
    if state.is_estimated:
        return Window(start, end, state.end, anchor=state.anchor, anchor_since=state.anchor_since)
    return Window(start, end, state.end)


def prepare(
    contract: ContractFacts,
    state: BillingState,
    meters: Sequence[MeterFacts],
    readings: Mapping[uuid.UUID, Sequence[Reading]],
    period: Period,
    tariffs: TariffBook | None = None,
) -> Prepared | None:
    window = window_for(contract, state, period, readings)
    if window is None:
        return None
    return measured_window(contract, window, meters, readings, tariffs)


def measured_window(
    contract: ContractFacts,
    window: Window,
    meters: Sequence[MeterFacts],
    readings: Mapping[uuid.UUID, Sequence[Reading]],
    tariffs: TariffBook | None,
) -> Prepared:
    measured = measure(meters, readings, window.base, window.start, window.end)
    at: list[tuple[date, int]] = []
    if tariffs is not None:
        for _, _, last in tariffs.segments(contract.tariff_id, window.start, window.end)[:-1]:
            reading_day = change_reading_day(readings, last)
            if reading_day is not None:
                upto = measure(meters, readings, window.base, window.start, reading_day)
                at.append((last + ONE_DAY, upto.units))
    return Prepared(contract, window, measured.units, measured.end, measured.to_estimate,
                    tuple(at))


def change_reading_day(
    readings: Mapping[uuid.UUID, Sequence[Reading]], last_old_day: date
) -> date | None:
    """The day of a real reading taken at a tariff change: on the old version's last day or the
    new version's first day (the later one when both exist)."""
    days = {last_old_day, last_old_day + ONE_DAY}
    found = [r.day for own in readings.values() for r in own if r.day in days]
    return max(found) if found else None


def finish(
    prepared: Prepared,
    average: Fraction,
    tariffs: TariffBook,
    currency: Currency,
    *,
    handed_over: bool = False,
) -> ContractBill:
    """The priced bill; ``average`` (units per day) is used only when an estimate is needed.

    The fixed charge and the band widths are prorated by the days of occupancy: a contract
    ``handed_over`` (another one starts on the same connection the day it ends) does not pay
    its last day, which is the next occupant's first. When a tariff version starts inside the
    window, each version prices its own days: the consumption up to a real reading taken at the
    change, else the consumption split by days (rounded half up to the thousandth)."""
    window = prepared.window
    estimate = None
    estimated_units = 0
    end = prepared.end
    if prepared.to_estimate is not None:
        meter = prepared.to_estimate
        start, _ = estimate_point(meter, end, 0, window.end)
        estimated_units = estimate_units(average, (window.end - start.day).days)
        estimate = estimate_point(meter, end, estimated_units, window.end)
        end = estimate[1]
    units = prepared.measured_units + estimated_units
    occupied_until = window.end - ONE_DAY if handed_over else window.end
    segments = tariffs.segments(prepared.contract.tariff_id, window.start, window.end)
    tariff = segments[-1][0]
    if len(segments) == 1:
        bill = priced(tariff.terms, units, fixed_charge_share(window.start, occupied_until),
                      currency)
    else:
        bill = _priced_by_version(prepared, segments, units, occupied_until, currency)
    return ContractBill(
        contract=prepared.contract,
        window=window,
        tariff=tariff,
        units=units,
        estimated_units=estimated_units,
        estimate=estimate,
        end=end,
        priced=bill,
    )


def _priced_by_version(
    prepared: Prepared,
    segments: Sequence[tuple[TariffVersion, date, date]],
    units: int,
    occupied_until: date,
    currency: Currency,
) -> PricedInvoice:
    window = prepared.window
    days = (window.end - window.start).days + 1
    measured = dict(prepared.measured_at)
    reached = [Decimal(0)]
    for _, _, last in segments[:-1]:
        change = last + ONE_DAY
        if change in measured:
            point = Decimal(measured[change])
        else:
            point = exact(Fraction(units * ((last - window.start).days + 1), days))
        reached.append(min(max(point, reached[-1]), Decimal(units)))
    reached.append(Decimal(units))
    lines: list[PricedLine] = []
    for number, (version, first, last) in enumerate(segments):
        quantity = reached[number + 1] - reached[number]
        share = fixed_charge_share(first, min(last, occupied_until))
        suffix = f" — du {first:%d/%m/%Y} au {last:%d/%m/%Y}"
        lines.extend(priced(version.terms, _whole(quantity), share, currency, suffix).lines)
    return PricedInvoice(tuple(lines))


def _whole(quantity: Decimal) -> Quantity:
    return int(quantity) if quantity == quantity.to_integral_value() else quantity
