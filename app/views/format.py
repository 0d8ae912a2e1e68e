"""How dates and amounts read on screen."""

from __future__ import annotations

from datetime import date, datetime


def day(value: date | datetime | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def moment(value: datetime | None) -> str:
    return value.strftime("%d/%m/%Y %H:%M") if value else ""


def count(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def plural(n: int, one: str, many: str) -> str:
    """"1 client exporté", "12 clients exportés": never "client(s)"."""
    return f"{count(n)} {one if abs(n) <= 1 else many}"
