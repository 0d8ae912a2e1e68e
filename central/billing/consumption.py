"""Consumption from meter readings: index differences, register roll-over, meter changes and
estimates. Pure functions over plain values; the engine loads the values.

Only real readings (agent, customer) measure. Estimates recorded by central are points billing
continues from while no real reading arrives; the next real reading is measured from the last
real point (the "anchor"), which is how an estimate gets corrected.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import NamedTuple

from app.models.enums import ReadingKind

#: Order of readings taken the same day on the same meter.
KIND_RANK = {
    ReadingKind.METER_INSTALLED.value: 0,
    ReadingKind.MOVE_IN.value: 1,
    ReadingKind.REGULAR.value: 2,
    ReadingKind.ROLLOVER.value: 2,
    ReadingKind.MOVE_OUT.value: 3,
    ReadingKind.METER_REMOVED.value: 4,
}
HISTORY_DAYS = 365


class MeterFacts(NamedTuple):
    id: uuid.UUID
    digits: int
    initial_index: int
    installed_on: date | None
    removed_on: date | None

    @property
    def modulus(self) -> int:
        """The register shows 0 again after 10**digits - 1."""
        return 10**self.digits

    def in_place_on(self, day: date) -> bool:
        return (self.installed_on is None or self.installed_on <= day) and (
            self.removed_on is None or self.removed_on > day
        )


class Reading(NamedTuple):
    id: uuid.UUID
    meter_id: uuid.UUID
    day: date
    value: int
    rank: int
    is_estimate: bool
    kind: str = ReadingKind.REGULAR.value


class Point(NamedTuple):
    """Where a meter's register stood on a day."""

    meter_id: uuid.UUID
    day: date
    value: int


class Measurement(NamedTuple):
    units: int
    #: Last point reached on the meter in place at the end (or the last meter of the window).
    end: Point | None
    #: The meter in place at the window's end, when it has no real reading in the window.
    to_estimate: MeterFacts | None


def step(previous: int, current: int, modulus: int) -> int:
    """Units between two indexes of one register; a lower index means it rolled over."""
    difference = current - previous
    return difference if difference >= 0 else difference + modulus


def sort_readings(readings: Sequence[Reading]) -> list[Reading]:
    return sorted(readings, key=lambda r: (r.day, r.rank))


def _start_point(
    meter: MeterFacts, readings: Sequence[Reading], base: Point | None, window_start: date
) -> Point | None:
    if base is not None and base.meter_id == meter.id:
        return base
    since = base.day if base is not None else window_start
    if meter.installed_on is not None and meter.installed_on >= since:
        installed = next((r for r in readings if r.kind == ReadingKind.METER_INSTALLED.value), None)
        if installed is not None:
            return Point(meter.id, installed.day, installed.value)
        return Point(meter.id, meter.installed_on, meter.initial_index)
    before = [r for r in readings if r.day < window_start]
    return Point(meter.id, before[-1].day, before[-1].value) if before else None


def _current_meter(meters: Sequence[MeterFacts], day: date) -> MeterFacts | None:
    in_place = [m for m in meters if m.in_place_on(day)]
    return max(in_place, key=lambda m: m.installed_on or date.min) if in_place else None


def measure(
    meters: Sequence[MeterFacts],
    readings: Mapping[uuid.UUID, Sequence[Reading]],
    base: Point | None,
    window_start: date,
    window_end: date,
) -> Measurement:
    """Units used on ``window_start``..``window_end`` from ``base`` (the point billing stands at).

    ``readings`` holds each meter's real readings in order (``sort_readings``). Meters walk from
    their own start point (the base, their installation index, or their last reading before the
    window), step by step so that each roll-over is seen.
    """
    current = _current_meter(meters, window_end)
    units = 0
    end: Point | None = None
    current_read = False
    ordered = sorted(meters, key=lambda m: m.installed_on or date.min)
    for meter in ordered:
        is_base = base is not None and base.meter_id == meter.id
        overlaps = (meter.installed_on is None or meter.installed_on <= window_end) and (
            meter.removed_on is None or meter.removed_on >= window_start
        )
        if not (is_base or overlaps):
            continue
        own = readings.get(meter.id, ())
        point = _start_point(meter, own, base, window_start)
        for reading in own:
            if reading.day > window_end:
                break
            if point is not None and reading.day <= point.day:
                continue
            if point is not None:
                units += step(point.value, reading.value, meter.modulus)
            point = Point(meter.id, reading.day, reading.value)
            if meter is current and reading.day >= window_start:
                current_read = True
        if current is None or meter is current:
            end = point if point is not None else end
    to_estimate = current if current is not None and not current_read else None
    return Measurement(units, end, to_estimate)


def has_real_reading_after(
    readings: Mapping[uuid.UUID, Sequence[Reading]], day: date, until: date
) -> bool:
    return any(day < r.day <= until for own in readings.values() for r in own)


def daily_average(
    meters: Sequence[MeterFacts],
    readings: Mapping[uuid.UUID, Sequence[Reading]],
    until: date,
    days: int = HISTORY_DAYS,
) -> Fraction:
    """Average units per day over the real readings of the last ``days`` days before ``until``."""
    return measured_average(meters, readings, until, days) or Fraction(0)


def measured_average(
    meters: Sequence[MeterFacts],
    readings: Mapping[uuid.UUID, Sequence[Reading]],
    until: date,
    days: int = HISTORY_DAYS,
) -> Fraction | None:
    """Like ``daily_average``, but None when no two real readings a day apart or more measure
    anything in those days (a meter never read, or read once)."""
    since = until - timedelta(days=days)
    units = 0
    elapsed = 0
    for meter in meters:
        own = [r for r in readings.get(meter.id, ()) if since <= r.day <= until]
        for previous, current in zip(own, own[1:], strict=False):
            gap = (current.day - previous.day).days
            if gap <= 0:
                continue
            units += step(previous.value, current.value, meter.modulus)
            elapsed += gap
    return Fraction(units, elapsed) if elapsed else None


def estimate_units(average: Fraction, days: int) -> int:
    """``average`` × ``days`` rounded half up to whole units (never negative)."""
    if days <= 0 or average <= 0:
        return 0
    exact = average * days
    value = Decimal(exact.numerator) / Decimal(exact.denominator)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def estimate_point(
    meter: MeterFacts, start: Point | None, units: int, until: date
) -> tuple[Point, Point]:
    """(where the estimate starts, the estimated point on ``until``) on ``meter``."""
    if start is None or start.meter_id != meter.id:
        start = Point(meter.id, meter.installed_on or until, meter.initial_index)
    return start, Point(meter.id, until, (start.value + units) % meter.modulus)
