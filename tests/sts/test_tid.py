"""TID: base dates, worked numbers of FACTS §2, clock and allocator, key expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from central.sts.errors import (
    BaseDateExpiredError,
    KeyExpiredError,
    ProfileError,
    TidOutOfRangeError,
)
from central.sts.tid import (
    MAX_TID,
    BaseDate,
    MonotonicUtcClock,
    TidAllocator,
    base_date,
    check_key_expiry,
    key_expired,
    tid_from_datetime,
    tid_to_datetime,
)


def test_worked_numbers_from_the_stsa_page() -> None:
    moment = datetime(2020, 1, 1, 8, 0)
    assert tid_from_datetime(moment, BaseDate.Y1993) == 14200320
    assert tid_from_datetime(moment, BaseDate.Y2014) == 3155520


def test_seconds_are_truncated() -> None:
    assert tid_from_datetime(datetime(1996, 3, 25, 13, 55, 22), BaseDate.Y1993) == 0x19EB23
    assert tid_from_datetime(datetime(1996, 3, 25, 13, 55, 22), BaseDate.Y1993) == 1698595
    late = datetime(1996, 3, 25, 13, 55, 59, 999999)
    assert tid_from_datetime(late, BaseDate.Y1993) == 1698595


def test_stsa_example_binary_tid() -> None:
    tid = tid_from_datetime(datetime(2016, 12, 11, 15, 49), BaseDate.Y1993)
    assert tid == 12593749
    assert tid == 0xC02A55


@pytest.mark.parametrize(
    ("base", "last"),
    [(BaseDate.Y1993, datetime(2024, 11, 24, 20, 15, tzinfo=UTC)),
     (BaseDate.Y2014, datetime(2045, 11, 24, 20, 15, tzinfo=UTC)),
     (BaseDate.Y2035, datetime(2066, 11, 24, 20, 15, tzinfo=UTC))],
)
def test_last_valid_minute(base: BaseDate, last: datetime) -> None:
    assert base.last_minute == last
    assert tid_from_datetime(last + timedelta(seconds=59), base) == MAX_TID
    with pytest.raises(BaseDateExpiredError, match="past the last TID minute"):
        tid_from_datetime(last + timedelta(minutes=1), base)


def test_before_the_base_date() -> None:
    with pytest.raises(TidOutOfRangeError, match="before the base date"):
        tid_from_datetime(datetime(2013, 12, 31, 23, 59), BaseDate.Y2014)


def test_aware_times_are_converted_to_utc() -> None:
    paris_summer = timezone(timedelta(hours=2))
    local = datetime(2020, 7, 1, 10, 0, tzinfo=paris_summer)
    assert tid_from_datetime(local, BaseDate.Y2014) == tid_from_datetime(
        datetime(2020, 7, 1, 8, 0), BaseDate.Y2014
    )


def test_round_trip_and_bounds() -> None:
    assert tid_to_datetime(5871715, BaseDate.Y1993) == datetime(2004, 3, 1, 13, 55, tzinfo=UTC)
    with pytest.raises(TidOutOfRangeError):
        tid_to_datetime(MAX_TID + 1, BaseDate.Y1993)


@pytest.mark.parametrize(("text", "year"), [("93", 1993), ("2014", 2014), (2035, 2035)])
def test_base_date_forms(text: str | int, year: int) -> None:
    assert base_date(text) == year


def test_unknown_base_date() -> None:
    with pytest.raises(ProfileError):
        base_date(2000)


def test_key_expiry_rule() -> None:
    assert not key_expired(0x05FFFF, 5)
    assert key_expired(0x060000, 5)
    assert not key_expired(MAX_TID, 0xFF)
    with pytest.raises(KeyExpiredError, match="key expiry"):
        check_key_expiry(0x060000, 5, BaseDate.Y1993)


class SteppingSource:
    def __init__(self, *moments: datetime) -> None:
        self.moments = list(moments)

    def __call__(self) -> datetime:
        return self.moments.pop(0)


def test_clock_never_goes_backwards() -> None:
    t0 = datetime(2025, 3, 30, 1, 30, tzinfo=UTC)
    clock = MonotonicUtcClock(SteppingSource(t0, t0 - timedelta(hours=1), t0 + timedelta(1)))
    assert clock.now() == t0
    assert clock.now() == t0
    assert clock.now() == t0 + timedelta(1)


def test_allocator_never_repeats_a_tid_for_a_meter() -> None:
    moment = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    allocator = TidAllocator(MonotonicUtcClock(lambda: moment))
    tids = [allocator.allocate("600727000000000009", BaseDate.Y2014) for _ in range(5)]
    assert tids == list(range(tids[0], tids[0] + 5))
    other = allocator.allocate("000001000000000082", BaseDate.Y2014)
    assert other == tids[0]
    assert allocator.allocate("600727000000000009", BaseDate.Y2014, at=moment - timedelta(1)) == (
        tids[-1] + 1
    )


def test_allocator_seeded_from_storage_and_refusals() -> None:
    pan = "600727000000000009"
    allocator = TidAllocator(last_tids={(pan, 1993): MAX_TID})
    with pytest.raises(BaseDateExpiredError):
        allocator.allocate(pan, BaseDate.Y1993, at=datetime(2024, 1, 1))
    allocator = TidAllocator()
    with pytest.raises(KeyExpiredError):
        allocator.allocate(pan, BaseDate.Y2014, ken=0, at=datetime(2025, 1, 1))
