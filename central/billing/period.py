"""Billing periods (calendar months) and the day arithmetic of prorating."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from functools import lru_cache

from kernel.errors import ValidationError

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=1024)
def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.match(text.strip())
        if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1900:
            raise ValidationError(
                {"period": "attendu AAAA-MM"},
                f"Période invalide : « {text} » (attendu AAAA-MM, par exemple 2026-11).",
            )
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Period:
        return cls(day.year, day.month)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        return month_end(self.start)

    def __str__(self) -> str:
        return self.label


@lru_cache(maxsize=4096)
def fixed_charge_share(start: date, end: date) -> Fraction:
    """Months of fixed charge for the days ``start``..``end`` inclusive: each calendar month
    counts its own days over its own length (17 days of a 31-day month = 17/31)."""
    share = Fraction(0)
    day = start
    while day <= end:
        last = min(month_end(day), end)
        share += Fraction((last - day).days + 1, calendar.monthrange(day.year, day.month)[1])
        day = last + ONE_DAY
    return share
