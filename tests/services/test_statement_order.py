"""The account statement's order and labels for corrected invoices (issue 15, defect 8)."""

from __future__ import annotations

from datetime import date

from app.models import Invoice
from app.models.capture import SYSTEM
from app.models.enums import InvoiceKind, InvoiceStatus
from app.services.statements import account_statement
from kernel.context import ServiceContext, UnitOfWork
from tests.services.helpers import household


def test_a_credit_note_follows_the_invoice_it_cancels_and_a_rebill_names_both_months(
    ctx: ServiceContext,
) -> None:
    home = household(ctx)
    day = date(2026, 12, 5)
    with UnitOfWork(ctx.db, SYSTEM) as uow:
        wrong = Invoice(number="FC2026-00000007", kind=InvoiceKind.CONSUMPTION,
                        status=InvoiceStatus.CREDITED, account_id=home.account_id,
                        contract_id=home.contract_id, period="2026-11",
                        period_start=date(2026, 11, 1), period_end=date(2026, 11, 30),
                        issued_on=day, total_minor=15163, agency_id=ctx.installation.agency_id)
        uow.session.add(wrong)
        uow.session.flush()
        uow.session.add_all([
            # Issued the same day: the credit note's number sorts first ("AV" < "FC").
            Invoice(number="AV2026-00000003", kind=InvoiceKind.CREDIT_NOTE,
                    account_id=home.account_id, contract_id=home.contract_id,
                    credited_invoice_id=wrong.id, period="2026-11",
                    period_start=date(2026, 11, 1), period_end=date(2026, 11, 30),
                    issued_on=day, total_minor=-15163, agency_id=ctx.installation.agency_id),
            # The re-bill of October–November (after an estimate): period says the last month.
            Invoice(number="FC2026-00000008", kind=InvoiceKind.CONSUMPTION,
                    account_id=home.account_id, contract_id=home.contract_id, period="2026-11",
                    period_start=date(2026, 10, 1), period_end=date(2026, 11, 30),
                    issued_on=day, total_minor=22450, agency_id=ctx.installation.agency_id),
        ])
        uow.commit()
    statement = account_statement(ctx, home.account_id)
    assert [(line.reference, line.debit_minor, line.credit_minor, line.balance_minor)
            for line in statement.lines] == [
        ("FC2026-00000007", 15163, 0, statement.opening_minor + 15163),
        ("AV2026-00000003", 0, 15163, statement.opening_minor),
        ("FC2026-00000008", 22450, 0, statement.opening_minor + 22450),
    ]
    labels = [line.label for line in statement.lines]
    assert labels[0].endswith(" 2026-11") and labels[2].endswith(" 2026-10 à 2026-11")
