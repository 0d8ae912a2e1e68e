"""The consolidated report of a month's supplier invoices: per supplier and agency (CSV), with
the detail per site (PDF). Amounts are net of credit notes, in the invoices' currency."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from babel.numbers import get_currency_precision
from sqlalchemy import Connection, case, func, select

from app.models import Agency, SupplierInvoice, SupplierInvoiceLine

COLUMNS = ("supplier", "agency", "invoices", "credit_notes", "amount_excl_vat", "vat", "total")


@dataclass(frozen=True)
class Row:
    supplier: str
    supplier_name: str
    agency: str
    currency: str
    invoices: int
    credit_notes: int
    amount_excl_vat_minor: int
    vat_minor: int
    total_minor: int


@dataclass(frozen=True)
class SiteRow:
    supplier: str
    agency: str
    site: str
    currency: str
    invoices: int
    amount_excl_vat_minor: int
    vat_minor: int


def month_bounds(month: str) -> tuple[date, date]:
    year, number = map(int, month.split("-"))
    start = date(year, number, 1)
    end = date(year + (number == 12), number % 12 + 1, 1)
    return start, end


def decimal_text(minor: int, currency: str) -> str:
    """Decimal point, no grouping, the currency's decimals."""
    exponent = int(get_currency_precision(currency))
    return f"{Decimal(minor).scaleb(-exponent):.{exponent}f}"


def consolidated(connection: Connection, month: str) -> list[Row]:
    start, end = month_bounds(month)
    si = SupplierInvoice.__table__.c
    ag = Agency.__table__.c
    query = (
        select(si.supplier_code, func.max(si.supplier_name), ag.code, si.currency,
               func.sum(case((si.is_credit_note.is_(False), 1), else_=0)),
               func.sum(case((si.is_credit_note.is_(True), 1), else_=0)),
               func.sum(si.amount_excl_vat_minor), func.sum(si.vat_minor),
               func.sum(si.total_minor))
        .join_from(SupplierInvoice.__table__, Agency.__table__, ag.id == si.agency_id)
        .where(si.issued_on >= start, si.issued_on < end)
        .group_by(si.supplier_code, ag.code, si.currency)
        .order_by(si.supplier_code, ag.code, si.currency)
    )
    return [Row(*map(_plain, row)) for row in connection.execute(query)]


def per_site(connection: Connection, month: str) -> list[SiteRow]:
    start, end = month_bounds(month)
    si = SupplierInvoice.__table__.c
    li = SupplierInvoiceLine.__table__.c
    ag = Agency.__table__.c
    query = (
        select(si.supplier_code, ag.code, li.site_reference, si.currency,
               func.count(func.distinct(si.id)), func.sum(li.amount_excl_vat_minor),
               func.sum(li.vat_minor))
        .select_from(SupplierInvoiceLine.__table__)
        .join(SupplierInvoice.__table__, si.id == li.supplier_invoice_id)
        .join(Agency.__table__, ag.id == si.agency_id)
        .where(si.issued_on >= start, si.issued_on < end)
        .group_by(si.supplier_code, ag.code, li.site_reference, si.currency)
        .order_by(si.supplier_code, ag.code, li.site_reference)
    )
    return [SiteRow(*map(_plain, row)) for row in connection.execute(query)]


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, Decimal) else value


def write_csv(rows: list[Row], handle: IO[str]) -> None:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([row.supplier, row.agency, row.invoices, row.credit_notes,
                         decimal_text(row.amount_excl_vat_minor, row.currency),
                         decimal_text(row.vat_minor, row.currency),
                         decimal_text(row.total_minor, row.currency)])


def write_pdf(rows: list[Row], sites: list[SiteRow], month: str, path: Path) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                       ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8EEF4")),
                       ("ALIGN", (2, 1), (-1, -1), "RIGHT"), ("FONTSIZE", (0, 0), (-1, -1), 8)])
    story: list[object] = [Paragraph(f"Factures fournisseurs consolidées — {month}",
                                     styles["Title"])]
    if not rows:
        story.append(Paragraph("Aucune facture fournisseur ce mois-ci.", styles["Normal"]))
    suppliers = sorted({(r.supplier, r.supplier_name) for r in rows})
    for code, name in suppliers:
        story.append(Paragraph(f"{name} ({code})", styles["Heading2"]))
        table = [["Agence", "Devise", "Factures", "Avoirs", "HT", "TVA", "TTC"]]
        for r in (r for r in rows if r.supplier == code):
            table.append([r.agency, r.currency, str(r.invoices), str(r.credit_notes),
                          decimal_text(r.amount_excl_vat_minor, r.currency),
                          decimal_text(r.vat_minor, r.currency),
                          decimal_text(r.total_minor, r.currency)])
        story.append(Table(table, style=grid, repeatRows=1))
        story.append(Spacer(1, 4 * mm))
        story.append(Paragraph("Par site", styles["Heading3"]))
        detail = [["Agence", "Site", "Devise", "Documents", "HT", "TVA", "TTC"]]
        for s in (s for s in sites if s.supplier == code):
            detail.append([s.agency, s.site, s.currency, str(s.invoices),
                           decimal_text(s.amount_excl_vat_minor, s.currency),
                           decimal_text(s.vat_minor, s.currency),
                           decimal_text(s.amount_excl_vat_minor + s.vat_minor, s.currency)])
        story.append(Table(detail, style=grid, repeatRows=1))
    SimpleDocTemplate(str(path), pagesize=landscape(A4), title=f"Factures fournisseurs {month}",
                      leftMargin=12 * mm, rightMargin=12 * mm).build(story)
