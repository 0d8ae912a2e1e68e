"""Customers with unpaid invoices, and templates made by the tests."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

from docx import Document

from app.models import Account, Invoice
from app.models.enums import InvoiceKind
from app.models.ids import utcnow
from app.services.letters.templates import install_shipped
from kernel.context import ServiceContext
from tests.services.helpers import Household, household


def with_shipped(ctx: ServiceContext) -> None:
    with ctx.unit_of_work() as uow:
        install_shipped(uow.session)
        uow.commit()


def indebted(ctx: ServiceContext, invoices: list[tuple[int, int]], **identity: object) -> Household:
    """A household whose invoices (amount, days past due) are unpaid; balance is their sum."""
    home = household(ctx, None, **identity)
    today = ctx.installation.today()
    with ctx.unit_of_work() as uow:
        for number, (minor, overdue) in enumerate(invoices, start=1):
            uow.session.add(Invoice(
                number=f"FC-T-{uuid.uuid4().hex[:6]}-{number}", kind=InvoiceKind.CONSUMPTION,
                account_id=home.account_id, contract_id=home.contract_id,
                issued_on=today - timedelta(days=overdue + 20), due_on=today - timedelta(days=overdue),
                total_minor=minor, total_excl_vat_minor=minor, period="2026-09"))
        account = uow.session.get(Account, home.account_id)
        assert account is not None
        account.balance_minor = sum(m for m, _ in invoices)
        account.balance_as_of = utcnow()
        uow.commit()
    return home


def docx_of(*paragraphs: str | list[str]) -> bytes:
    """A .docx whose paragraphs are given as text, or as a list of runs (formatting alternates)."""
    document = Document()
    for paragraph in paragraphs:
        if isinstance(paragraph, str):
            document.add_paragraph(paragraph)
            continue
        p = document.add_paragraph()
        for index, text in enumerate(paragraph):
            p.add_run(text).bold = index % 2 == 1
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def text_of(docx: bytes) -> str:
    document = Document(io.BytesIO(docx))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [" | ".join(c.text for c in row.cells) for row in table.rows]
    for section in document.sections:
        parts += [p.text for p in section.header.paragraphs + section.footer.paragraphs]
    return "\n".join(parts).replace("\u00a0", " ")  # amounts are held by no-break spaces
