"""The night's synchronisation end to end, and the bootstrap of a desk, against a real central
server process on PostgreSQL.

``night``: a central agency of N demo customers (built on the server side), a desk bootstrapped
from it (timed), then a day at the counter on the desk (``--changes`` journal entries: readings
and payments, one business transaction each) and the night run: upload, central integration and
billing of the previous month, download, reconciliation. Prints each phase (seconds, rows,
bytes) and the peak memory of the desk and of the server.

``bootstrap``: a new desk bootstrapped from an existing central database (``--central-db``,
e.g. one made with ``python -m app --database-url … demo --customers 1000000``).

Run: ``python bench/bench_sync.py night --customers 30000 --changes 50000``
     ``python bench/bench_sync.py bootstrap --central-db guichet_bench_central``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import psutil  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from app.models import Account, Agency, Meter, MeterReading, Payment, SyncRun  # noqa: E402
from app.models.capture import Actor, set_actor  # noqa: E402
from app.models.database import Database  # noqa: E402
from app.models.enums import PaymentMethod, ReadingKind, ReadingSource  # noqa: E402
from app.models.ids import utcnow  # noqa: E402
from app.services.demo import build_demo  # noqa: E402
from app.services.installation import load_installation  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.sync.endpoint import Endpoint  # noqa: E402
from app.sync.runner import run_sync  # noqa: E402
from central import migrate as central_migrate  # noqa: E402
from central.embedded import free_port  # noqa: E402
from kernel import migrate  # noqa: E402
from kernel.money import Currency  # noqa: E402

SERVER = os.environ.get("GUICHET_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parents[1]


class PeakMemory:
    """Samples the resident memory of a process every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.05)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak / 2**20


def pg_url(name: str) -> str:
    return SERVER.rsplit("/", 1)[0] + f"/{name}"


def create_pg(name: str) -> str:
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return pg_url(name)


