"""The desk's side of the exchange, without a server: batches, applying central's pages,
parking, checksums and the backup."""

from __future__ import annotations

import base64
import sqlite3
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import (
    Customer,
    Street,
    SyncJournalEntry,
    SyncOutboxBatch,
    SyncParked,
)
from app.models.enums import PaymentMethod
from app.services.customer_edit import IdentityInput, update_identity
from app.services.payments import record_payment
from app.services.search import search_customers
from app.sync import outbox, state
from app.sync.backup import take_backup
from app.sync.download import apply_page
from app.sync.reconcile import local_checksums
from kernel import wire
from kernel.context import ServiceContext
from tests.services.helpers import household, word_table_is_current


def _entries(body: bytes) -> list[dict]:
    return wire.unpack(body)["entries"]


def test_batches_never_split_a_transaction_and_carry_binary_columns(ctx: ServiceContext) -> None:
    home = household(ctx)
    receipt = record_payment(ctx, home.account_id, Decimal("1500"), PaymentMethod.CASH, confirmed=True)
    with ctx.db.session() as session:
        pending = outbox.pending_entries(session)
        sealed = outbox.seal(session, "101", central_last=0, limit=1)
        session.commit()
    assert sum(b.rows for b in sealed) == pending > 0
    by_tx: dict[str, set[int]] = {}
    for batch in sealed:
        payload = wire.unpack(batch.body, batch.sha256)
        assert payload["number"] == batch.number and payload["agency"] == "101"
        for entry in payload["entries"]:
            by_tx.setdefault(entry["tx"], set()).add(batch.number)
    assert all(len(numbers) == 1 for numbers in by_tx.values())
    assert [b.number for b in sealed] == list(range(1, len(sealed) + 1))
    document = next(e for b in sealed for e in _entries(b.body) if e["table"] == "document")
    assert base64.b64decode(document["changes"]["content"][1]) == receipt.pdf
    with ctx.db.session() as session:
        assert outbox.pending_entries(session) == 0
        assert outbox.seal(session, "101", central_last=0) == []
        again = outbox.unacknowledged(session, central_last=0)
        assert [(b.number, b.sha256, b.body) for b in again] == [
            (b.number, b.sha256, b.body) for b in sealed]


def test_numbering_follows_central_and_renumbers_after_a_desk_restore(ctx: ServiceContext) -> None:
    household(ctx)
    with ctx.db.session() as session:
        first = outbox.seal(session, "101", central_last=7)
        session.commit()
    assert first[0].number == 8
    with ctx.db.session() as session:
        outbox.renumber_after(session, "101", central_last=9)
        session.commit()
        numbers = list(session.scalars(select(SyncOutboxBatch.number).order_by(SyncOutboxBatch.number)))
        carried = set(session.scalars(select(SyncJournalEntry.batch_number)))
    assert numbers[0] == 10 and carried == set(numbers)
    with ctx.db.session() as session:
        batch = outbox.unacknowledged(session, central_last=9)[0]
    assert wire.unpack(batch.body, batch.sha256)["number"] == 10


def _commit(no: int, *entries: dict) -> dict:
    return {"no": no, "tx": str(uuid.uuid4()), "at": "2026-11-21T20:00:00+00:00",
            "entries": list(entries)}


def _street_entry(row: uuid.UUID, commune: uuid.UUID | str, name: str, *, op: str = "insert",
                  base: int = 0, new: int = 1) -> dict:
    changes = {"name": [None, name]} if op == "update" else {
        "name": [None, name], "commune_id": [None, str(commune)], "agency_id": [None, None]}
    return {"seq": 1, "tx": "", "table": "street", "row": str(row), "op": op, "base": base,
            "new": new, "at": "2026-11-21T20:00:00+00:00", "schema": 2, "changes": changes}


def test_a_page_applies_by_version_with_its_cursor_and_replays_as_nothing(ctx: ServiceContext) -> None:
    with ctx.db.session() as session:
        commune = session.scalars(select(Street.commune_id)).first()
    street = uuid.uuid4()
    page = {"commits": [_commit(5, _street_entry(street, commune, "Rue des Jardins")),
                        _commit(6, _street_entry(street, commune, "Rue des Jardins Nord",
                                                 op="update", base=1, new=2))]}
    with ctx.db.session() as session:
        counts = apply_page(session, page)
        session.commit()
    assert counts.applied == 2
    with ctx.db.session() as session:
        row = session.get(Street, street)
        assert row is not None and (row.name, row.version) == ("Rue des Jardins Nord", 2)
        assert state.cursor(session) == 6
        assert session.scalar(select(func.count()).select_from(SyncJournalEntry)
                              .where(SyncJournalEntry.row_id == street)) == 0
        again = apply_page(session, page)
        session.commit()
    assert (again.applied, again.skipped) == (0, 2)


