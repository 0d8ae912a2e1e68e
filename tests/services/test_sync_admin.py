"""The desk's side of synchronisation outside a run: ledger, night deadline, conflicts, parked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.models import AuditEntry, SyncConflict, SyncParked, SyncRun
from app.models.journal import SyncJournalEntry
from app.models.sync import ConflictChoice, ConflictStatus, ParkedStatus
from app.services.auth import sign_in
from app.services.sync_admin import (
    discard_parked,
    last_deadline,
    last_successful_run,
    list_conflicts,
    list_parked,
    night_run_warning,
    night_warning,
    readable,
    resolve_conflict,
    retry_parked,
    run_history,
)
from kernel.context import ServiceContext, UnitOfWork
from kernel.errors import (
    BusinessError,
    ConcurrentEditError,
    PermissionDeniedError,
    ValidationError,
)

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def as_user(ctx: ServiceContext, username: str, password: str) -> ServiceContext:
    return ctx.signed_in(sign_in(ctx.db, username, password))


def supervisor(ctx: ServiceContext) -> ServiceContext:
    return as_user(ctx, "superviseur", "Guichet-Sup-2026")


def agent(ctx: ServiceContext) -> ServiceContext:
    return as_user(ctx, "agent", "Guichet-Agent-2026")


def administrator(ctx: ServiceContext) -> ServiceContext:
    return as_user(ctx, "admin", "Guichet-Admin-2026")


def add_run(ctx: ServiceContext, started: datetime, status: str, seconds: float = 60,
            dry_run: bool = False, **figures: object) -> uuid.UUID:
    with ctx.db.session() as session, session.begin():
        run = SyncRun(started_at=started, finished_at=started + timedelta(seconds=seconds),
                      status=status, dry_run=dry_run, trigger="scheduled", **figures)
        session.add(run)
        session.flush()
        return run.id


def from_central(ctx: ServiceContext, *rows: object) -> None:
    """Rows as they arrive from central: not journaled again."""
    with UnitOfWork(ctx.db, ctx.actor, from_server=True) as uow:
        uow.session.add_all(rows)
        uow.commit()


def journal_for(ctx: ServiceContext, row_id: uuid.UUID) -> list[SyncJournalEntry]:
    with ctx.db.session() as session:
        return list(session.scalars(select(SyncJournalEntry)
                                    .where(SyncJournalEntry.row_id == row_id)
                                    .order_by(SyncJournalEntry.seq)))


def a_conflict(ctx: ServiceContext, **values: object) -> uuid.UUID:
    conflict = SyncConflict(
        agency_id=ctx.installation.agency_id, table_name="customer", row_id=uuid.uuid4(),
        field="mobile", detected_by="central", batch_number=4, base_version=2,
        current_version=4, old_value="0701020304", incoming_value="0505050505",
        current_value="0707070707", **values,
    )
    from_central(ctx, conflict)
    return conflict.id


# --- ledger -----------------------------------------------------------------------------------
def test_history_is_newest_first_in_pages_and_reads_its_phases(ctx: ServiceContext) -> None:
    ids = [add_run(ctx, T0 + timedelta(days=day), "succeeded", rows_up=day) for day in range(5)]
    phased = add_run(ctx, T0 + timedelta(days=9), "failed", seconds=95.5, error="injoignable",
                     phases=[{"name": "backup", "status": "succeeded", "seconds": 1.5, "rows": 0,
                              "bytes": 2048, "retries": 0, "detail": "sauvegarde.sqlite3"},
                             {"name": "upload", "status": "failed", "seconds": 94, "rows": 12,
                              "bytes": 300, "retries": 3, "detail": "délai dépassé"}])
    first = run_history(ctx, limit=4)
    assert first.total == 6 and first.has_more
    assert [r.id for r in first.runs] == [phased, ids[4], ids[3], ids[2]]
    latest = first.runs[0]
    assert latest.status_label == "Échouée" and latest.seconds == 95.5
    assert [(p.label, p.status_label, p.retries) for p in latest.phases] == [
        ("Sauvegarde", "Terminée", 0), ("Envoi", "Échouée", 3)]
    second = run_history(ctx, offset=4, limit=4)
    assert [r.id for r in second.runs] == [ids[1], ids[0]] and not second.has_more


def test_last_success_ignores_failures_and_simulations(ctx: ServiceContext) -> None:
    assert last_successful_run(ctx) is None
    good = add_run(ctx, T0, "succeeded")
    add_run(ctx, T0 + timedelta(hours=1), "failed")
    add_run(ctx, T0 + timedelta(hours=2), "succeeded", dry_run=True)
    add_run(ctx, T0 + timedelta(hours=3), "running")
    last = last_successful_run(ctx)
    assert last is not None and last.id == good


# --- the night's deadline ---------------------------------------------------------------------
ABIDJAN = ZoneInfo("Africa/Abidjan")  # UTC+0, no daylight saving
KOLKATA = ZoneInfo("Asia/Kolkata")  # UTC+5:30, no daylight saving


def test_the_night_run_counts_until_the_next_deadline() -> None:
    success = datetime(2026, 11, 22, 3, 10, tzinfo=UTC)
    before_deadline = datetime(2026, 11, 22, 7, 29, tzinfo=UTC)
    after_deadline = datetime(2026, 11, 22, 7, 31, tzinfo=UTC)
    assert night_warning(success, after_deadline, ABIDJAN, "07:30") is None
    assert night_warning(success, datetime(2026, 11, 23, 7, 29, tzinfo=UTC), ABIDJAN, "07:30") is None
    late = night_warning(success, datetime(2026, 11, 23, 7, 30, tzinfo=UTC), ABIDJAN, "07:30")
    assert late is not None and "avant 07:30 le 23/11/2026" in late
    assert "Dernière synchronisation réussie : 22/11/2026 à 03:10" in late
    # Yesterday's run is still the one that counts before this morning's deadline.
    yesterday = datetime(2026, 11, 21, 5, 0, tzinfo=UTC)
    assert night_warning(yesterday, before_deadline, ABIDJAN, "07:30") is None
    assert night_warning(yesterday, after_deadline, ABIDJAN, "07:30") is not None


def test_a_late_run_that_succeeds_clears_the_warning() -> None:
    now = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    assert night_warning(datetime(2026, 11, 21, 6, 0, tzinfo=UTC), now, ABIDJAN, "07:30")
    assert night_warning(datetime(2026, 11, 22, 8, 45, tzinfo=UTC), now, ABIDJAN, "07:30") is None


def test_no_success_ever_says_so() -> None:
    message = night_warning(None, datetime(2026, 11, 22, 8, 0, tzinfo=UTC), ABIDJAN, "07:30")
    assert message is not None and "Aucune synchronisation réussie" in message


def test_deadline_just_after_midnight_in_a_half_hour_zone() -> None:
    # 00:15 in Kolkata is 18:45 UTC the day before.
    now = datetime(2026, 11, 21, 18, 50, tzinfo=UTC)  # 22/11 00:20 local
    assert last_deadline(now, KOLKATA, "00:15") == datetime(2026, 11, 21, 18, 45, tzinfo=UTC)
    just_before = datetime(2026, 11, 21, 18, 44, tzinfo=UTC)  # 22/11 00:14 local
    assert last_deadline(just_before, KOLKATA, "00:15") == datetime(2026, 11, 20, 18, 45, tzinfo=UTC)
    ran = datetime(2026, 11, 21, 18, 30, tzinfo=UTC)  # 22/11 00:00 local, before the deadline
    assert night_warning(ran, now, KOLKATA, "00:15") is None
    ran_too_early = datetime(2026, 11, 20, 18, 40, tzinfo=UTC)  # 21/11 00:10 local
    message = night_warning(ran_too_early, now, KOLKATA, "00:15")
    assert message is not None and "avant 00:15 le 22/11/2026" in message
    assert "21/11/2026 à 00:10" in message, "shown in the installation's zone"


def test_the_desk_warning_reads_its_own_ledger(ctx: ServiceContext) -> None:
    now = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    assert night_run_warning(ctx, now, ABIDJAN, "07:30") is not None
    add_run(ctx, datetime(2026, 11, 22, 2, 0, tzinfo=UTC), "failed")
    add_run(ctx, datetime(2026, 11, 22, 3, 0, tzinfo=UTC), "succeeded", dry_run=True)
    assert night_run_warning(ctx, now, ABIDJAN, "07:30") is not None
    add_run(ctx, datetime(2026, 11, 22, 4, 0, tzinfo=UTC), "succeeded")
    assert night_run_warning(ctx, now, ABIDJAN, "07:30") is None
    next_morning = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
    assert night_run_warning(ctx, next_morning, ABIDJAN, "07:30") is not None


# --- conflicts --------------------------------------------------------------------------------
def test_values_read_as_a_person_reads_them() -> None:
    assert readable(None) == "(vide)" and readable("") == "(vide)"
    assert readable(True) == "Oui" and readable(12500) == "12500"
    assert readable({"b": 1, "a": "é"}) == '{"a": "é", "b": 1}'
    assert readable("2026-11-21") == "21/11/2026"
    assert readable("2026-11-21T18:02:03.123456+00:00") == "21/11/2026 18:02 UTC"
    assert readable("2026-11-21 est une date") == "2026-11-21 est une date"


def test_the_queue_shows_what_collided(ctx: ServiceContext) -> None:
    conflict_id = a_conflict(ctx)
    [conflict] = list_conflicts(ctx)
    assert conflict.id == conflict_id
    assert (conflict.table_label, conflict.field_label) == ("Client", "Téléphone mobile")
    assert conflict.row_caption == "— introuvable sur ce poste"
    assert (conflict.old_text, conflict.incoming_text, conflict.current_text) == (
        "0701020304", "0505050505", "0707070707")
    assert list_conflicts(ctx, ConflictStatus.RESOLVED) == []


def test_a_supervisor_resolution_is_journaled_to_travel_up(ctx: ServiceContext) -> None:
    conflict_id = a_conflict(ctx)
    assert journal_for(ctx, conflict_id) == [], "a conflict received from central is not sent back"
    [open_one] = list_conflicts(ctx)
    resolved = resolve_conflict(supervisor(ctx), conflict_id, open_one.version,
                                ConflictChoice.INCOMING, note="vérifié par téléphone")
    assert resolved.status is ConflictStatus.RESOLVED and resolved.chosen_text == "0505050505"
    [entry] = journal_for(ctx, conflict_id)
    assert entry.table_name == "sync_conflict" and entry.batch_number is None
    assert entry.changes["status"] == ["open", "resolved"]
    assert entry.changes["choice"] == [None, "incoming"]
    assert entry.changes["chosen_value"] == [None, "0505050505"]
    assert entry.changes["resolved_by"] == ["", "superviseur"]
    assert (entry.base_version, entry.new_version) == (open_one.version, open_one.version + 1)
    with ctx.db.session() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.row_id == conflict_id)).one()
    assert audit.username == "superviseur"
    assert list_conflicts(ctx) == []
    [done] = list_conflicts(ctx, ConflictStatus.RESOLVED)
    assert done.choice_label == "Valeur reçue" and done.resolved_by == "superviseur"
    with pytest.raises(BusinessError, match="déjà résolu"):
        resolve_conflict(supervisor(ctx), conflict_id, done.version, ConflictChoice.CURRENT)


def test_an_agent_may_not_resolve(ctx: ServiceContext) -> None:
    conflict_id = a_conflict(ctx)
    [conflict] = list_conflicts(ctx)
    with pytest.raises(PermissionDeniedError, match="superviseur ou un administrateur"):
        resolve_conflict(agent(ctx), conflict_id, conflict.version, ConflictChoice.CURRENT)
    assert journal_for(ctx, conflict_id) == []
    assert list_conflicts(ctx)[0].status is ConflictStatus.OPEN


def test_a_custom_value_keeps_the_type_in_conflict(ctx: ServiceContext) -> None:
    number = SyncConflict(agency_id=ctx.installation.agency_id, table_name="meter_reading",
                          row_id=uuid.uuid4(), field="index_value", base_version=1,
                          current_version=2, old_value=1200, incoming_value=1250, current_value=1240)
    from_central(ctx, number)
    admin = administrator(ctx)
    with pytest.raises(ValidationError, match="nombre entier"):
        resolve_conflict(admin, number.id, 1, ConflictChoice.CUSTOM, "mille")
    with pytest.raises(ValidationError, match="valeur à garder"):
        resolve_conflict(admin, number.id, 1, ConflictChoice.CUSTOM, "  ")
    resolved = resolve_conflict(admin, number.id, 1, ConflictChoice.CUSTOM, "1 245")
    assert resolved.chosen_text == "1245"
    [entry] = journal_for(ctx, number.id)
    assert entry.changes["chosen_value"] == [None, 1245]
    assert entry.changes["choice"] == [None, "custom"]


def test_a_stale_conflict_is_refused(ctx: ServiceContext) -> None:
    conflict_id = a_conflict(ctx)
    with pytest.raises(ConcurrentEditError, match="Actualisez"):
        resolve_conflict(supervisor(ctx), conflict_id, 99, ConflictChoice.CURRENT)
    assert journal_for(ctx, conflict_id) == []


# --- parked rows ------------------------------------------------------------------------------
def parked_group(ctx: ServiceContext, side: str = "central") -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    tx = uuid.uuid4()
    failing = SyncParked(agency_id=ctx.installation.agency_id, side=side, batch_number=7,
                         transaction_id=tx, seq=40, table_name="meter_reading", row_id=uuid.uuid4(),
                         operation="insert", error="compteur inconnu",
                         entry={"changes": {"index_value": [None, 1234]}})
    from_central(ctx, failing)
    blocked = SyncParked(agency_id=ctx.installation.agency_id, side=side, batch_number=7,
                         transaction_id=tx, seq=41, table_name="payment", row_id=uuid.uuid4(),
                         operation="insert", blocked_by=failing.id, entry={"changes": {}})
    other = SyncParked(agency_id=ctx.installation.agency_id, side=side, batch_number=8,
                       transaction_id=uuid.uuid4(), seq=50, table_name="customer",
                       row_id=uuid.uuid4(), operation="update", error="rue inconnue",
                       entry={"changes": {"street_id": ["a", "b"]}})
    from_central(ctx, blocked, other)
    return failing.id, blocked.id, other.id


def test_retry_marks_the_row_and_what_it_blocks_and_travels_up(ctx: ServiceContext) -> None:
    failing, blocked, other = parked_group(ctx)
    rows = {r.id: r for r in list_parked(ctx)}
    assert rows[failing].changes_text == "Index : 1234"
    assert rows[blocked].error == "Bloquée par une ligne en attente"
    assert retry_parked(supervisor(ctx), failing, rows[failing].version) == 2
    assert [r.id for r in list_parked(ctx)] == [other]
    retried = {r.id: r for r in list_parked(ctx, [ParkedStatus.RETRY])}
    assert set(retried) == {failing, blocked} and retried[blocked].resolved_by == "superviseur"
    for row_id in (failing, blocked):
        [entry] = journal_for(ctx, row_id)
        assert entry.changes["status"] == ["parked", "retry"]
    with pytest.raises(BusinessError, match="n'est plus en attente"):
        discard_parked(supervisor(ctx), failing, retried[failing].version)


def test_discard_and_refusals(ctx: ServiceContext) -> None:
    failing, blocked, other = parked_group(ctx)
    version = {r.id: r.version for r in list_parked(ctx)}
    with pytest.raises(PermissionDeniedError):
        discard_parked(agent(ctx), other, version[other])
    with pytest.raises(PermissionDeniedError):
        retry_parked(agent(ctx), other, version[other])
    assert journal_for(ctx, other) == []
    assert discard_parked(administrator(ctx), other, version[other]) == 1
    [entry] = journal_for(ctx, other)
    assert entry.changes["status"] == ["parked", "discarded"]
    assert {r.id for r in list_parked(ctx)} == {failing, blocked}


def test_rows_parked_on_this_desk_stay_on_this_desk(ctx: ServiceContext) -> None:
    failing, blocked, _ = parked_group(ctx, side="desk")
    version = {r.id: r.version for r in list_parked(ctx)}
    assert retry_parked(supervisor(ctx), failing, version[failing]) == 2
    assert journal_for(ctx, failing) == [] and journal_for(ctx, blocked) == []
    assert {r.id for r in list_parked(ctx, [ParkedStatus.RETRY])} == {failing, blocked}


def test_rows_are_named_as_a_person_names_them(ctx: ServiceContext) -> None:
    from tests.services.helpers import household

    home = household(ctx)
    from_central(ctx, SyncConflict(
        agency_id=ctx.installation.agency_id, table_name="customer", row_id=home.customer_id,
        field="mobile", base_version=1, current_version=2, old_value="a", incoming_value="b",
        current_value="c"))
    from_central(ctx, SyncConflict(
        agency_id=ctx.installation.agency_id, table_name="account", row_id=home.account_id,
        field="status", base_version=1, current_version=2, old_value="active",
        incoming_value="suspended", current_value="closed"))
    captions = {c.table_name: c.row_caption for c in list_conflicts(ctx)}
    assert captions["customer"] == "KONÉ Hélène"
    assert captions["account"].replace(" ", "") == home.account_number
