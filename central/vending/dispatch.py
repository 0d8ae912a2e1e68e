"""What happens after a sale, in the background of the server: the HES pushes the tokens to
the meter and waits for its answer, the SMS leaves the outbox. Both retry with back-off
(``retry_base_seconds`` doubled each try, capped at 10 minutes) and end in a visible status:
a delivery no meter acknowledged is ``unacknowledged``, an SMS every try failed is ``failed``.

Rows are claimed before work (their ``next_at`` moved by a lease, checked against the value
read), so the dispatchers of several server processes never push the same row at once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Table, select, update

from app.models import VendTransaction
from app.models.capture import Actor
from app.models.database import Database
from app.models.enums import SmsStatus
from app.models.ids import utcnow
from central.models import DeliveryStatus, HesDelivery, SmsMessage, SmsStatusCentral
from central.sms.gateway import SmsError, SmsGateway
from kernel.context import UnitOfWork

log = logging.getLogger("central.vending")
LEASE = timedelta(seconds=60)
MAX_WAIT = 600.0
SMS_ACTOR = Actor(username="sms")


def backoff(base: float, attempts: int) -> timedelta:
    return timedelta(seconds=min(MAX_WAIT, base * 2 ** max(0, attempts - 1)))


class Dispatcher:
    def __init__(self, db: Database, *, meters_url: str = "", sms: SmsGateway | None = None,
                 hes_max_attempts: int = 5, sms_max_attempts: int = 6,
                 retry_base_seconds: float = 2.0, clock: Callable[[], datetime] = utcnow,
                 http: httpx.Client | None = None) -> None:
        self.db = db
        self.meters_url = meters_url.rstrip("/")
        self.sms = sms
        self.hes_max_attempts = hes_max_attempts
        self.sms_max_attempts = sms_max_attempts
        self.base = retry_base_seconds
        self.clock = clock
        self.http = http or httpx.Client(timeout=5.0)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the loop -----------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="vending-dispatch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.http.close()
        close = getattr(self.sms, "close", None)
        if close is not None:
            close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
            except Exception:
                log.exception("vending dispatch failed; retrying")
                busy = 0
            if not busy:
                self._wake.wait(timeout=0.5)
                self._wake.clear()

    def run_once(self) -> int:
        """One pass over what is due; returns how many rows were worked on."""
        done = 0
        if self.meters_url:
            done += self._deliveries()
        if self.sms is not None:
            done += self._messages()
        return done

    def _claim(self, model: type[HesDelivery] | type[SmsMessage], row_id: object,
               seen: datetime) -> bool:
        table: Table = model.__table__  # type: ignore[assignment]
        with self.db.engine.begin() as connection:
            result = connection.execute(
                update(table).where(table.c.id == row_id, table.c.next_at == seen)
                .values(next_at=self.clock() + LEASE))
            return result.rowcount == 1

    # --- HES ----------------------------------------------------------------------------
    def _deliveries(self) -> int:
        now = self.clock()
        with self.db.reading() as session:
            due = list(session.execute(
                select(HesDelivery.id, HesDelivery.next_at)
                .where(HesDelivery.status == DeliveryStatus.QUEUED, HesDelivery.next_at <= now)
                .order_by(HesDelivery.id).limit(50)).all())
        worked = 0
        for row_id, seen in due:
            if self._claim(HesDelivery, row_id, seen):
                self._deliver(row_id)
                worked += 1
        return worked

    def _deliver(self, row_id: object) -> None:
        with self.db.reading() as session:
            row = session.get(HesDelivery, row_id)
            assert row is not None
            drn, tokens, delivered, attempts = (row.drn, row.tokens.split(), row.delivered,
                                                row.attempts)
        status, answer = DeliveryStatus.QUEUED, ""
        reloaded = False
        while delivered < len(tokens):
            try:
                response = self.http.post(f"{self.meters_url}/meters/{drn}/tokens",
                                          json={"token": tokens[delivered], "source": "hes"})
            except httpx.HTTPError as error:
                answer = f"compteur injoignable ({type(error).__name__})"
                break
            if response.status_code == 404 and not reloaded:
                # A meter installed since the fleet read its records: it reads them again.
                reloaded = True
                with contextlib.suppress(httpx.HTTPError):
                    self.http.post(f"{self.meters_url}/fleet/reload")
                continue
            if response.status_code != 200:
                answer = f"compteur injoignable (réponse {response.status_code})"
                break
            body = response.json()
            answer = str(body.get("message", ""))
            # A token the meter already holds (its answer to an earlier push was lost).
            if body.get("accepted") or body.get("code") == "used":
                delivered += 1
                continue
            status = DeliveryStatus.REFUSED
            break
        attempts += 1
        now = self.clock()
        if delivered == len(tokens):
            status = DeliveryStatus.ACKNOWLEDGED
        elif status is DeliveryStatus.QUEUED and attempts >= self.hes_max_attempts:
            status = DeliveryStatus.UNACKNOWLEDGED
        retry_at = now + backoff(self.base, attempts)
        with self.db.session() as session, session.begin():
            session.execute(update(HesDelivery).where(HesDelivery.id == row_id).values(
                delivered=delivered, status=status, attempts=attempts, last_answer=answer,
                updated_at=now, next_at=retry_at))
            if status is DeliveryStatus.QUEUED:
                # The meter's later sales wait: their tokens may need this one's key change.
                session.execute(update(HesDelivery).where(
                    HesDelivery.drn == drn, HesDelivery.id > row_id,
                    HesDelivery.status == DeliveryStatus.QUEUED).values(next_at=retry_at))
        if status is DeliveryStatus.UNACKNOWLEDGED:
            log.warning("tokens for meter %s not acknowledged after %d tries", drn, attempts)

    # --- SMS ----------------------------------------------------------------------------
    def _messages(self) -> int:
        now = self.clock()
        with self.db.reading() as session:
            due = list(session.execute(
                select(SmsMessage.id, SmsMessage.next_at)
                .where(SmsMessage.status == SmsStatusCentral.QUEUED, SmsMessage.next_at <= now)
                .order_by(SmsMessage.id).limit(50)).all())
        worked = 0
        for row_id, seen in due:
            if self._claim(SmsMessage, row_id, seen):
                self._send(row_id)
                worked += 1
        return worked

    def _send(self, row_id: object) -> None:
        assert self.sms is not None
        with self.db.reading() as session:
            row = session.get(SmsMessage, row_id)
            assert row is not None
            phone, text, attempts, vend_id = row.phone, row.text, row.attempts, row.vend_id
        error = ""
        try:
            self.sms.send(phone, text)
            status = SmsStatusCentral.SENT
        except SmsError as problem:
            error = str(problem)
            status = SmsStatusCentral.QUEUED
        attempts += 1
        if status is SmsStatusCentral.QUEUED and attempts >= self.sms_max_attempts:
            status = SmsStatusCentral.FAILED
        now = self.clock()
        retry_at = now + backoff(self.base, attempts)
        with self.db.session() as session, session.begin():
            session.execute(update(SmsMessage).where(SmsMessage.id == row_id).values(
                status=status, attempts=attempts, last_error=error, next_at=retry_at,
                sent_at=now if status is SmsStatusCentral.SENT else None))
            if status is not SmsStatusCentral.SENT and vend_id is not None:
                # The sale's later messages (the token after the key change) wait for it.
                session.execute(update(SmsMessage).where(
                    SmsMessage.vend_id == vend_id, SmsMessage.id > row_id,
                    SmsMessage.status == SmsStatusCentral.QUEUED).values(next_at=retry_at))
        if vend_id is not None and status is not SmsStatusCentral.QUEUED:
            self._sale_sms_status(vend_id)

    def _sale_sms_status(self, vend_id: object) -> None:
        """The sale shows its SMS status (sent once all its messages are; failed if one is)."""
        with self.db.reading() as session:
            states = set(session.scalars(select(SmsMessage.status)
                                         .where(SmsMessage.vend_id == vend_id)))
        if SmsStatusCentral.FAILED in states:
            wanted = SmsStatus.FAILED
        elif states == {SmsStatusCentral.SENT}:
            wanted = SmsStatus.SENT
        else:
            return
        with UnitOfWork(self.db, SMS_ACTOR) as uow:
            sale = uow.session.get(VendTransaction, vend_id)
            if sale is not None and sale.sms_status is not wanted:
                sale.sms_status = wanted
                uow.commit()
