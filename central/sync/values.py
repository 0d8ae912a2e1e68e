"""Values that arrive from a desk, checked on central as the desk's services check them before
they are written (docs/sync.md, "Central trusts no desk"): the right type for the column
(an integer is an integer, a UUID a UUID), within the column's size, dates within a window,
money within a sane maximum, and the business rules the services apply (a payment is positive
and below the counter's ceiling, a meter index is not negative…). A value that fails parks its
desk transaction with the reason (``ParkError``), never a server error."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.types import Enum as EnumType

from app.models.types import ScaledDecimal, UTCDateTime
from central.sync.parking import ParkError
from kernel.money import MAX_PAYMENT_MAJOR, Currency

#: Dates (and timestamps) an agency may write: nothing before 1900 nor after 2100.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2100, 12, 31)
#: Events recorded at a counter (a payment, a reading, a letter…) are not in the future; a day
#: of grace covers clocks and time zones.
GRACE = timedelta(days=1)
#: Largest magnitude of any amount, quantity or index (in its stored integer form): sums of
#: millions of them stay far within a 64-bit integer.
MAX_MAGNITUDE = 10**15
_INT_RANGES = {SmallInteger: 2**15 - 1, Integer: 2**31 - 1, BigInteger: MAX_MAGNITUDE}

#: Columns holding the moment something happened at the counter.
EVENTS = frozenset({
    ("payment", "paid_at"), ("meter_reading", "reading_date"), ("meter_reading", "read_at"),
    ("letter", "issued_at"), ("intervention_request", "requested_at"),
    ("intervention_request", "done_at"), ("works_quote", "issued_on"),
    ("vend_transaction", "sold_at"),
})


@dataclass(frozen=True)
class Limits:
    """What the checks depend on: the installation's currency and central's clock."""

    currency: Currency
    now: datetime

    @property
    def max_payment_minor(self) -> int:
        return self.currency.to_minor(MAX_PAYMENT_MAJOR)


def _label(table: Table, column: str) -> str:
    return f"{table.name}.{column}"


def _refuse(table: Table, column: str, problem: str) -> ParkError:
    return ParkError(f"valeur refusée pour {_label(table, column)} : {problem}")


def _integer(table: Table, column: str, value: Any, bound: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _refuse(table, column, "un nombre entier est attendu")
    if abs(value) > bound:
        raise _refuse(table, column, f"hors des bornes (au plus {bound} en valeur absolue)")
    return value


def _scaled(table: Table, column: str, value: Any, scale: int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _refuse(table, column, "un nombre décimal écrit en texte est attendu")
    try:
        number = Decimal(value)
    except InvalidOperation as error:
        raise _refuse(table, column, "nombre illisible") from error
    if not number.is_finite():
        raise _refuse(table, column, "nombre illisible")
    scaled = number.scaleb(scale)
    if scaled != scaled.to_integral_value():
        raise _refuse(table, column, f"plus de {scale} décimales")
    if abs(scaled) > MAX_MAGNITUDE:
        raise _refuse(table, column, "hors des bornes")
    return number


def _day(table: Table, column: str, day: date) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise _refuse(table, column, f"date hors de la période admise "
                                     f"({FIRST_DAY.year}–{LAST_DAY.year})")


def to_python(table: Table, column: str, value: Any) -> Any:
    """The Python value of a wire value, checked against its column's type and size."""
    if value is None:
        return None
    col = table.c[column]
    type_ = col.type
    if isinstance(type_, JSON):
        return value
    if isinstance(type_, LargeBinary):
        if not isinstance(value, str):
            raise _refuse(table, column, "contenu binaire en base64 attendu")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as error:
            raise _refuse(table, column, "base64 illisible") from error
    if isinstance(type_, EnumType) and type_.enum_class is not None:
        try:
            return type_.enum_class(value)
        except (ValueError, TypeError) as error:
            raise _refuse(table, column, f"valeur inconnue {str(value)[:40]!r}") from error
    if isinstance(type_, Uuid):
        if not isinstance(value, str):
            raise _refuse(table, column, "identifiant (UUID) attendu")
        try:
            return uuid.UUID(value)
        except ValueError as error:
            raise _refuse(table, column, "identifiant (UUID) illisible") from error
    if isinstance(type_, ScaledDecimal):
        return _scaled(table, column, value, type_.scale)
    if isinstance(type_, UTCDateTime):
        if not isinstance(value, str):
            raise _refuse(table, column, "date et heure attendues")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as error:
            raise _refuse(table, column, "date et heure illisibles") from error
        if moment.tzinfo is None:
            raise _refuse(table, column, "heure sans fuseau")
        _day(table, column, moment.date())
        return moment.astimezone(UTC)
    if isinstance(type_, Date):
        if not isinstance(value, str):
            raise _refuse(table, column, "date attendue")
        try:
            day = date.fromisoformat(value)
        except ValueError as error:
            raise _refuse(table, column, "date illisible") from error
        _day(table, column, day)
        return day
    if isinstance(type_, Boolean):
        if not isinstance(value, bool):
            raise _refuse(table, column, "oui/non attendu")
        return value
    for kind, bound in _INT_RANGES.items():
        if isinstance(type_, kind):
            return _integer(table, column, value, bound)
    if isinstance(type_, String | Text):
        if not isinstance(value, str):
            raise _refuse(table, column, "texte attendu")
        length = getattr(type_, "length", None)
        if length is not None and len(value) > length:
            raise _refuse(table, column, f"plus de {length} caractères")
        return value
    raise _refuse(table, column, "type de colonne non pris en charge")


