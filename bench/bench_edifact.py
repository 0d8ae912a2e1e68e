"""EDIFACT INVOIC integration throughput and memory on PostgreSQL: a day's consolidated volume.

An interchange of N invoice messages (EDF and France Telecom, 10 % credit notes, 2 to 6 lines,
D96A and D01B alternating, UNOC) is generated to a file over 3 agencies × 50 sites per supplier,
then ``python -m central edifact import`` integrates it (the same code path, in process); the
messages per second, the file size and the process's peak memory (RSS sampled every 50 ms,
before and after) are printed. Goal: 100,000 messages in under 60 s, memory flat (streamed
file, batched writes).

Run: ``python bench/bench_edifact.py --messages 100000 [--batch-size 1000] [--keep]``
(``GUICHET_BENCH_PG`` = server URL, default the local one). Every run makes a new database
(named with its process id) and drops it, even on Ctrl+C; databases left by runs that were
killed are dropped at the next start. Wall time depends on the machine's load (printed before
and after); the CPU time of this process and of the PostgreSQL backends serving the bench
database does not, so both are printed, and a progress line every 15 s says whether the run
works or waits (lock waits of its sessions).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402
from sqlalchemy import Engine, create_engine, func, select, text  # noqa: E402
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


PREFIX = "guichet_bench_edi_"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


class PeakMemory(threading.Thread):
    """Peak RSS every 50 ms; every ``every`` s a progress line (elapsed, this process's CPU,
    the server's CPU for the bench database, what its sessions wait for, the load), so a slow
    run shows whether it works (CPU moves) or waits (a lock)."""

    def __init__(self, server: Server, every: float = 15.0) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        self.running = True
        self.server = server
        self.every = every

    def run(self) -> None:
        started = last = time.perf_counter()
        cpu = self.cpu()
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.05)
            now = time.perf_counter()
            if now - last >= self.every:
                last = now
                waits = self.server.waits()
                print(f"  … {now - started:.0f} s: this process {self.cpu() - cpu:.1f} s CPU, "
                      f"server {self.server.cpu():.1f} s CPU, sessions waiting on "
                      f"{waits or 'nothing'}; {load()}", flush=True)

    def cpu(self) -> float:
        return sum(self.process.cpu_times()[:2])


class Server:
    """The PostgreSQL backends serving the bench database (same machine): their CPU time."""

    def __init__(self, admin: Engine, name: str) -> None:
        self.admin = admin
        self.name = name
        self.seen: dict[int, float] = {}

    def cpu(self) -> float:
        """CPU seconds of the database's backends since first seen (ended ones keep their
        last figure)."""
        with self.admin.connect() as connection:
            pids = connection.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :n"),
                                      {"n": self.name}).scalars().all()
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                self.seen[pid] = sum(psutil.Process(pid).cpu_times()[:2])
        return sum(self.seen.values())

    def waits(self) -> str:
        with self.admin.connect() as connection:
            rows = connection.execute(text(
                "SELECT wait_event_type || ':' || wait_event, count(*) FROM pg_stat_activity "
                "WHERE datname = :n AND state = 'active' AND wait_event_type IN "
                "('Lock', 'LWLock', 'IO') GROUP BY 1"), {"n": self.name}).all()
        return ", ".join(f"{w} ×{c}" for w, c in rows)


def drop_leftovers(admin: Engine) -> None:
    """Bench databases of runs that died (killed, machine stopped) before dropping theirs:
    named with their process id, dropped when that process is gone."""
    with admin.connect() as connection:
        names = connection.execute(text("SELECT datname FROM pg_database WHERE datname LIKE "
                                        f"'{PREFIX}%'")).scalars().all()
        for name in names:
            pid = name[len(PREFIX):].split("_")[0]
            if pid.isdigit() and psutil.pid_exists(int(pid)):
                continue
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            print(f"dropped {name}, left by a run that died")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--sites", type=int, default=50, help="sites per agency and supplier")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    name = f"{PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    drop_leftovers(admin)
    print(f"database {name} (new); {load()}", flush=True)
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

        print(f"interchange of {args.messages} messages generated in {generated:.1f} s; "
              f"importing… ({load()})", flush=True)
        server = Server(admin, name)
        monitor = PeakMemory(server)
        before = monitor.peak
        server_before = server.cpu()
        cpu_before = monitor.cpu()
        load_before = load()
        monitor.start()
        started = time.perf_counter()
        report = Importer(db, "EUR", args.batch_size).import_file(path)
        elapsed = time.perf_counter() - started
        cpu = monitor.cpu() - cpu_before
        server_cpu = server.cpu() - server_before
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
        print(f"import: {elapsed:.1f} s wall, {args.messages / elapsed:,.0f} messages/s, "
              f"batch {args.batch_size}")
        print(f"CPU (load-independent): this process {cpu:.1f} s, PostgreSQL backends "
              f"{server_cpu:.1f} s, together {cpu + server_cpu:.1f} s "
              f"({args.messages / (cpu + server_cpu):,.0f} messages per CPU second); per "
              f"10,000 messages: this process {cpu * 1e4 / args.messages:.2f} s, PostgreSQL "
              f"{server_cpu * 1e4 / args.messages:.2f} s")
        print(f"machine: before the import {load_before}; after {load()}")
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
