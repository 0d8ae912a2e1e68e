"""What an operator owes the utility for one local day (its completed sales), written as CSV
and PDF, and the reconciliation with the operator's own statement of that day (CSV with at
least ``reference`` and ``amount`` columns, amounts in minor units)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.models import Meter, VendTransaction
from app.models.database import Database
from app.models.enums import VendStatus
from central.models import VendingOperator
from kernel.errors import NotFoundError, ValidationError
from kernel.money import Currency


@dataclass(frozen=True)
class SettledSale:
    receipt: str
    reference: str
    sold_at: datetime
    meter: str
    phone: str
    energy: str
    amount_minor: int
    energy_minor: int
    fixed_charge_minor: int
    arrears_minor: int
    vat_minor: int


@dataclass
class Settlement:
    operator: str
    operator_name: str
    day: date
    sales: list[SettledSale] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(s, name) for s in self.sales)

    @property
    def energy_kwh(self) -> str:
        from decimal import Decimal

        return str(sum((Decimal(s.energy) for s in self.sales), Decimal(0)))


def settlement(db: Database, operator_code: str, day: date, zone: ZoneInfo) -> Settlement:
    start = datetime.combine(day, time(0), zone)
    with db.reading() as session:
        op = session.scalars(select(VendingOperator)
                             .where(VendingOperator.code == operator_code)).first()
        if op is None:
            raise NotFoundError(f"Opérateur {operator_code} inconnu.")
        rows = session.execute(
            select(VendTransaction, Meter.sts_drn).join(Meter, Meter.id == VendTransaction.meter_id)
            .where(VendTransaction.operator_code == operator_code,
                   VendTransaction.status == VendStatus.COMPLETED,
                   VendTransaction.sold_at >= start,
                   VendTransaction.sold_at < start + timedelta(days=1))
            .order_by(VendTransaction.receipt_number)).all()
        result = Settlement(op.code, op.name, day)
        for sale, drn in rows:
            result.sales.append(SettledSale(
                sale.receipt_number, sale.operator_reference, sale.sold_at.astimezone(zone),
                drn or "", sale.phone, str(sale.energy), sale.amount_minor, sale.energy_minor,
                sale.fixed_charge_minor, sale.arrears_minor, sale.vat_minor))
    return result


_MONEY = ("amount_minor", "energy_minor", "fixed_charge_minor", "arrears_minor", "vat_minor")


def render(result: Settlement, currency: Currency) -> str:
    fmt = currency.format_minor
    lines = [
        f"Règlement de l'opérateur {result.operator} ({result.operator_name}) — "
        f"journée du {result.day.isoformat()}",
        f"  ventes            {len(result.sales)}",
        f"  énergie vendue    {result.energy_kwh} kWh",
        f"  énergie (HT)      {fmt(result.total('energy_minor'))}",
        f"  primes fixes (HT) {fmt(result.total('fixed_charge_minor'))}",
        f"  arriérés          {fmt(result.total('arrears_minor'))}",
        f"  TVA               {fmt(result.total('vat_minor'))}",
        f"  dû par l'opérateur {fmt(result.total('amount_minor'))}",
    ]
    return "\n".join(lines)


def write_csv(result: Settlement, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["receipt", "reference", "sold_at", "meter", "phone", "energy_kwh",
                         "amount", "energy", "fixed_charge", "arrears", "vat"])
        for s in result.sales:
            writer.writerow([s.receipt, s.reference, s.sold_at.isoformat(timespec="seconds"),
                             s.meter, s.phone, s.energy, *(getattr(s, m) for m in _MONEY)])
        writer.writerow(["TOTAL", len(result.sales), "", "", "", result.energy_kwh,
                         *(result.total(m) for m in _MONEY)])


def write_pdf(result: Settlement, currency: Currency, path: Path) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    fmt = currency.format_minor
    styles = getSampleStyleSheet()
    story = [Paragraph(f"Règlement opérateur {result.operator} — {result.day.isoformat()}",
                       styles["Title"]),
             Paragraph(render(result, currency).replace("\n", "<br/>"), styles["Code"]),
             Spacer(1, 12)]
    data = [["Reçu", "Référence", "Heure", "Compteur", "Téléphone", "kWh", "Montant"]]
    for s in result.sales:
        data.append([s.receipt, s.reference, s.sold_at.strftime("%H:%M:%S"), s.meter, s.phone,
                     s.energy, fmt(s.amount_minor)])
    data.append(["Total", str(len(result.sales)), "", "", "", result.energy_kwh,
                 fmt(result.total("amount_minor"))])
    table = Table(data, repeatRows=1)
    table.setStyle(TableStyle([("FONTSIZE", (0, 0), (-1, -1), 8),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                               ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                               ("ALIGN", (5, 1), (-1, -1), "RIGHT")]))
    story.append(table)
    SimpleDocTemplate(str(path), pagesize=landscape(A4),
                      title=f"Règlement {result.operator} {result.day}").build(story)


@dataclass
class Reconciliation:
    matched: int = 0
    missing_ours: list[str] = field(default_factory=list)
    missing_theirs: list[str] = field(default_factory=list)
    differences: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing_ours or self.missing_theirs or self.differences)


def read_statement(text: str) -> dict[str, int]:
    """``{reference: amount}`` from the operator's CSV (``,`` or ``;``, header line)."""
    dialect = ";" if text.splitlines()[0].count(";") > text.splitlines()[0].count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=dialect)
    names = {n.strip().lower(): n for n in reader.fieldnames or []}
    if "reference" not in names or "amount" not in names:
        raise ValidationError({"file": "colonnes reference et amount"},
                              "Relevé de l'opérateur illisible : colonnes « reference » et "
                              "« amount » attendues.")
    found: dict[str, int] = {}
    for number, row in enumerate(reader, start=2):
        reference = (row[names["reference"]] or "").strip()
        try:
            found[reference] = int((row[names["amount"]] or "").strip())
        except ValueError:
            raise ValidationError({"amount": f"ligne {number}"},
                                  f"Relevé : montant illisible ligne {number}.") from None
    return found


def reconcile(result: Settlement, theirs: dict[str, int]) -> Reconciliation:
    ours = {s.reference: s.amount_minor for s in result.sales}
    outcome = Reconciliation()
    for reference, amount in sorted(theirs.items()):
        if reference not in ours:
            outcome.missing_ours.append(reference)
        elif ours[reference] != amount:
            outcome.differences.append((reference, ours[reference], amount))
        else:
            outcome.matched += 1
    outcome.missing_theirs = sorted(set(ours) - set(theirs))
    return outcome
