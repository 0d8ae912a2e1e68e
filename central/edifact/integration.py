"""Integrating an interchange file: each message accepted or rejected on its own, the accepted
ones written in batches (one transaction each, journaled so the site's agency downloads them),
the interchange recorded once (its sender and reference are the idempotence guard).
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from babel.numbers import get_currency_precision
from sqlalchemy import Connection, select, text, update
from sqlalchemy.exc import IntegrityError

from app.models import SupplierInvoice
from app.models.database import Database
from app.models.ids import new_id, utcnow
from central.actors import ADMINISTRATION
from central.collector import rare_collections
from central.edifact.envelope import Header, check, messages
from central.edifact.invoic import InvoiceMessage, read_invoice
from central.edifact.syntax import Interchange, Problem, Rejected
from central.models import EdifactInterchange, EdifactSite, EdifactSupplier
from central.writes import BulkWriter, ChangeSet
from kernel.filelock import try_lock

BATCH = 1000


@dataclass
class Outcome:
    rank: int
    reference: str
    number: str
    reason: str = ""

    @property
    def accepted(self) -> bool:
        return not self.reason


@dataclass
class FileReport:
    path: Path
    header: Header | None = None
    #: Why the whole file was refused (envelope, already integrated); empty otherwise.
    refused: str = ""
    duplicate: bool = False
    #: Refused because another process is integrating the same interchange.
    busy: bool = False
    accepted: int = 0
    rejected: list[Outcome] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every message integrated."""
        return not self.refused and not self.rejected

    def text(self) -> str:
        """The report written beside the file."""
        lines = [f"Fichier : {self.path.name}"]
        if self.header is not None:
            h = self.header
            lines.append(f"Échange : émetteur {h.sender}, référence {h.reference}, syntaxe "
                         f"{h.syntax} version {h.syntax_version}, préparé {h.prepared}")
        if self.refused:
            lines.append(f"REFUSÉ : {self.refused}")
            return "\n".join(lines) + "\n"
        lines.append(f"Messages intégrés : {self.accepted}")
        lines.append(f"Messages rejetés : {len(self.rejected)}")
        for outcome in self.rejected:
            what = f" (document {outcome.number})" if outcome.number else ""
            lines.append(f"  message {outcome.rank}, référence {outcome.reference or '?'}"
                         f"{what} : {outcome.reason}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class _Reference:
    suppliers: dict[str, str]
    sites: dict[tuple[str, str], tuple[uuid.UUID, str]]

    @classmethod
    def load(cls, connection: Connection) -> _Reference:
        suppliers = dict(connection.execute(select(EdifactSupplier.code, EdifactSupplier.name))
                         .all())
        sites = {(s, r): (a, c) for s, r, a, c in connection.execute(
            select(EdifactSite.supplier_code, EdifactSite.reference, EdifactSite.agency_id,
                   EdifactSite.agency_code))}
        return cls(suppliers, sites)


@cache
def _exponent(currency: str) -> int:
    return int(get_currency_precision(currency))


def _minor(value: Decimal, currency: str, sign: int) -> int:
    return sign * int(value.scaleb(_exponent(currency)))


def interchange_lock_key(sender: str, reference: str) -> int:
    """The PostgreSQL advisory lock key of an interchange (sender and control reference)."""
    digest = hashlib.sha256(f"edifact\0{sender}\0{reference}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


#: The documents of a batch already integrated, each key looked up on the unique index
#: (supplier, number, credit note) by a nested loop that no row estimate can turn into a scan.
#: The former look-up (``supplier_code IN (…) AND number IN (1,000 values)``) went wrong on a
#: table without statistics: psycopg prepares a statement run five times, and once PostgreSQL
#: switched it to a generic plan costed while the table was small, it kept that plan (the index
#: on ``supplier_code`` alone, then each of its rows compared with the 1,000 numbers one by one)
#: as the table grew: 3 s per batch at 55,000 invoices, the import's server time tenfold.
INTEGRATED_SQL = (
    "SELECT k.supplier_code, k.number, k.is_credit_note "
    "FROM unnest(%s::varchar[], %s::varchar[], %s::boolean[]) "
    "AS k(supplier_code, number, is_credit_note) "
    "CROSS JOIN LATERAL (SELECT 1 FROM supplier_invoice AS t "
    "WHERE t.supplier_code = k.supplier_code AND t.number = k.number "
    "AND t.is_credit_note = k.is_credit_note LIMIT 1) AS found"
)


def integrated_documents(connection: Connection, keys: Collection[tuple[str, str, bool]]
                         ) -> set[tuple[str, str, bool]]:
    """Which of these (supplier, document number, credit note) are already integrated."""
    if not keys:
        return set()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        assert raw is not None
        suppliers, numbers, credits = zip(*keys, strict=True)
        with raw.cursor() as cursor:
            cursor.execute(INTEGRATED_SQL, (list(suppliers), list(numbers), list(credits)))
            return {(s, n, c) for s, n, c in cursor.fetchall()}
    # SQLite walks the unique index for both IN lists; extra rows are harmless.
    table = SupplierInvoice.__table__.c
    return {(s, n, c) for s, n, c in connection.execute(
        select(table.supplier_code, table.number, table.is_credit_note)
        .where(table.supplier_code.in_({k[0] for k in keys}),
               table.number.in_({k[1] for k in keys})))}


class _Batch:
    """The accepted invoices waiting for their transaction."""

    def __init__(self) -> None:
        self.invoices: list[tuple[Outcome, InvoiceMessage, uuid.UUID]] = []

    def __len__(self) -> int:
        return len(self.invoices)


class _WriterThread(threading.Thread):
    """Writes the batches while the next ones are read: the database works on one batch while
    Python reads the next (one batch waits at most, so memory stays flat). Its failure is
    raised again in the reading thread."""

    def __init__(self, flush: Callable[[_Batch], tuple[int, list[Outcome]]]) -> None:
        super().__init__(name="edifact-writer", daemon=True)
        self._flush = flush
        self._queue: queue.Queue[_Batch | None] = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.accepted = 0
        self.rejected: list[Outcome] = []

    def run(self) -> None:
        while (batch := self._queue.get()) is not None:
            if self.error is not None:
                continue
            try:
                accepted, rejected = self._flush(batch)
            except BaseException as error:  # noqa: BLE001 - raised again by the reader
                self.error = error
                continue
            self.accepted += accepted
            self.rejected.extend(rejected)

    def put(self, batch: _Batch) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put(batch)

    def finish(self) -> None:
        self._queue.put(None)
        self.join()
        if self.error is not None:
            raise self.error


class Importer:
    def __init__(self, db: Database, default_currency: str, batch: int = BATCH) -> None:
        self.db = db
        self.default_currency = default_currency
        self.batch_size = batch
        self.writer = BulkWriter(db.dialect)
        #: Called when the import waits for another one to finish (SQLite).
        self.on_wait: Callable[[], None] | None = None

    def import_file(self, path: Path) -> FileReport:
        report = FileReport(path)
        try:
            with path.open("rb") as stream:
                report.header = check(Interchange(stream))
        except Rejected as error:
            report.refused = f"enveloppe de l'échange invalide : {error.problem}"
            return report
        header = report.header
        with self._exclusive(header) as alone:
            if not alone:
                report.busy = True
                report.refused = (f"échange en cours d'intégration par un autre processus : "
                                  f"émetteur {header.sender}, référence {header.reference} ; "
                                  "rien n'a été écrit par celui-ci (relancez après la fin de "
                                  "l'autre : l'échange sera alors dit déjà intégré, ou repris "
                                  "s'il a été interrompu)")
                return report
            return self._import(path, header, report)

    @contextmanager
    def _exclusive(self, header: Header) -> Iterator[bool]:
        """One process at a time on an interchange; yields False when another holds it.

        PostgreSQL: an advisory lock on the interchange's sender and reference, held by a
        connection for the whole import (the server releases it when a killed process's
        connection goes). SQLite: the system's lock on a file beside the database, for any
        interchange (SQLite writes one transaction at a time anyway): the second import waits
        for the first, then finds the interchange integrated."""
        if self.db.dialect == "postgresql":
            key = interchange_lock_key(header.sender, header.reference)
            with self.db.engine.connect() as connection:
                got = bool(connection.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                              {"k": key}).scalar_one())
                connection.commit()
                try:
                    yield got
                finally:
                    if got:
                        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                        connection.commit()
            return
        database = self.db.engine.url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            yield True
            return
        with open(f"{database}.edifact.lock", "a+b") as handle:
            if not try_lock(handle):
                if self.on_wait is not None:
                    self.on_wait()
                while not try_lock(handle):
                    time.sleep(0.2)
            yield True

    def _import(self, path: Path, header: Header, report: FileReport) -> FileReport:
        resumed = self._claim(path, header, report)
        if report.refused:
            return report
        with self.db.engine.connect() as connection:
            reference = _Reference.load(connection)
        batch = _Batch()
        writer = _WriterThread(lambda b: self._flush(b, header, reference, resumed))
        writer.start()
        try:
            with path.open("rb") as stream, rare_collections():
                interchange = Interchange(stream)
                for outcome, invoice, agency in self._read(interchange, reference):
                    if invoice is None:
                        report.rejected.append(outcome)
                        continue
                    assert agency is not None
                    batch.invoices.append((outcome, invoice, agency))
                    if len(batch) >= self.batch_size:
                        writer.put(batch)
                        batch = _Batch()
            writer.put(batch)
        finally:
            writer.finish()
        report.accepted += writer.accepted
        report.rejected.extend(writer.rejected)
        report.rejected.sort(key=lambda o: o.rank)
        with self.db.engine.begin() as connection:
            connection.execute(
                update(EdifactInterchange)
                .where(EdifactInterchange.sender == header.sender,
                       EdifactInterchange.reference == header.reference)
                .values(completed_at=utcnow(), messages=report.accepted + len(report.rejected),
                        accepted=report.accepted, rejected=len(report.rejected),
                        rejections=[{"message": o.rank, "reference": o.reference,
                                     "reason": o.reason} for o in report.rejected[:1000]])
            )
        return report

    def _claim(self, path: Path, header: Header, report: FileReport) -> bool:
        """Records the interchange; True when it resumes an interrupted import of it."""
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
        table = EdifactInterchange.__table__
        try:
            with self.db.engine.begin() as connection:
                connection.execute(table.insert().values(  # type: ignore[attr-defined]
                    id=new_id(), sender=header.sender, reference=header.reference,
                    file_name=path.name[:255], sha256=digest.hexdigest(), received_at=utcnow(),
                    messages=0, accepted=0, rejected=0, rejections=[]))
            return False
        except IntegrityError:
            pass
        with self.db.engine.connect() as connection:
            earlier = connection.execute(
                select(EdifactInterchange.file_name, EdifactInterchange.received_at,
                       EdifactInterchange.completed_at)
                .where(EdifactInterchange.sender == header.sender,
                       EdifactInterchange.reference == header.reference)).one()
        if earlier.completed_at is None:
            return True
        report.duplicate = True
        report.refused = (f"échange déjà intégré : émetteur {header.sender}, référence "
                          f"{header.reference}, reçu le "
                          f"{earlier.received_at:%d/%m/%Y à %H:%M} UTC "
                          f"(fichier {earlier.file_name}) ; rien n'a été intégré à nouveau")
        return False

    def _read(self, interchange: Interchange, reference: _Reference
              ) -> Iterator[tuple[Outcome, InvoiceMessage | None, uuid.UUID | None]]:
        for raw in messages(interchange):
            outcome = Outcome(raw.rank, "", "")
            try:
                if raw.problem is not None:
                    raise Rejected(raw.problem)
                segments = interchange.parse(raw.segments)
                outcome.reference = segments[0].value(1)
                if len(segments) > 1 and segments[1].tag == "BGM":
                    outcome.number = segments[1].value(2)[:35]
                invoice = read_invoice(segments, self.default_currency)
                outcome.number = invoice.number
                agency = self._agency(invoice, reference)
            except Rejected as error:
                outcome.reason = str(error.problem)
                yield outcome, None, None
                continue
            yield outcome, invoice, agency

    @staticmethod
    def _agency(invoice: InvoiceMessage, reference: _Reference) -> uuid.UUID:
        supplier = invoice.supplier_code
        if supplier not in reference.suppliers:
            raise Rejected(Problem(invoice.supplier_segment, "NAD", "un fournisseur connu "
                                   f"(NAD+SU) : « {supplier} » "
                                   "n'est pas enregistré (python -m central edifact supplier "
                                   "add)", 2, 1))
        agencies: dict[uuid.UUID, str] = {}
        for line in invoice.lines:
            assert line.site is not None
            found = reference.sites.get((supplier, line.site))
            if found is None:
                raise Rejected(Problem(line.site_segment,
                                       "LOC" if line.site_segment != invoice.site_segment
                                       else "NAD",
                                       f"un site connu du fournisseur {supplier} : "
                                       f"« {line.site} » (ligne {line.position}) n'est pas "
                                       "enregistré (python -m central edifact site add)", 2, 1))
            agencies[found[0]] = found[1]
        if len(agencies) > 1:
            raise Rejected(Problem(invoice.lines[-1].site_segment, "LOC",
                                   "des sites d'une seule agence par facture, trouvé "
                                   f"les agences {', '.join(sorted(agencies.values()))}"))
        return next(iter(agencies))

    def _flush(self, batch: _Batch, header: Header, reference: _Reference, resumed: bool
               ) -> tuple[int, list[Outcome]]:
        """Writes a batch in its own transaction: (accepted, rejected as duplicates)."""
        accepted = 0
        rejected: list[Outcome] = []
        if not batch.invoices:
            return accepted, rejected
        now = utcnow()
        ids = self.writer.ids
        ids.start_batch()
        changes = ChangeSet()
        with self.db.engine.begin() as connection:
            existing = integrated_documents(
                connection, {(inv.supplier_code, inv.number, inv.is_credit_note)
                             for _, inv, _ in batch.invoices})
            seen: set[tuple[str, str, bool]] = set()
            for outcome, invoice, agency in batch.invoices:
                key = (invoice.supplier_code, invoice.number, invoice.is_credit_note)
                if key in existing or key in seen:
                    if resumed and key in existing:
                        accepted += 1
                        continue
                    kind = "avoir" if invoice.is_credit_note else "facture"
                    outcome.reason = (f"{kind} {invoice.number} du fournisseur "
                                      f"{invoice.supplier_code} déjà intégré(e)")
                    rejected.append(outcome)
                    continue
                seen.add(key)
                self._rows(changes, invoice, agency, header, reference, now)
                accepted += 1
            if len(changes):
                self.writer.write(connection, changes, actor=ADMINISTRATION, now=now,
                                  transaction_id=new_id(),
                                  reason=f"EDIFACT {header.sender} {header.reference}",
                                  order=("supplier_invoice", "supplier_invoice_line"),
                                  unaudited=("supplier_invoice_line",))
        return accepted, rejected

    def _rows(self, changes: ChangeSet, invoice: InvoiceMessage, agency: uuid.UUID,
              header: Header, reference: _Reference, now: datetime) -> None:
        ids = self.writer.ids
        sign = -1 if invoice.is_credit_note else 1
        currency = invoice.currency
        invoice_id = ids()
        common: dict[str, Any] = {"version": 1, "created_at": now, "updated_at": now,
                                  "agency_id": agency}
        changes.insert("supplier_invoice", {
            "id": invoice_id, **common,
            "supplier_code": invoice.supplier_code,
            "supplier_name": reference.suppliers[invoice.supplier_code][:120],
            "number": invoice.number, "is_credit_note": invoice.is_credit_note,
            "issued_on": invoice.issued_on, "period_start": invoice.period_start,
            "period_end": invoice.period_end, "site_reference": invoice.site,
            "currency": currency,
            "amount_excl_vat_minor": _minor(invoice.amount_excl_vat, currency, sign),
            "vat_minor": _minor(invoice.vat, currency, sign),
            "total_minor": _minor(invoice.total, currency, sign),
            "sender": header.sender[:35], "interchange_reference": header.reference,
            "message_reference": invoice.reference[:14], "received_at": now,
        })
        for line in invoice.lines:
            changes.insert("supplier_invoice_line", {
                "id": ids(), **common, "supplier_invoice_id": invoice_id,
                "position": line.position, "site_reference": line.site,
                "label": line.label, "period_start": line.period_start,
                "period_end": line.period_end, "quantity": line.quantity,
                "unit": line.unit, "unit_price": line.unit_price,
                "amount_excl_vat_minor": _minor(line.amount, currency, sign),
                "vat_rate": line.vat_rate,
                "vat_minor": _minor(line.vat or Decimal(0), currency, sign),
            })
