"""The demo's rows in their storage form: the tables in dependency order, one chunk's rows,
values as the database stores them (hex UUIDs ordered like UUIDv7, ISO dates), the number
series left where the demo stopped, and the month arithmetic of its history."""

from __future__ import annotations

import calendar
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.models.enums import Energy

TABLES = (
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
Row = dict[str, Any]


def month_shift(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(first_of_month: date) -> date:
    days = calendar.monthrange(first_of_month.year, first_of_month.month)[1]
    return first_of_month.replace(day=days)


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

    tables: dict[str, list[Row]] = field(default_factory=lambda: {t: [] for t in TABLES})

    def add(self, table: str, row: Row) -> Row:
        self.tables[table].append(row)
        return row


class Storage:
    """Values in the form the database stores them, made once and cached where they repeat."""

    def __init__(self, dialect: str, rng: random.Random, start_ms: int) -> None:
        self.rng = rng
        self.sequence = start_ms
        self.zone_suffix = "" if dialect == "sqlite" else "+00"
        self._dates: dict[date, str] = {}

    def id(self) -> str:
        """Time-ordered like a UUIDv7 (a counter stands for the clock) so indexes fill in order."""
        self.sequence += 1
        bits = (self.sequence << 80) | (0x7 << 76) | (0x2 << 62) | self.rng.getrandbits(62)
        return f"{bits:032x}"

    def day(self, value: date | None) -> str | None:
        if value is None:
            return None
        text = self._dates.get(value)
        if text is None:
            text = self._dates[value] = value.isoformat()
        return text

    def moment(self, value: date, hour: int, minute: int) -> str:
        return f"{self.day(value)} {hour:02d}:{minute:02d}:00.000000{self.zone_suffix}"
