"""Faults against the real server on 127.0.0.1: the desk killed at every step and at random,
the server killed mid-run, requests dropped, duplicated, reordered and corrupted, central
restored from a backup, the desk's clock hours off. After each: nothing lost, nothing twice,
both sides equal."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from app.models import MeterReading, Payment, SyncOutboxBatch, SyncRun
from app.models.database import Database
from app.sync import outbox
from app.sync.client import CentralClient
from tests.sync.conftest import ROOT, Central, Desk, make_desk
from tests.sync.world import assert_same, central_edit, customers, day_of_business, open_conflicts


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """The desk on SQLite here (the suite's time); the twenty random kills run on both."""
    return sqlite_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def both_desks(request: pytest.FixtureRequest, central: Central, tmp_path: Path
               ) -> Iterator[Desk]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    made = make_desk(central, url, tmp_path / "desk-both", customers=20)
    yield made
    made.db.dispose()


KILL_POINTS = ["upload.sealing", "upload.before_send", "upload.sent", "upload.acked",
               "close.before", "download.applied", "download.committed"]


def _count(db: Database, model: type) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _desk_process(desk: Desk, kill_at: str | None = None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}
    env.update(GUICHET_CENTRAL_CREDENTIAL=desk.endpoint.credential, GUICHET_DEMO_CUSTOMERS="0")
    if kill_at:
        env["GUICHET_SYNC_KILL_AT"] = kill_at
    return subprocess.Popen(
        [sys.executable, "-m", "app", "--data-dir", str(desk.data_dir), "--database-url",
         desk.db.url, "--central-url", desk.endpoint.url, "sync"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _same_everywhere(desk: Desk, central: Central) -> None:
    central_db = Database(central.db_url)
    try:
        assert _count(central_db, Payment) == _count(desk.db, Payment)
        assert _count(central_db, MeterReading) == _count(desk.db, MeterReading)
        assert_same(desk, central_db)
    finally:
        central_db.dispose()


@pytest.mark.timeout(900)  # seven rounds of two desk processes: minutes on a loaded machine
def test_the_desk_killed_at_each_step_resumes(desk: Desk, central: Central) -> None:
    """One desk and one central for every step (a server and an adopted desk per step cost
    more than the kills): each round starts from a desk in step with central, has a day of
    business on the desk and a change at central to bring down, is killed at its step, resumes,
    and leaves both sides equal."""
    assert desk.sync().status == "succeeded"
    people = customers(desk.db)
    for round_, point in enumerate(KILL_POINTS):
        day_of_business(desk, 3)
        central_db = Database(central.db_url)
        try:
            central_edit(central_db, people[-1 - round_].id, email=f"siege{round_}@example.ci")
        finally:
            central_db.dispose()
        killed = _desk_process(desk, f"{point}:1")
        output = killed.communicate(timeout=180)[0].decode()
        assert killed.returncode == 137, (point, output)
        desk.db.dispose()
        resumed = _desk_process(desk)
        output = resumed.communicate(timeout=180)[0].decode()
        assert resumed.returncode == 0, (point, output)
        _same_everywhere(desk, central)


@pytest.mark.timeout(900)  # twenty kill cycles and five server restarts: 5 min at load 15
def test_twenty_random_kills_of_desk_and_server(both_desks: Desk, central: Central) -> None:
    """Twenty cycles on SQLite; eight on PostgreSQL, where they take the same path through the
    sync code (the kill at every single step is the test above): what PostgreSQL adds is its
    transactions cut short, which eight cycles and two server restarts already do."""
    desk = both_desks
    cycles = 20 if desk.db.engine.dialect.name == "sqlite" else 8
    assert desk.sync().status == "succeeded"
    chance = random.Random(20261122)
    for cycle in range(cycles):
        day_of_business(desk, 2)
        # Most cycles die at a step drawn at random (a run takes a fraction of a second on a
        # quiet machine: a timer alone would mostly kill before or after it); the others at a
        # moment drawn at random.
        if cycle % 4 != 1:
            process = _desk_process(desk, f"{chance.choice(KILL_POINTS)}:{chance.randint(1, 2)}")
        else:
            process = _desk_process(desk)
            time.sleep(chance.uniform(0.2, 2.5))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        if cycle % 4 == 3:
            central.kill()
            central.start()
        desk.db.dispose()
    with desk.db.session() as session:
        cut_short = session.scalar(select(func.count()).select_from(SyncRun)
                                   .where(SyncRun.status == "running"))
    assert cut_short >= cycles // 4, "the kills should land inside runs, not only before them"
    final = _desk_process(desk)
    output = final.communicate(timeout=300)[0].decode()
    assert final.returncode == 0, output
    _same_everywhere(desk, central)


def test_the_server_killed_mid_upload_then_back(desk: Desk, central: Central) -> None:
    assert desk.sync().status == "succeeded"
    day_of_business(desk, 6)
    with desk.db.session() as session:
        outbox.seal(session, "101", 0, limit=3)
        session.commit()
    calls = {"n": 0}

    def kill_after_two(request: httpx.Request) -> None:
        if request.url.path.endswith("/batches/" + request.url.path.rsplit("/", 1)[-1]) and \
                request.method == "POST":
            calls["n"] += 1
            if calls["n"] == 3:
                central.kill()

    with desk.client(attempts=2, backoff=0.01) as client:
        client._http.event_hooks["request"].append(kill_after_two)  # noqa: SLF001
        failed = desk.sync(client=client)
    assert failed.status == "failed" and "central" in failed.message
    central.start()
    assert desk.sync().status == "succeeded"
    _same_everywhere(desk, central)


class _Flaky(httpx.HTTPTransport):
    """Drops, duplicates, loses answers and corrupts bodies, by plan."""

    def __init__(self, plan: dict[str, int]) -> None:
        super().__init__()
        self.plan = dict(plan)
        self.seen: list[tuple[str, str]] = []

    def _take(self, fault: str) -> bool:
        if self.plan.get(fault, 0) > 0:
            self.plan[fault] -= 1
            return True
        return False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        is_batch = request.method == "POST" and "/batches/" in request.url.path
        if self._take("drop"):
            raise httpx.ConnectError("dropped", request=request)
        if is_batch and self._take("corrupt"):
            body = bytearray(request.read())
            body[len(body) // 2] ^= 0xFF
            request = httpx.Request(request.method, request.url, headers=request.headers,
                                    content=bytes(body))
        if is_batch and self._take("duplicate"):
            super().handle_request(httpx.Request(request.method, request.url,
                                                 headers=request.headers, content=request.read()))
        response = super().handle_request(request)
        if is_batch and self._take("lose_answer"):
            response.read()
            raise httpx.ReadError("answer lost", request=request)
        return response


FAULT_PLANS = [{"drop": 3}, {"duplicate": 2}, {"lose_answer": 2}, {"corrupt": 1},
               {"drop": 1, "lose_answer": 1, "duplicate": 1}]


@pytest.mark.timeout(900)
def test_dropped_duplicated_lost_and_corrupted_requests(desk: Desk, central: Central) -> None:
    """Each plan of faults in turn on one desk and one central, from a desk in step with it."""
    assert desk.sync().status == "succeeded"
    for plan in FAULT_PLANS:
        day_of_business(desk, 4)
        with desk.db.session() as session:
            assert len(outbox.seal(session, "101", 0, limit=4)) >= 3, plan
            session.commit()
        transport = _Flaky(plan)
        with CentralClient(desk.endpoint, transport=transport, backoff=0.01) as client:
            outcome = desk.sync(client=client)
        assert outcome.status == "succeeded", (plan, outcome.message)
        assert not any(transport.plan.values()), plan
        _same_everywhere(desk, central)


def test_batches_arriving_out_of_order_are_refused_then_sent_in_order(
        desk: Desk, central: Central) -> None:
    assert desk.sync().status == "succeeded"
    day_of_business(desk, 6)
    with desk.db.session() as session:
        sealed = outbox.seal(session, "101", 0, limit=3)
        session.commit()
    assert len(sealed) >= 2
    with desk.client() as client:
        last = int(client.state()["last_batch"])
        second = sealed[1]
        answer = client.send_batch(second.number, second.body, second.sha256, second.rows)
        assert answer["_status"] == 409 and int(client.state()["last_batch"]) == last
    assert desk.sync().status == "succeeded"
    _same_everywhere(desk, central)


def _pg_admin(url: str) -> Any:
    return create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")


def test_central_restored_from_a_backup_gets_everything_again(desk: Desk, central: Central) -> None:
    assert desk.sync().status == "succeeded"
    day_of_business(desk, 3)
    assert desk.sync().status == "succeeded"
    name = central.db_url.rsplit("/", 1)[1]
    admin = _pg_admin(central.db_url)
    central.stop()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}_bak" TEMPLATE "{name}"'))
    central.start()
    day_of_business(desk, 3)
    assert desk.sync().status == "succeeded"
    day_of_business(desk, 2)
    with desk.db.session() as session:
        sent_before = session.scalar(select(func.max(SyncOutboxBatch.number)))
    central.stop()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        connection.execute(text(f'ALTER DATABASE "{name}_bak" RENAME TO "{name}"'))
    admin.dispose()
    central.command("db", "restored")
    central.start()
    outcome = desk.sync()
    assert outcome.status == "succeeded", outcome.message
    assert outcome.restarted
    with desk.db.session() as session:
        assert session.scalar(select(func.max(SyncOutboxBatch.number))) >= sent_before
    _same_everywhere(desk, central)


def test_a_desk_clock_hours_off_changes_nothing_to_who_wins(
        desk: Desk, central: Central, monkeypatch: pytest.MonkeyPatch) -> None:
    assert desk.sync().status == "succeeded"
    import app.models.capture as capture
    import app.models.ids as ids

    skewed = ids.utcnow() + timedelta(hours=7)
    monkeypatch.setattr(capture, "utcnow", lambda: skewed)
    someone = customers(desk.db)[1]
    from tests.sync.world import edit_mobile

    edit_mobile(desk, someone.id, "07 33 33 33 33")
    monkeypatch.undo()
    central_db = Database(central.db_url)
    try:
        central_edit(central_db, someone.id, mobile="0544444444")
        outcome = desk.sync()
        assert outcome.status == "succeeded" and outcome.conflicts == 1
        [queued] = open_conflicts(central_db)
        assert queued.current_value == "0544444444"
    finally:
        central_db.dispose()


def _numbers_unique(desk: Desk, central: Central,
                    history: dict[tuple[str, str], Any] | None = None) -> None:
    """No number means two documents: on each side, across both, and (with ``history``, the
    numbers seen before) over time, one id per number."""
    from app.models import Account, Invoice

    central_db = Database(central.db_url)
    seen: dict[tuple[str, str], Any] = {} if history is None else history
    try:
        for model, column in ((Invoice, Invoice.number), (Payment, Payment.receipt_number),
                              (Account, Account.number)):
            for db in (desk.db, central_db):
                with db.session() as session:
                    pairs = session.execute(select(column, model.id)).all()
                for number, row_id in pairs:
                    assert seen.setdefault((model.__name__, number), row_id) == row_id, \
                        (model.__name__, number)
    finally:
        central_db.dispose()


def _central_invoice_numbers(central: Central) -> list[str]:
    from app.models import Invoice

    central_db = Database(central.db_url)
    try:
        with central_db.session() as session:
            return list(session.scalars(select(Invoice.number).where(Invoice.kind == "consumption")
                                        .order_by(Invoice.number)))
    finally:
        central_db.dispose()


@pytest.mark.postgres
def test_central_restored_from_a_dump_in_the_middle_of_a_week(desk: Desk, central: Central,
                                                              tmp_path: Path) -> None:
    """A real pg_dump of central on Tuesday, a correction (credit note and new invoice in
    central's series) on Wednesday that the desk receives, pg_restore of Tuesday's dump on
    Thursday without ``db restored``: the desk resends what central lost, central moves its
    series past the numbers the desk holds, the desk drops the invoices central no longer has;
    the next correction takes new numbers; both sides equal, every number unique."""
    assert desk.sync().status == "succeeded"  # Monday: adoption, last month billed
    day_of_business(desk, 3)
    assert desk.sync().status == "succeeded"  # Tuesday, then the nightly dump
    dump = tmp_path / "central.dump"
    libpq = central.db_url.replace("postgresql+psycopg://", "postgresql://")
    subprocess.run(["pg_dump", "--format=custom", "--file", str(dump), libpq],
                   check=True, timeout=120)
    billed = _central_invoice_numbers(central)
    day_of_business(desk, 3)  # Wednesday
    central.command("invoice", "correct", billed[-1], "--reason", "index mal lu")
    assert desk.sync().status == "succeeded"
    history: dict[tuple[str, str], Any] = {}
    _numbers_unique(desk, central, history)  # the credit note and new invoice, received
    day_of_business(desk, 2)
    central.stop()  # Thursday: central's disk lost, Tuesday's dump restored
    name = central.db_url.rsplit("/", 1)[1]
    admin = _pg_admin(central.db_url)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    subprocess.run(["pg_restore", "--dbname", libpq, "--no-owner", str(dump)],
                   check=True, timeout=120)
    central.start()
    thursday = desk.sync()
    assert thursday.status == "succeeded", thursday.message
    assert thursday.restarted
    _numbers_unique(desk, central, history)
    central.command("invoice", "correct", billed[-2], "--reason", "relevé contesté")
    day_of_business(desk, 2)
    friday = desk.sync()
    assert friday.status == "succeeded", friday.message
    _same_everywhere(desk, central)
    _numbers_unique(desk, central, history)  # Friday's credit note: not Wednesday's number
    assert desk.sync().mismatches == []


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The database of a desk rebuilt from central (what a bootstrap leaves is dropped too)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'reconstruit' / 'guichet.sqlite3'}"
        return
    url = request.getfixturevalue("pg_url")
    yield url
    name = url.rsplit("/", 1)[1]
    admin = _pg_admin(url)
    with admin.connect() as connection:
        for (left,) in connection.execute(text(
                "SELECT datname FROM pg_database WHERE datname LIKE :n"), {"n": f"{name}\\_%"}):
            connection.execute(text(f'DROP DATABASE IF EXISTS "{left}" WITH (FORCE)'))
    admin.dispose()


def test_a_desk_rebuilt_from_central_cashes_and_opens_files_at_once(
        desk: Desk, central: Central, fresh_url: str, tmp_path: Path) -> None:
    """A desk bootstrapped from central by ``python -m app sync`` (killed once in the middle of
    the load, then resumed) cashes a payment, creates a customer and moves one in right after:
    its counters start past the numbers it received."""
    from app.models import Contract, Meter
    from app.models.enums import PaymentMethod
    from app.services.customer_edit import create_customer
    from app.services.occupancy import change_occupant
    from app.services.payments import record_payment
    from tests.services.helpers import new_customer_input

    assert desk.sync().status == "succeeded"
    day_of_business(desk, 4)
    assert desk.sync().status == "succeeded"
    folder = tmp_path / "reconstruit"
    fresh = make_desk(central, fresh_url, folder, customers=0)
    fresh.endpoint = desk.endpoint
    killed = _desk_process(fresh, "bootstrap.page:3")
    output = killed.communicate(timeout=180)[0].decode()
    assert killed.returncode == 137, output
    fresh.db.dispose()
    resumed = _desk_process(fresh)
    output = resumed.communicate(timeout=300)[0].decode()
    assert resumed.returncode == 0, output
    assert "Amorçage terminé" in output
    rebuilt = Desk(Database(fresh_url), fresh.installation, fresh.endpoint, folder)
    try:
        with rebuilt.db.session() as session:
            contract = session.scalars(select(Contract).where(Contract.end_date.is_(None))
                                       .order_by(Contract.number)).first()
            assert contract is not None
            meter_id = session.scalars(select(Meter.id).where(
                Meter.connection_id == contract.connection_id)).first()
            leaving = (contract.id, contract.version)
            connection_id, paying = contract.connection_id, contract.account_id
        receipt = record_payment(rebuilt.ctx, paying, Decimal("2500"), PaymentMethod.CASH)
        created = create_customer(rebuilt.ctx, new_customer_input(rebuilt.ctx))
        with rebuilt.db.session() as session:
            top = session.scalar(select(func.max(MeterReading.index_value))
                                 .where(MeterReading.meter_id == meter_id)) or 0
        moved = change_occupant(rebuilt.ctx, connection_id, rebuilt.installation.today(),
                                int(top) + 3, leaving=leaving,
                                arriving_account_id=created.account_id)
        assert receipt.receipt_number and created.account_number and moved.opened_contract_number
        night = rebuilt.sync()
        assert night.status == "succeeded", night.message
        assert night.rows_up > 0 and night.parked == 0
        _same_everywhere(rebuilt, central)
        _numbers_unique(rebuilt, central)
    finally:
        rebuilt.db.dispose()


def _consumption_invoices(db: Database) -> list[tuple[Any, ...]]:
    from app.models import Invoice

    with db.session() as session:
        return [tuple(r) for r in session.execute(
            select(Invoice.contract_id, Invoice.period, Invoice.number)
            .where(Invoice.kind == "consumption").order_by(Invoice.number))]


def test_central_killed_while_it_bills_then_the_desk_killed_in_the_billing_page(
        desk: Desk, central: Central) -> None:
    """The server dies in the middle of the billing its close started (chunks of 3 contracts,
    killed in the third); started again, the next run bills the rest; the desk is killed while
    it applies the page that brings the invoices, and resumes. Every contract billed once for
    the period, every number once, both sides equal."""
    central.stop()
    central.env = {"GUICHET_CENTRAL_BILLING_CHUNK_SIZE": "3", "GUICHET_SYNC_KILL_AT": "bill.chunk:3"}
    central.start()
    failed = _desk_process(desk)
    output = failed.communicate(timeout=180)[0].decode()
    assert failed.returncode == 1 and "central" in output, output
    assert central.process is not None and central.process.wait(10) == 137
    central_db = Database(central.db_url)
    try:
        with central_db.session() as session:
            period = session.scalar(select(func.max(text("period"))).select_from(
                text("billing_run")))
        partial = [i for i in _consumption_invoices(central_db) if i[1] == period]
        assert partial, "two chunks were committed before the kill"
        central.env = {"GUICHET_CENTRAL_BILLING_CHUNK_SIZE": "3"}
        central.start()
        desk.db.dispose()
        killed = _desk_process(desk, "download.applied:1")
        output = killed.communicate(timeout=180)[0].decode()
        assert killed.returncode == 137, output
        billed = [i for i in _consumption_invoices(central_db) if i[1] == period]
        assert len(billed) > len(partial)
        assert not [i for i in _consumption_invoices(desk.db) if i[1] == period], \
            "killed while applying the page of the invoices: none of them committed"
        desk.db.dispose()
        resumed = _desk_process(desk)
        output = resumed.communicate(timeout=180)[0].decode()
        assert resumed.returncode == 0, output
        ours = [i for i in _consumption_invoices(desk.db) if i[1] == period]
        assert ours == billed
        assert len({contract for contract, _p, _n in billed}) == len(billed)
        _same_everywhere(desk, central)
        _numbers_unique(desk, central)
    finally:
        central_db.dispose()
