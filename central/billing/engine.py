"""``python -m central bill``: every postpaid contract with days left to bill in the period, in
chunks of contracts taken by id (keyset), each chunk committed with its invoices.

Memory is bounded by the chunk size. A run that fails leaves its committed chunks billed and is
marked failed in the run ledger; running the period again bills the rest, and nothing twice:
a contract leaves the selection once ``billed_until`` covers the period, and the
(contract, period) ledger key refuses a second invoice.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection, select, text, update

from app.models import Agency
from app.models.database import Database
from app.models.ids import utcnow
from app.services.errors import BusinessError, NotFoundError
from app.services.money import Currency
from central.billing.chunk import BillingSetup, ChunkOutcome, bill_chunk
from central.billing.loading import contract_page
from central.billing.period import ONE_DAY, Period
from central.billing.tariffs import TariffBook
from central.models import BillingRun, RunStatus
from central.writes import BulkWriter

log = logging.getLogger(__name__)

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
            self.first_number = self.first_number or outcome.numbers[0]
            self.last_number = outcome.numbers[-1]

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
    ) -> None:
        self.db = db
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
    ) -> BillingReport:
        if issued_on <= period.end:
            raise BusinessError(
                f"La période {period} n'est pas terminée : elle se facture à partir du "
                f"{(period.end + ONE_DAY).isoformat()}."
            )
        report = BillingReport(period.label, issued_on, agency_code, dry_run)
        started = time.perf_counter()
        with self.db.reading() as session:
            agency_id = _agency_id(session.connection(), agency_code)
            tariffs = TariffBook.load(session)
        postpaid = tariffs.postpaid_ids()
        if dry_run:
            self._loop(report, period, issued_on, agency_id, tariffs, postpaid, None, progress,
                       None, started)
            return report
        with self._exclusive():
            run_id, resumed = self._open_run(period, issued_on, agency_code)
            report.run_id, report.resumed_from = run_id, resumed
            log.info("billing run %s for %s started (agency %s)", run_id, period,
                     agency_code or "toutes")
            try:
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
        setup = BillingSetup(
            period, issued_on, tariffs, self.currency, self.payment_terms_days, run_id,
            reason=f"Facturation {period}" + (f" (lot {run_id})" if run_id else ""),
        )
        writer = None if run_id is None else BulkWriter(self.db.dialect)
        cursor: uuid.UUID | None = None
        while postpaid:
            with self._chunk_connection(writing=writer is not None) as connection:
                contracts = contract_page(
                    connection, after=cursor, limit=self.chunk_size, period_end=period.end,
                    tariff_ids=postpaid, agency_id=agency_id, lock=writer is not None,
                )
                if not contracts:
                    break
                outcome = bill_chunk(connection, contracts, setup, writer, utcnow())
                cursor = contracts[-1].id
                if run_id is not None:
                    _count_chunk(connection, run_id, outcome, cursor)
                    if fault is not None:
                        fault(report.chunks + 1)
            report.add(outcome)
            report.seconds = time.perf_counter() - started
            if progress is not None:
                progress(report)
        report.seconds = time.perf_counter() - started

    @contextmanager
    def _chunk_connection(self, *, writing: bool) -> Iterator[Connection]:
        if writing:
            with self.db.engine.begin() as connection:
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
        with self.db.engine.connect() as connection:
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
                             resumed_from=unfinished)
            session.add(run)
            session.flush()
            return run.id, unfinished

    def _close_run(self, run_id: uuid.UUID, status: RunStatus, error: str) -> None:
        with self.db.engine.begin() as connection:
            connection.execute(
                update(BillingRun)
                .where(BillingRun.id == run_id)
                .values(status=status, finished_at=utcnow(), error=error[:2000])
            )


def _agency_id(connection: Connection, code: str | None) -> uuid.UUID | None:
    if code is None:
        return None
    found = connection.execute(select(Agency.id).where(Agency.code == code)).scalar_one_or_none()
    if found is None:
        raise NotFoundError(f"L'agence {code} n'existe pas.")
    return found


def _count_chunk(
    connection: Connection, run_id: uuid.UUID, outcome: ChunkOutcome, cursor: uuid.UUID
) -> None:
    run = BillingRun.__table__.c
    connection.execute(
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
    )


def recent_runs(db: Database, limit: int = 20) -> list[BillingRun]:
    with db.reading() as session:
        return list(
            session.scalars(select(BillingRun).order_by(BillingRun.started_at.desc()).limit(limit))
        )
