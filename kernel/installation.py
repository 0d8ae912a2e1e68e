"""The facts an installation is configured with, checked the same way on the desk and central."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import list_currencies


def check_currency(value: str) -> str:
    """An ISO 4217 code (upper case), or a French refusal."""
    value = value.upper()
    if value not in list_currencies():
        raise ValueError(f"devise ISO 4217 inconnue : {value}")
    return value


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"fuseau horaire inconnu : {value}") from exc
    return value
