"""Realistic INVOIC interchanges for tests, demonstrations and the bench: EDF electricity invoices
for delivery points (``NAD+DP``, several VAT rates) and France Telecom invoices for several lines
of an agency (``LOC+7`` per line), credit notes, both directories (D96A, D01B), both syntax
levels (UNOC in Latin-1, UNOW in UTF-8), French labels with accents and apostrophes (escaped)."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import BinaryIO

from central.edifact.syntax import ENCODINGS

EDF = ("30000000000011", "EDF Entreprises")
FRANCE_TELECOM = ("38012986643097", "France Telecom")
RECEIVER = "ODYSSEE-CENTRAL"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Site:
    supplier: str
    reference: str
    agency: str


def world(agencies: tuple[str, ...] = ("101", "102", "103"), sites_per_agency: int = 4,
          seed: int = 1) -> list[Site]:
    """Sites of both suppliers spread over the agencies (delivery points, telephone lines)."""
    rng = random.Random(seed)
    sites = []
    for agency in agencies:
        for _ in range(sites_per_agency):
            sites.append(Site(EDF[0], f"{rng.randrange(10**13, 10**14)}", agency))
            sites.append(Site(FRANCE_TELECOM[0], f"0{rng.randrange(1, 6)}"
                              f"{rng.randrange(10**7, 10**8)}", agency))
    return sites


def _escape(text: str) -> str:
    for char in "?+:'":
        text = text.replace(char, "?" + char)
    return text


def segment(tag: str, *elements: str | tuple[str, ...]) -> str:
    parts = [tag]
    for element in elements:
        if isinstance(element, tuple):
            parts.append(":".join(_escape(c) for c in element))
        else:
            parts.append(_escape(element))
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return "+".join(parts) + "'"


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENT, rounding=ROUND_HALF_UP)}"


@dataclass(frozen=True)
class _Item:
    label: str
    quantity: Decimal
    unit: str
    price: Decimal
    rate: Decimal
    site: str | None


def _edf_items(rng: random.Random, site: str) -> list[_Item]:
    hp = Decimal(rng.randrange(200, 9000))
    hc = Decimal(rng.randrange(100, 5000))
    return [
        _Item("Abonnement puissance souscrite", Decimal(1), "MON", Decimal("28.91"),
              Decimal("5.5"), None),
        _Item("Énergie heures pleines", hp, "KWH", Decimal("0.18410"), Decimal(20), None),
        _Item("Énergie heures creuses", hc, "KWH", Decimal("0.14700"), Decimal(20), None),
        _Item("Contribution d'acheminement", Decimal(1), "MON", Decimal("12.37"),
              Decimal("5.5"), None),
    ][: rng.randrange(2, 5)]


def _telecom_items(rng: random.Random, sites: list[Site]) -> list[_Item]:
    items = []
    for site in rng.sample(sites, min(len(sites), rng.randrange(1, 4))):
        items.append(_Item("Abonnement ligne analogique", Decimal(1), "MON", Decimal("17.96"),
                           Decimal(20), site.reference))
        minutes = Decimal(rng.randrange(10, 3000))
        items.append(_Item("Communications nationales", minutes, "MIN", Decimal("0.0390"),
                           Decimal(20), site.reference))
    return items


def message(rng: random.Random, reference: str, sites: list[Site], number: str, *,
            credit_note: bool = False, directory: str = "96A", month: date = date(2026, 11, 1),
            currency: str = "EUR") -> list[str]:
    """The segments of one INVOIC message for one supplier's sites of one agency."""
    supplier = sites[0].supplier
    first = month
    last = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    issued = last + timedelta(days=rng.randrange(1, 6))
    segments = [
        segment("UNH", reference, ("INVOIC", "D", directory, "UN")),
        segment("BGM", ("381" if credit_note else "380",), number, "9"),
        segment("DTM", ("137", issued.strftime("%Y%m%d"), "102")),
    ]
    if directory == "01B":
        segments.append(segment("DTM", ("263", f"{first:%Y%m%d}-{last:%Y%m%d}", "718")))
    else:
        segments.append(segment("DTM", ("194", f"{first:%Y%m%d}", "102")))
        segments.append(segment("DTM", ("206", f"{last:%Y%m%d}", "102")))
    if credit_note:
        segments.append(segment("RFF", ("IV", f"{number}-R")))
    segments.append(segment("NAD", "SU", (supplier, "", "9"), "",
                            "EDF Entreprises" if supplier == EDF[0] else "France Télécom"))
    segments.append(segment("NAD", "BY", ("ODYSSEE", "", "92"), "", "Régie des eaux"))
    if supplier == EDF[0]:
        segments.append(segment("NAD", "DP", (sites[0].reference, "", "9")))
        items = _edf_items(rng, sites[0].reference)
    else:
        items = _telecom_items(rng, sites)
    segments.append(segment("CUX", ("2", currency, "4")))
    segments.append(segment("PAT", "1", "", ("5", "3", "D", "30")))
    per_rate: dict[Decimal, Decimal] = {}
    lines_total = Decimal(0)
    for position, item in enumerate(items, start=1):
        amount = (item.quantity * item.price).quantize(CENT, rounding=ROUND_HALF_UP)
        lines_total += amount
        per_rate[item.rate] = per_rate.get(item.rate, Decimal(0)) + amount
        segments.append(segment("LIN", str(position)))
        segments.append(segment("IMD", "F", "", ("", "", "", item.label)))
        segments.append(segment("QTY", ("47", f"{item.quantity}", item.unit)))
        segments.append(segment("MOA", ("203", _money(amount))))
        segments.append(segment("PRI", ("AAA", f"{item.price}")))
        segments.append(segment("TAX", "7", "VAT", "", "", ("", "", "", f"{item.rate}")))
        if item.site is not None:
            segments.append(segment("LOC", "7", (item.site, "", "9")))
    segments.append(segment("UNS", "S"))
    segments.append(segment("MOA", ("79", _money(lines_total))))
    segments.append(segment("MOA", ("125", _money(lines_total))))
    vat_total = Decimal(0)
    for rate, base in sorted(per_rate.items()):
        vat = (base * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        vat_total += vat
        segments.append(segment("TAX", "7", "VAT", "", "", ("", "", "", f"{rate}")))
        segments.append(segment("MOA", ("124" if directory == "96A" else "176", _money(vat))))
    segments.append(segment("MOA", ("77" if directory == "96A" else "86",
                                    _money(lines_total + vat_total))))
    segments.append(segment("UNT", str(len(segments) + 1), reference))
    return segments


def messages(sites: list[Site], count: int, *, seed: int = 7, prefix: str = "F",
             credit_every: int = 10, directory: str | None = None,
             month: date = date(2026, 11, 1)) -> Iterator[list[str]]:
    """``count`` messages over the sites: EDF per delivery point, France Telecom per agency."""
    rng = random.Random(seed)
    by_agency: dict[tuple[str, str], list[Site]] = {}
    for site in sites:
        by_agency.setdefault((site.supplier, site.agency), []).append(site)
    groups = sorted(by_agency.values(), key=lambda g: (g[0].supplier, g[0].agency))
    for index in range(1, count + 1):
        group = rng.choice(groups)
        chosen = [rng.choice(group)] if group[0].supplier == EDF[0] else group
        yield message(rng, f"{index:06d}", chosen, f"{prefix}{index:09d}",
                      credit_note=credit_every > 0 and index % credit_every == 0,
                      directory=directory or ("96A" if index % 2 else "01B"), month=month)


def write(handle: BinaryIO, bodies: Iterator[list[str]], *, reference: str = "1",
          syntax: str = "UNOC", sender: str = "EDI-CONSOLIDATION", una: bool = True,
          newline: bool = True) -> int:
    """Writes an interchange of the given messages (streamed); returns the message count."""
    encoding = ENCODINGS[syntax]
    end = "\n" if newline else ""

    def put(text: str) -> None:
        handle.write((text + end).encode(encoding))

    if una:
        handle.write(b"UNA:+.? '" + end.encode())
    put(segment("UNB", (syntax, "3"), (sender, "14"), (RECEIVER, "14"), ("261201", "0630"),
                reference))
    count = 0
    for body in bodies:
        text = end.join(body)
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError:  # accents the level has not (UNOA, Cyrillic…): folded
            data = unicodedata.normalize("NFKD", text).encode("ascii", "ignore")
        handle.write(data + end.encode())
        count += 1
    put(segment("UNZ", str(count), reference))
    return count


def interchange(sites: list[Site], count: int, **options: object) -> bytes:
    """A whole interchange in memory (tests)."""
    import io

    write_options = {k: options.pop(k) for k in ("reference", "syntax", "sender", "una",
                                                   "newline") if k in options}
    buffer = io.BytesIO()
    write(buffer, messages(sites, count, **options), **write_options)  # type: ignore[arg-type]
    return buffer.getvalue()
