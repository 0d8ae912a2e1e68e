"""A stored value and a synchronised row as a person reads them (the words themselves, phases,
statuses, tables and fields, are in ``kernel.vocabulary``)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.models.base import Base
from kernel.identifiers import format_account_number

EMPTY_VALUE = "(vide)"
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def readable(value: Any) -> str:
    """A stored (JSON) value as a person reads it."""
    if value is None or value == "":
        return EMPTY_VALUE
    if value is True:
        return "Oui"
    if value is False:
        return "Non"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return f"{value[8:10]}/{value[5:7]}/{value[0:4]}"
    if isinstance(value, str) and _ISO_MOMENT.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return f"{moment:%d/%m/%Y %H:%M}" + (" UTC" if moment.utcoffset() == timedelta(0) else "")
    return str(value)


_CAPTION_COLUMNS = ("display_name", "number", "receipt_number", "serial", "reference", "name")


def _model_for(table: str) -> type[Any] | None:
    for mapper in Base.registry.mappers:
        if getattr(mapper.class_, "__tablename__", None) == table:
            return mapper.class_
    return None


def row_caption(session: Session, table: str, row_id: uuid.UUID) -> str:
    """Which row it is, as a person names it (a customer's name, an account number…)."""
    model = _model_for(table)
    row = session.get(model, row_id) if model is not None else None
    if row is None:
        return "— introuvable sur ce poste"
    if table == "account":
        return format_account_number(row.number)
    if table == "meter_reading":
        meter_model = _model_for("meter")
        meter = session.get(meter_model, row.meter_id) if meter_model is not None else None
        serial = f"compteur {meter.serial}, " if meter is not None else ""
        return f"{serial}relève du {row.reading_date:%d/%m/%Y}"
    for column in _CAPTION_COLUMNS:
        value = getattr(row, column, None)
        if isinstance(value, str) and value.strip():
            return value
    return f"…{str(row_id)[-8:]}"
