"""reportlab set-up shared by every PDF: the DejaVu fonts shipped in ``resources/fonts`` (the
built-in Helvetica has no glyphs for many characters of our customers' names)."""

from __future__ import annotations

from functools import cache

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from resources import RESOURCES

REGULAR = "DejaVuSans"
BOLD = "DejaVuSans-Bold"


@cache
def register_fonts() -> None:
    for name in (REGULAR, BOLD):
        pdfmetrics.registerFont(TTFont(name, str(RESOURCES / "fonts" / f"{name}.ttf")))
