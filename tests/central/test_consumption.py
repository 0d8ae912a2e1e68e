"""Consumption from readings, as pure functions: index steps, roll-over, meter changes,
estimates; hypothesis checks that it recovers what was used and is never negative."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from central.billing.consumption import (
    KIND_RANK,
    MeterFacts,
    Point,
    Reading,
    daily_average,
    estimate_point,
    estimate_units,
    measure,
    sort_readings,
    step,
)
from central.billing.period import fixed_charge_share

START = date(2026, 1, 1)


def meter(digits: int = 5, installed: date | None = None, removed: date | None = None,
          initial: int = 0) -> MeterFacts:
    return MeterFacts(uuid.uuid4(), digits, initial, installed, removed)


def reading(m: MeterFacts, day: date, value: int, kind: str = "regular") -> Reading:
    return Reading(uuid.uuid4(), m.id, day, value, KIND_RANK[kind], False, kind)


def test_step_is_the_difference_or_a_roll_over() -> None:
    assert step(100, 130, 10**5) == 30
    assert step(99_990, 5, 10**5) == 15
    assert step(7, 7, 10**4) == 0


def test_measure_walks_each_meter_from_its_own_start() -> None:
    old = meter(removed=date(2026, 1, 15))
    new = meter(installed=date(2026, 1, 15), initial=40)
    readings = {
        old.id: [reading(old, date(2026, 1, 15), 108, "meter_removed")],
        new.id: [reading(new, date(2026, 1, 15), 40, "meter_installed"),
                 reading(new, date(2026, 1, 31), 52)],
    }
    result = measure([old, new], readings, Point(old.id, date(2025, 12, 31), 100),
                     START, date(2026, 1, 31))
    assert result.units == 8 + 12
    assert result.end == Point(new.id, date(2026, 1, 31), 52)
    assert result.to_estimate is None


def test_measure_asks_for_an_estimate_when_the_meter_was_not_read() -> None:
    m = meter()
    result = measure([m], {m.id: []}, Point(m.id, date(2025, 12, 31), 100), START,
                     date(2026, 1, 31))
    assert result.units == 0 and result.to_estimate == m
    assert result.end == Point(m.id, date(2025, 12, 31), 100)


def test_readings_after_the_window_are_left_for_the_next_invoice() -> None:
    m = meter()
    readings = {m.id: [reading(m, date(2026, 1, 20), 110), reading(m, date(2026, 2, 3), 150)]}
    result = measure([m], readings, Point(m.id, date(2025, 12, 31), 100), START,
                     date(2026, 1, 31))
    assert result.units == 10 and result.end == Point(m.id, date(2026, 1, 20), 110)


def test_daily_average_and_estimate() -> None:
    m = meter()
    readings = {m.id: [reading(m, date(2025, 10, 1), 0), reading(m, date(2025, 12, 30), 45)]}
    average = daily_average([m], readings, date(2026, 1, 31))
    assert average == Fraction(45, 90)
    assert estimate_units(average, 31) == 16  # 15.5 rounded half up
    assert estimate_units(Fraction(0), 31) == 0
    start, point = estimate_point(m, Point(m.id, date(2025, 12, 30), 99_990), 16, date(2026, 1, 31))
    assert point.value == 6, "an estimate rolls over like the register"


def test_fixed_charge_share_counts_each_month_on_its_own_days() -> None:
    assert fixed_charge_share(date(2026, 11, 1), date(2026, 11, 30)) == 1
    assert fixed_charge_share(date(2026, 11, 10), date(2026, 11, 30)) == Fraction(21, 30)
    assert fixed_charge_share(date(2026, 2, 15), date(2026, 3, 31)) == Fraction(14, 28) + 1


@given(
    digits=st.integers(min_value=2, max_value=6),
    start=st.integers(min_value=0, max_value=999_999),
    uses=st.lists(st.integers(min_value=0, max_value=99), min_size=1, max_size=15),
)
def test_measure_recovers_what_was_used_and_is_never_negative(
    digits: int, start: int, uses: list[int]
) -> None:
    m = meter(digits=digits)
    modulus = 10**digits
    uses = [u % modulus for u in uses]  # one roll-over at most between two readings
    index = start % modulus
    base = Point(m.id, date(2025, 12, 31), index)
    own = []
    for n, used in enumerate(uses, start=1):
        index = (index + used) % modulus
        own.append(reading(m, date(2025, 12, 31) + timedelta(days=n), index))
    result = measure([m], {m.id: sort_readings(own)}, base, START, date(2026, 12, 31))
    assert result.units == sum(uses) >= 0


@given(
    values=st.lists(st.integers(min_value=0, max_value=10**5 - 1), min_size=0, max_size=12),
    with_base=st.booleans(),
)
def test_any_readings_give_a_non_negative_consumption(values: list[int], with_base: bool) -> None:
    m = meter(digits=5)
    own = [reading(m, START + timedelta(days=3 * n), v) for n, v in enumerate(values)]
    base = Point(m.id, START - timedelta(days=1), 50) if with_base else None
    result = measure([m], {m.id: own}, base, START, START + timedelta(days=40))
    assert result.units >= 0
    average = daily_average([m], {m.id: own}, START + timedelta(days=40))
    assert average >= 0 and estimate_units(average, 30) >= 0
