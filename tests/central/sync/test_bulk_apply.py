"""The usual night applied in bulk (central/sync/bulk.py): the same writes as the one-by-one
path, the same ownership and value checks, once; anything unusual goes the one-by-one way."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Text, cast, func, select

from app.models import Account, AuditEntry, MeterReading, Payment, SyncJournalEntry, SyncParked
from central.models import SyncCommit
from central.sync import bulk
from tests.central.sync.kit import Central

PAID = datetime(2026, 11, 21, 9, tzinfo=UTC)


@pytest.fixture
def used(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What ``bulk.apply`` answered for each batch (True: applied in bulk)."""
    answers: list[bool] = []
    real = bulk.apply

    def spy(*args: Any, **kwargs: Any) -> bool:
        answers.append(real(*args, **kwargs))
        return answers[-1]

    monkeypatch.setattr(bulk, "apply", spy)
    return answers


def _day(central: Central, code: str, receipts: str, count: int = 3) -> list[dict[str, Any]]:
    """Readings and payments of one agency's subscription, one transaction each."""
    desk, sub = central.desks[code], central.subs[code]
    entries = []
    for position in range(count):
        entries.append(desk.insert("meter_reading", {
            "meter_id": sub.meter_id, "reading_date": date(2026, 11, 20), "read_at": PAID,
            "index_value": 200 + position, "source": "agent", "kind": "regular",
            "recorded_by": "agent"}))
        entries.append(desk.insert("payment", {
            "account_id": sub.account_id, "receipt_number": f"{receipts}-{position}",
            "amount_minor": 1000 + position, "method": "cash", "paid_at": PAID,
            "received_by": "agent"}))
    return entries


def _last_seq(central: Central) -> int:
    with central.db.reading() as session:
        return int(session.scalar(select(func.max(SyncJournalEntry.seq))) or 0)


def _written(central: Central, code: str, entries: list[dict[str, Any]], after: int) -> str:
    """Everything the entries made central write (rows, journal, audit, commits, the
    account's balance), with the agency's own ids and numbers replaced by placeholders."""
    desk, sub = central.desks[code], central.subs[code]
    rows = [uuid.UUID(e["row"]) for e in entries]
    found: list[Any] = []
    with central.db.reading() as session:
        for model in (MeterReading, Payment):
            table = model.__table__
            found.extend(
                {k: v for k, v in row.items() if k not in ("created_at", "updated_at")}
                for row in session.execute(select(table).where(table.c.id.in_(rows))
                                           .order_by(table.c.index_value if model is MeterReading
                                                     else table.c.amount_minor)).mappings())
        account = session.get(Account, sub.account_id)
        assert account is not None
        found.append({"balance": account.balance_minor, "version": account.version})
        j = SyncJournalEntry
        watched = [*rows, sub.account_id]
        for entry in session.execute(
                select(j.table_name, j.operation, j.base_version, j.new_version, j.changes,
                       j.agency_id, SyncCommit.origin_agency_id, SyncCommit.no)
                .join(SyncCommit, SyncCommit.transaction_id == j.transaction_id)
                .where(j.row_id.in_(watched), j.seq > after).order_by(j.seq)):
            changes = {k: v for k, v in entry.changes.items() if k != "balance_as_of"}
            found.append([entry.table_name, entry.operation, entry.base_version,
                          entry.new_version, changes, entry.agency_id, entry.origin_agency_id])
        found.append(session.execute(
            select(AuditEntry.table_name, AuditEntry.operation, AuditEntry.reason,
                   func.count()).where(AuditEntry.row_id.in_(watched),
                                       AuditEntry.reason.like("Synchronisation%"))
            .group_by(AuditEntry.table_name, AuditEntry.operation, AuditEntry.reason)
            .order_by(AuditEntry.table_name, AuditEntry.operation)).all())
    text = json.dumps(found, default=str, sort_keys=True)
    names = {str(desk.agency_id): "AGENCY", str(sub.account_id): "ACCOUNT",
             str(sub.meter_id): "METER", f"agence {code}": "agence X"}
    names.update({e["row"]: f"ROW{i}" for i, e in enumerate(entries)})
    for value, placeholder in names.items():
        text = text.replace(value, placeholder)
    return text


