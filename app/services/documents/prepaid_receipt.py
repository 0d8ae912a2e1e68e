"""The prepaid recharge receipt in two profiles: A4 (office printer) and an 80 mm thermal roll
(72 mm printable, a page as long as its content, the token in large digits)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from app.services.documents.pdf import BOLD, REGULAR, register_fonts
from kernel.money import Currency

Paper = Literal["a4", "thermal80"]
INK = HexColor("#1f3a5f")
GREY = HexColor("#4a5868")


@dataclass(frozen=True)
class PrepaidReceiptData:
    agency_name: str
    receipt_number: str
    sold_at: datetime  # local time of the agency
    meter: str
    owner: str
    energy_kwh: str
    amount_minor: int
    energy_minor: int
    fixed_charge_minor: int
    arrears_minor: int
    vat_minor: int
    tokens: tuple[str, ...]  # key change tokens first, the credit token last
    phone: str
    sold_by: str
    channel: str
    currency: Currency
    #: A supervisor's management token: its French name and the reason (no energy lines).
    management: str = ""
    reason: str = ""


def _grouped(token: str) -> str:
    return " ".join(token[i:i + 4] for i in range(0, len(token), 4))


def _lines(data: PrepaidReceiptData) -> list[tuple[str, str]]:
    if data.management:
        return [("Jeton de gestion", data.management), ("Motif", data.reason)]
    fmt = data.currency.format_minor
    return [("Énergie achetée", f"{data.energy_kwh.replace('.', ',')} kWh"),
            ("Énergie", fmt(data.energy_minor)), ("Prime fixe", fmt(data.fixed_charge_minor)),
            ("Arriérés récupérés", fmt(data.arrears_minor)), ("TVA", fmt(data.vat_minor))]


def _heading(data: PrepaidReceiptData) -> list[tuple[str, str]]:
    """Meter, holder and SMS phone (a management token has neither holder nor SMS)."""
    rows = [("Compteur", data.meter), ("Titulaire", data.owner), ("SMS", data.phone)]
    return rows[:1] if data.management else rows


def _order_note(data: PrepaidReceiptData) -> str:
    if data.management and len(data.tokens) > 1:
        return f"Tapez les {len(data.tokens)} codes dans l'ordre sur le clavier du compteur."
    if len(data.tokens) == 1:
        return "Tapez ce code sur le clavier du compteur."
    return (f"Tapez les {len(data.tokens)} codes dans l'ordre : les premiers changent la clé "
            "du compteur, le dernier est le crédit.")


def render_prepaid_receipt(data: PrepaidReceiptData, paper: Paper) -> bytes:
    register_fonts()
    return _thermal(data) if paper == "thermal80" else _a4(data)


def _a4(data: PrepaidReceiptData) -> bytes:
    buffer = io.BytesIO()
    width, height = A4
    pdf = Canvas(buffer, pagesize=A4, invariant=True)
    pdf.setTitle(f"Reçu de recharge {data.receipt_number}")
    pdf.setAuthor(data.agency_name)
    left, right = 20 * mm, width - 20 * mm
    y = height - 25 * mm
    pdf.setFillColor(INK)
    pdf.setFont(BOLD, 16)
    pdf.drawString(left, y, data.agency_name)
    y -= 10 * mm
    pdf.setFont(BOLD, 14)
    kind = "jeton de gestion" if data.management else "recharge prépayée"
    pdf.drawString(left, y, f"Reçu de {kind} n° {data.receipt_number}")
    pdf.setFillColor(GREY)
    pdf.setFont(REGULAR, 10)
    y -= 6 * mm
    pdf.drawString(left, y, f"Le {data.sold_at:%d/%m/%Y à %H:%M} — {data.channel} — "
                            f"vendu par {data.sold_by or '—'}")
    y -= 12 * mm
    pdf.setFillColor(INK)
    pdf.setFont(REGULAR, 11)
    for label, value in _heading(data):
        label = "Téléphone (SMS)" if label == "SMS" else label
        pdf.drawString(left, y, f"{label} :")
        pdf.drawString(left + 45 * mm, y, value)
        y -= 6 * mm
    y -= 4 * mm
    for label, value in _lines(data):
        pdf.drawString(left, y, label)
        pdf.drawRightString(right, y, value)
        y -= 6 * mm
    pdf.line(left, y + 3.5 * mm, right, y + 3.5 * mm)
    if not data.management:
        pdf.setFont(BOLD, 12)
        pdf.drawString(left, y - 1 * mm, "Total payé")
        pdf.drawRightString(right, y - 1 * mm, data.currency.format_minor(data.amount_minor))
    y -= 16 * mm
    pdf.setFont(BOLD, 11)
    pdf.drawString(left, y, "Code(s) à taper sur le compteur :")
    y -= 11 * mm
    for n, token in enumerate(data.tokens, 1):
        pdf.setFont(BOLD, 22)
        prefix = f"{n}. " if len(data.tokens) > 1 else ""
        pdf.drawString(left, y, prefix + _grouped(token))
        y -= 11 * mm
    pdf.setFont(REGULAR, 10)
    pdf.setFillColor(GREY)
    pdf.drawString(left, y, _order_note(data))
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _thermal(data: PrepaidReceiptData) -> bytes:
    width = 80 * mm
    margin = 3 * mm
    note = _wrap(_order_note(data), 52)
    per_token = (6.5 if len(data.tokens) > 1 else 0) + 8
    height = (22.5 + 9 * 4.5 + 7 + per_token * len(data.tokens) + 3.5 * len(note) + 6) * mm
    token_size = 15.0
    while stringWidth(_grouped(data.tokens[-1]), BOLD, token_size) > width - 2 * margin:
        token_size -= 0.5
    buffer = io.BytesIO()
    pdf = Canvas(buffer, pagesize=(width, height), invariant=True)
    pdf.setTitle(f"Reçu de recharge {data.receipt_number}")
    pdf.setAuthor(data.agency_name)
    left, right = margin, width - margin
    y = height - 7 * mm
    pdf.setFont(BOLD, 10)
    pdf.drawCentredString(width / 2, y, data.agency_name)
    y -= 5 * mm
    pdf.setFont(BOLD, 9)
    pdf.drawCentredString(width / 2, y, ("Jeton de gestion " if data.management else
                                         "Recharge prépayée ") + data.receipt_number)
    y -= 4.5 * mm
    pdf.setFont(REGULAR, 8)
    pdf.drawCentredString(width / 2, y, f"{data.sold_at:%d/%m/%Y %H:%M} — {data.sold_by}")
    y -= 6 * mm
    for label, value in (*_heading(data), *_lines(data)):
        pdf.drawString(left, y, label)
        pdf.drawRightString(right, y, value)
        y -= 4.5 * mm
    if not data.management:
        pdf.setFont(BOLD, 10)
        pdf.drawString(left, y, "TOTAL")
        pdf.drawRightString(right, y, data.currency.format_minor(data.amount_minor))
    y -= 7 * mm
    for n, token in enumerate(data.tokens, 1):
        if len(data.tokens) > 1:
            pdf.setFont(REGULAR, 8)
            pdf.drawString(left, y, f"Code {n} sur {len(data.tokens)}"
                           + ("" if data.management else
                              " (crédit)" if n == len(data.tokens) else " (clé)"))
            y -= 6.5 * mm
        pdf.setFont(BOLD, token_size)
        pdf.drawCentredString(width / 2, y, _grouped(token))
        y -= 8 * mm
    pdf.setFont(REGULAR, 7)
    for part in note:
        pdf.drawString(left, y, part)
        y -= 3.5 * mm
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return [*lines, current] if current else lines
