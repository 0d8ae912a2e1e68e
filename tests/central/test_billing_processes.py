"""A large billing run on PostgreSQL spread over worker processes (``central.billing.processes``):
the same bills as one thread, gapless numbers, every row journaled; a worker that fails or dies
fails the run with only whole chunks committed, and the next run finishes the rest; the whole
command killed leaves no worker writing behind it."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from sqlalchemy import func, select

from app.models import Contract, Invoice, InvoiceLine, SyncJournalEntry
from app.models.database import Database
from central.billing import engine as engine_module
from central.billing.chunk import ChunkOutcome
from central.billing.engine import BillingEngine
from central.billing.processes import WorkerLost, bill_in_processes
from central.models import BillingRun, RunStatus
from kernel.money import Currency
from tests.central.test_billing_runs import ISSUED, NOV, billable, count, read_november
from tests.conftest import make_demo

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def demo(central_pg_url: str) -> Iterator[Database]:
    db = Database(central_pg_url)
    make_demo(db, customers=120)
    read_november(db)
    yield db
    db.dispose()


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many ranges each run handed to worker processes (the run went through them)."""
    seen: list[int] = []
    real = engine_module.bill_in_processes

    def spy(count: int, work: list[Any], *args: Any) -> None:
        seen.append(len(work))
        real(count, work, *args)

    monkeypatch.setattr(engine_module, "bill_in_processes", spy)
    return seen


def in_processes(db: Database, chunk_size: int = 16) -> BillingEngine:
    return BillingEngine(db, Currency.of("XOF"), chunk_size=chunk_size, workers=2,
                         processes_from=1)


def invoices_of_period(db: Database) -> list[tuple[Any, ...]]:
    with db.reading() as session:
        return [tuple(r) for r in session.execute(
            select(Invoice.contract_id, Invoice.number, Invoice.total_minor)
            .where(Invoice.period == NOV.label).order_by(Invoice.number))]


def assert_whole_and_gapless(db: Database) -> None:
    """Every invoice of the period has its lines and its contract moved on; one invoice per
    contract; numbers without a gap."""
    billed = invoices_of_period(db)
    counters = [int(number.split("-")[1]) for _, number, _ in billed]
    assert counters == list(range(counters[0], counters[0] + len(counters))), "no gap"
    assert len({contract for contract, _, _ in billed}) == len(billed), "one per contract"
    with db.reading() as session:
        moved = set(session.scalars(select(Contract.id).where(Contract.billed_until == NOV.end)))
        lineless = session.scalar(
            select(func.count()).select_from(Invoice)
            .where(Invoice.period == NOV.label,
                   ~select(InvoiceLine.id).where(InvoiceLine.invoice_id == Invoice.id).exists()))
    assert {contract for contract, _, _ in billed} <= moved and lineless == 0


def test_processes_bill_what_one_thread_bills(demo: Database, forks: list[int]) -> None:
    dry = BillingEngine(demo, Currency.of("XOF"), chunk_size=16, workers=1).run(
        NOV, ISSUED, dry_run=True)
    with demo.reading() as session:
        seen = session.scalar(select(func.max(SyncJournalEntry.seq))) or 0
    report = in_processes(demo).run(NOV, ISSUED)
    assert forks and forks[0] > 2, "the run went through worker processes"
    assert (report.invoices, report.estimated, report.total_minor, report.vat_minor) == (
        dry.invoices, dry.estimated, dry.total_minor, dry.vat_minor)
    assert report.invoices == billable(demo) > 100
    assert_whole_and_gapless(demo)
    billed = invoices_of_period(demo)
    assert (report.first_number, report.last_number) == (billed[0][1], billed[-1][1])
    assert sum(total for _, _, total in billed) == report.total_minor
    with demo.reading() as session:
        run = session.scalars(select(BillingRun)).one()
        lines = count(demo, InvoiceLine, InvoiceLine.invoice_id.in_(
            select(Invoice.id).where(Invoice.period == NOV.label)))
        journaled = dict(session.execute(
            select(SyncJournalEntry.table_name, func.count())
            .where(SyncJournalEntry.seq > seen).group_by(SyncJournalEntry.table_name)).all())
    assert (journaled["invoice"], journaled["invoice_line"], journaled["contract"]) == (
        report.invoices, lines, report.invoices)
    assert run.status is RunStatus.COMPLETED and run.invoices == report.invoices
    assert in_processes(demo).run(NOV, ISSUED).invoices == 0, "never twice"


def test_a_failing_worker_fails_the_run_and_the_next_run_finishes(
        demo: Database, forks: list[int]) -> None:
    def crash_on_third_chunk(chunk: int) -> None:
        if chunk == 3:
            raise RuntimeError("disque plein")

    with pytest.raises(RuntimeError, match="disque plein"):
        in_processes(demo).run(NOV, ISSUED, fault=crash_on_third_chunk)
    with demo.reading() as session:
        failed = session.scalars(select(BillingRun)).one()
    committed = count(demo, Invoice, Invoice.period == NOV.label)
    assert failed.status is RunStatus.FAILED and "disque plein" in failed.error
    assert committed == failed.invoices and 0 < committed < billable(demo)
    assert_whole_and_gapless(demo)
    report = in_processes(demo).run(NOV, ISSUED)
    assert report.resumed_from == failed.id and report.invoices == billable(demo) - committed
    assert_whole_and_gapless(demo)
    assert len(forks) == 2


