"""A duplicata is the original document's stored bytes with a stamp laid over each page: the
original's figures are never computed again."""

from __future__ import annotations

import io

from pypdf import PdfReader, PdfWriter
from reportlab.lib.colors import Color
from reportlab.pdfgen.canvas import Canvas

from app.services.documents.pdf import BOLD, REGULAR, register_fonts


def _overlay(width: float, height: float, note: str) -> PdfReader:
    register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height), invariant=True)
    canvas.saveState()
    canvas.setFillColor(Color(0.75, 0.1, 0.1, alpha=0.25))
    canvas.setFont(BOLD, min(width, height) / 7)
    canvas.translate(width / 2, height / 2)
    canvas.rotate(35)
    canvas.drawCentredString(0, 0, "DUPLICATA")
    canvas.restoreState()
    canvas.setFillColor(Color(0.6, 0.1, 0.1))
    canvas.setFont(REGULAR, 7.5)
    canvas.drawCentredString(width / 2, 7 * 2.835, note)
    canvas.showPage()
    canvas.save()
    return PdfReader(io.BytesIO(buffer.getvalue()))


def stamp_duplicate(original: bytes, note: str) -> bytes:
    """The original PDF with "DUPLICATA" and ``note`` (when, by whom) over every page."""
    writer = PdfWriter(clone_from=io.BytesIO(original))
    for page in writer.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        page.merge_page(_overlay(width, height, note).pages[0])
    title = writer.metadata.title if writer.metadata and writer.metadata.title else ""
    writer.add_metadata({"/Title": f"Duplicata — {title}"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