def test_a_row_without_its_parent_is_parked_with_what_depends_on_it(ctx: ServiceContext) -> None:
    orphan, child_of_orphan = uuid.uuid4(), uuid.uuid4()
    with ctx.db.session() as session:
        commune = session.scalars(select(Street.commune_id)).first()
    missing_commune = uuid.uuid4()
    fine = uuid.uuid4()
    page = {"commits": [
        _commit(1, _street_entry(orphan, missing_commune, "Rue Perdue")),
        _commit(2, _street_entry(orphan, missing_commune, "Rue Perdue 2", op="update", base=1, new=2)),
        _commit(3, _street_entry(fine, commune, "Rue Trouvée")),
    ]}
    with ctx.db.session() as session:
        counts = apply_page(session, page)
        session.commit()
    assert (counts.applied, counts.parked) == (1, 2)
    with ctx.db.session() as session:
        parked = session.scalars(select(SyncParked).order_by(SyncParked.seq)).all()
        assert [p.row_id for p in parked] == [orphan, orphan]
        assert "contrainte" in parked[0].error and parked[1].blocked_by == orphan
        assert session.get(Street, fine) is not None and session.get(Street, orphan) is None
        assert state.cursor(session) == 3
    del child_of_orphan


def test_a_shared_field_changed_here_and_not_yet_sent_keeps_the_local_value(ctx: ServiceContext) -> None:
    home = household(ctx)
    _all_sent(ctx)
    with ctx.reading() as session:
        customer = session.get(Customer, home.customer_id)
        assert customer is not None
        version = customer.version
    update_identity(ctx, home.customer_id, version, IdentityInput(
        civility=customer.civility, last_name="Koné", first_name="Hélène", mobile="07 99 99 99 99"))
    entry = {"seq": 1, "tx": "", "table": "customer", "row": str(home.customer_id), "op": "update",
             "base": version, "new": version + 5, "at": "2026-11-21T20:00:00+00:00", "schema": 2,
             "changes": {"mobile": ["07 01 02 03 04", "05 55 55 55 55"],
                         "email": ["", "helene@example.ci"]}}
    with ctx.db.session() as session:
        counts = apply_page(session, {"commits": [_commit(9, entry)]})
        session.commit()
    assert counts.kept_local == 1
    with ctx.reading() as session:
        customer = session.get(Customer, home.customer_id)
        assert customer is not None
        assert customer.mobile.replace(" ", "") == "0799999999"
        assert customer.email == "helene@example.ci"


def _all_sent(ctx: ServiceContext) -> None:
    with ctx.db.session() as session:
        sent = outbox.seal(session, "101", central_last=0)
        outbox.acknowledge(session, sent[-1].number)
        session.commit()


def test_rows_applied_from_central_are_found_by_the_search(ctx: ServiceContext) -> None:
    home = household(ctx)
    _all_sent(ctx)
    with ctx.reading() as session:
        customer = session.get(Customer, home.customer_id)
        assert customer is not None
        version = customer.version
    entry = {"seq": 1, "tx": "", "table": "customer", "row": str(home.customer_id), "op": "update",
             "base": version, "new": version + 1, "at": "2026-11-21T20:00:00+00:00", "schema": 2,
             "changes": {"last_name": ["Koné", "Zadi-Bléhoué"]}}
    with ctx.db.session() as session:
        apply_page(session, {"commits": [_commit(3, entry)]})
        session.commit()
    found = search_customers(ctx, "bleh")
    assert [r.customer_id for r in found.hits] == [home.customer_id]
    if ctx.db.dialect == "postgresql":
        with ctx.reading() as session:
            assert word_table_is_current(session)


def test_a_commit_of_many_updates_is_applied_row_by_row_and_the_search_follows(
        ctx: ServiceContext) -> None:
    first, second = household(ctx, last_name="Ouattara"), household(ctx, last_name="Sawadogo")
    _all_sent(ctx)
    with ctx.reading() as session:
        versions = {c.id: c.version for c in session.scalars(select(Customer))}

    def update(seq: int, customer: uuid.UUID, new: int, changes: dict[str, list[str]]) -> dict:
        return {"seq": seq, "tx": "", "table": "customer", "row": str(customer), "op": "update",
                "base": new - 1, "new": new, "at": "2026-11-21T20:00:00+00:00", "schema": 2,
                "changes": changes}

    one, two = first.customer_id, second.customer_id
    commit = _commit(4, update(1, one, versions[one] + 1, {"email": ["", "a@example.ci"]}))
    commit["entries"] += [
        update(2, two, versions[two] + 1, {"email": ["", "b@example.ci"]}),
        update(3, one, versions[one] + 2, {"last_name": ["Ouattara", "Traoré-Kaboré"]}),
        update(4, two, versions[two] + 2, {"email": ["b@example.ci", "c@example.ci"]}),
    ]
    with ctx.db.session() as session:
        counts = apply_page(session, {"commits": [commit]})
        session.commit()
    assert (counts.applied, counts.parked) == (4, 0)
    assert dict(counts.per_table) == {"customer": 4}
    assert {name: set(ids) for name, ids in counts.touched.items()} == {"customer": {one}}
    with ctx.reading() as session:
        a, b = session.get(Customer, one), session.get(Customer, two)
        assert a is not None and b is not None
        assert (a.email, a.last_name, a.version) == ("a@example.ci", "Traoré-Kaboré",
                                                     versions[one] + 2)
        assert (b.email, b.version) == ("c@example.ci", versions[two] + 2)
    assert [r.customer_id for r in search_customers(ctx, "kabore").hits] == [one]


