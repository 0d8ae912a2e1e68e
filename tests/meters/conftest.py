"""A fleet in a temporary file, with a clock the tests move, and central's database
fixtures for the tests that read meter records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from central.meters import Fleet, MeterRecord, MeterStore
from central.sts.vending_keys import VendingKeyRing
from tests.central.conftest import central_sqlite_template, central_sqlite_url  # noqa: F401

START = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
#: Valid DRNs (Luhn check digit included): manufacturer 47, serials 10000001.. .
DRN_A, DRN_B = "47100000018", "47100000026"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def record(drn: str, *, krn: int = 1, ti: int = 1, ea: int = 7, dkga: int = 2,
           base_date: int = 2014) -> MeterRecord:
    return MeterRecord(drn=drn, iin="600727", sgc=123456, ti=ti, krn=krn, ea=ea, dkga=dkga,
                       base_date=base_date)


@pytest.fixture
def fleet(tmp_path: Path, clock: Clock) -> Fleet:
    fleet = Fleet(MeterStore(tmp_path / "meters.sqlite3"), clock=clock, tid_memory=3,
                  consumption_w=0)
    report = fleet.load_records([record(DRN_A), record(DRN_B)], VendingKeyRing(test_keys=True))
    assert report.added == [DRN_A, DRN_B]
    return fleet
