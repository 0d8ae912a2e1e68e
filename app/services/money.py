"""Money in the installation's currency: ``Decimal`` in code, integer minor units in the database.

Rounding is always explicit: half up (away from zero) to the currency's ISO 4217 exponent,
which is how invoices and receipts are rounded in the agencies' currencies (XOF: none, EUR: cents).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, get_currency_precision

from app.services.errors import ValidationError


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
                    "amount": f"Le montant ne peut pas avoir plus de {self.exponent} décimale(s)"
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

    def parse(self, text: str) -> Decimal:
        """Parse an amount typed the French way ("12 345,50", "12345.5")."""
        cleaned = text.replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace(",", ".")
        for symbol in (self.code, "€", "FCFA", "F", "CFA"):
            cleaned = cleaned.replace(symbol, "")
        try:
            amount = Decimal(cleaned)
        except ArithmeticError as exc:
            raise ValidationError({"amount": "Montant illisible"}) from exc
        if not amount.is_finite():
            raise ValidationError({"amount": "Montant illisible"})
        return amount