def test_a_worker_that_dies_fails_the_run_with_whole_chunks_only(
        demo: Database, forks: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker killed in its second chunk's transaction (``os._exit``, as by the system)."""
    monkeypatch.setenv("GUICHET_SYNC_KILL_AT", "bill.chunk:2")
    with pytest.raises(WorkerLost, match="arrêté"):
        in_processes(demo).run(NOV, ISSUED)
    monkeypatch.delenv("GUICHET_SYNC_KILL_AT")
    with demo.reading() as session:
        failed = session.scalars(select(BillingRun)).one()
    committed = count(demo, Invoice, Invoice.period == NOV.label)
    assert failed.status is RunStatus.FAILED and committed == failed.invoices < billable(demo)
    assert_whole_and_gapless(demo)
    report = in_processes(demo).run(NOV, ISSUED)
    assert report.invoices == billable(demo) - committed
    assert_whole_and_gapless(demo)


def test_the_command_killed_leaves_no_worker_and_the_next_run_finishes(
        demo: Database, central_pg_url: str, tmp_path: Path) -> None:
    """A contract held locked by another transaction keeps the run from ending; once chunks
    are committed the command is killed (SIGKILL): its workers die with it, what was committed
    is whole, and the next run marks it interrupted and bills the rest."""
    env = {**os.environ, "GUICHET_CENTRAL_DATABASE_URL": central_pg_url,
           "GUICHET_CENTRAL_DATA_DIR": str(tmp_path), "GUICHET_CENTRAL_BILLING_CHUNK_SIZE": "4",
           "GUICHET_CENTRAL_BILLING_PROCESSES_FROM": "1"}
    env.pop("GUICHET_SYNC_KILL_AT", None)
    command = [sys.executable, "-m", "central", "bill", "--period", NOV.label,
               "--issued-on", ISSUED.isoformat()]
    output = tmp_path / "bill.out"
    with demo.engine.connect() as holder, holder.begin(), output.open("wb") as out:
        ids = holder.execute(select(Contract.id).order_by(Contract.id)).scalars().all()
        holder.execute(select(Contract.id).where(Contract.id == ids[len(ids) * 3 // 4])
                       .with_for_update())
        bill = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
        workers: list[psutil.Process] = []
        try:
            while count(demo, Invoice, Invoice.period == NOV.label) < 8:
                assert bill.poll() is None, output.read_text()
                workers = workers or psutil.Process(bill.pid).children()
                time.sleep(0.05)
            workers = workers or psutil.Process(bill.pid).children()
            bill.send_signal(signal.SIGKILL)
            bill.wait(30)
        finally:
            if bill.poll() is None:
                bill.kill()
        assert workers, "the command billed in worker processes"
        _gone, alive = psutil.wait_procs(workers, timeout=30)
        assert not alive, "workers die with the command"
    assert_whole_and_gapless(demo)
    committed = count(demo, Invoice, Invoice.period == NOV.label)
    with demo.reading() as session:
        assert session.scalars(select(BillingRun)).one().invoices == committed < billable(demo)
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=300)
    assert finished.returncode == 0, finished.stdout.decode() + finished.stderr.decode()
    with demo.reading() as session:
        runs = {run.status for run in session.scalars(select(BillingRun))}
    assert runs == {RunStatus.INTERRUPTED, RunStatus.COMPLETED}
    assert count(demo, Invoice, Invoice.period == NOV.label) == billable(demo)
    assert_whole_and_gapless(demo)


class _Node:
    me: Any = None


def _cycle_per_chunk(after: Any, upto: Any, report: Any) -> None:
    """Two chunks, each leaving a reference cycle: says whether the collector runs by itself
    and whether the previous chunk's cycle was freed once that chunk was reported."""
    freed = None
    for _ in range(2):
        node = _Node()
        node.me = node
        made = weakref.ref(node)
        del node
        report(ChunkOutcome(numbers=[f"automatic={gc.isenabled()}", f"freed={freed}"]))
        freed = made() is None


def test_a_worker_collects_cycles_after_each_chunk_not_while_building_it() -> None:
    """The cycle collector of a billing process does not walk a chunk while it is built; what
    a chunk leaves in cycles is freed once the chunk is reported (memory stays flat)."""
    outcomes: list[ChunkOutcome] = []
    bill_in_processes(1, [(None, None)], _cycle_per_chunk, lambda: None, outcomes.append)
    assert [o.numbers for o in outcomes] == [["automatic=False", "freed=None"],
                                             ["automatic=False", "freed=True"]]
    assert gc.isenabled(), "the run's own process keeps its collector"