def converter(table: Table, column: str) -> Callable[[Any], Any]:
    """``to_python`` for one column, the well-formed common case first (a text within its
    size, an integer within its bounds, a known enum value, a UUID): the same answers and the
    same refusals, without finding the column's type again for every value."""
    type_ = table.c[column].type

    def slow(value: Any) -> Any:
        return to_python(table, column, value)

    if isinstance(type_, JSON | LargeBinary):
        return slow
    if isinstance(type_, EnumType) and type_.enum_class is not None:
        enum_class = type_.enum_class

        def member(value: Any) -> Any:
            try:
                return enum_class(value)
            except (ValueError, TypeError):
                return slow(value)
        return member
    if isinstance(type_, Uuid):
        def identifier(value: Any) -> Any:
            if value.__class__ is str:
                try:
                    return uuid.UUID(value)
                except ValueError:
                    pass
            return slow(value)
        return identifier
    if isinstance(type_, UTCDateTime):
        def moment(value: Any) -> Any:
            if value.__class__ is str:
                try:
                    found = datetime.fromisoformat(value)
                except ValueError:
                    return slow(value)
                if found.tzinfo is not None and FIRST_DAY <= found.date() <= LAST_DAY:
                    return found.astimezone(UTC)
            return slow(value)
        return moment
    if isinstance(type_, Date):
        def day(value: Any) -> Any:
            if value.__class__ is str:
                try:
                    found = date.fromisoformat(value)
                except ValueError:
                    return slow(value)
                if FIRST_DAY <= found <= LAST_DAY:
                    return found
            return slow(value)
        return day
    if isinstance(type_, ScaledDecimal | Boolean):
        return slow
    for kind, bound in _INT_RANGES.items():
        if isinstance(type_, kind):
            def integer(value: Any, bound: int = bound) -> Any:
                return value if value.__class__ is int and -bound <= value <= bound \
                    else slow(value)
            return integer
    if isinstance(type_, String | Text):
        length = getattr(type_, "length", None)

        def text(value: Any) -> Any:
            return value if value.__class__ is str and (length is None or len(value) <= length) \
                else slow(value)
        return text
    return slow


Rule = Callable[[dict[str, Any], Limits], str | None]


def _positive_payment(values: dict[str, Any], limits: Limits) -> str | None:
    amount = values.get("amount_minor")
    if amount is None:
        return None
    if amount <= 0:
        return "payment.amount_minor : un encaissement est d'un montant positif"
    if amount > limits.max_payment_minor:
        return (f"payment.amount_minor : montant au-delà du plafond d'un encaissement "
                f"({limits.max_payment_minor})")
    return None


def _not_negative(*columns: str) -> Rule:
    def rule(values: dict[str, Any], _limits: Limits) -> str | None:
        for column in columns:
            value = values.get(column)
            if value is not None and value < 0:
                return f"{column} : une valeur négative n'est pas admise"
        return None
    return rule


#: Business rules of the desk's services, per table, on the values an entry sets.
RULES: dict[str, tuple[Rule, ...]] = {
    "payment": (_positive_payment,),
    "meter_reading": (_not_negative("index_value"),),
    "meter": (_not_negative("initial_index", "digits"),),
    "works_quote_line": (_not_negative("quantity", "unit_price_minor"),),
    "works_quote": (_not_negative("total_excl_vat_minor", "vat_minor", "total_minor"),),
}


def check(table: Table, values: dict[str, Any], limits: Limits) -> None:
    """``ParkError`` when the values an entry sets break a business rule or a date is in the
    future for an event recorded at the counter."""
    for rule in RULES.get(table.name, ()):
        problem = rule(values, limits)
        if problem is not None:
            raise ParkError(f"valeur refusée : {problem}")
    latest = limits.now + GRACE
    for column, value in values.items():
        if (table.name, column) not in EVENTS or value is None:
            continue
        moment = value if isinstance(value, datetime) else None
        if moment is not None and moment > latest \
                or moment is None and isinstance(value, date) and value > latest.date():
            raise _refuse(table, column, "date dans le futur")