def test_the_searched_fields_are_columns_of_their_tables() -> None:
    from app.models.search_index import SEARCHED_FIELDS

    for name, fields in SEARCHED_FIELDS.items():
        assert fields <= set(wire.table(name).c.keys()), name


def test_checksums_ignore_order_and_see_a_version_change(ctx: ServiceContext) -> None:
    pairs = [(uuid.uuid4(), n) for n in range(50)]
    assert wire.Checksum().update(pairs).as_dict() == wire.Checksum().update(reversed(pairs)).as_dict()
    assert wire.Checksum().update(pairs).hexdigest != wire.Checksum().update(
        [*pairs[:-1], (pairs[-1][0], 99)]).hexdigest
    home = household(ctx)
    with ctx.db.session() as session:
        before = local_checksums(session, ctx.installation.agency_id)
    with ctx.reading() as session:
        customer = session.get(Customer, home.customer_id)
        assert customer is not None
    update_identity(ctx, home.customer_id, customer.version, IdentityInput(
        civility=customer.civility, last_name="Koné", first_name="Hélène", mobile="07 11 11 11 11"))
    with ctx.db.session() as session:
        after = local_checksums(session, ctx.installation.agency_id)
    assert before["customer"]["count"] == after["customer"]["count"]
    assert before["customer"] != after["customer"] and before["account"] == after["account"]


def test_the_backup_is_a_readable_copy(ctx: ServiceContext, tmp_path: Path) -> None:
    if ctx.db.engine.dialect.name != "sqlite":
        return
    household(ctx)
    copy = take_backup(ctx.db, tmp_path)
    with sqlite3.connect(copy) as check:
        assert check.execute("select count(*) from customer").fetchone() == (1,)


def test_a_parked_row_asked_again_is_applied_once_its_parent_exists(ctx: ServiceContext) -> None:
    from app.models import Commune
    from app.models.sync import ParkedStatus
    from app.sync.apply import retry_parked_on_desk

    late_commune, street = uuid.uuid4(), uuid.uuid4()
    with ctx.db.session() as session:
        apply_page(session, {"commits": [_commit(1, _street_entry(street, late_commune, "Rue Tardive"))]})
        session.commit()
    with ctx.db.session() as session:
        session.add(Commune(id=late_commune, code="NEW01", name="Nouvelle commune"))
        for parked in session.scalars(select(SyncParked)):
            parked.status = ParkedStatus.RETRY
        session.commit()
    with ctx.db.session() as session:
        assert retry_parked_on_desk(session) == (1, 0)
        session.commit()
    with ctx.db.session() as session:
        assert session.get(Street, street) is not None
        assert session.scalars(select(SyncParked.status)).all() == [ParkedStatus.APPLIED]


def test_checksums_made_by_the_database_equal_the_reference_computation(
        ctx: ServiceContext) -> None:
    household(ctx)
    agency_id = ctx.installation.agency_id
    with ctx.db.session() as session:
        ours = local_checksums(session, agency_id)
        for tbl in wire.synced_tables():
            name = tbl.name
            rows = session.execute(select(tbl).where(wire.scope(tbl, agency_id))
                                   ).mappings().all()
            assert rows or name not in ("customer", "account", "meter_reading", "tariff"), name
            assert ours[name] == wire.Checksum().rows(tbl, rows).as_dict(), name


class _OnePage:
    """Central as the download sees it: one page of commits."""

    def __init__(self, commits: list[dict]) -> None:
        self.commits = commits

    def changes(self, cursor: int, limit: int) -> dict:
        commits = [c for c in self.commits if c["no"] > cursor]
        return {"commits": commits, "more": False, "head": self.commits[-1]["no"]}


def test_a_big_download_leaves_planner_statistics_of_the_tables_it_filled(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.sync import download as downloading

    household(ctx)  # a customer in the search index
    postgres = ctx.db.dialect == "postgresql"

    def described() -> set[str]:
        with ctx.db.engine.connect() as connection:
            return set(connection.exec_driver_sql(
                "SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = current_schema() AND "
                "tablename IN ('street', 'customer', 'customer_search')").scalars())

    if postgres:
        with ctx.db.engine.begin() as connection:
            connection.exec_driver_sql(
                "DELETE FROM pg_statistic WHERE starelid IN ('street'::regclass, "
                "'customer'::regclass, 'customer_search'::regclass)")
        assert described() == set()
    with ctx.db.session() as session:
        commune = session.scalars(select(Street.commune_id)).first()
    monkeypatch.setattr(downloading, "ANALYSE_AFTER_ROWS", 3)
    client = _OnePage([_commit(7, *(_street_entry(uuid.uuid4(), commune, f"Rue {n}")
                                    for n in range(3)))])
    report = downloading.download(ctx.db, client)  # type: ignore[arg-type]
    assert report.counts is not None and report.counts.per_table["street"] == 3
    if postgres:
        # the street table (3 rows: a bulk load here) and the search index it feeds; not the
        # customers, untouched
        assert described() == {"street", "customer_search"}
