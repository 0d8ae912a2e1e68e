"""The payment receipt (reçu d'encaissement) as a one-page A5 PDF."""

from __future__ import annotations

import io

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from app.services.documents.pdf import BOLD, REGULAR, register_fonts
from app.services.documents.receipt import CancellationSlipData, ReceiptData, amount_in_words

INK = HexColor("#1f3a5f")
GREY = HexColor("#4a5868")


def render_receipt(data: ReceiptData) -> bytes:
    register_fonts()
    buffer = io.BytesIO()
    width, height = A5
    pdf = Canvas(buffer, pagesize=A5, invariant=True)
    pdf.setTitle(f"Reçu {data.receipt_number}")
    pdf.setAuthor(data.agency_name)
    left, right = 14 * mm, width - 14 * mm
    y = height - 18 * mm
    pdf.setFillColor(INK)
    pdf.setFont(BOLD, 15)
    pdf.drawString(left, y, data.agency_name)
    pdf.setFont(REGULAR, 8.5)
    pdf.setFillColor(GREY)
    pdf.drawString(left, y - 5 * mm, data.agency_address)
    pdf.drawString(left, y - 9 * mm, f"Tél. {data.agency_phone}")
    y -= 22 * mm
    pdf.setFillColor(INK)
    pdf.setFont(BOLD, 13)
    pdf.drawString(left, y, "REÇU D'ENCAISSEMENT")
    pdf.setFont(BOLD, 10)
    pdf.drawRightString(right, y, f"N° {data.receipt_number}")
    pdf.setFont(REGULAR, 9)
    pdf.setFillColor(GREY)
    pdf.drawRightString(right, y - 5 * mm, data.paid_at.strftime("le %d/%m/%Y à %H:%M"))
    y -= 14 * mm
    pdf.setStrokeColor(INK)
    pdf.line(left, y, right, y)
    y -= 8 * mm
    rows = [
        ("Client", data.customer_name),
        ("Compte", data.account_number),
        ("Adresse", data.address),
        ("Mode de paiement", data.method + (f" — {data.reference}" if data.reference else "")),
    ]
    if data.invoice_number:
        rows.append(("Facture réglée", data.invoice_number))
    for caption, value in rows:
        pdf.setFont(REGULAR, 9)
        pdf.setFillColor(GREY)
        pdf.drawString(left, y, caption)
        pdf.setFillColor(INK)
        pdf.setFont(BOLD if caption == "Client" else REGULAR, 10)
        pdf.drawString(left + 38 * mm, y, value[:60])
        y -= 7 * mm
    y -= 4 * mm
    pdf.setFillColor(HexColor("#eef2f7"))
    pdf.roundRect(left, y - 18 * mm, right - left, 22 * mm, 3 * mm, stroke=0, fill=1)
    pdf.setFillColor(INK)
    pdf.setFont(REGULAR, 9)
    pdf.drawString(left + 4 * mm, y - 2 * mm, "Montant reçu")
    pdf.setFont(BOLD, 18)
    pdf.drawRightString(right - 4 * mm, y - 6 * mm, data.currency.format_minor(data.amount_minor))
    pdf.setFont(REGULAR, 8.5)
    pdf.drawString(
        left + 4 * mm,
        y - 14 * mm,
        amount_in_words(data.currency.from_minor(data.amount_minor), data.currency)[:95],
    )
    y -= 30 * mm
    pdf.setFont(REGULAR, 9)
    pdf.setFillColor(GREY)
    remaining = data.currency.format_minor(max(data.remaining_minor, 0))
    pdf.drawString(left, y, f"Reste dû sur le compte après ce paiement : {remaining}")
    if data.remaining_minor < 0:
        pdf.drawString(
            left,
            y - 5 * mm,
            f"Avance en faveur du client : {data.currency.format_minor(-data.remaining_minor)}",
        )
    pdf.drawString(left, y - 12 * mm, f"Reçu par : {data.received_by}")
    pdf.setFont(REGULAR, 7.5)
    pdf.drawString(left, 12 * mm, "Conservez ce reçu : il vous sera demandé en cas de réclamation.")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def render_cancellation_slip(slip: CancellationSlipData) -> bytes:
    """The bordereau d'annulation d'encaissement, on A5 like the receipt it cancels."""
    register_fonts()
    data = slip.receipt
    buffer = io.BytesIO()
    width, height = A5
    pdf = Canvas(buffer, pagesize=A5, invariant=True)
    pdf.setTitle(f"Annulation du reçu {data.receipt_number}")
    pdf.setAuthor(data.agency_name)
    left, right = 14 * mm, width - 14 * mm
    y = height - 18 * mm
    pdf.setFillColor(INK)
    pdf.setFont(BOLD, 15)
    pdf.drawString(left, y, data.agency_name)
    y -= 16 * mm
    pdf.setFont(BOLD, 12)
    pdf.drawString(left, y, "BORDEREAU D'ANNULATION D'ENCAISSEMENT")
    pdf.setFont(REGULAR, 9)
    pdf.setFillColor(GREY)
    pdf.drawString(left, y - 6 * mm, slip.cancelled_at.strftime("le %d/%m/%Y à %H:%M"))
    y -= 14 * mm
    pdf.setStrokeColor(INK)
    pdf.line(left, y, right, y)
    y -= 8 * mm
    rows = [
        ("Reçu annulé", f"N° {data.receipt_number} du {data.paid_at:%d/%m/%Y à %H:%M}"),
        ("Client", data.customer_name),
        ("Compte", data.account_number),
        ("Mode de paiement", data.method + (f" — {data.reference}" if data.reference else "")),
        ("Montant annulé", data.currency.format_minor(data.amount_minor)),
        ("Motif", slip.reason),
        ("Annulé par", slip.cancelled_by),
        ("Encaissé par", data.received_by),
    ]
    for caption, value in rows:
        pdf.setFont(REGULAR, 9)
        pdf.setFillColor(GREY)
        pdf.drawString(left, y, caption)
        pdf.setFillColor(INK)
        pdf.setFont(BOLD if caption == "Montant annulé" else REGULAR, 10)
        text = pdf.beginText(left + 38 * mm, y)
        for chunk in _wrap(value, 52):
            text.textLine(chunk)
            y -= 5 * mm
        pdf.drawText(text)
        y -= 2.5 * mm
    y -= 6 * mm
    pdf.setFont(REGULAR, 9)
    pdf.setFillColor(GREY)
    after = slip.balance_after_minor
    if after >= 0:
        pdf.drawString(left, y, f"Reste dû sur le compte après l'annulation : "
                                f"{data.currency.format_minor(after)}")
    else:
        pdf.drawString(left, y, f"Avance en faveur du client après l'annulation : "
                                f"{data.currency.format_minor(-after)}")
    pdf.setFont(REGULAR, 7.5)
    pdf.drawString(left, 12 * mm, "Le reçu annulé reste au dossier ; ce bordereau l'accompagne.")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width) or [""]
