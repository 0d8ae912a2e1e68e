"""Works quotes and invoices through a real synchronisation: the quote (made for a prospect)
reaches central, the deposit, the balance, its credit note and the new balance are integrated
as issued with their agency numbers, and the account's balance is the same on both sides."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import select

from app.models import Account, Commune, Customer, Invoice, Street, SyncParked, WorksQuote
from app.models.database import Database
from app.models.enums import ApprovalMethod, Civility, InvoiceKind, InvoiceStatus, QuoteStatus, Role
from app.services.balances import account_balance
from app.services.works.catalogue import item_for, load_catalogue
from app.services.works.invoicing import InvoiceChoice, credit_invoice, invoice_quote
from app.services.works.quotes import (
    Prospect,
    QuoteInput,
    approve_quote,
    create_quote,
    order_works,
    send_quote,
)
from app.services.works.totals import LineInput
from kernel.context import ServiceContext, SignedInUser
from tests.sync.conftest import Central, Desk
from tests.sync.world import assert_same


def _as(ctx: ServiceContext, role: Role) -> ServiceContext:
    return ctx.signed_in(SignedInUser(uuid.uuid4(), role.value, f"Awa {role.value.title()}", role))


def test_works_invoices_reach_central_as_issued(desk: Desk, central: Central) -> None:
    assert desk.sync().status == "succeeded"
    agent = _as(desk.ctx, Role.AGENT)
    items = load_catalogue(agent)
    lines = []
    for code, quantity in (("PEHD-25", "12.5"), ("COFFRET", "1")):
        item = item_for(items, code)
        assert item is not None
        lines.append(LineInput(item.label, Decimal(quantity), item.unit_price_minor,
                               item.vat_rate, item.unit, catalogue_item_id=item.item_id))
    with agent.reading() as session:
        commune = session.scalars(select(Commune).where(Commune.name == "Cocody")).one()
        street = session.scalars(select(Street).where(Street.commune_id == commune.id)).first()
        assert street is not None
    quote = create_quote(agent, QuoteInput(lines, prospect=Prospect(
        Civility.MRS, "Bamba", "Awa", "0701020304", commune.id, street.id, "3")))
    send_quote(agent, quote.quote_id)
    approve_quote(agent, quote.quote_id, "Awa Bamba", ApprovalMethod.IN_PERSON)
    deposit = invoice_quote(agent, quote.quote_id, InvoiceChoice.DEPOSIT, Decimal("0.5"))
    order_works(agent, quote.quote_id)
    wrong = invoice_quote(agent, quote.quote_id, InvoiceChoice.BALANCE)
    credit = credit_invoice(_as(desk.ctx, Role.SUPERVISOR), wrong.invoice_id, "erreur de saisie")
    final = invoice_quote(agent, quote.quote_id, InvoiceChoice.BALANCE)
    owed = account_balance(agent, deposit.account_id).current_minor
    assert owed == 50740

    night = desk.sync()
    assert night.status == "succeeded", night.message
    central_db = Database(central.db_url)
    try:
        with central_db.session() as session:
            parked = [(p.table_name, p.error) for p in session.scalars(select(SyncParked))]
            assert not parked, parked[:6]
            invoices = {i.number: i for i in session.scalars(select(Invoice).where(
                Invoice.works_quote_id == quote.quote_id))}
            assert set(invoices) == {deposit.number, wrong.number, credit.number, final.number}
            assert invoices[credit.number].kind is InvoiceKind.CREDIT_NOTE
            assert invoices[wrong.number].status is InvoiceStatus.CREDITED
            assert invoices[final.number].total_minor == final.total_minor
            account = session.get(Account, deposit.account_id)
            assert account is not None and account.balance_minor == owed
            customer = session.get(Customer, account.customer_id)
            assert customer is not None and customer.last_name == "Bamba"
            stored = session.get(WorksQuote, quote.quote_id)
            assert stored is not None and stored.status is QuoteStatus.INVOICED
            assert stored.customer_id == customer.id
        assert account_balance(agent, deposit.account_id).current_minor == owed
        assert_same(desk, central_db)
        quiet = desk.sync()
        assert quiet.status == "succeeded" and quiet.mismatches == []
        assert account_balance(agent, deposit.account_id).current_minor == owed
    finally:
        central_db.dispose()


def test_the_night_expires_quotes_past_their_validity_and_central_gets_them(
        desk: Desk, central: Central) -> None:
    from datetime import timedelta

    from app.models import AuditEntry

    agent = _as(desk.ctx, Role.AGENT)
    item = item_for(load_catalogue(agent), "COFFRET")
    assert item is not None
    with agent.reading() as session:
        commune = session.scalars(select(Commune).where(Commune.name == "Cocody")).one()
    lines = [LineInput(item.label, Decimal(1), item.unit_price_minor, item.vat_rate, item.unit,
                       catalogue_item_id=item.item_id)]
    made = [create_quote(agent, QuoteInput(lines, prospect=Prospect(
        Civility.MR, name, "Ali", "0701020304", commune.id, None, "", "lot 4")))
        for name in ("Yao", "Koffi")]
    for quote in made:
        send_quote(agent, quote.quote_id)
    today = agent.installation.today()
    with agent.unit_of_work() as uow:  # the first one's validity ended yesterday
        stored = uow.session.get(WorksQuote, made[0].quote_id)
        assert stored is not None
        stored.issued_on, stored.valid_until = today - timedelta(days=40), today - timedelta(days=1)
        uow.commit()

    night = desk.sync()
    assert night.status == "succeeded", night.message
    assert night.report["expired_quotes"] == [made[0].number]
    with agent.reading() as session:
        first, second = (session.get(WorksQuote, q.quote_id) for q in made)
        assert first is not None and first.status is QuoteStatus.EXPIRED
        assert first.expired_at is not None
        assert second is not None and second.status is QuoteStatus.SENT
        audit = session.scalars(select(AuditEntry).where(
            AuditEntry.row_id == made[0].quote_id,
            AuditEntry.reason == "validité des devis dépassée")).one()
        assert audit.changes["status"][1] == "expired"
    central_db = Database(central.db_url)
    try:
        with central_db.session() as session:
            stored = session.get(WorksQuote, made[0].quote_id)
            assert stored is not None and stored.status is QuoteStatus.EXPIRED
    finally:
        central_db.dispose()
    assert desk.sync().report["expired_quotes"] == []
