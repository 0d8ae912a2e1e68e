"""Works quotes and works invoices as A4 PDFs: agency letterhead, customer block, a lines table
that breaks across pages with its header repeated, the VAT summary per rate, the total in figures
and in words, legal mentions, and "page n / N" on every page."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from reportlab.lib.colors import HexColor, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.services.documents.pdf import BOLD, REGULAR, register_fonts
from app.services.documents.receipt import amount_in_words
from kernel.money import Currency

INK = HexColor("#1f3a5f")
GREY = HexColor("#4a5868")
PALE = HexColor("#eef2f7")
RULE = HexColor("#c5cfdb")


@dataclass(frozen=True)
class DocumentLine:
    code: str
    label: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    discount_rate: Decimal
    vat_rate: Decimal
    amount_excl_vat_minor: int


@dataclass(frozen=True)
class RateLine:
    vat_rate: Decimal
    base_minor: int
    vat_minor: int


@dataclass(frozen=True)
class WorksDocumentData:
    title: str
    number: str
    issued_on: date
    agency_name: str
    agency_address: str
    agency_phone: str
    customer_name: str
    customer_address: str
    account_number: str
    subject: str
    lines: tuple[DocumentLine, ...]
    rates: tuple[RateLine, ...]
    total_excl_vat_minor: int
    vat_minor: int
    total_minor: int
    currency: Currency
    #: ("Valable jusqu'au", "31/12/2026"), ("Devis", "DV101-…")…
    references: tuple[tuple[str, str], ...] = ()
    mentions: tuple[str, ...] = ()
    #: "Bon pour accord" box (quotes).
    approval_box: bool = False
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _quantity(value: Decimal) -> str:
    text = format(value.normalize(), "f") if value != value.to_integral_value() \
        else str(int(value))
    return text.replace(".", ",")


def _percent(rate: Decimal) -> str:
    return format((rate * 100).normalize(), "f").replace(".", ",") + " %"


class _NumberedCanvas(Canvas):
    """Keeps every page until the end so that each can say "page n / N"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802  (reportlab's name)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self.setFont(REGULAR, 8)
            self.setFillColor(GREY)
            self.drawRightString(A4[0] - 15 * mm, 10 * mm,
                                 f"page {self._pageNumber} / {total}")
            super().showPage()
        super().save()


def render_works_document(data: WorksDocumentData) -> bytes:
    register_fonts()
    buffer = io.BytesIO()
    width, height = A4
    margin = 15 * mm
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=48 * mm,
        bottomMargin=22 * mm, title=f"{data.title.capitalize()} {data.number}",
        author=data.agency_name, invariant=True,
    )
    small = ParagraphStyle("small", fontName=REGULAR, fontSize=8, leading=10, textColor=GREY)
    cell = ParagraphStyle("cell", fontName=REGULAR, fontSize=8.5, leading=10.5, textColor=INK)
    body = ParagraphStyle("body", fontName=REGULAR, fontSize=9.5, leading=12, textColor=INK)
    strong = ParagraphStyle("strong", parent=body, fontName=BOLD)
    currency = data.currency

    def money(minor: int) -> str:
        return currency.format_minor(minor).replace("\u202f", " ").replace("\xa0", " ")

    def letterhead(canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        top = height - 16 * mm
        canvas.setFillColor(INK)
        canvas.setFont(BOLD, 15)
        canvas.drawString(margin, top, data.agency_name)
        canvas.setFont(REGULAR, 8.5)
        canvas.setFillColor(GREY)
        canvas.drawString(margin, top - 5 * mm, data.agency_address)
        canvas.drawString(margin, top - 9 * mm, f"Tél. {data.agency_phone}")
        canvas.setFillColor(INK)
        canvas.setFont(BOLD, 14)
        canvas.drawRightString(width - margin, top, data.title)
        canvas.setFont(BOLD, 10)
        canvas.drawRightString(width - margin, top - 6 * mm, f"N° {data.number}")
        canvas.setFont(REGULAR, 9)
        canvas.drawRightString(width - margin, top - 11 * mm, f"du {data.issued_on:%d/%m/%Y}")
        y = top - 17 * mm
        for caption, value in data.references:
            canvas.setFillColor(GREY)
            canvas.drawRightString(width - margin, y, f"{caption} : {value}")
            y -= 4.5 * mm
        canvas.setStrokeColor(INK)
        canvas.line(margin, height - 44 * mm, width - margin, height - 44 * mm)
        canvas.setFont(REGULAR, 7)
        canvas.setFillColor(GREY)
        canvas.drawString(margin, 10 * mm, f"{data.title.capitalize()} {data.number} — "
                                            f"{data.agency_name}")
        canvas.restoreState()

    story: list[Any] = []
    customer = [Paragraph("Client", small), Paragraph(data.customer_name, strong)]
    if data.customer_address:
        customer.append(Paragraph(data.customer_address, body))
    if data.account_number:
        customer.append(Paragraph(f"Compte n° {data.account_number}", body))
    block = Table([[customer]], colWidths=[95 * mm], hAlign="RIGHT")
    block.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1), PALE),
                               ("BOX", (0, 0), (-1, -1), 0.5, RULE),
                               ("LEFTPADDING", (0, 0), (-1, -1), 4 * mm)]))
    story += [block, Spacer(0, 5 * mm)]
    if data.subject:
        story += [Paragraph(f"Objet : {data.subject}", strong), Spacer(0, 3 * mm)]

    header = ["Code", "Désignation", "Qté", "Unité", "P.U. HT", "Remise", "TVA", "Montant HT"]
    rows: list[list[Any]] = [header]
    for line in data.lines:
        summary_line = not line.unit  # a discount or a deposit: an amount, not a quantity
        rows.append([
            line.code, Paragraph(line.label, cell),
            "" if summary_line else _quantity(line.quantity), line.unit,
            "" if summary_line else money(currency.to_minor(line.unit_price)),
            _percent(line.discount_rate) if line.discount_rate else "",
            _percent(line.vat_rate), money(line.amount_excl_vat_minor),
        ])
    widths = [20 * mm, 62 * mm, 13 * mm, 12 * mm, 22 * mm, 14 * mm, 13 * mm, 24 * mm]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), BOLD, 8.5),
        ("FONT", (0, 1), (-1, -1), REGULAR, 8.5),
        ("TEXTCOLOR", (0, 0), (-1, 0), white),
        ("BACKGROUND", (0, 0), (-1, 0), INK),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [white, PALE]),
        ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, -1), (-1, -1), 0.5, RULE),
    ]))
    story += [table, Spacer(0, 5 * mm)]

    vat_rows: list[list[Any]] = [["Taux de TVA", "Base HT", "TVA"]]
    for rate in data.rates:
        vat_rows.append([_percent(rate.vat_rate), money(rate.base_minor), money(rate.vat_minor)])
    vat_table = Table(vat_rows, colWidths=[24 * mm, 32 * mm, 28 * mm])
    vat_table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), BOLD, 8.5), ("FONT", (0, 1), (-1, -1), REGULAR, 8.5),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"), ("LINEBELOW", (0, 0), (-1, 0), 0.5, INK),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
    ]))
    totals = Table([
        ["Total HT", money(data.total_excl_vat_minor)],
        ["Total TVA", money(data.vat_minor)],
        ["Total TTC", money(data.total_minor)],
    ], colWidths=[30 * mm, 36 * mm])
    totals.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), REGULAR, 9.5), ("FONT", (0, 2), (-1, 2), BOLD, 11),
        ("ALIGN", (1, 0), (1, -1), "RIGHT"), ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("LINEABOVE", (0, 2), (-1, 2), 0.8, INK), ("BACKGROUND", (0, 2), (-1, 2), PALE),
    ]))
    summary = Table([[vat_table, totals]], colWidths=[96 * mm, 84 * mm])
    summary.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                 ("ALIGN", (1, 0), (1, 0), "RIGHT")]))
    words = amount_in_words(currency.from_minor(abs(data.total_minor)), currency)
    if data.total_minor < 0:
        words = f"Moins {words[0].lower()}{words[1:]}"
    closing: list[Any] = [
        summary, Spacer(0, 3 * mm),
        Paragraph(f"Arrêté le présent document à la somme de : <b>{words}</b> toutes taxes "
                  "comprises.", body),
    ]
    if data.notes:
        closing += [Spacer(0, 2 * mm), Paragraph(data.notes.replace("\n", "<br/>"), body)]
    if data.approval_box:
        box = Table([[Paragraph("Bon pour accord — date, nom et signature du client :", small)]],
                    colWidths=[90 * mm], rowHeights=[26 * mm], hAlign="RIGHT")
        box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.6, INK),
                                 ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        closing += [Spacer(0, 4 * mm), box]
    story.append(KeepTogether(closing))
    if data.mentions:
        story.append(Spacer(0, 4 * mm))
        story += [Paragraph(mention, small) for mention in data.mentions]
    doc.build(story, onFirstPage=letterhead, onLaterPages=letterhead,
              canvasmaker=_NumberedCanvas)
    return buffer.getvalue()
