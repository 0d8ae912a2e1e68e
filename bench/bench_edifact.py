"""EDIFACT INVOIC integration throughput and memory on PostgreSQL: a day's consolidated volume.

An interchange of N invoice messages (EDF and France Telecom, 10 % credit notes, 2 to 6 lines,
D96A and D01B alternating, UNOC) is generated to a file over 3 agencies × 50 sites per supplier,
then ``python -m central edifact import`` integrates it (the same code path, in process); the
messages per second, the file size and the process's peak memory (RSS sampled every 50 ms,
before and after) are printed. Goal: 100,000 messages in under 60 s, memory flat (streamed
file, batched writes).

Run: ``python bench/bench_edifact.py --messages 100000 [--batch-size 1000] [--keep]``
(``GUICHET_BENCH_PG`` = server URL, default the local one; a database is created and dropped).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.models import SupplierInvoice, SupplierInvoiceLine  # noqa: E402
from app.models.database import Database  # noqa: E402
from central import migrate  # noqa: E402
from central.edifact import generator  # noqa: E402
from central.edifact.integration import Importer  # noqa: E402
from central.edifact.suppliers import add_site, add_supplier  # noqa: E402

SERVER = os.environ.get("GUICHET_BENCH_PG",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
GOAL_SECONDS = 60.0


class PeakMemory(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--sites", type=int, default=50, help="sites per agency and supplier")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    name = f"guichet_bench_edi_{uuid.uuid4().hex[:8]}"
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    workdir = Path(tempfile.mkdtemp(prefix="bench-edifact-"))
    path = workdir / "day.edi"
    try:
        db = Database(url, use_insertmanyvalues=False)
        migrate.upgrade(db.engine)
        from central.agencies import add_agency

        sites = generator.world(sites_per_agency=args.sites)
        for code in sorted({s.agency for s in sites}):
            add_agency(db, code, f"Agence {code}")
        add_supplier(db, *generator.EDF)
        add_supplier(db, *generator.FRANCE_TELECOM)
        for site in sites:
            add_site(db, site.supplier, site.reference, site.agency)

        started = time.perf_counter()
        with path.open("wb") as handle:
            generator.write(handle, generator.messages(sites, args.messages), reference="BENCH")
        generated = time.perf_counter() - started
        size = path.stat().st_size

        monitor = PeakMemory()
        before = monitor.peak
        cpu_before = sum(monitor.process.cpu_times()[:2])
        monitor.start()
        started = time.perf_counter()
        report = Importer(db, "EUR", args.batch_size).import_file(path)
        elapsed = time.perf_counter() - started
        cpu = sum(monitor.process.cpu_times()[:2]) - cpu_before
        monitor.running = False
        monitor.join()
        with db.engine.connect() as connection:
            invoices = connection.execute(select(func.count()).select_from(SupplierInvoice)
                                          ).scalar_one()
            lines = connection.execute(select(func.count()).select_from(SupplierInvoiceLine)
                                       ).scalar_one()
        db.dispose()
        print(f"interchange: {args.messages} messages, {size / 1e6:.1f} MB, "
              f"{len(sites)} sites, 3 agencies (generated in {generated:.1f} s)")
        print(f"integrated: {report.accepted} accepted, {len(report.rejected)} rejected "
              f"-> {invoices} supplier invoices, {lines} lines in PostgreSQL")
        print(f"import: {elapsed:.1f} s, {args.messages / elapsed:,.0f} messages/s, "
              f"batch {args.batch_size}; this process used {cpu:.1f} s of CPU "
              f"(machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
        print(f"memory: RSS {before / 1e6:.0f} MB before, peak {monitor.peak / 1e6:.0f} MB "
              f"during (+{(monitor.peak - before) / 1e6:.0f} MB)")
        verdict = "met" if elapsed < GOAL_SECONDS * args.messages / 100_000 else "NOT met"
        print(f"goal (100,000 messages < {GOAL_SECONDS:.0f} s, pro rata): {verdict}")
        return 0
    finally:
        path.unlink(missing_ok=True)
        workdir.rmdir()
        if not args.keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
