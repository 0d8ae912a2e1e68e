"""Our mapping of an INVOIC message (directories D96A and D01B) to a supplier invoice.

Header: ``BGM`` (380 invoice, 381 credit note), ``DTM`` 137 (date), 263 (period, format 718) or
194/206, ``NAD+SU`` (supplier) and ``NAD+DP`` (site), ``CUX``; lines from ``LIN`` with ``IMD``,
``QTY``, ``PRI``, ``MOA+203``, ``TAX``, ``LOC+7`` (the line's site) and ``DTM`` (its period);
header ``ALC`` (allowances and charges with their ``MOA+8``) become lines; after ``UNS``, the
totals ``MOA`` 79, 125, 124/176 and 77 or 86, checked against the lines (docs/edifact.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from babel.numbers import get_currency_precision, list_currencies

from central.edifact.syntax import Problem, Rejected, Segment

VERSIONS = {("D", "96A"), ("D", "01B")}
INVOICE, CREDIT_NOTE = "380", "381"
_NUMBER = re.compile(r"-?\d+([.,]\d+)?")
_CURRENCIES = frozenset(list_currencies())


@dataclass
class Line:
    position: int
    site: str | None
    label: str = ""
    period_start: date | None = None
    period_end: date | None = None
    quantity: Decimal | None = None
    unit: str = ""
    unit_price: Decimal | None = None
    amount: Decimal = Decimal(0)
    vat_rate: Decimal | None = None
    vat: Decimal | None = None
    #: The segment of its amount (where a total problem points).
    segment: int = 0
    #: The segment naming its site (its ``LOC+7``, else the header's ``NAD+DP``).
    site_segment: int = 0


@dataclass
class InvoiceMessage:
    reference: str
    directory: str
    is_credit_note: bool
    number: str
    issued_on: date
    supplier_code: str
    currency: str
    site: str | None = None
    #: Where the supplier (``NAD+SU``) and the header's site (``NAD+DP``) are named.
    supplier_segment: int = 0
    site_segment: int = 0
    period_start: date | None = None
    period_end: date | None = None
    lines: list[Line] = field(default_factory=list)
    amount_excl_vat: Decimal = Decimal(0)
    vat: Decimal = Decimal(0)
    total: Decimal = Decimal(0)

    def sites(self) -> set[str]:
        return {line.site for line in self.lines if line.site}


@cache
def _exponent(currency: str) -> int:
    return int(get_currency_precision(currency))


def amount(segment: Segment, element: int, component: int, decimals: int | None = None,
           what: str = "un montant") -> Decimal:
    text = segment.value(element, component)
    match = _NUMBER.fullmatch(text)
    if match is None:
        raise Rejected(segment.problem(f"{what} (chiffres, séparateur décimal . ou ,)",
                                       element, component))
    fraction = match.group(1)
    value = Decimal(text.replace(",", ".") if fraction else text)
    if decimals is not None and fraction and len(fraction) - 1 > decimals:
        raise Rejected(segment.problem(f"{what} avec {decimals} décimale(s) au plus",
                                       element, component))
    return value


def _day(segment: Segment, text: str) -> date:
    """``CCYYMMDD`` (already checked to be 8 digits)."""
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise Rejected(segment.problem("une date valide (format 102 : AAAAMMJJ)", 1, 2)) from None


def _period(segment: Segment) -> tuple[date, date]:
    text, fmt = segment.value(1, 2), segment.value(1, 3)
    if fmt != "718" or not re.fullmatch(r"\d{8}-\d{8}", text):
        raise Rejected(segment.problem("une période au format 718 (AAAAMMJJ-AAAAMMJJ)", 1, 2))
    start, end = _day(segment, text[:8]), _day(segment, text[9:])
    if end < start:
        raise Rejected(segment.problem("une fin de période après son début", 1, 2))
    return start, end


def _date(segment: Segment) -> date:
    fmt = segment.value(1, 3) or "102"
    text = segment.value(1, 2)
    if fmt == "102" and re.fullmatch(r"\d{8}", text):
        return _day(segment, text)
    if fmt == "203" and re.fullmatch(r"\d{12}", text):
        return _day(segment, text[:8])
    raise Rejected(segment.problem("une date au format 102 (AAAAMMJJ) ou 203", 1, 2))


def _rate(segment: Segment) -> Decimal | None:
    if segment.value(2) not in ("VAT", ""):
        return None
    text = segment.value(5, 4)
    if not text:
        return None
    rate = amount(segment, 5, 4, 4, "un taux de TVA")
    if not Decimal(0) <= rate < Decimal(100):
        raise Rejected(segment.problem("un taux de TVA entre 0 et 100", 5, 4))
    return rate


def _round(value: Decimal, exponent: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_UP)


class _Reader:
    """Walks a message's segments in order; segment groups are told by their leading tag."""

    def __init__(self, segments: list[Segment], default_currency: str) -> None:
        self.segments = segments
        self.default_currency = default_currency
        self.currency: str | None = None
        self.lines: list[Line] = []
        self.totals: dict[str, tuple[Decimal, Segment]] = {}
        self.header_rates: list[Decimal] = []
        self.summary_vat: list[tuple[Decimal, Segment]] = []
        self.items = 0

    def read(self) -> InvoiceMessage:
        segments = self.segments
        unh, unt = segments[0], segments[-1]
        if unh.tag != "UNH" or not unh.value(1):
            raise Rejected(unh.problem("UNH avec la référence du message", 1))
        if unh.value(2, 1) != "INVOIC":
            raise Rejected(unh.problem("le type de message INVOIC", 2, 1))
        directory = (unh.value(2, 2), unh.value(2, 3))
        if directory not in VERSIONS or unh.value(2, 4) != "UN":
            raise Rejected(unh.problem("le répertoire D:96A:UN ou D:01B:UN", 2, 2,
                                       show=False))
        if unt.tag != "UNT":
            raise Rejected(unt.problem("UNT (fin du message)"))
        if unt.value(1) != str(len(segments)):
            raise Rejected(unt.problem(f"{len(segments)} (segments du message, UNH et UNT "
                                       "compris)", 1))
        if unt.value(2) != unh.value(1):
            raise Rejected(unt.problem(f"la référence de l'UNH « {unh.value(1)} »", 2))
        body = segments[1:-1]
        if not body or body[0].tag != "BGM":
            where = body[0] if body else unt
            raise Rejected(where.problem("BGM (début du message) après UNH"))
        bgm = body[0]
        kind = bgm.value(1, 1)
        if kind not in (INVOICE, CREDIT_NOTE):
            raise Rejected(bgm.problem("le code 380 (facture) ou 381 (avoir)", 1, 1))
        number = bgm.value(2, 1).strip()
        if not number or len(number) > 35:
            raise Rejected(bgm.problem("le numéro du document (35 caractères au plus)", 2, 1))
        state = {"issued": None, "start": None, "end": None, "supplier": None, "site": None}
        line: Line | None = None
        after_uns = False
        alc_sign: int | None = None
        alc: Line | None = None
        for segment in body[1:]:
            tag = segment.tag
            if tag == "UNS":
                after_uns = True
                line = alc = None
                continue
            if after_uns:
                self._summary(segment)
                continue
            if tag == "LIN":
                self.items += 1
                expected = self.items
                if segment.value(1) != str(expected):
                    raise Rejected(segment.problem(f"le numéro de ligne {expected}", 1))
                line = Line(position=0, site=None)
                self.lines.append(line)
                alc = None
                continue
            if tag == "ALC" and line is None:
                alc_sign = {"A": -1, "C": 1}.get(segment.value(1))
                if alc_sign is None:
                    raise Rejected(segment.problem("A (remise) ou C (frais)", 1))
                label = segment.value(5, 4) or segment.value(5, 1) or (
                    "Remise" if alc_sign < 0 else "Frais")
                alc = Line(position=0, site=None, label=label)
                alc.segment = segment.position
                self.lines.append(alc)
                continue
            if line is not None:
                self._line_segment(line, segment)
            elif alc is not None and tag in ("MOA", "TAX"):
                if tag == "MOA" and segment.value(1, 1) in ("8", "23", "204"):
                    assert alc_sign is not None
                    alc.amount = alc_sign * amount(segment, 1, 2, self._decimals())
                    alc.segment = segment.position
                elif tag == "TAX":
                    alc.vat_rate = _rate(segment)
            else:
                self._header_segment(segment, state)
        if not self.lines:
            raise Rejected(unt.problem("au moins une ligne (LIN) avant UNS"))
        if not after_uns:
            raise Rejected(unt.problem("UNS (section de totaux) avant UNT"))
        if state["issued"] is None:
            raise Rejected(bgm.problem("DTM+137 (date du document) dans l'en-tête"))
        if state["supplier"] is None:
            raise Rejected(bgm.problem("NAD+SU (le fournisseur) dans l'en-tête"))
        currency = self.currency or self.default_currency
        invoice = InvoiceMessage(
            reference=unh.value(1), directory="".join(directory),
            is_credit_note=kind == CREDIT_NOTE, number=number, issued_on=state["issued"],
            supplier_code=state["supplier"], currency=currency, site=state["site"],
            supplier_segment=state["supplier_segment"],
            site_segment=state.get("site_segment", 0),
            period_start=state["start"], period_end=state["end"],
        )
        self._finish(invoice, unt)
        return invoice

    def _decimals(self) -> int:
        return _exponent(self.currency or self.default_currency)

    def _header_segment(self, segment: Segment, state: dict) -> None:
        tag, qualifier = segment.tag, segment.value(1, 1)
        if tag == "DTM":
            if qualifier in ("137", "3"):
                state["issued"] = _date(segment)
            elif qualifier == "263":
                state["start"], state["end"] = _period(segment)
            elif qualifier == "194":
                state["start"] = _date(segment)
            elif qualifier == "206":
                state["end"] = _date(segment)
        elif tag == "NAD" and qualifier in ("SU", "DP"):
            party = segment.value(2, 1).strip()
            if not party or len(party) > 35:
                raise Rejected(segment.problem(
                    f"l'identification de la partie {qualifier} (35 caractères au plus)", 2, 1))
            name = "supplier" if qualifier == "SU" else "site"
            state[name] = party
            state[f"{name}_segment"] = segment.position
        elif tag == "CUX":
            code = segment.value(1, 2)
            if code not in _CURRENCIES:
                raise Rejected(segment.problem("un code de devise ISO 4217", 1, 2))
            self.currency = code
        elif tag == "TAX":
            rate = _rate(segment)
            if rate is not None:
                self.header_rates.append(rate)

    def _line_segment(self, line: Line, segment: Segment) -> None:
        tag, qualifier = segment.tag, segment.value(1, 1)
        if tag == "IMD":
            line.label = (segment.value(3, 4) or segment.value(3, 1))[:200]
        elif tag == "QTY" and qualifier in ("47", "46"):
            line.quantity = amount(segment, 1, 2, 3, "une quantité")
            line.unit = segment.value(1, 3)[:10]
        elif tag == "PRI" and qualifier in ("AAA", "AAB"):
            line.unit_price = amount(segment, 1, 2, 5, "un prix unitaire")
        elif tag == "MOA" and qualifier == "203":
            line.amount = amount(segment, 1, 2, self._decimals())
            line.segment = segment.position
        elif tag == "MOA" and qualifier in ("124", "176"):
            line.vat = amount(segment, 1, 2, self._decimals(), "un montant de TVA")
        elif tag == "TAX":
            line.vat_rate = _rate(segment)
        elif tag == "LOC" and qualifier == "7":
            site = segment.value(2, 1).strip()
            if not site or len(site) > 35:
                raise Rejected(segment.problem("l'identification du site (35 caractères au "
                                               "plus)", 2, 1))
            line.site = site
            line.site_segment = segment.position
        elif tag == "DTM" and qualifier == "263":
            line.period_start, line.period_end = _period(segment)
        elif tag == "DTM" and qualifier == "194":
            line.period_start = _date(segment)
        elif tag == "DTM" and qualifier == "206":
            line.period_end = _date(segment)
        if line.segment == 0:
            line.segment = segment.position

    def _summary(self, segment: Segment) -> None:
        tag, qualifier = segment.tag, segment.value(1, 1)
        if tag == "MOA" and qualifier in ("79", "125", "77", "86", "124", "176"):
            value = amount(segment, 1, 2, self._decimals())
            if qualifier in ("124", "176"):
                self.summary_vat.append((value, segment))
            elif qualifier in self.totals:
                raise Rejected(segment.problem(f"un seul MOA+{qualifier} dans les totaux", 1))
            else:
                self.totals[qualifier] = (value, segment)
        elif tag == "TAX":
            rate = _rate(segment)
            if rate is not None:
                self.header_rates.append(rate)

    def _finish(self, invoice: InvoiceMessage, unt: Segment) -> None:
        exponent = _exponent(invoice.currency)
        default_rate = self.header_rates[0] if len(set(self.header_rates)) == 1 else None
        per_rate: dict[Decimal, Decimal] = {}
        for position, line in enumerate(self.lines, start=1):
            line.position = position
            if line.site is None:
                line.site, line.site_segment = invoice.site, invoice.site_segment
            if line.site is None:
                raise Rejected(Problem(line.segment, "LIN", "LOC+7 (site de la ligne) ou NAD+DP "
                                       "(site de la facture)"))
            if line.vat_rate is None:
                line.vat_rate = default_rate
            line.period_start = line.period_start or invoice.period_start
            line.period_end = line.period_end or invoice.period_end
            if line.vat_rate is not None:
                per_rate[line.vat_rate] = per_rate.get(line.vat_rate, Decimal(0)) + line.amount
            if line.vat is None:
                line.vat = _round(line.amount * (line.vat_rate or 0) / 100, exponent)
        lines_total = sum((line.amount for line in self.lines), Decimal(0))
        computed_vat = sum((_round(base * rate / 100, exponent) for rate, base in
                            per_rate.items()), Decimal(0))
        for qualifier in ("79", "125"):
            if qualifier in self.totals:
                value, segment = self.totals[qualifier]
                if value != lines_total:
                    raise Rejected(segment.problem(f"{lines_total} (somme des lignes)", 1, 2))
        if not self.summary_vat:
            declared_vat = computed_vat
        else:
            declared_vat = sum((v for v, _ in self.summary_vat), Decimal(0))
            # The rounding rule: VAT rounded once per rate, one minor unit of slack per rate.
            slack = Decimal(1).scaleb(-exponent) * max(len(per_rate), 1)
            if abs(declared_vat - computed_vat) > slack:
                segment = self.summary_vat[-1][1]
                raise Rejected(segment.problem(
                    f"{computed_vat} (TVA des lignes, à {slack} près)", 1, 2))
        total_entry = self.totals.get("77") or self.totals.get("86")
        if total_entry is None:
            raise Rejected(unt.problem("MOA+77 ou MOA+86 (montant total) après UNS"))
        total, segment = total_entry
        if total != lines_total + declared_vat:
            raise Rejected(segment.problem(
                f"{lines_total + declared_vat} (lignes {lines_total} + TVA {declared_vat})",
                1, 2))
        invoice.lines = self.lines
        invoice.amount_excl_vat = lines_total
        invoice.vat = declared_vat
        invoice.total = total


def read_invoice(segments: list[Segment], default_currency: str) -> InvoiceMessage:
    """The invoice a message describes, or ``Rejected`` with where and what was expected."""
    return _Reader(segments, default_currency).read()
