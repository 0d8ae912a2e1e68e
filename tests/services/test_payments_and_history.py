from __future__ import annotations

import io
from dataclasses import replace
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.models import AuditEntry, Document, Payment
from app.models.enums import PaymentMethod
from app.services.account_check import check_account
from app.services.customer_edit import IdentityInput, update_identity
from app.services.customer_file import load_customer_file
from app.services.history import file_history, restore_value
from app.services.payments import original_receipt, record_payment, reprint_receipt
from app.services.statements import account_statement
from kernel.context import ServiceContext
from kernel.errors import BusinessError, NotFoundError, ValidationError
from kernel.identifiers import format_account_number
from tests.services.helpers import household


def _text(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_payment_gets_a_numbered_receipt_stored_as_issued(ctx: ServiceContext) -> None:
    home = household(ctx)
    receipt = record_payment(ctx, home.account_id, Decimal("12500"), PaymentMethod.CASH, confirmed=True)
    year = ctx.installation.today().year
    assert receipt.receipt_number == f"RC101-{year}-000001"
    text = _text(receipt.pdf)
    assert "REÇU D'ENCAISSEMENT" in text and receipt.receipt_number in text
    assert "12\u202f500" in text or "12 500" in text
    assert "Douze mille cinq cents francs CFA" in text
    assert "Mme KONÉ Hélène" in text and format_account_number(home.account_number) in text
    assert original_receipt(ctx, receipt.payment_id) == receipt.pdf
    second = record_payment(ctx, home.account_id, Decimal("500"), PaymentMethod.MOBILE_MONEY, "MP261115.1234.000042", confirmed=True)
    assert second.receipt_number == f"RC101-{year}-000002"


def test_a_reprint_is_a_marked_duplicate_and_is_logged(ctx: ServiceContext) -> None:
    home = household(ctx)
    receipt = record_payment(ctx, home.account_id, Decimal("3000"), PaymentMethod.CASH, confirmed=True)
    duplicate = reprint_receipt(ctx, receipt.payment_id)
    assert "DUPLICATA" in _text(duplicate.pdf) and "DUPLICATA" not in _text(receipt.pdf)
    assert original_receipt(ctx, receipt.payment_id) == receipt.pdf
    with ctx.reading() as session:
        document = session.scalars(select(Document)).one()
        assert document.reprint_count == 1
        audit = session.scalars(select(AuditEntry).where(AuditEntry.table_name == "document",
                                                         AuditEntry.reason != "")).one()
    assert audit.changes == {"reprint_count": [0, 1]} and "duplicata" in audit.reason


@pytest.mark.parametrize(
    ("amount", "method", "reference", "field"),
    [(Decimal("0"), PaymentMethod.CASH, "", "amount"),
     (Decimal("10.5"), PaymentMethod.CASH, "", "amount"),
     (Decimal("1000"), PaymentMethod.CHEQUE, "", "reference")],
)
def test_wrong_payments_are_refused_and_nothing_is_numbered(
    ctx: ServiceContext, amount: Decimal, method: PaymentMethod, reference: str, field: str
) -> None:
    home = household(ctx)
    with pytest.raises(ValidationError) as error:
        record_payment(ctx, home.account_id, amount, method, reference)
    assert field in error.value.fields
    assert record_payment(ctx, home.account_id, Decimal("100"), PaymentMethod.CASH, confirmed=True).receipt_number.endswith("000001")


def test_the_statement_runs_to_what_is_owed(ctx: ServiceContext) -> None:
    home = household(ctx)
    record_payment(ctx, home.account_id, Decimal("2000"), PaymentMethod.CASH, confirmed=True)
    statement = account_statement(ctx, home.account_id)
    assert [line.credit_minor for line in statement.lines] == [2000]
    assert statement.closing_minor == -2000
    with ctx.reading() as session:
        assert session.scalar(select(Payment.amount_minor)) == 2000


def test_history_shows_old_and_new_and_a_value_can_be_restored(ctx: ServiceContext) -> None:
    home = household(ctx)
    identity = load_customer_file(ctx, home.customer_id).identity
    update_identity(ctx, home.customer_id, identity.version,
                    replace(IdentityInput.from_identity(identity), email="nouvelle@mail.example"))
    lines = file_history(ctx, home.customer_id)
    change = next(line for line in lines if line.field == "email" and line.operation == "modification")
    assert (change.old, change.new, change.field_label, change.restorable) == ("—", "nouvelle@mail.example", "E-mail", True)
    restore_value(ctx, change.entry_id, "email")
    assert load_customer_file(ctx, home.customer_id).identity.email == ""
    restored = next(line for line in file_history(ctx, home.customer_id) if line.reason.startswith("restauration"))
    assert (restored.old, restored.new) == ("nouvelle@mail.example", "—")
    with pytest.raises(BusinessError, match="déjà cette valeur"):
        restore_value(ctx, change.entry_id, "email")


def test_central_owned_values_are_not_restorable(ctx: ServiceContext) -> None:
    home = household(ctx)
    from app.models import Account

    with ctx.unit_of_work() as uow:
        account = uow.session.get(Account, home.account_id)
        assert account is not None
        account.balance_minor = 999
        uow.commit()
    change = next(line for line in file_history(ctx, home.customer_id) if line.field == "balance_minor")
    assert not change.restorable
    with pytest.raises(BusinessError, match="site central"):
        restore_value(ctx, change.entry_id, "balance_minor")


def test_account_check_answers_civility_and_name(ctx: ServiceContext) -> None:
    home = household(ctx)
    check = check_account(ctx, format_account_number(home.account_number))
    assert (check.civility, check.name, check.status) == ("Mme", "KONÉ Hélène", "Actif")
    wrong_key = home.account_number[:-2] + f"{(int(home.account_number[-2:]) + 1) % 100:02d}"
    with pytest.raises(ValidationError, match="Clé"):
        check_account(ctx, wrong_key)
    with pytest.raises(NotFoundError, match="Aucun compte"):
        from kernel.identifiers import make_account_number

        check_account(ctx, make_account_number("101", 2026, 9_999_999))
