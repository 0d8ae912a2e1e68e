"""Meter numbers: IIN, DRN and the 18-digit MeterPAN (IEC 62055-41 §6.1.2).

MeterPAN = IIN + DRN + PAN check digit, always 18 digits:

* IIN 600727 (6 digits) with an 11-digit DRN: MfrCode (2) + serial (8) + DRN check digit;
* IIN 0000 (4 digits) with a 13-digit DRN: MfrCode (4) + serial (8) + DRN check digit.

Both check digits are Luhn digits. The DKGA-02 PANBlock is the rightmost 16 digits of
IIN + DRN, so the way a PAN is split only matters for the MfrCode and the DRN check digit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import CheckDigitError, MeterNumberError

STS_IIN = "600727"
SHORT_IIN = "0000"
PAN_LENGTH = 18


def _require_digits(text: str, what: str, lengths: tuple[int, ...]) -> str:
    cleaned = text.strip().replace(" ", "").replace("-", "")
    if not (cleaned.isascii() and cleaned.isdigit()):
        raise MeterNumberError(
            f"{what} {text!r} must contain digits only",
            f"{what} {text!r} : uniquement des chiffres",
        )
    if len(cleaned) not in lengths:
        expected = " or ".join(str(n) for n in lengths)
        attendu = " ou ".join(str(n) for n in lengths)
        raise MeterNumberError(
            f"{what} {cleaned} has {len(cleaned)} digits, expected {expected}",
            f"{what} {cleaned} : {len(cleaned)} chiffres, {attendu} attendus",
        )
    return cleaned


_LUHN_DOUBLED = str.maketrans("0123456789", "0246813579")


def luhn_check_digit(payload: str) -> int:
    """Luhn digit for ``payload``; the rightmost payload digit is the first one doubled."""
    if not (payload.isascii() and payload.isdigit()):
        raise MeterNumberError(
            f"Luhn payload {payload!r} must contain digits only",
            f"Données Luhn {payload!r} : uniquement des chiffres",
        )
    # Doubled digits (the rightmost and every second one leftwards) become the digit sum
    # of their double; summing the ASCII codes then adds 48 per digit.
    reverse = payload[::-1]
    codes = (reverse[0::2].translate(_LUHN_DOUBLED) + reverse[1::2]).encode("ascii")
    total = sum(codes) - 48 * len(codes)
    return (10 - total % 10) % 10


def validate_drn(drn: str) -> str:
    """Return the DRN (11 or 13 digits) or raise if its check digit is wrong."""
    digits = _require_digits(drn, "DRN", (11, 13))
    expected = luhn_check_digit(digits[:-1])
    if int(digits[-1]) != expected:
        raise CheckDigitError("DRN", digits, int(digits[-1]), expected)
    return digits


@dataclass(frozen=True)
class MeterPan:
    """A validated MeterPAN. Build it with :func:`parse_pan` or :func:`pan_from_drn`."""

    iin: str
    drn: str
    check_digit: int = field(init=False, repr=False, compare=False)
    digits: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check = luhn_check_digit(self.iin + self.drn)
        object.__setattr__(self, "check_digit", check)
        object.__setattr__(self, "digits", f"{self.iin}{self.drn}{check}")

    @property
    def mfr_code(self) -> int:
        return int(self.drn[:2] if len(self.drn) == 11 else self.drn[:4])

    @property
    def serial(self) -> str:
        return self.drn[2:-1] if len(self.drn) == 11 else self.drn[4:-1]

    @property
    def pan_block(self) -> str:
        """The 16 digits of the DKGA-02 PANBlock (PAN check digit excluded)."""
        return (self.iin + self.drn)[-16:]

    def __str__(self) -> str:
        return self.digits


def parse_pan(text: str) -> MeterPan:
    """Parse an 18-digit MeterPAN, checking both the DRN and the PAN check digits.

    A PAN starting with ``0000`` is read as the short IIN with a 13-digit DRN (4-digit
    manufacturer codes); any other as a 6-digit IIN with an 11-digit DRN.
    """
    digits = _require_digits(text, "MeterPAN", (PAN_LENGTH,))
    iin_length = 4 if digits.startswith(SHORT_IIN) else 6
    iin, drn = digits[:iin_length], digits[iin_length:-1]
    expected = luhn_check_digit(digits[:-1])
    if int(digits[-1]) != expected:
        raise CheckDigitError("MeterPAN", digits, int(digits[-1]), expected)
    validate_drn(drn)
    return MeterPan(iin, drn)


def pan_from_drn(drn: str, iin: str | None = None) -> MeterPan:
    """Build the MeterPAN of a DRN; the IIN defaults to 600727 or 0000 by DRN length."""
    digits = validate_drn(drn)
    if iin is None:
        iin = STS_IIN if len(digits) == 11 else SHORT_IIN
    iin = _require_digits(iin, "IIN", (6,) if len(digits) == 11 else (4,))
    return MeterPan(iin, digits)


def parse_meter_number(text: str) -> MeterPan:
    """Accept what an operator types: an 11/13-digit DRN or an 18-digit MeterPAN."""
    digits = _require_digits(text, "Meter number", (11, 13, PAN_LENGTH))
    if len(digits) == PAN_LENGTH:
        return parse_pan(digits)
    return pan_from_drn(digits)
