"""Quantities of water and energy as French screens write them: "72 939 m³",
"14 587,8 m³ par jour"."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal

from app.models.enums import Energy
from kernel.vocabulary import UNITS


def number(value: int | float | Decimal, decimals: int = 0) -> str:
    """A number the French way (thin spaces between thousands, decimal comma)."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return str(format_decimal(Decimal(str(value)), format=pattern, locale="fr_FR"))


def quantity(value: int | float | Decimal, energy: Energy | None, decimals: int = 0) -> str:
    unit = UNITS.get(energy) if energy is not None else None
    text = number(value, decimals)
    return f"{text}\xa0{unit}" if unit else text


def per_day(value: float, energy: Energy | None) -> str:
    return f"{quantity(round(value, 1), energy, 1)} par jour"
