"""Rows that set central moving: a works invoice issued at the desk is integrated as issued,
payments move the account's balance, and both balances come back down as central changes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from app.models import Account, Invoice, SyncParked
from tests.central.sync.kit import Central, Desk


def _balance(central: Central, account: uuid.UUID) -> tuple[int, int]:
    with central.db.reading() as session:
        row = session.get(Account, account)
        assert row is not None
        return row.balance_minor, row.version


def _down(desk: Desk, account: uuid.UUID) -> list[Any]:
    return [e["changes"]["balance_minor"][1] for c in desk.get("changes", after=0)["commits"]
            for e in c["entries"] if e["row"] == str(account) and e["op"] == "update"
            and "balance_minor" in e["changes"]]


def test_payments_move_the_balance_and_the_desk_downloads_it(central: Central) -> None:
    desk = central.desks["101"]
    account = central.subs["101"].account_id
    payment = uuid.uuid4()
    answer = desk.send([desk.insert("payment", {
        "receipt_number": "RC101-2026-000001", "account_id": account, "amount_minor": 5000,
        "method": "cash", "paid_at": datetime(2026, 11, 21, 10, tzinfo=UTC)}, row=payment)])
    assert answer["applied"] == 1
    assert _balance(central, account) == (-5000, 2)
    desk.send([desk.entry("payment", payment, "update", 1, 2, {"is_cancelled": (False, True)})])
    assert _balance(central, account) == (0, 3)
    assert _down(desk, account) == [-5000, 0]


def test_a_works_invoice_from_the_desk_is_integrated_with_its_number(central: Central) -> None:
    desk = central.desks["101"]
    account = central.subs["101"].account_id
    invoice, line = uuid.uuid4(), uuid.uuid4()
    tx = uuid.uuid4()
    answer = desk.send([
        desk.insert("invoice", {
            "number": "FT101-2026-000007", "kind": "works", "status": "issued",
            "account_id": account, "issued_on": "2026-11-20", "total_excl_vat_minor": 10000,
            "vat_minor": 1800, "total_minor": 11800, "is_estimated": False}, tx=tx, row=invoice),
        desk.insert("invoice_line", {
            "invoice_id": invoice, "position": 1, "kind": "works", "label": "Branchement",
            "quantity": "1", "unit": "u", "unit_price": "10000",
            "amount_excl_vat_minor": 10000, "vat_rate": "0.18", "vat_minor": 1800,
            "amount_minor": 11800}, tx=tx, row=line),
    ])
    assert answer["applied"] == 2, answer
    with central.db.reading() as session:
        stored = session.get(Invoice, invoice)
        assert stored is not None
        assert (stored.number, stored.total_minor, stored.version) == (
            "FT101-2026-000007", 11800, 1)
        assert [(li.id, li.label) for li in stored.lines] == [(line, "Branchement")]
    assert _balance(central, account)[0] == 11800
    assert _down(desk, account) == [11800]


def test_an_inconsistent_works_invoice_is_parked_with_the_reason(central: Central) -> None:
    desk = central.desks["101"]
    invoice = uuid.uuid4()
    tx = uuid.uuid4()
    answer = desk.send([
        desk.insert("invoice", {
            "number": "FT101-2026-000008", "kind": "works", "status": "issued",
            "account_id": central.subs["101"].account_id, "issued_on": "2026-11-20",
            "total_excl_vat_minor": 999, "vat_minor": 0, "total_minor": 999}, tx=tx, row=invoice),
        desk.insert("invoice_line", {
            "invoice_id": invoice, "position": 1, "kind": "works", "label": "x",
            "quantity": "1", "unit_price": "1", "amount_excl_vat_minor": 1, "vat_rate": "0",
            "vat_minor": 0, "amount_minor": 1}, tx=tx),
    ])
    assert answer["parked"] == 2
    with central.db.reading() as session:
        assert session.get(Invoice, invoice) is None
        (error,) = [p.error for p in session.scalars(select(SyncParked)) if p.error]
    assert "totaux" in error
    assert _balance(central, central.subs["101"].account_id) == (0, 1)
