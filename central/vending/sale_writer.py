"""Group commit of a server process's sales (PostgreSQL).

Every sale ends by taking two rows that every other sale takes too — the commit counter (sync
numbering) and the platform's gap-free receipt series — and holds them until its commit is on
disk: one sale per ``fdatasync`` at most, whatever the CPU. The sale writer lets the sales that
arrive while one is being written wait in a queue; the request that finds the writer free takes
every order waiting (up to ``MAX_BATCH``) and writes them in **one transaction**: each sale in
its own savepoint and under its own transaction id (its audit and journal entries, its commit
number), so a refused or failing sale is rolled back alone; then one last statement, sent with
the COMMIT, numbers the batch's commits and gives its sales consecutive receipt numbers. One
disk write for the batch; across server processes the counter rows serialise batches, not
sales. A worker killed before that COMMIT leaves nothing of its batch (one transaction).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.models.enums import VendChannel
from central.sync.numbering import number_only

if TYPE_CHECKING:
    from central.vending.operators import OperatorInfo
    from central.vending.records import DeskSeller, Sale

log = logging.getLogger(__name__)

#: Orders written in one transaction at most (the first waits for the whole batch).
MAX_BATCH = 32
#: A sale that lost a deadlock with another process's batch is tried again this many times.
RETRIES = 3
#: PostgreSQL's deadlock and serialisation failures: the sale is tried again in the next batch.
_RETRYABLE = {"40P01", "40001"}


@dataclass
class Order:
    """One purchase waiting for the writer, and what it became."""

    operator: OperatorInfo
    reference: str
    number: str
    amount_minor: int
    phone: str
    channel: VendChannel
    digest: str
    desk: DeskSeller | None
    done: threading.Event = field(default_factory=threading.Event)
    #: Set when its caller has something to do: its answer is given, or the writer is its.
    wake: threading.Event = field(default_factory=threading.Event)
    sale: Sale | None = None
    replayed: bool = False
    error: BaseException | None = None
    attempts: int = 0


@dataclass(frozen=True)
class Written:
    """A sale written in the batch's transaction, its receipt still a placeholder (or, when
    ``numbered``, its receipt already: a batch of plain sales only numbers them before writing
    them, see :meth:`central.vending.batch.BatchSelling._number_first`)."""

    vend_id: uuid.UUID
    transaction_id: uuid.UUID
    placeholder: str
    texts: list[str]
    phone: str
    view: Sale
    numbered: bool = False


#: ``(session, order, now)`` → the sale written, or the sale its reference already has.
WriteSale = Callable[[Session, Order, datetime], "Written | Sale"]
#: ``(session, written sales, now)`` → their receipts, in order, the transaction committed.
NumberAndCommit = Callable[[Session, Sequence[Written], datetime], list[str]]
#: ``(session, orders, now)`` → the sales of the batch written together and the orders left to
#: write one by one (in their own savepoints, after those), both in the batch's order.
WriteMany = Callable[[Session, Sequence["Order"], datetime],
                     tuple[list[tuple["Order", Written]], list["Order"]]]
#: ``(session, orders)``: what the batch's sales must hold before any of them is written (the
#: payers' locks), taken in the batch's transaction outside the sales' savepoints.
LockBatch = Callable[[Session, Sequence[Order]], None]


class SaleWriter:
    def __init__(self, open_session: Callable[[], Session], write: WriteSale,
                 finish: NumberAndCommit, clock: Callable[[], datetime],
                 written: Callable[[], None], max_batch: int = MAX_BATCH,
                 lock: LockBatch | None = None, write_many: WriteMany | None = None) -> None:
        self._open = open_session
        self._write_many = write_many
        self._lock = lock
        self._write = write
        self._finish = finish
        self._clock = clock
        self._written = written
        self._max = max_batch
        self._queue: deque[Order] = deque()
        #: Guards the queue and ``_busy`` (a batch being written, or handed to a caller).
        self._free = threading.Lock()
        self._busy = False
        #: Sizes of the batches written by this process (the bench reads it).
        self.batches = 0
        self.sales = 0
        #: Of those sales, the ones written together by ``write_many`` (the tests read it).
        self.together = 0

    def sell(self, order: Order) -> tuple[Sale, bool]:
        """Queues the order and waits for it; the caller that finds the writer free writes
        the batch of everything waiting (its own order among them). When a batch ends, each
        of its callers is woken alone (its answer given), and the writer is handed to the
        caller of the oldest order still waiting, woken alone too: no caller is woken for
        nothing (waking every waiting thread at each batch's end cost a GIL hand-over each)."""
        with self._free:
            self._queue.append(order)
            mine = not self._busy
            self._busy = True
        while True:
            if not mine:
                order.wake.wait()
                order.wake.clear()
                if order.done.is_set():
                    break
            with self._free:
                batch = [self._queue.popleft() for _ in range(min(self._max, len(self._queue)))]
            heir = None
            try:
                self._write_batch(batch)
            finally:
                with self._free:
                    heir = self._queue[0] if self._queue else None
                    self._busy = heir is not None
                if heir is not None and heir is not order:
                    heir.wake.set()
            if order.done.is_set():
                break
            # Tried again (a deadlock lost): at the head of the queue, or behind older orders.
            mine = heir is order
        if order.error is not None:
            raise order.error
        assert order.sale is not None
        return order.sale, order.replayed

    def _write_batch(self, batch: list[Order]) -> None:
        written: list[tuple[Order, Written]] = []
        together_count = 0
        replays: list[tuple[Order, Sale]] = []
        retry: list[Order] = []
        session = self._open()
        now = self._clock()
        try:
            if self._lock is not None:
                self._lock(session, batch)
            alone = batch
            if self._write_many is not None:
                alone, together = self._together(session, batch, now)
                written.extend(together)
                together_count = len(together)
            for order in alone:
                try:
                    with session.begin_nested():
                        result = self._write(session, order, now)
                except DBAPIError as error:
                    code = getattr(error.orig, "sqlstate", None)
                    if code in _RETRYABLE and order.attempts + 1 < RETRIES:
                        order.attempts += 1
                        retry.append(order)
                    else:
                        _fail(order, error)
                    continue
                except Exception as error:  # noqa: BLE001 (this sale's refusal, given back)
                    _fail(order, error)
                    continue
                if isinstance(result, Written):
                    written.append((order, result))
                else:
                    replays.append((order, result))
            receipts: dict[uuid.UUID, str] = {}
            if written:
                number_only(session, [w.transaction_id for _o, w in written])
                numbers = self._finish(session, [w for _o, w in written], now)
                receipts = {w.vend_id: n for (_o, w), n in zip(written, numbers, strict=True)}
            else:
                session.commit()
        except BaseException as error:
            # The batch's transaction is lost (the connection, the last statement): every
            # order of it not answered yet gets the error; nothing of it was committed.
            with suppress(DBAPIError):
                session.rollback()
            for order in batch:
                if not order.done.is_set():
                    _fail(order, error)
            if not isinstance(error, Exception):
                raise
            return
        finally:
            session.close()
        self.batches += 1
        self.sales += len(written)
        self.together += together_count
        for order, sale in written:
            _answer(order, replace(sale.view, receipt=receipts[sale.vend_id]), False)
        for order, view in replays:
            # Two requests with one reference in the same batch: the second answers the
            # first's sale, numbered only now.
            receipt = receipts.get(view.id)
            _answer(order, replace(view, receipt=receipt) if receipt else view, True)
        if retry:
            with self._free:
                self._queue.extendleft(reversed(retry))
        if written:
            self._written()


    def _together(self, session: Session, batch: list[Order], now: datetime
                  ) -> tuple[list[Order], list[tuple[Order, Written]]]:
        """``write_many``, first in the batch's transaction: ``(orders left to write alone,
        sales written)``. If it fails (a deadlock with another process's batch, a row refused
        by the database), the transaction is rolled back (it held only the payers' locks,
        taken again) and every order of the batch is written alone."""
        assert self._write_many is not None
        try:
            together, alone = self._write_many(session, batch, now)
        except Exception:  # noqa: BLE001 (each order then gets its own answer, alone)
            log.warning("lot de %d ventes écrit vente par vente", len(batch), exc_info=True)
            session.rollback()
            if self._lock is not None:
                self._lock(session, batch)
            return list(batch), []
        return alone, together


def _answer(order: Order, sale: Sale, replayed: bool) -> None:
    order.sale, order.replayed = sale, replayed
    order.done.set()
    order.wake.set()


def _fail(order: Order, error: BaseException) -> None:
    order.error = error
    order.done.set()
    order.wake.set()
