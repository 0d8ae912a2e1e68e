"""Human identifiers with check digits: account numbers, meter serials, STS meter numbers, phones.

* Account number: 14 digits, ``AAA YY NNNNNNN KK`` — agency code, year of opening, counter in the
  agency's series, and an ISO 7064 MOD 97-10 key (the key of IBANs: it catches every single wrong
  digit and every swap of two neighbours).
* Postpaid meter serial: two letters (``EA`` water, ``EL`` electricity), 8 digits, a Luhn digit.
* STS meter number (DRN): 11 or 13 digits ending with a Luhn digit (IEC 62055-41).
"""

from __future__ import annotations

import re

from stdnum import luhn
from stdnum.iso7064 import mod_97_10

from app.models.enums import Energy
from kernel.errors import ValidationError

_DIGITS = re.compile(r"\D")


def digits_only(text: str) -> str:
    return _DIGITS.sub("", text)


def make_account_number(agency_code: str, year: int, counter: int) -> str:
    if not 0 < counter < 10**7:
        raise ValueError("account counter out of range")
    body = f"{agency_code}{year % 100:02d}{counter:07d}"
    return body + mod_97_10.calc_check_digits(body)


def format_account_number(number: str) -> str:
    return f"{number[:3]} {number[3:5]} {number[5:12]} {number[12:]}"


def validate_account_number(text: str) -> str:
    """Normalise and check an account number typed by an agent; raise with a clear message."""
    number = digits_only(text)
    if len(number) != 14:
        raise ValidationError(
            {"account_number": f"Un numéro de compte a 14 chiffres ({len(number)} saisis)"}
        )
    if not mod_97_10.is_valid(number):
        raise ValidationError(
            {"account_number": "Clé du numéro de compte incorrecte : vérifiez la saisie"}
        )
    return number


METER_PREFIX = {Energy.WATER: "EA", Energy.ELECTRICITY: "EL"}


def make_meter_serial(energy: Energy, number: int) -> str:
    body = f"{number:08d}"
    return METER_PREFIX[energy] + body + luhn.calc_check_digit(body)


def validate_meter_serial(text: str) -> str:
    serial = text.replace(" ", "").upper()
    if not re.fullmatch(r"(EA|EL)\d{9}", serial):
        raise ValidationError(
            {"serial": "Un numéro de compteur s'écrit EA ou EL suivi de 9 chiffres"}
        )
    if not luhn.is_valid(serial[2:]):
        raise ValidationError({"serial": "Chiffre de contrôle du numéro de compteur incorrect"})
    return serial


def make_drn(manufacturer: int, serial: int, *, manufacturer_digits: int = 2) -> str:
    body = f"{manufacturer:0{manufacturer_digits}d}{serial:08d}"
    return body + luhn.calc_check_digit(body)


def validate_drn(text: str) -> str:
    drn = digits_only(text)
    if len(drn) not in (11, 13):
        raise ValidationError(
            {"drn": f"Un numéro de compteur STS a 11 ou 13 chiffres ({len(drn)} saisis)"}
        )
    if not luhn.is_valid(drn):
        raise ValidationError({"drn": "Chiffre de contrôle du numéro de compteur STS incorrect"})
    return drn


def normalise_phone(text: str, country_prefix: str = "225") -> str:
    """Keep the national number: digits only, without the country prefix or international 00/+."""
    number = digits_only(text)
    for prefix in ("00" + country_prefix, country_prefix):
        if number.startswith(prefix) and len(number) - len(prefix) >= 8:
            return number[len(prefix) :]
    return number