def drop_pg(name: str) -> None:
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def start_central(db_url: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_CENTRAL_")}
    log = open(folder / "central.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "central", "--database-url", db_url, "--data-dir", str(folder),
         "--log-level", "WARNING", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("central did not start: see " + str(folder / "central.log"))


def credential(db_url: str, folder: Path, agency_id: uuid.UUID) -> str:
    path = folder / "credential"
    subprocess.run([sys.executable, "-m", "central", "--database-url", db_url, "--data-dir",
                    str(folder), "agency", "ensure", "101", "Agence", "--id", str(agency_id),
                    "--credential-file", str(path)], cwd=ROOT, check=True, capture_output=True)
    return path.read_text().strip()


def new_desk(folder: Path) -> Database:
    db = Database(f"sqlite:///{folder / 'guichet.sqlite3'}")
    migrate.upgrade(db.engine)
    build_demo(db, agency_code="101", currency=Currency.of("XOF"), customers=0)
    return db


def print_run(db: Database, title: str, seconds: float) -> None:
    with db.session() as session:
        run = session.scalars(select(SyncRun).order_by(SyncRun.started_at.desc())).first()
    print(f"\n{title}: {seconds:.1f} s, status {run.status if run else '?'}")
    if run is None:
        return
    for phase in run.phases:
        print(f"  {phase['label']:<22} {phase['seconds']:>8.1f} s  {phase['rows']:>9} lignes"
              f"  {phase['bytes'] / 2**20:>8.1f} Mio  {phase['detail']}")
    print(f"  up {run.rows_up} rows / {run.bytes_up / 2**20:.1f} MiB, down {run.rows_down} rows"
          f" / {run.bytes_down / 2**20:.1f} MiB, retries {run.retries}, conflicts "
          f"{run.conflicts}, parked {run.parked}, mismatches {run.mismatches}")


def bootstrap(central_db: str, folder: Path) -> tuple[Database, Endpoint, object, float]:
    engine = create_engine(central_db)
    with engine.connect() as connection:
        agency_id = connection.scalar(select(Agency.id).where(Agency.code == "101"))
    engine.dispose()
    desk = new_desk(folder)
    settings = Settings(data_dir=folder, central_url="http://x", demo_customers=0)
    installation = load_installation(desk, settings)
    endpoint = Endpoint(central_url, credential(central_db, folder, agency_id), "101")
    memory = PeakMemory(os.getpid())
    started = time.perf_counter()
    outcome = run_sync(desk, installation, endpoint, data_dir=folder, trigger="bench")
    seconds = time.perf_counter() - started
    print(f"\nbootstrap: {outcome.status} {outcome.message} in {seconds:.1f} s, "
          f"desk peak RSS {memory.stop():.0f} MiB")
    desk.dispose()
    desk = Database(f"sqlite:///{folder / 'guichet.sqlite3'}")
    installation = load_installation(desk, settings)
    size = (folder / "guichet.sqlite3").stat().st_size / 2**20
    with desk.session() as session:
        rows = session.scalar(select(func.count()).select_from(Account))
    print(f"  desk file {size:.0f} MiB, {rows} accounts")
    print_run(desk, "bootstrap run", seconds)
    return desk, endpoint, installation, seconds


def day_at_the_counter(desk: Database, installation: object, changes: int) -> int:
    """Readings and payments, one business transaction each (its journal entries included)."""
    actor = Actor(username="agent")
    today = utcnow().date()
    made = 0
    with desk.session() as session:
        meters = list(session.execute(
            select(Meter.id, func.max(MeterReading.index_value))
            .join(MeterReading, MeterReading.meter_id == Meter.id)
            .group_by(Meter.id).limit(changes)).all())
        accounts = list(session.scalars(select(Account.id).limit(changes)))
    agency_id = installation.agency_id  # type: ignore[attr-defined]
    position = 0
    while made < changes:
        with desk.session() as session:
            set_actor(session, actor)
            if position % 2 == 0 and meters:
                meter_id, top = meters[(position // 2) % len(meters)]
                session.add(MeterReading(
                    agency_id=agency_id, meter_id=meter_id, reading_date=today,
                    read_at=utcnow(), index_value=int(top or 0) + 10 + position,
                    source=ReadingSource.AGENT, kind=ReadingKind.REGULAR))
            else:
                account_id = accounts[(position // 2) % len(accounts)]
                session.add(Payment(
                    agency_id=agency_id, account_id=account_id, amount_minor=1000,
                    method=PaymentMethod.CASH, paid_at=utcnow() - timedelta(minutes=1),
                    receipt_number=f"RC101-BENCH-{position:07d}", received_by="agent"))
            session.commit()
            made += 1
            position += 1
    return made


central_url = ""


def main() -> None:
    global central_url
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["night", "bootstrap"])
    parser.add_argument("--customers", type=int, default=30000)
    parser.add_argument("--changes", type=int, default=50000)
    parser.add_argument("--central-db", help="existing central database name (bootstrap)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    (folder / "central").mkdir()
    (folder / "desk").mkdir()
    if args.central_db:
        name, db_url = args.central_db, pg_url(args.central_db)
    else:
        name = f"guichet_bench_sync_{uuid.uuid4().hex[:8]}"
        db_url = create_pg(name)
        started = time.perf_counter()
        central = Database(db_url)
        central_migrate.upgrade(central.engine)
        # as of the 3rd of this month: last month is read but not yet invoiced, so the night's
        # close bills it and the desk downloads the invoices.
        build_demo(central, agency_code="101", currency=Currency.of("XOF"),
                   customers=args.customers, as_of=utcnow().date().replace(day=3))
        central.dispose()
        print(f"central demo agency of {args.customers} customers built in "
              f"{time.perf_counter() - started:.0f} s")
    central_migrate.upgrade(create_engine(db_url))
    process, central_url = start_central(db_url, folder / "central")
    server_memory = PeakMemory(process.pid)
    try:
        desk, endpoint, installation, _ = bootstrap(db_url, folder / "desk")
        if args.what == "night":
            started = time.perf_counter()
            made = day_at_the_counter(desk, installation, args.changes)
            print(f"\nday at the counter: {made} business transactions in "
                  f"{time.perf_counter() - started:.0f} s")
            memory = PeakMemory(os.getpid())
            started = time.perf_counter()
            outcome = run_sync(desk, installation, endpoint, data_dir=folder / "desk",  # type: ignore[arg-type]
                               trigger="bench")
            seconds = time.perf_counter() - started
            print_run(desk, "night", seconds)
            print(f"  {outcome.message}\n  desk peak RSS {memory.stop():.0f} MiB")
        print(f"central peak RSS {server_memory.stop():.0f} MiB")
    finally:
        process.terminate()
        process.wait(30)
        if not args.central_db and not args.keep:
            drop_pg(name)
        elif args.keep:
            print(f"(central database kept: {name})")
        print(f"(files in {folder})")


if __name__ == "__main__":
    main()
