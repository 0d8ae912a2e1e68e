"""TransferAmount encoding (IEC 62055-41 §6.3.6.2), also used for power limits.

The 16-bit field is a 2-bit base-10 exponent e (bits 15..14) and a 14-bit mantissa m.
The value in steps is ``m * 10**e + offset[e]``, the offsets making every encoding unique.
A step is 0.1 of the main unit for credit (0.1 kWh) and 1 W for power limits.

"All TransferAmount conversions shall be rounded up in favour of the customer": a
requested amount that has no exact encoding becomes the next larger encodable one.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal, InvalidOperation
from functools import lru_cache

from .errors import AmountError

OFFSETS = (0, 16384, 180224, 1818624)
SCALES = (1, 10, 100, 1000)
MANTISSA_MAX = 0x3FFF
MAX_STEPS = MANTISSA_MAX * 1000 + OFFSETS[3]

Number = Decimal | int | str | float


def encode_steps(steps: int) -> int:
    """Encode a whole number of steps, rounding up to the next encodable value."""
    if isinstance(steps, bool) or not isinstance(steps, int):
        raise AmountError(
            f"amount in steps must be an integer, got {steps!r}",
            f"le montant en pas doit être un entier, reçu {steps!r}",
        )
    if steps < 0 or steps > MAX_STEPS:
        raise AmountError(
            f"amount of {steps} steps is outside 0..{MAX_STEPS}",
            f"montant de {steps} pas hors de 0..{MAX_STEPS}",
        )
    for exponent, (offset, scale) in enumerate(zip(OFFSETS, SCALES, strict=True)):
        mantissa = max(0, -((offset - steps) // scale))
        if mantissa <= MANTISSA_MAX:
            return (exponent << 14) | mantissa
    raise AssertionError("unreachable: MAX_STEPS is encodable")


def decode_steps(field: int) -> int:
    """The number of steps a 16-bit amount field stands for."""
    if not 0 <= field <= 0xFFFF:
        raise AmountError(
            f"amount field {field!r} is not a 16-bit value",
            f"champ montant {field!r} hors 16 bits",
        )
    exponent = field >> 14
    return (field & MANTISSA_MAX) * SCALES[exponent] + OFFSETS[exponent]


def to_decimal(value: Number) -> Decimal:
    """Exact decimal of an amount; floats go through ``str`` so 0.1 stays 0.1."""
    if isinstance(value, bool):
        raise AmountError(f"invalid amount {value!r}", f"montant invalide {value!r}")
    try:
        result = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        raise AmountError(
            f"invalid amount {value!r}", f"montant invalide {value!r}"
        ) from None
    if not result.is_finite():
        raise AmountError(f"invalid amount {value!r}", f"montant invalide {value!r}")
    return result


def steps_from_units(units: Number, steps_per_unit: int, unit: str = "") -> int:
    """Whole steps for an amount in natural units, rounded up (customer's favour)."""
    amount = to_decimal(units)
    if amount < 0:
        raise AmountError(
            f"amount {amount} {unit} is negative".replace("  ", " "),
            f"montant {amount} {unit} négatif".replace("  ", " "),
        )
    steps = int((amount * steps_per_unit).to_integral_value(rounding=ROUND_CEILING))
    if steps > MAX_STEPS:
        maximum = Decimal(MAX_STEPS) / steps_per_unit
        raise AmountError(
            f"amount {amount} {unit} is above the maximum {maximum} {unit}",
            f"montant {amount} {unit} supérieur au maximum {maximum} {unit}",
        )
    return steps


@lru_cache(maxsize=4096, typed=True)
def _encode_cached(units: Number, steps_per_unit: int, unit: str) -> int:
    return encode_steps(steps_from_units(units, steps_per_unit, unit))


def encode_amount(units: Number, steps_per_unit: int = 10, unit: str = "") -> int:
    """Encode an amount in natural units (e.g. kWh with 10 steps per unit).

    Cached, as a vending platform sells the same few amounts over and over."""
    try:
        return _encode_cached(units, steps_per_unit, unit)
    except TypeError:  # unhashable input, e.g. Decimal("sNaN"): no caching
        return encode_steps(steps_from_units(units, steps_per_unit, unit))


def decode_amount(field: int, steps_per_unit: int = 10) -> Decimal:
    """The amount in natural units that a 16-bit field stands for."""
    steps = Decimal(decode_steps(field))
    return steps if steps_per_unit == 1 else steps / steps_per_unit
