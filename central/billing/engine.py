"""``python -m central bill``: every postpaid contract with days left to bill in the period, in
chunks of contracts taken by id (keyset), each chunk committed with its invoices.

Memory is bounded by the chunk size. A run that fails leaves its committed chunks billed and is
marked failed in the run ledger; running the period again bills the rest, and nothing twice:
a contract leaves the selection once ``billed_until`` covers the period, and the
(contract, period) ledger key refuses a second invoice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from sqlalchemy import Connection, select, text, update
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.models import Agency
from app.models.database import Database
from app.models.ids import utcnow
from central.billing.chunk import BillingSetup, ChunkOutcome, bill_chunk
from central.billing.loading import contract_bounds, contract_page
from central.billing.period import ONE_DAY, Period
from central.billing.processes import bill_in_processes, ranges
from central.billing.tariffs import TariffBook
from central.collector import rare_collections
from central.models import BillingRun, RunStatus
from central.writes import BulkWriter
from kernel.errors import BusinessError, NotFoundError
from kernel.faults import checkpoint
from kernel.money import Currency
from kernel.numbering import CentralSeries, last_issue

#: How long billing waits for a database connection when the pool is busy, beyond the pool's
#: own timeout, before it gives up.
POOL_PATIENCE = 600.0
T = TypeVar("T")

log = logging.getLogger(__name__)

#: Contracts to bill from which a PostgreSQL run forks ``workers`` processes rather than
#: threads (a process and its connection are worth it past a few chunks; an agency's night,
#: a few hundred contracts, stays in the server process).
PROCESSES_FROM = 10_000
#: SQLite takes at most 32 766 parameters in a statement (IN lists of a chunk).
SQLITE_MAX_CHUNK = 10_000
#: Session-level PostgreSQL advisory lock: one billing run at a time on a database.
_ADVISORY_KEY = 0x6775696368657401


@dataclass
class BillingReport:
    period: str
    issued_on: date
    agency_code: str | None
    dry_run: bool
    run_id: uuid.UUID | None = None
    resumed_from: uuid.UUID | None = None
    chunks: int = 0
    contracts: int = 0
    invoices: int = 0
    credit_notes: int = 0
    estimated: int = 0
    total_excl_vat_minor: int = 0
    vat_minor: int = 0
    total_minor: int = 0
    credited_minor: int = 0
    first_number: str | None = None
    last_number: str | None = None
    seconds: float = 0.0
    numbers: list[str] = field(default_factory=list, repr=False)

    def add(self, outcome: ChunkOutcome) -> None:
        self.chunks += 1
        self.contracts += outcome.contracts
        self.invoices += outcome.invoices
        self.credit_notes += outcome.credit_notes
        self.estimated += outcome.estimated
        self.total_excl_vat_minor += outcome.total_excl_vat_minor
        self.vat_minor += outcome.vat_minor
        self.total_minor += outcome.total_minor
        self.credited_minor += outcome.credited_minor
        if outcome.numbers:
            # Chunks may report out of order (threads); numbers are zero-padded, so they sort.
            first, last = outcome.numbers[0], outcome.numbers[-1]
            self.first_number = min(self.first_number or first, first)
            self.last_number = max(self.last_number or last, last)

    @property
    def per_second(self) -> float:
        return self.invoices / self.seconds if self.seconds else 0.0


Progress = Callable[[BillingReport], None]
#: Test hook called inside each chunk's transaction, before it commits (raise to simulate a crash).
Fault = Callable[[int], None]


class BillingEngine:
    def __init__(
        self,
        db: Database,
        currency: Currency,
        *,
        chunk_size: int = 2000,
        payment_terms_days: int = 20,
        workers: int = 2,
        processes_from: int = PROCESSES_FROM,
    ) -> None:
        self.db = db
        self.workers = max(1, workers)
        self.processes_from = processes_from
        if db.dialect == "sqlite":
            chunk_size = min(chunk_size, SQLITE_MAX_CHUNK)
        self.currency = currency
        self.chunk_size = chunk_size
        self.payment_terms_days = payment_terms_days

    def run(
        self,
        period: Period,
        issued_on: date,
        *,
        agency_code: str | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
        fault: Fault | None = None,
        today: date | None = None,
    ) -> BillingReport:
        """Bills ``period`` with invoices dated ``issued_on``. ``today`` (the installation's
        date, by default the UTC date) decides whether the period is over: a run dated after a
        month that has not ended yet is refused (a move-out's final invoice has its own path)."""
        check_dates(period, issued_on, today or utcnow().date())
        report = BillingReport(period.label, issued_on, agency_code, dry_run)
        started = time.perf_counter()
        def load() -> tuple[uuid.UUID | None, TariffBook]:
            with self.db.reading() as session:
                found = _agency_id(session.connection(), agency_code), TariffBook.load(session)
                check_series_dates(session.connection(), issued_on)
                return found

        agency_id, tariffs = _patiently(load)
        postpaid = tariffs.postpaid_ids()
        if dry_run:
            with rare_collections():
                self._loop(report, period, issued_on, agency_id, tariffs, postpaid, None,
                           progress, None, started)
            return report
        with self._exclusive():
            run_id, resumed = _patiently(lambda: self._open_run(period, issued_on, agency_code))
            report.run_id, report.resumed_from = run_id, resumed
            log.info("billing run %s for %s started (agency %s)", run_id, period,
                     agency_code or "toutes")
            try:
                with rare_collections():
                    self._loop(report, period, issued_on, agency_id, tariffs, postpaid, run_id,
                               progress, fault, started)
            except BaseException as error:
                self._close_run(run_id, RunStatus.FAILED, f"{type(error).__name__}: {error}")
                log.exception("billing run %s failed after %d invoices", run_id, report.invoices)
                raise
            self._close_run(run_id, RunStatus.COMPLETED, "")
        log.info("billing run %s completed: %d invoices in %.1f s", run_id, report.invoices,
                 report.seconds)
        return report

    def _loop(
        self,
        report: BillingReport,
        period: Period,
        issued_on: date,
        agency_id: uuid.UUID | None,
        tariffs: TariffBook,
        postpaid: list[uuid.UUID],
        run_id: uuid.UUID | None,
        progress: Progress | None,
        fault: Fault | None,
        started: float,
    ) -> None:
        """Chunks one after the other; on PostgreSQL in ``workers`` threads (while one chunk is
        written by the server, the next one is planned in Python: psycopg releases the GIL
        while it waits), or for a large run in ``workers`` processes (``central.billing.
        processes``: Python past one core). Pages are taken in id order; the number series
        row makes the writes follow one another, so numbers stay gapless."""
        setup = BillingSetup(
            period, issued_on, tariffs, self.currency, self.payment_terms_days, run_id,
            reason=f"Facturation {period}" + (f" (lot {run_id})" if run_id else ""),
        )
        writing = run_id is not None
        state = _Progress(report, progress, started)
        if not postpaid:
            return
        # One writer per thread (its id maker is not shared) and per process.
        own = threading.local()

        def bill_range(
            after: uuid.UUID | None, upto: uuid.UUID | None, done: Callable[[ChunkOutcome], None]
        ) -> None:
            """The chunks of one range of contracts (``upto`` None: to the end), each its own
            transaction."""
            writer: BulkWriter | None = getattr(own, "writer", None)
            if writing and writer is None:
                writer = own.writer = BulkWriter(self.db.dialect)
            while True:
                with self._chunk_connection(writing=writing) as connection:
                    contracts = contract_page(connection, after=after, upto=upto,
                                              limit=self.chunk_size, lock=writing,
                                              period_end=period.end, tariff_ids=postpaid,
                                              agency_id=agency_id)
                    if not contracts:
                        return
                    outcome = bill_chunk(connection, contracts, setup, writer, utcnow())
                    if run_id is not None:
                        number = _count_chunk(connection, run_id, outcome, contracts[-1].id)
                        if fault is not None:
                            fault(number)
                        checkpoint("bill.chunk")  # fault tests: the server dies mid-chunk
                done(outcome)
                after = contracts[-1].id
                if after == upto:
                    return

        parallel = self.workers if writing and self.db.dialect == "postgresql" else 1
        if parallel == 1:
            bill_range(None, None, state.done)
        else:
            with self._chunk_connection(writing=False) as connection:
                work = ranges(contract_bounds(
                    connection, size=self.chunk_size, period_end=period.end,
                    tariff_ids=postpaid, agency_id=agency_id))
            if len(work) * self.chunk_size > self.processes_from:
                bill_in_processes(parallel, work, bill_range,
                                  lambda: self.db.engine.dispose(close=False), state.done)
            else:
                pending = deque(work)

                def take() -> None:
                    while not state.stop.is_set():
                        with state.pages:
                            if not pending:
                                return
                            after, upto = pending.popleft()
                        bill_range(after, upto, state.done)

                _run_in_threads(take, parallel, state.stop)
        report.seconds = time.perf_counter() - started

    def _connect(self) -> Connection:
        """A connection, waiting as long as it takes (up to ``POOL_PATIENCE``) when the pool is
        busy: other agencies' synchronisations holding every connection is a wait, never a
        reason to mark a billing run failed."""
        return _patiently(self.db.engine.connect)

    @contextmanager
    def _chunk_connection(self, *, writing: bool) -> Iterator[Connection]:
        if writing:
            with self._connect() as connection, connection.begin():
                yield connection
        else:
            with self.db.reading() as session:
                yield session.connection()

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One run at a time on PostgreSQL (a crashed process releases the lock with its
        connection). On SQLite the database write lock serialises chunks anyway."""
        if self.db.dialect != "postgresql":
            yield
            return
        with self._connect() as connection:
            got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                     {"k": _ADVISORY_KEY}).scalar_one()
            connection.commit()
            if not got:
                raise BusinessError("Une facturation est déjà en cours sur cette base : "
                                    "attendez qu'elle se termine.")
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_KEY})
                connection.commit()

    def _open_run(
        self, period: Period, issued_on: date, agency_code: str | None
    ) -> tuple[uuid.UUID, uuid.UUID | None]:
        # Under the run lock (PostgreSQL): a run still marked running is a dead process's.
        settle_dead_runs(self.db, holding_lock=True)
        with self.db.session() as session, session.begin():
            unfinished = session.scalars(
                select(BillingRun.id)
                .where(
                    BillingRun.period == period.label,
                    BillingRun.agency_code.is_(None) if agency_code is None
                    else BillingRun.agency_code == agency_code,
                    BillingRun.status != RunStatus.COMPLETED,
                )
                .order_by(BillingRun.started_at.desc())
            ).first()
            run = BillingRun(period=period.label, agency_code=agency_code, issued_on=issued_on,
                             resumed_from=unfinished, host=socket.gethostname()[:255],
                             pid=os.getpid())
            session.add(run)
            session.flush()
            return run.id, unfinished

    def _close_run(self, run_id: uuid.UUID, status: RunStatus, error: str) -> None:
        with self._connect() as connection, connection.begin():
            connection.execute(
                update(BillingRun)
                .where(BillingRun.id == run_id)
                .values(status=status, finished_at=utcnow(), error=error[:2000])
            )


def check_dates(period: Period, issued_on: date, today: date) -> None:
    """A period is billed once it is over, with invoices dated after it and not in the future."""
    if today <= period.end:
        raise BusinessError(
            f"La période {period} n'est pas terminée (nous sommes le {today.isoformat()}) : "
            f"elle se facture à partir du {(period.end + ONE_DAY).isoformat()}."
        )
    if issued_on <= period.end:
        raise BusinessError(
            f"La date d'émission {issued_on.isoformat()} tombe dans la période {period} : "
            f"les factures d'une période sont émises après son dernier jour."
        )
    if issued_on > today:
        raise BusinessError(
            f"La date d'émission {issued_on.isoformat()} est dans le futur "
            f"(nous sommes le {today.isoformat()})."
        )


def check_series_dates(connection: Connection, issued_on: date) -> None:
    """Refuses a run dated before the last invoice or credit note of its year's series: within a
    series, numbers and issue dates both increase."""
    for series in CentralSeries:
        last = last_issue(connection, series, issued_on.year)
        if last is not None and last[1] > issued_on:
            raise BusinessError(
                f"Date d'émission {issued_on.isoformat()} antérieure à celle de {last[0]} "
                f"({last[1].isoformat()}) : dans une série, numéros et dates d'émission "
                "croissent ensemble. Émettez à cette date ou après."
            )


def _patiently(step: Callable[[], T]) -> T:
    """``step`` again (it has written nothing yet) while the pool has no free connection, up to
    ``POOL_PATIENCE`` seconds."""
    deadline = time.monotonic() + POOL_PATIENCE
    while True:
        try:
            return step()
        except PoolTimeout:
            if time.monotonic() > deadline:
                raise
            log.warning("billing waits for a free database connection (pool busy)")
            time.sleep(0.5)


def _agency_id(connection: Connection, code: str | None) -> uuid.UUID | None:
    if code is None:
        return None
    found = connection.execute(select(Agency.id).where(Agency.code == code)).scalar_one_or_none()
    if found is None:
        raise NotFoundError(f"L'agence {code} n'existe pas.")
    return found


def _count_chunk(
    connection: Connection, run_id: uuid.UUID, outcome: ChunkOutcome, cursor: uuid.UUID
) -> int:
    """Adds the chunk to the run's counters (same transaction); returns the chunk's number."""
    run = BillingRun.__table__.c
    return int(connection.execute(
        update(BillingRun)
        .where(run.id == run_id)
        .values(
            chunks=run.chunks + 1,
            contracts=run.contracts + outcome.contracts,
            invoices=run.invoices + outcome.invoices,
            credit_notes=run.credit_notes + outcome.credit_notes,
            estimated=run.estimated + outcome.estimated,
            total_minor=run.total_minor + outcome.total_minor,
            last_contract_id=cursor,
        )
        .returning(run.chunks)
    ).scalar_one())


class _Progress:
    """What the workers share: the lock on the pending ranges, the report, the stop signal."""

    def __init__(self, report: BillingReport, progress: Progress | None, started: float) -> None:
        self.report = report
        self.progress = progress
        self.started = started
        self.pages = threading.Lock()
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def done(self, outcome: ChunkOutcome) -> None:
        with self._lock:
            self.report.add(outcome)
            self.report.seconds = time.perf_counter() - self.started
            if self.progress is not None:
                self.progress(self.report)


def _run_in_threads(work: Callable[[], None], count: int, stop: threading.Event) -> None:
    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            work()
        except BaseException as error:  # re-raised in the calling thread below
            errors.append(error)
            stop.set()

    threads = [threading.Thread(target=guarded, name=f"billing-{n}") for n in range(count)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    except BaseException:
        stop.set()
        for thread in threads:
            thread.join()
        raise
    if errors:
        raise errors[0]


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def run_lock_free(db: Database) -> bool:
    """No process holds the billing run lock (PostgreSQL): no run is in progress."""
    with db.engine.connect() as connection:
        got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                 {"k": _ADVISORY_KEY}).scalar_one()
        if got:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_KEY})
        connection.commit()
        return bool(got)


def settle_dead_runs(db: Database, *, holding_lock: bool = False) -> int:
    """Marks ``interrupted`` the runs left ``running`` by a process that died (killed by the
    system, machine restarted). On PostgreSQL a live run holds the advisory lock, so a running
    run while the lock is free is dead; on SQLite its process is looked up on this machine.
    Returns how many were marked."""
    with db.reading() as session:
        running = session.execute(
            select(BillingRun.id, BillingRun.host, BillingRun.pid)
            .where(BillingRun.status == RunStatus.RUNNING)
        ).all()
    if not running:
        return 0
    if db.dialect == "postgresql":
        dead = [r.id for r in running] if holding_lock or run_lock_free(db) else []
    else:
        here = socket.gethostname()[:255]
        dead = [r.id for r in running
                if r.host == here and r.pid is not None and r.pid != os.getpid()
                and not _process_alive(r.pid)]
    if not dead:
        return 0
    with db.engine.begin() as connection:
        connection.execute(
            update(BillingRun)
            .where(BillingRun.id.in_(dead), BillingRun.status == RunStatus.RUNNING)
            .values(status=RunStatus.INTERRUPTED, finished_at=utcnow(),
                    error="Processus arrêté pendant la facturation (tué ou machine arrêtée).")
        )
    log.warning("billing runs %s marked interrupted (their process is gone)", dead)
    return len(dead)


def resume_command(run: BillingRun) -> str:
    """The command that finishes what an interrupted or failed run left."""
    agency = f" --agency {run.agency_code}" if run.agency_code else ""
    return (f"python -m central bill --period {run.period}{agency} "
            f"--issued-on {run.issued_on.isoformat()}")


def recent_runs(db: Database, limit: int = 20) -> list[BillingRun]:
    settle_dead_runs(db)
    with db.reading() as session:
        return list(
            session.scalars(select(BillingRun).order_by(BillingRun.started_at.desc()).limit(limit))
        )
