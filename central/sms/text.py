"""The SMS texts of a sale: French, in the GSM-7 basic alphabet (160 characters a message),
the token grouped by four. A sale with key change tokens gets them in a first message."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from kernel.money import Currency

LIMIT = 160
#: GSM 03.38 basic character set (the escape-table characters, counted double, are avoided).
GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
_PLAIN = str.maketrans({"ç": "c", "â": "a", "ê": "e", "ë": "e", "î": "i", "ï": "i",
                        "ô": "o", "û": "u", "À": "A", "È": "E", "Ê": "E", "\u00a0": " ",
                        "\u202f": " ", "’": "'", "«": '"', "»": '"', "—": "-", "–": "-"})


class SaleLike(Protocol):
    @property
    def token(self) -> str: ...
    @property
    def key_change_tokens(self) -> str: ...
    @property
    def energy(self) -> Decimal: ...
    @property
    def amount_minor(self) -> int: ...
    @property
    def receipt_number(self) -> str: ...


def gsm7(text: str) -> str:
    """``text`` in the GSM-7 basic alphabet: accents GSM-7 lacks lose them, others become ?"""
    plain = text.translate(_PLAIN)
    return "".join(ch if ch in GSM7 else "?" for ch in plain)


def grouped(token: str) -> str:
    return " ".join(token[i:i + 4] for i in range(0, len(token), 4))


def sale_messages(sale: SaleLike, drn: str, currency: Currency) -> list[str]:
    amount = currency.format_minor(sale.amount_minor)
    main = gsm7(f"Recharge {drn}: {sale.energy} kWh, {amount}. "
                f"Jeton {grouped(sale.token)}. Reçu {sale.receipt_number}")
    changes = sale.key_change_tokens.split()
    if not changes:
        return [main[:LIMIT]]
    first = gsm7("Changement de clé, à saisir avant le jeton: "
                 + " puis ".join(grouped(t) for t in changes))
    if len(first) > LIMIT:
        first = gsm7("Clé: " + " / ".join(grouped(t) for t in changes))
    together = gsm7(f"{first}. Puis {main}")
    if len(together) <= LIMIT:
        return [together]
    return [first[:LIMIT], main[:LIMIT]]
