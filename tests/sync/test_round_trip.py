"""A desk and a real central process: adoption, the nightly exchange both ways, dry run,
conflicts and their resolution, and a new desk bootstrapped from central."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from app.models import Customer, MeterReading, Payment, SyncJournalEntry, SyncRun
from app.models.database import Database
from app.models.ids import utcnow
from app.models.sync import ConflictChoice, ConflictStatus, SyncConflict
from tests.sync.conftest import Central, Desk, make_desk
from tests.sync.world import (
    assert_same,
    central_edit,
    customers,
    day_of_business,
    edit_mobile,
    open_conflicts,
)


def _count(db: Database, model: type) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_adoption_then_a_night_both_ways(desk: Desk, central: Central) -> None:
    first = desk.sync()
    assert first.status == "succeeded", first.message
    central_db = Database(central.db_url)
    try:
        assert _count(central_db, Customer) == _count(desk.db, Customer) == 20
        assert_same(desk, central_db)
        made = day_of_business(desk, 5)
        assert made > 0
        someone = customers(desk.db)[-1]
        central_edit(central_db, someone.id, email="siege@example.ci")
        night = desk.sync()
        assert night.status == "succeeded", night.message
        assert night.rows_up == made and night.mismatches == []
        assert _count(central_db, MeterReading) == _count(desk.db, MeterReading)
        assert _count(central_db, Payment) == _count(desk.db, Payment)
        with desk.db.session() as session:
            mine = session.get(Customer, someone.id)
            assert mine is not None and mine.email == "siege@example.ci"
            unsent = session.scalar(select(func.count()).select_from(SyncJournalEntry)
                                    .where(SyncJournalEntry.batch_number.is_(None)))
            runs = list(session.scalars(select(SyncRun).order_by(SyncRun.started_at)))
        assert unsent == 0
        assert [r.status for r in runs] == ["succeeded", "succeeded"]
        names = [p["name"] for p in runs[-1].phases]
        assert names == ["backup", "upload", "close", "download", "reconcile"]
        assert runs[-1].rows_up == made
        assert_same(desk, central_db)
        quiet = desk.sync()
        assert (quiet.status, quiet.rows_up, quiet.rows_down) == ("succeeded", 0, 0)
    finally:
        central_db.dispose()


def test_a_dry_run_tells_what_would_happen_and_changes_nothing(desk: Desk, central: Central) -> None:
    assert desk.sync().status == "succeeded"
    made = day_of_business(desk, 3)
    central_db = Database(central.db_url)
    try:
        before = _count(central_db, Payment)
        trial = desk.sync(dry_run=True)
        assert trial.status == "succeeded", trial.message
        assert trial.report["upload"]["rows"] == made
        assert trial.report["upload"]["applied"] == made
        assert _count(central_db, Payment) == before
        with desk.db.session() as session:
            assert session.scalar(select(func.count()).select_from(SyncJournalEntry)
                                  .where(SyncJournalEntry.batch_number.is_(None))) == made
        real = desk.sync()
        assert real.rows_up == made
        assert _count(central_db, Payment) == _count(desk.db, Payment)
    finally:
        central_db.dispose()


def test_the_same_field_changed_on_both_sides_waits_for_a_supervisor(
        desk: Desk, central: Central) -> None:
    assert desk.sync().status == "succeeded"
    central_db = Database(central.db_url)
    try:
        someone = customers(desk.db)[0]
        edit_mobile(desk, someone.id, "07 11 11 11 11")
        central_edit(central_db, someone.id, mobile="0522222222", email="autre@example.ci")
        outcome = desk.sync()
        assert outcome.status == "succeeded" and outcome.conflicts == 1
        [queued] = open_conflicts(central_db)
        assert (queued.field, queued.table_name, queued.row_id) == ("mobile", "customer", someone.id)
        assert queued.current_value == "0522222222"
        assert str(queued.incoming_value).replace(" ", "") == "0711111111"
        [seen_here] = open_conflicts(desk.db)
        assert seen_here.id == queued.id
        with desk.db.session() as session:
            mine = session.get(Customer, someone.id)
            assert mine is not None and mine.email == "autre@example.ci"
            assert mine.mobile == "0522222222"
            conflict = session.get(SyncConflict, queued.id)
            assert conflict is not None
            conflict.status = ConflictStatus.RESOLVED
            conflict.choice = ConflictChoice.INCOMING
            conflict.resolved_by = "superviseur"
            conflict.resolved_at = utcnow()
            session.commit()
        assert desk.sync().status == "succeeded"
        with central_db.session() as session:
            theirs = session.get(Customer, someone.id)
            assert theirs is not None and theirs.mobile.replace(" ", "") == "0711111111"
        assert open_conflicts(central_db) == []
        desk.sync()
        with desk.db.session() as session:
            mine = session.get(Customer, someone.id)
            assert mine is not None and mine.mobile.replace(" ", "") == "0711111111"
        assert_same(desk, central_db)
    finally:
        central_db.dispose()


def _indexes(db: Database) -> set[tuple[str, str]]:
    with db.engine.connect() as connection:
        return {(name, table) for name, table in connection.exec_driver_sql(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'")}


def test_a_new_desk_is_bootstrapped_from_central(desk: Desk, central: Central,
                                                 tmp_path: Path) -> None:
    assert desk.sync().status == "succeeded"
    day_of_business(desk, 4)
    assert desk.sync().status == "succeeded"
    fresh_url = f"sqlite:///{tmp_path / 'nouveau' / 'guichet.sqlite3'}"
    fresh = make_desk(central, fresh_url, tmp_path / "nouveau", customers=0)
    (tmp_path / "nouveau" / "credential").write_text(desk.endpoint.credential)
    fresh.endpoint = desk.endpoint
    indexes = _indexes(fresh.db)
    outcome = fresh.sync()
    assert outcome.status == "succeeded", outcome.message
    assert "bootstrap" in outcome.report
    fresh.db.dispose()
    reopened = Database(fresh_url)
    try:
        assert _count(reopened, Customer) == _count(desk.db, Customer)
        assert _count(reopened, Payment) == _count(desk.db, Payment)
        assert _indexes(reopened) == indexes, "indexes dropped for the load are back"
        with reopened.session() as session:
            run = session.scalars(select(SyncRun).order_by(SyncRun.started_at.desc())).first()
        assert run is not None
        phase = next(p for p in run.phases if p["name"] == "bootstrap")
        assert phase["rows"] >= _count(reopened, Customer) > 0 and phase["bytes"] > 0
        central_db = Database(central.db_url)
        try:
            assert_same(Desk(reopened, fresh.installation, fresh.endpoint, fresh.data_dir),
                        central_db)
        finally:
            central_db.dispose()
    finally:
        reopened.dispose()
