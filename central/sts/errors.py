"""Typed errors of the STS token engine.

Every error carries a short machine code, a French and an English message, and, for the
ones a meter would also report, the meter-side result code (Conlog numbering: 6 Format,
7 Range, 8 Function, 9 Old, 10 Used, 11 KeyExpired, 13 CRC, 14 MfrCode), so the vending
platform can show the same reason the customer's meter would display.
"""

from __future__ import annotations


class StsError(Exception):
    """Base class of every error raised by ``central.sts``."""

    code = "sts"
    meter_code: int | None = None

    def __init__(self, message_en: str, message_fr: str) -> None:
        super().__init__(message_en)
        self.message_en = message_en
        self.message_fr = message_fr

    def message(self, lang: str = "fr") -> str:
        return self.message_fr if lang.lower().startswith("fr") else self.message_en

    def __str__(self) -> str:
        return f"{self.message_fr} / {self.message_en}"


class InvalidInputError(StsError):
    """The caller passed a value the engine refuses to turn into a token."""

    code = "invalid_input"


class MeterNumberError(InvalidInputError):
    code = "meter_number"


class CheckDigitError(MeterNumberError):
    """A DRN or MeterPAN whose Luhn check digit is wrong (usually a typing mistake)."""

    code = "check_digit"

    def __init__(self, what: str, number: str, found: int, expected: int) -> None:
        super().__init__(
            f"{what} {number}: check digit is {found}, expected {expected}",
            f"{what} {number} : chiffre de contrôle {found}, attendu {expected}",
        )
        self.what = what
        self.number = number
        self.found = found
        self.expected = expected


class AmountError(InvalidInputError):
    """An amount or register value that cannot be encoded in a token."""

    code = "amount"


class ProfileError(InvalidInputError):
    """A meter key profile field (SGC, TI, KRN, KT, EA, DKGA ...) out of its range."""

    code = "profile"


class VendingKeyError(InvalidInputError):
    code = "vending_key"


class UnsupportedTokenError(InvalidInputError):
    code = "unsupported"


class RolloverNotNeededError(InvalidInputError):
    code = "rollover_not_needed"


class TidError(StsError):
    """The issue time cannot be expressed as a TID for this meter."""

    code = "tid"


class TidOutOfRangeError(TidError):
    code = "tid_range"


class BaseDateExpiredError(TidOutOfRangeError):
    """The issue time is past the last minute (TID 0xFFFFFF) of the meter's base date."""

    code = "base_date_expired"


class TokenRejectedError(StsError):
    """A token a meter would refuse; ``meter_code`` gives the meter's result code."""

    code = "rejected"


class TokenFormatError(TokenRejectedError):
    code = "format"
    meter_code = 6


class TokenRangeError(TokenRejectedError):
    code = "range"
    meter_code = 7


class FunctionError(TokenRejectedError):
    """A class/subclass the meter does not implement (reserved or proprietary)."""

    code = "function"
    meter_code = 8


class OldTokenError(TokenRejectedError):
    code = "old"
    meter_code = 9


class UsedTokenError(TokenRejectedError):
    code = "used"
    meter_code = 10


class KeyExpiredError(TokenRejectedError):
    """TID >> 16 > KEN. Raised by the decoder and also by the issuer, which refuses to
    create a token the meter would reject."""

    code = "key_expired"
    meter_code = 11


class CrcError(TokenRejectedError):
    code = "crc"
    meter_code = 13


class MfrCodeError(TokenRejectedError):
    code = "mfr_code"
    meter_code = 14
