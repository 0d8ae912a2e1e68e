"""The counter's money: unusual payments confirmed, cancellation by a supervisor, duplicata as a
copy of the original, one solde à jour everywhere, the statement's cut-off in several zones."""

from __future__ import annotations

import io
import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update

from app.models import (
    Account,
    AuditEntry,
    Document,
    Invoice,
    Payment,
    SyncJournalEntry,
    SyncOutboxBatch,
    SyncState,
)
from app.models.capture import SYSTEM
from app.models.enums import InvoiceKind, PaymentMethod, Role
from app.models.ids import utcnow
from app.services.balances import account_balance
from app.services.customer_file import load_customer_file
from app.services.payments import (
    PaymentNeedsConfirmation,
    account_payments,
    cancel_payment,
    original_receipt,
    payment_proposal,
    record_payment,
    reprint_receipt,
)
from app.services.search import search_customers
from app.services.statements import account_statement
from kernel.context import ServiceContext, SignedInUser, UnitOfWork
from kernel.errors import BusinessError, PermissionDeniedError, ValidationError
from tests.services.helpers import household


def _text(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _as(ctx: ServiceContext, role: Role) -> ServiceContext:
    return ctx.signed_in(SignedInUser(uuid.uuid4(), role.value, f"Awa {role.value.title()}", role))


def _from_central(ctx: ServiceContext) -> UnitOfWork:
    return UnitOfWork(ctx.db, SYSTEM, from_server=True)


def _central_balance(ctx: ServiceContext, account_id: uuid.UUID, minor: int, as_of: datetime) -> None:
    with _from_central(ctx) as uow:
        uow.session.execute(
            update(Account).where(Account.id == account_id).values(balance_minor=minor, balance_as_of=as_of)
        )
        uow.commit()


def _invoice(ctx: ServiceContext, account_id: uuid.UUID, number: str, issued_on: date, total: int,
             contract_id: uuid.UUID | None = None) -> uuid.UUID:
    with _from_central(ctx) as uow:
        invoice = Invoice(agency_id=ctx.installation.agency_id, number=number, kind=InvoiceKind.CONSUMPTION,
                          account_id=account_id, contract_id=contract_id, period=f"{issued_on:%Y-%m}",
                          issued_on=issued_on, total_minor=total)
        uow.session.add(invoice)
        uow.session.flush()
        uow.commit()
        return invoice.id


def _night(ctx: ServiceContext, account_id: uuid.UUID) -> None:
    """What a synchronisation does to the desk: every journal entry sent in an acknowledged
    batch, central's recomputed balance downloaded, the download cursor moved."""
    with ctx.unit_of_work() as uow:
        session = uow.session
        number = int(session.scalar(select(SyncOutboxBatch.number).order_by(SyncOutboxBatch.number.desc()).limit(1)) or 0) + 1
        first = int(session.scalar(select(SyncJournalEntry.seq).order_by(SyncJournalEntry.seq).limit(1)) or 0)
        last = int(session.scalar(select(SyncJournalEntry.seq).order_by(SyncJournalEntry.seq.desc()).limit(1)) or 0)
        now = utcnow()
        session.add(SyncOutboxBatch(number=number, first_seq=first, last_seq=last, rows=1, sha256="0" * 64,
                                    payload=b"", acked_at=now - timedelta(seconds=2)))
        session.execute(update(SyncJournalEntry).where(SyncJournalEntry.batch_number.is_(None))
                        .values(batch_number=number))
        invoiced = sum(session.scalars(select(Invoice.total_minor).where(Invoice.account_id == account_id)))
        paid = sum(session.scalars(select(Payment.amount_minor).where(
            Payment.account_id == account_id, Payment.is_cancelled.is_(False))))
        cursor = session.get(SyncState, "download.cursor")
        if cursor is None:
            session.add(SyncState(key="download.cursor", value="1", updated_at=now))
        else:
            cursor.value, cursor.updated_at = str(int(cursor.value) + 1), now
        uow.commit()
    _central_balance(ctx, account_id, invoiced - paid, now - timedelta(seconds=1))


def _searched_balance(ctx: ServiceContext, customer_id: uuid.UUID) -> int | None:
    """The solde à jour the search's results show for this customer (found by account number)."""
    with ctx.reading() as session:
        number = session.scalars(select(Account.number).where(Account.customer_id == customer_id)).one()
    hits = [h for h in search_customers(ctx, number).hits if h.customer_id == customer_id]
    assert len(hits) == 1
    return hits[0].balance_minor


# --- unusual amounts -----------------------------------------------------------------------


def test_a_payment_above_what_is_owed_asks_for_confirmation_showing_the_advance(ctx: ServiceContext) -> None:
    home = household(ctx)
    _invoice(ctx, home.account_id, "FC2026-00000101", ctx.installation.today(), 4372)
    _central_balance(ctx, home.account_id, 4372, utcnow())
    with pytest.raises(PaymentNeedsConfirmation) as asked:
        record_payment(ctx, home.account_id, Decimal(1_004_372), PaymentMethod.CASH)
    assert asked.value.advance_minor == 1_000_000
    assert "avance de 1\u202f000\u202f000\xa0F\u202fCFA" in asked.value.message
    assert "doit 4\u202f372" in asked.value.message
    with ctx.reading() as session:
        assert session.scalar(select(Payment.id)) is None
    record_payment(ctx, home.account_id, Decimal(4372), PaymentMethod.CASH)  # what is owed: no question
    with pytest.raises(PaymentNeedsConfirmation, match="ne doit rien"):
        record_payment(ctx, home.account_id, Decimal(100), PaymentMethod.CASH)
    taken = record_payment(ctx, home.account_id, Decimal(100), PaymentMethod.CASH, confirmed=True)
    assert "Avance en faveur du client : 100" in _text(taken.pdf)


def test_a_payment_above_the_ceiling_asks_even_when_it_is_owed(ctx: ServiceContext) -> None:
    home = household(ctx)
    _central_balance(ctx, home.account_id, 2_000_000, utcnow())
    low = ServiceContext(ctx.db, replace(ctx.installation, payment_confirm_above=Decimal(100_000)), ctx.user)
    with pytest.raises(PaymentNeedsConfirmation, match="dépasse 100\u202f000") as asked:
        record_payment(low, home.account_id, Decimal(150_000), PaymentMethod.CASH)
    assert asked.value.advance_minor == 0
    record_payment(low, home.account_id, Decimal(150_000), PaymentMethod.CASH, confirmed=True)
    record_payment(low, home.account_id, Decimal(90_000), PaymentMethod.CASH)


def test_the_proposal_is_the_balance_and_the_oldest_unpaid_invoice(ctx: ServiceContext) -> None:
    home = household(ctx)
    today = ctx.installation.today()
    _invoice(ctx, home.account_id, "FC2026-00000201", today - timedelta(days=40), 3000)
    older = _invoice(ctx, home.account_id, "FC2026-00000200", today - timedelta(days=70), 2500)
    _central_balance(ctx, home.account_id, 5500, utcnow())
    proposal = payment_proposal(ctx, home.account_id)
    assert proposal.owed_minor == 5500 and proposal.oldest_invoice == (older, "FC2026-00000200", 2500)
    record_payment(ctx, home.account_id, Decimal(2500), PaymentMethod.CASH, invoice_id=older)
    proposal = payment_proposal(ctx, home.account_id)
    assert proposal.owed_minor == 3000 and proposal.oldest_invoice is not None
    assert proposal.oldest_invoice[1] == "FC2026-00000201"


# --- cancellation --------------------------------------------------------------------------


def test_only_a_supervisor_cancels_a_payment_and_with_a_reason(ctx: ServiceContext) -> None:
    home = household(ctx)
    receipt = record_payment(ctx, home.account_id, Decimal(5000), PaymentMethod.CASH, confirmed=True)
    with pytest.raises(PermissionDeniedError, match="superviseur"):
        cancel_payment(_as(ctx, Role.AGENT), receipt.payment_id, "montant erroné")
    supervisor = _as(ctx, Role.SUPERVISOR)
    with pytest.raises(ValidationError) as error:
        cancel_payment(supervisor, receipt.payment_id, "  ")
    assert "reason" in error.value.fields
    with ctx.reading() as session:
        assert session.scalar(select(Payment.is_cancelled)) is False


def test_a_cancellation_keeps_the_receipt_issues_a_slip_and_is_audited_and_journaled(
    ctx: ServiceContext,
) -> None:
    home = household(ctx)
    receipt = record_payment(ctx, home.account_id, Decimal(5000), PaymentMethod.CASH, confirmed=True)
    supervisor = _as(ctx, Role.SUPERVISOR)
    slip = cancel_payment(supervisor, receipt.payment_id, "Montant saisi deux fois")
    text = _text(slip.pdf)
    assert "BORDEREAU D'ANNULATION" in text and receipt.receipt_number in text
    assert "Montant saisi deux fois" in text and "Awa Supervisor" in text
    assert original_receipt(ctx, receipt.payment_id) == receipt.pdf
    with ctx.reading() as session:
        payment = session.get(Payment, receipt.payment_id)
        assert payment is not None and payment.is_cancelled and payment.cancelled_by == "Awa Supervisor"
        assert payment.cancelled_at is not None and payment.cancellation_document_id is not None
        stored = session.get(Document, payment.cancellation_document_id)
        assert stored is not None and stored.content == slip.pdf
        audits = session.scalars(select(AuditEntry).where(AuditEntry.table_name == "payment",
                                                          AuditEntry.reason != "")).all()
        audit = next(a for a in audits if "is_cancelled" in a.changes)
        assert audit.changes["is_cancelled"] == [False, True] and "Montant saisi deux fois" in audit.reason
        assert audit.username == "supervisor"
        journaled = session.scalars(select(SyncJournalEntry).where(
            SyncJournalEntry.table_name == "payment", SyncJournalEntry.operation == "update")).all()
        assert any(j.changes.get("is_cancelled") == [False, True] for j in journaled)
    with pytest.raises(BusinessError, match="déjà annulé"):
        cancel_payment(supervisor, receipt.payment_id, "une seconde fois")
    assert account_payments(ctx, home.account_id)[0].cancellation.startswith("Annulé le ")


def test_statement_and_balance_show_the_payment_and_its_cancellation(ctx: ServiceContext) -> None:
    home = household(ctx)
    _invoice(ctx, home.account_id, "FC2026-00000301", ctx.installation.today() - timedelta(days=3), 4372)
    _central_balance(ctx, home.account_id, 4372, utcnow())
    receipt = record_payment(ctx, home.account_id, Decimal(4372), PaymentMethod.CASH)
    assert account_balance(ctx, home.account_id).current_minor == 0 == _searched_balance(ctx, home.customer_id)
    cancel_payment(_as(ctx, Role.SUPERVISOR), receipt.payment_id, "Chèque sans provision")
    assert _searched_balance(ctx, home.customer_id) == 4372
    statement = account_statement(ctx, home.account_id)
    assert [(line.debit_minor, line.credit_minor, line.balance_minor) for line in statement.lines] == [
        (4372, 0, 4372), (0, 4372, 0), (4372, 0, 4372)]
    assert statement.lines[2].label.startswith("Annulation de l'encaissement")
    assert statement.closing_minor == 4372 == account_balance(ctx, home.account_id).current_minor
    file = load_customer_file(ctx, home.customer_id)
    assert file.accounts[0].balance_minor == 4372
    _night(ctx, home.account_id)  # central counts neither: the balance stays, both lines stay
    after = account_statement(ctx, home.account_id)
    assert after.closing_minor == 4372 and len(after.lines) == 3
    assert not after.balance.has_local_changes


# --- one balance ---------------------------------------------------------------------------


def test_the_file_the_statement_and_the_receipt_agree_right_after_a_payment_and_after_the_night(
    ctx: ServiceContext,
) -> None:
    home = household(ctx)
    _invoice(ctx, home.account_id, "FC2026-00000401", ctx.installation.today() - timedelta(days=5), 4372)
    _central_balance(ctx, home.account_id, 4372, utcnow() - timedelta(days=1))
    receipt = record_payment(ctx, home.account_id, Decimal(4372), PaymentMethod.CASH)
    assert "Reste dû sur le compte après ce paiement : 0" in _text(receipt.pdf)
    balance = account_balance(ctx, home.account_id)
    assert (balance.central_minor, balance.payments_minor, balance.current_minor) == (4372, 4372, 0)
    assert load_customer_file(ctx, home.customer_id).accounts[0].balance_minor == 0
    assert account_statement(ctx, home.account_id).closing_minor == 0
    assert _searched_balance(ctx, home.customer_id) == 0
    _night(ctx, home.account_id)
    balance = account_balance(ctx, home.account_id)
    assert (balance.central_minor, balance.payments_minor, balance.current_minor) == (0, 0, 0)
    assert _searched_balance(ctx, home.customer_id) == 0
    assert account_statement(ctx, home.account_id).closing_minor == 0
    # uploaded but central's balance not downloaded yet: still counted as made here
    record_payment(ctx, home.account_id, Decimal(1000), PaymentMethod.CASH, confirmed=True)
    with ctx.unit_of_work() as uow:
        uow.session.add(SyncOutboxBatch(number=99, first_seq=0, last_seq=0, rows=1, sha256="0" * 64,
                                        payload=b"", acked_at=utcnow() + timedelta(seconds=5)))
        uow.session.execute(update(SyncJournalEntry).where(SyncJournalEntry.batch_number.is_(None))
                            .values(batch_number=99))
        uow.commit()
    assert account_balance(ctx, home.account_id).current_minor == -1000
    assert _searched_balance(ctx, home.customer_id) == -1000


@pytest.mark.parametrize("zone", ["Africa/Abidjan", "Indian/Reunion", "America/Cayenne"])
def test_an_invoice_dated_after_centrals_balance_time_is_counted_once(
    ctx: ServiceContext, zone: str
) -> None:
    desk = ServiceContext(ctx.db, replace(ctx.installation, zone=ZoneInfo(zone)), ctx.user)
    home = household(desk)
    today = desk.installation.today()
    _invoice(desk, home.account_id, "FC2026-00000501", today - timedelta(days=31), 10437)
    late = today + timedelta(days=1)  # billing ran between local midnight and UTC midnight
    _invoice(desk, home.account_id, "FC2026-00000502", late, 9912)
    _central_balance(desk, home.account_id, 20349, utcnow() - timedelta(hours=6))
    statement = account_statement(desk, home.account_id)
    assert statement.closing_minor == 20349 and statement.opening_minor == 0
    assert [line.day for line in statement.lines] == [today - timedelta(days=31), late]
    record_payment(desk, home.account_id, Decimal(349), PaymentMethod.CASH)
    assert account_statement(desk, home.account_id).closing_minor == 20000
    assert account_balance(desk, home.account_id).current_minor == 20000


# --- duplicata -----------------------------------------------------------------------------


def test_a_duplicata_is_the_original_stamped_not_a_new_rendering(ctx: ServiceContext) -> None:
    home = household(ctx)
    _central_balance(ctx, home.account_id, 10000, utcnow())
    receipt = record_payment(ctx, home.account_id, Decimal(2462), PaymentMethod.CASH)
    record_payment(ctx, home.account_id, Decimal(7538), PaymentMethod.CASH)  # the balance moves on
    duplicate = reprint_receipt(_as(ctx, Role.AGENT), receipt.payment_id)
    original_text, duplicate_text = _text(receipt.pdf), _text(duplicate.pdf)
    assert "Reste dû sur le compte après ce paiement : 7\u202f538" in original_text.replace(" ", "\u202f", 0)
    assert "7\u202f538" in duplicate_text or "7 538" in duplicate_text
    assert "DUPLICATA" in duplicate_text and "Duplicata n° 1 imprimé le" in duplicate_text
    assert "Awa Agent" in duplicate_text
    reader = PdfReader(io.BytesIO(duplicate.pdf))
    assert len(reader.pages) == 1
    # every word of the original is still there, in the same order
    original_words = original_text.split()
    assert duplicate_text.split()[: len(original_words)] == original_words


# --- history -------------------------------------------------------------------------------


def test_history_speaks_business_words_and_shows_payments_cancellations_and_readings(
    ctx: ServiceContext,
) -> None:
    from app.models import Contract
    from app.services.history import file_history
    from app.services.occupancy import change_occupant
    from app.services.readings import record_reading
    from tests.services.helpers import day_ago

    home = household(ctx)
    receipt = record_payment(ctx, home.account_id, Decimal(4372), PaymentMethod.CASH, confirmed=True)
    cancel_payment(_as(ctx, Role.SUPERVISOR), receipt.payment_id, "Saisi deux fois")
    record_reading(ctx, home.meter_id, day_ago(ctx, 1), 230)
    with ctx.reading() as session:
        version = session.get(Contract, home.contract_id).version  # type: ignore[union-attr]
    change_occupant(ctx, home.connection_id, day_ago(ctx, 0), 240, leaving=(home.contract_id, version),
                    arriving_account_id=None)
    lines = file_history(ctx, home.customer_id)
    shown = [(line.what, line.operation, line.field_label, line.old, line.new) for line in lines]
    paid = next(s for s in shown if s[1] == "encaissement")
    assert paid[0].startswith(f"Encaissement {receipt.receipt_number} de 4\u202f372")
    assert "(espèces)" in paid[4]
    cancelled = next(s for s in shown if s[1] == "annulation" and s[2] == "Annulé")
    assert (cancelled[3], cancelled[4]) == ("non", "oui")
    assert any(s[1] == "annulation" and s[4] == "Saisi deux fois" for s in shown)
    assert any(s[1] == "relève" and s[4].startswith("index 230") for s in shown)
    status = next(s for s in shown if s[0].startswith("Abonnement ") and s[2] == "Statut")
    assert (status[3], status[4]) == ("En cours", "Résilié")
    departure = next(s for s in shown if s[2] == "Relève de départ")
    assert departure[4].startswith(f"Relève du {day_ago(ctx, 0):%d/%m/%Y} (index 240")
    texts = " ".join(" ".join(s) for s in shown)
    assert "_id" not in texts and "active" not in texts and "closed" not in texts
    for s in shown:
        for value in (s[3], s[4]):
            with pytest.raises(ValueError):
                uuid.UUID(value)
