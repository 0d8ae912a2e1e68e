"""Money in the installation's currency: ``Decimal`` in code, integer minor units in the database.

Rounding is always explicit: half up (away from zero) to the currency's ISO 4217 exponent,
which is how invoices and receipts are rounded in the agencies' currencies (XOF: none, EUR: cents).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import (
    format_currency,
    format_decimal,
    get_currency_name,
    get_currency_precision,
    get_currency_symbol,
    list_currencies,
)

from kernel.errors import ValidationError

#: Above this, the amount typed is a typing slip, not a payment: refused even when confirmed
#: (the desk at the counter, central for what a desk sends).
MAX_PAYMENT_MAJOR = Decimal("100000000")


@dataclass(frozen=True)
class Currency:
    code: str
    exponent: int

    @classmethod
    def of(cls, code: str) -> Currency:
        return cls(code=code.upper(), exponent=int(get_currency_precision(code.upper())))

    @property
    def quantum(self) -> Decimal:
        return Decimal(1).scaleb(-self.exponent)

    def round(self, amount: Decimal) -> Decimal:
        return amount.quantize(self.quantum, rounding=ROUND_HALF_UP)

    def to_minor(self, amount: Decimal) -> int:
        """Amount → minor units, rounding half up to the currency's exponent."""
        return int(self.round(amount).scaleb(self.exponent))

    def exact_minor(self, amount: Decimal) -> int:
        """Amount typed by an agent → minor units; refuses more decimals than the currency has."""
        if amount != self.round(amount):
            raise ValidationError(
                {
                    "amount": f"Le montant ne peut pas avoir plus de {self.exponent} "
                    + ("décimale" if self.exponent == 1 else "décimales")
                    if self.exponent
                    else "Le montant doit être un nombre entier"
                }
            )
        return self.to_minor(amount)

    def from_minor(self, minor: int) -> Decimal:
        return Decimal(minor).scaleb(-self.exponent)

    def format_minor(self, minor: int) -> str:
        return self.format(self.from_minor(minor))

    def format(self, amount: Decimal) -> str:
        return str(format_currency(amount, self.code, locale="fr_FR"))

    @property
    def symbol(self) -> str:
        """How the currency is written on screen and paper in French ("F CFA", "€")."""
        return str(get_currency_symbol(self.code, locale="fr_FR")).replace("\u202f", " ")

    def _accepted_marks(self) -> set[str]:
        marks = {self.code, self.symbol.replace(" ", "").upper()}
        if self.code in {"XOF", "XAF"}:
            marks |= {"F", "FCFA", "CFA", "FRANCSCFA", "FRANCCFA"}
        return marks

    def parse(self, text: str) -> Decimal:
        """An amount typed the French way: "12 500", "12500", "12 500 F CFA", "1 234,56".

        Refused, with a message that says what was understood: another currency ("100 €" on a
        franc CFA desk), and separators that could mean two things ("1.000", "1,000", "1 00").
        """
        raw = " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())
        if not raw:
            raise ValidationError({"amount": "Saisissez le montant"})
        match = _AMOUNT.match(raw)
        if match is None:
            raise ValidationError(
                {"amount": f"Montant illisible : « {raw} ». Exemple : 12 500 ou 12 500 {self.symbol}"}
            )
        number = match["number"].strip()
        mark = f"{match['before']}{match['after']}".strip()
        if mark:
            self._check_currency(mark, raw, number)
        return self._read_number(number, raw)

    def _check_currency(self, mark: str, raw: str, number: str) -> None:
        squeezed = mark.replace(" ", "").upper()
        if squeezed in self._accepted_marks():
            return
        foreign = _FOREIGN_SIGNS.get(squeezed)
        if foreign is None and squeezed in _ISO_CODES:
            foreign = str(get_currency_name(squeezed, count=2, locale="fr_FR"))
        understood = f"{number} {mark}"
        if foreign is not None:
            raise ValidationError(
                {
                    "amount": f"« {raw} » est un montant en {foreign} (compris : {understood}). "
                    f"Ce guichet encaisse en {self.symbol} : saisissez le montant en {self.symbol}."
                }
            )
        raise ValidationError(
            {
                "amount": f"Montant illisible : « {raw} » (compris : le nombre {number} suivi "
                f"de « {mark} »). Saisissez seulement le montant, par exemple 12 500."
            }
        )

    def _read_number(self, number: str, raw: str) -> Decimal:
        sign = ""
        if number[0] in "+-":
            sign, number = number[0].replace("+", ""), number[1:].strip()
        if "." in number and "," in number:
            raise self._ambiguous(raw, "un point et une virgule à la fois")
        decimal_mark = "," if "," in number else "."
        whole, _, decimals = number.partition(decimal_mark)
        if decimal_mark in decimals:
            raise self._ambiguous(raw, f"plusieurs « {decimal_mark} »")
        if len(decimals) == 3 and decimals.isdigit() and whole.replace(" ", "").isdigit():
            thousands = _french(Decimal(f"{whole.replace(' ', '')}{decimals}"))
            fraction = f"{_french(Decimal(whole.replace(' ', '')))},{decimals}"
            raise self._ambiguous(
                raw, f"« {decimal_mark} » suivi de trois chiffres peut vouloir dire {thousands} "
                f"ou {fraction}"
            )
        groups = whole.split(" ")
        if len(groups) > 1 and (
            not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])
        ):
            raise self._ambiguous(raw, "des chiffres groupés autrement que par trois")
        digits = "".join(groups)
        if not digits.isdigit() or (decimals and not decimals.isdigit()):
            raise ValidationError({"amount": f"Montant illisible : « {raw} »"})
        amount = Decimal(f"{sign}{digits}.{decimals}" if decimals else f"{sign}{digits}")
        if not amount.is_finite():
            raise ValidationError({"amount": f"Montant illisible : « {raw} »"})
        return amount

    def _ambiguous(self, raw: str, what: str) -> ValidationError:
        return ValidationError(
            {
                "amount": f"« {raw} » est ambigu : {what}. Écrivez les milliers avec une espace "
                "et les décimales avec une virgule (12 500 ; 1 234,5)."
            }
        )


def _french(amount: Decimal) -> str:
    return str(format_decimal(amount, locale="fr_FR")).replace("\u202f", " ")


#: A number (digits, spaces, one kind of separator) with a currency mark before or after it.
_AMOUNT = re.compile(r"^(?P<before>[^\d+\-]*?)\s*(?P<number>[+-]?\s*\d[\d ,.]*?)\s*(?P<after>[^\d]*)$")
_FOREIGN_SIGNS = {
    "€": "euros", "EURO": "euros", "EUROS": "euros",
    "FCFA": "francs CFA", "CFA": "francs CFA", "F": "francs CFA",
    "$": "dollars", "US$": "dollars américains", "DOLLAR": "dollars", "DOLLARS": "dollars",
    "£": "livres sterling",
}
_ISO_CODES = frozenset(list_currencies())
