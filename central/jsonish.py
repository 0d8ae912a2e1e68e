"""Values in the JSON form the write path's journal uses (``app.models.jsonable``), with one
converter chosen per column type ahead of time (bulk writes convert millions of values)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import Date, Uuid
from sqlalchemy.types import Enum as SAEnum

from app.models.types import ScaledDecimal, UTCDateTime

ToJson = Callable[[Any], Any]


def _text(value: Any) -> Any:
    return None if value is None else str(value)


def _iso(value: Any) -> Any:
    return None if value is None else value.isoformat()


def _enum(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def json_converter(column_type: Any) -> ToJson | None:
    """How to turn a column's Python value into its journal form (None: as it is)."""
    if isinstance(column_type, Uuid | ScaledDecimal):
        return _text
    if isinstance(column_type, Date | UTCDateTime):
        return _iso
    if isinstance(column_type, SAEnum):
        return _enum
    return None


def jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value
