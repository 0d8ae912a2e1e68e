"""The agent's end-of-day cash-up report (A4, same look as the prepaid receipt): the day's
counter sales and invoice payments, the totals by means of payment, the cash expected and
counted, the difference and its reason, and two signature boxes (agent, supervisor). The
supervisor's closing issues it marked *DÉFINITIF*; before, a copy marked *PROVISOIRE* (never
stored) lets the agent check the day."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from app.services.documents.pdf import BOLD, REGULAR, register_fonts
from app.services.documents.prepaid_receipt import GREY, INK
from kernel.money import Currency

ALERT = HexColor("#b00020")


@dataclass(frozen=True)
class CashupReportData:
    agency_name: str
    agent: str
    day: date
    closed_at: datetime  # local
    closed_by: str
    #: receipt, time, meter, means of payment, state, amount (minor)
    lines: tuple[tuple[str, str, str, str, str, int], ...]
    by_method: tuple[tuple[str, int], ...]
    sales_count: int
    payments_count: int
    voided_count: int
    management_count: int
    expected_minor: int
    counted_minor: int
    difference_minor: int
    reason: str
    currency: Currency
    #: True: issued at the supervisor's closing (``closed_at``/``closed_by``); False: a
    #: provisional copy printed at ``closed_at`` by ``closed_by``, the day still open.
    final: bool = True
    #: False: nothing counted yet (the counted and difference lines say so).
    counted_known: bool = True
    #: who submitted the count
    counted_by: str = ""


def render_cashup(data: CashupReportData) -> bytes:
    register_fonts()
    buffer = io.BytesIO()
    width, height = A4
    pdf = Canvas(buffer, pagesize=A4, invariant=True)
    pdf.setTitle(f"Clôture de caisse {data.agent} {data.day:%d/%m/%Y}")
    pdf.setAuthor(data.agency_name)
    fmt = data.currency.format_minor
    left, right = 20 * mm, width - 20 * mm
    y = height - 25 * mm

    def new_page() -> float:
        pdf.showPage()
        pdf.setFillColor(INK)
        pdf.setFont(REGULAR, 10)
        return height - 20 * mm

    pdf.setFillColor(INK)
    pdf.setFont(BOLD, 16)
    pdf.drawString(left, y, data.agency_name)
    y -= 10 * mm
    pdf.setFont(BOLD, 14)
    pdf.drawString(left, y, f"Arrêté de caisse du {data.day:%d/%m/%Y}")
    pdf.setFillColor(INK if data.final else ALERT)
    pdf.drawRightString(right, y, "DÉFINITIF" if data.final else "PROVISOIRE")
    y -= 6 * mm
    pdf.setFillColor(GREY)
    pdf.setFont(REGULAR, 10)
    counted_by = f", compté par {data.counted_by}" if data.counted_by else ""
    if data.final:
        pdf.drawString(left, y, f"Agent : {data.agent}{counted_by} — clôturée le "
                                f"{data.closed_at:%d/%m/%Y à %H:%M} par {data.closed_by}")
    else:
        pdf.drawString(left, y, f"Agent : {data.agent}{counted_by} — édité le "
                                f"{data.closed_at:%d/%m/%Y à %H:%M} par {data.closed_by}")
        y -= 5 * mm
        pdf.setFillColor(ALERT)
        pdf.drawString(left, y, "Journée non clôturée : les chiffres peuvent encore changer. "
                                "Seul le rapport de clôture du superviseur fait foi.")
    y -= 10 * mm
    pdf.setFillColor(INK)
    pdf.setFont(BOLD, 9)
    columns = (left, left + 38 * mm, left + 52 * mm, left + 85 * mm, left + 112 * mm)
    for x, title in zip(columns, ("Reçu", "Heure", "Compteur / compte", "Paiement", "État"),
                        strict=True):
        pdf.drawString(x, y, title)
    pdf.drawRightString(right, y, "Montant")
    y -= 5 * mm
    pdf.setFont(REGULAR, 9)
    if not data.lines:
        pdf.drawString(left, y, "Aucune vente au guichet ce jour.")
        y -= 5 * mm
    for line in data.lines:
        if y < 40 * mm:
            y = new_page()
        for x, value in zip(columns, line[:5], strict=True):
            pdf.drawString(x, y, value)
        pdf.drawRightString(right, y, fmt(line[5]))
        y -= 5 * mm
    pdf.line(left, y + 3 * mm, right, y + 3 * mm)
    y -= 4 * mm
    if y < 110 * mm:
        y = new_page()
    pdf.setFont(REGULAR, 11)
    rows = [(f"Recharges ({data.sales_count}) et paiements de factures "
             f"({data.payments_count})", fmt(sum(v for _m, v in data.by_method))),
            *((f"  dont {m}", fmt(v)) for m, v in data.by_method),
            ("Annulées (non comptées)", str(data.voided_count)),
            ("Jetons de gestion (montant 0)", str(data.management_count)),
            ("Espèces attendues", fmt(data.expected_minor)),
            ("Espèces comptées",
             fmt(data.counted_minor) if data.counted_known else "non comptées")]
    for label, value in rows:
        pdf.drawString(left, y, label)
        pdf.drawRightString(right, y, value)
        y -= 6 * mm
    pdf.setFont(BOLD, 12)
    pdf.drawString(left, y, "Écart (compté − attendu)")
    pdf.drawRightString(right, y, fmt(data.difference_minor) if data.counted_known else "—")
    y -= 8 * mm
    pdf.setFont(REGULAR, 10)
    if data.difference_minor and data.counted_known:
        pdf.drawString(left, y, f"Motif de l'écart : {data.reason}")
        y -= 8 * mm
    y -= 10 * mm
    half = (right - left) / 2
    for n, who in enumerate(("Signature de l'agent", "Signature du superviseur")):
        x = left + n * half
        pdf.drawString(x, y, who)
        pdf.rect(x, y - 28 * mm, half - 8 * mm, 24 * mm)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