def test_the_bulk_night_writes_what_the_one_by_one_path_writes(
        central: Central, used: list[bool], monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _day(central, "101", "R")
    before_fast = _last_seq(central)
    answer = central.desks["101"].send(fast)
    assert used == [True]
    assert (answer["applied"], answer["parked"], answer["refused"]) == (6, 0, 0)
    monkeypatch.setattr(bulk, "apply", lambda *_args, **_kw: False)
    slow = _day(central, "102", "R")
    for entry in slow:  # receipt numbers are unique across agencies
        if entry["table"] == "payment":
            entry["changes"]["receipt_number"][1] = "S" + entry["changes"]["receipt_number"][1]
    before_slow = _last_seq(central)
    assert central.desks["102"].send(slow) == answer
    left = _written(central, "101", fast, before_fast)
    right = _written(central, "102", slow, before_slow).replace('"SR-', '"R-')
    assert left == right
    assert '"balance": -3003' in left  # the payments moved the balance, as a central change


def test_a_resent_bulk_batch_applies_once(central: Central, used: list[bool]) -> None:
    desk = central.desks["101"]
    payload = desk.payload(_day(central, "101", "R"))
    first = desk.post(payload)
    assert first.status_code == 200 and first.json()["applied"] == 6 and used == [True]
    again = desk.post(payload)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    with central.db.reading() as session:
        journaled = session.scalar(select(func.count()).select_from(SyncJournalEntry).where(
            SyncJournalEntry.table_name.in_(["payment", "meter_reading"])))
        balance = session.scalar(select(Account.balance_minor).where(
            Account.id == central.subs["101"].account_id))
    assert journaled == 6
    assert balance == -3003


def test_another_agencys_rows_are_refused_or_parked_as_before(
        central: Central, used: list[bool]) -> None:
    """One bad entry sends the batch the one-by-one way: the others are applied, the bad
    ones refused or parked with their reason, nothing written to the other agency."""
    desk, other = central.desks["101"], central.subs["102"]
    good = _day(central, "101", "R", count=2)
    theirs = desk.insert("payment", {
        "account_id": other.account_id, "receipt_number": "X-1", "amount_minor": 500,
        "method": "cash", "paid_at": PAID, "received_by": "agent"})
    posing = desk.insert("meter_reading", {
        "agency_id": central.desks["102"].agency_id, "meter_id": other.meter_id,
        "reading_date": date(2026, 11, 20), "read_at": PAID, "index_value": 5,
        "source": "agent", "kind": "regular", "recorded_by": "agent"})
    answer = desk.send([good[0], theirs, posing, *good[1:]])
    assert used == [False]
    assert (answer["applied"], answer["parked"], answer["refused"]) == (4, 1, 1)
    with central.db.reading() as session:
        parked = session.scalars(select(SyncParked.error)).all()
        assert session.get(Payment, uuid.UUID(theirs["row"])) is None
        assert session.get(MeterReading, uuid.UUID(posing["row"])) is None
        assert all(session.get(Payment if e["table"] == "payment" else MeterReading,
                               uuid.UUID(e["row"])) is not None for e in good)
        balance = session.scalar(select(Account.balance_minor).where(
            Account.id == other.account_id))
    assert parked == [parked[0]] and "hors de l'agence" in parked[0]
    assert balance == 0


@pytest.mark.parametrize("problem", ["value", "database"])
def test_a_mixed_batch_parks_the_bad_transaction_and_applies_the_rest(
        central: Central, used: list[bool], problem: str) -> None:
    """A value the checks refuse, or a row the database refuses (a receipt number already
    used): the bulk writes are undone, and the one-by-one path parks that transaction only."""
    desk = central.desks["101"]
    entries = _day(central, "101", "R")
    bad = entries[3]
    if problem == "value":
        bad["changes"]["amount_minor"][1] = -5
    else:
        bad["changes"]["receipt_number"][1] = entries[1]["changes"]["receipt_number"][1]
    answer = desk.send(entries)
    assert (answer["applied"], answer["parked"]) == (5, 1)
    assert used == [False]
    with central.db.reading() as session:
        assert session.get(Payment, uuid.UUID(bad["row"])) is None
        journaled = session.scalar(select(func.count()).select_from(SyncJournalEntry).where(
            SyncJournalEntry.table_name.in_(["payment", "meter_reading"])))
        audited = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.table_name.in_(["payment", "meter_reading"])))
        error = session.scalars(select(SyncParked.error)).one()
    assert journaled == audited == 5
    assert ("valeur refusée" in error) if problem == "value" else ("base centrale" in error)


def test_a_row_central_already_holds_is_skipped_as_before(
        central: Central, used: list[bool]) -> None:
    """An insert of a row central holds in that version is skipped (found by its key when the
    bulk writes it: the batch is undone and goes the one-by-one way)."""
    desk = central.desks["101"]
    first = _day(central, "101", "R", count=1)
    desk.send(first)
    again = [first[0], *_day(central, "101", "T", count=1)]
    answer = desk.send(again)
    assert used == [True, False]
    assert (answer["applied"], answer["skipped"], answer["parked"]) == (2, 1, 0)
    with central.db.reading() as session:
        journaled = session.scalar(select(func.count()).select_from(SyncJournalEntry).where(
            SyncJournalEntry.row_id == uuid.UUID(first[0]["row"])))
    assert journaled == 1


def test_an_entrys_audit_and_journal_rows_hold_the_same_changes_text(
        central: Central, used: list[bool]) -> None:
    """The bulk path encodes an entry's changes once for its audit and journal rows: the same
    text in both, the JSON the driver writes for those values."""
    after = _last_seq(central)
    central.desks["101"].send(_day(central, "101", "T"))
    assert used == [True]
    j, a = SyncJournalEntry.__table__.c, AuditEntry.__table__.c
    with central.db.reading() as session:
        journal = session.execute(
            select(j.transaction_id, j.row_id, cast(j.changes, Text))
            .where(j.seq > after)).all()
        audit = {(tx, row): text for tx, row, text in session.execute(
            select(a.transaction_id, a.row_id, cast(a.changes, Text))
            .where(a.transaction_id.in_([tx for tx, _row, _text in journal])))}
    assert len(journal) == 7 and len(audit) == 7  # 6 entries and the balance's change
    for tx, row, text in journal:
        assert audit[(tx, row)] == text
        assert isinstance(json.loads(text), dict)
        assert text == json.dumps(json.loads(text))
