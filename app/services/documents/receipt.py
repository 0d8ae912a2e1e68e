"""What a payment receipt says; ``receipt_pdf`` lays it out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from kernel.money import Currency

_CURRENCY_WORDS = {
    "XOF": ("franc CFA", "francs CFA"),
    "XAF": ("franc CFA", "francs CFA"),
    "EUR": ("euro", "euros"),
}


@dataclass(frozen=True)
class ReceiptData:
    agency_name: str
    agency_address: str
    agency_phone: str
    receipt_number: str
    paid_at: datetime  # local time of the agency
    customer_name: str
    account_number: str
    address: str
    amount_minor: int
    method: str
    reference: str
    invoice_number: str
    received_by: str
    remaining_minor: int
    currency: Currency


@dataclass(frozen=True)
class CancellationSlipData:
    """A bordereau d'annulation: which receipt, why, by whom, and the balance after."""

    receipt: ReceiptData
    cancelled_at: datetime  # local time of the agency
    cancelled_by: str
    reason: str
    balance_after_minor: int


def amount_in_words(amount: Decimal, currency: Currency) -> str:
    from num2words import num2words

    units = int(amount)
    singular, plural = _CURRENCY_WORDS.get(currency.code, (currency.code, currency.code))
    words = f"{num2words(units, lang='fr')} {singular if units <= 1 else plural}"
    if currency.exponent:
        cents = int((amount - units) * 10**currency.exponent)
        if cents:
            words += f" et {num2words(cents, lang='fr')} centime" + ("s" if cents > 1 else "")
    return words[0].upper() + words[1:]
