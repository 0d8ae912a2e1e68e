"""The work order (bon d'intervention) of one job, and a technician's day sheet: the day's jobs
in a table, then each job's work order. A4, with room left for the findings."""

from __future__ import annotations

import io
from datetime import datetime
from xml.sax.saxutils import escape

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from app.services.documents.pdf import BOLD, REGULAR, register_fonts
from app.services.documents.work_order import DaySheetData, WorkOrderData

INK = HexColor("#1f3a5f")
GREY = HexColor("#4a5868")
LIGHT = HexColor("#eef2f7")
LATE = HexColor("#b3261e")


def _styles() -> dict[str, ParagraphStyle]:
    return {
        "title": ParagraphStyle("title", fontName=BOLD, fontSize=15, textColor=INK, leading=18),
        "agency": ParagraphStyle("agency", fontName=BOLD, fontSize=11, textColor=INK),
        "small": ParagraphStyle("small", fontName=REGULAR, fontSize=8.5, textColor=GREY,
                                leading=11),
        "body": ParagraphStyle("body", fontName=REGULAR, fontSize=9.5, leading=12.5),
        "head": ParagraphStyle("head", fontName=BOLD, fontSize=10.5, textColor=INK,
                               spaceBefore=5, spaceAfter=3),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _order_story(agency: str, data: WorkOrderData) -> list[Flowable]:
    s = _styles()
    story: list[Flowable] = [
        _p(agency, s["agency"]),
        Spacer(1, 2 * mm),
        Table([[_p(f"BON D'INTERVENTION N° {data.number}", s["title"]),
                _p(f"{data.kind}\nPriorité {data.priority.lower()} — {data.status.lower()}",
                   s["body"])]], colWidths=[110 * mm, 70 * mm],
              style=TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")])),
        Spacer(1, 3 * mm),
    ]
    due = data.due_at + (" — EN RETARD" if data.overdue else "")
    rows = [
        ("Client", data.customer or "—"), ("Compte", data.account_number or "—"),
        ("Lieu", data.address or "—"), ("Compteur", data.meter_serial or "—"),
        ("Contact", data.contact or "—"), ("Demandée le", data.requested_at),
        ("Échéance", due or "—"),
        ("Technicien", data.technician or "à désigner"),
        ("Prévue le", f"{data.scheduled_for} ({data.duration})" if data.scheduled_for else "—"),
    ]
    if data.disputed_index:
        rows.append(("Index contesté", data.disputed_index))
    if data.quote_number:
        rows.append(("Devis", data.quote_number))
    late = ParagraphStyle("late", parent=s["body"], textColor=LATE, fontName=BOLD)
    table = Table([[_p(k, s["small"]),
                    _p(v, late if k == "Échéance" and data.overdue else s["body"])]
                   for k, v in rows], colWidths=[32 * mm, 148 * mm])
    table.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, -1), 0.3, LIGHT),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [table, _p("Ce qui est demandé", s["head"]), _p(data.description, s["body"])]
    if data.tasks:
        story.append(_p("Travaux à réaliser", s["head"]))
        story.append(Table([[_p(label, s["body"]), _p(qty, s["body"])]
                            for label, qty in data.tasks], colWidths=[150 * mm, 30 * mm],
                           style=TableStyle([("GRID", (0, 0), (-1, -1), 0.3, GREY)])))
    lines = Table([[""] for _ in range(7)], colWidths=[180 * mm], rowHeights=[8 * mm] * 7,
                  style=TableStyle([("LINEBELOW", (0, 0), (-1, -1), 0.3, GREY)]))
    story += [_p("Constatations et travaux effectués", s["head"]), lines]
    parts = Table([[_p("Pièce utilisée", s["small"]), _p("Quantité", s["small"])]]
                  + [["", ""] for _ in range(4)], colWidths=[150 * mm, 30 * mm],
                  rowHeights=[6 * mm] + [7 * mm] * 4,
                  style=TableStyle([("GRID", (0, 0), (-1, -1), 0.3, GREY)]))
    boxes = Table([[_p("Index relevé sur place", s["small"]), "",
                    _p("Temps passé", s["small"]), "",
                    _p("Suite (devis, courrier, autre demande)", s["small"]), ""]],
                  colWidths=[30 * mm, 25 * mm, 22 * mm, 20 * mm, 40 * mm, 43 * mm],
                  rowHeights=[10 * mm],
                  style=TableStyle([("GRID", (0, 0), (-1, -1), 0.3, GREY),
                                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    signatures = Table([[_p("Signature du technicien", s["small"]),
                         _p("Signature du client", s["small"])]],
                       colWidths=[90 * mm, 90 * mm], rowHeights=[18 * mm],
                       style=TableStyle([("BOX", (0, 0), (0, 0), 0.3, GREY),
                                         ("BOX", (1, 0), (1, 0), 0.3, GREY),
                                         ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story += [Spacer(1, 3 * mm), parts, Spacer(1, 3 * mm), boxes, Spacer(1, 4 * mm),
              KeepTogether([signatures])]
    return story


def _document(buffer: io.BytesIO, title: str, agency: str) -> SimpleDocTemplate:
    return SimpleDocTemplate(buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm,
                             topMargin=14 * mm, bottomMargin=14 * mm, title=title,
                             author=agency, invariant=True)


def render_work_order(agency: str, data: WorkOrderData) -> bytes:
    register_fonts()
    buffer = io.BytesIO()
    _document(buffer, f"Bon d'intervention {data.number}", agency).build(
        _order_story(agency, data))
    return buffer.getvalue()


def render_day_sheet(agency: str, sheet: DaySheetData, printed_at: datetime) -> bytes:
    register_fonts()
    s = _styles()
    buffer = io.BytesIO()
    story: list[Flowable] = [
        _p(agency, s["agency"]),
        _p(f"FEUILLE DE JOURNÉE — {sheet.technician}", s["title"]),
        _p(f"{sheet.day} · {len(sheet.jobs)} intervention(s) · imprimée le "
           f"{printed_at:%d/%m/%Y à %H:%M}", s["small"]),
        Spacer(1, 4 * mm),
    ]
    head = [_p(h, s["small"]) for h in ("Heure", "N°", "Type", "Client / lieu", "Compteur")]
    rows = [[_p(j.scheduled_for[-5:], s["body"]), _p(j.number, s["body"]),
             _p(j.kind, s["body"]), _p(f"{j.customer}\n{j.address}".strip(), s["body"]),
             _p(j.meter_serial, s["body"])] for j in sheet.jobs]
    story.append(Table([head] + rows, colWidths=[15 * mm, 36 * mm, 38 * mm, 66 * mm, 25 * mm],
                       repeatRows=1,
                       style=TableStyle([("GRID", (0, 0), (-1, -1), 0.3, GREY),
                                         ("BACKGROUND", (0, 0), (-1, 0), LIGHT),
                                         ("VALIGN", (0, 0), (-1, -1), "TOP")])))
    for job in sheet.jobs:
        story.append(PageBreak())
        story += _order_story(agency, job)
    _document(buffer, f"Feuille de journée {sheet.technician} {sheet.day}", agency).build(story)
    return buffer.getvalue()
