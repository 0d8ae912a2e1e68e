"""Many desks synchronising at once against one real central process on PostgreSQL.

A central database holds N small agencies (``--customers`` each, built on the server side
from the demo generator, as of the 3rd of this month so that each night's close bills last
month); N new SQLite desks join it (one after the other), each records a small day at
the counter (``--changes`` readings and payments), then all N run the night's synchronisation
**at the same time** (one thread per desk; the server is a separate process on 127.0.0.1):
upload, close (billing of the agency's month), download, reconciliation.

Prints, per phase of the run ledger, the median, p95 and maximum over the desks, the errors
(failed runs, desk retries, 5xx answers in central's log) and central's peak RSS. Bounded: at
most 80 desks of at most 2,000 customers, a deadline per run (``--deadline``, 900 s).

Run: ``python bench/bench_many_desks.py --desks 40 --customers 300 --changes 40``
     ``--workers 2 --pool-size 20 --max-overflow 20`` are passed to ``central serve``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from app.models import (  # noqa: E402
    Agency,
    Base,
    Commune,
    NumberSeries,
    Street,
    SyncRun,
    Tariff,
)
from app.models.bulk import BulkWriter  # noqa: E402
from app.models.capture import mark_from_server  # noqa: E402
from app.models.database import Database  # noqa: E402
from app.models.enums import Energy, MeterPayment  # noqa: E402
from app.models.ids import utcnow  # noqa: E402
from app.services.demo import build_demo  # noqa: E402
from app.services.demo.customers import CustomerFactory, generate  # noqa: E402
from app.services.demo.reference import DemoReference  # noqa: E402
from app.services.demo.rows import TABLES  # noqa: E402
from app.services.installation import load_installation  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.sync.endpoint import Endpoint  # noqa: E402
from app.sync.runner import run_sync  # noqa: E402
from bench.bench_sync import (  # noqa: E402
    ROOT,
    PeakMemory,
    create_pg,
    day_at_the_counter,
    drop_pg,
)
from central import migrate as central_migrate  # noqa: E402
from central.embedded import free_port  # noqa: E402
from kernel import migrate  # noqa: E402
from kernel.money import Currency  # noqa: E402

XOF = Currency.of("XOF")
CENTRAL_SERIES = "000"


def build_central(db_url: str, desks: int, customers: int) -> list[tuple[str, uuid.UUID]]:
    """Agency 101 from the demo (reference data included), then agencies 102… generated on
    the same tariffs and communes, their numbers continuing one series."""
    central = Database(db_url)
    central_migrate.upgrade(central.engine)
    as_of = utcnow().date().replace(day=3)
    build_demo(central, agency_code="101", currency=XOF, customers=customers, as_of=as_of)
    agencies = []
    with central.session() as session:
        first = session.scalars(select(Agency).where(Agency.code == "101")).one()
        agencies.append(("101", first.id))
        communes = list(session.scalars(select(Commune).order_by(Commune.code)))
        streets = {c.code: list(session.scalars(select(Street).where(Street.commune_id == c.id)
                                                .order_by(Street.id))) for c in communes}
        tariffs = {}
        for tariff in session.scalars(select(Tariff)):
            tariffs.setdefault((tariff.energy, tariff.payment), tariff)
            _ = list(tariff.bands)  # loaded while the session is open
        series = {(s.series, s.year): s.last_value for s in session.scalars(
            select(NumberSeries).where(NumberSeries.agency_code.in_(["101", CENTRAL_SERIES])))}
    tables = {name: Base.metadata.tables[name] for name in TABLES}
    counters = None
    for index in range(1, desks):
        code = str(101 + index)
        with central.session() as session:
            mark_from_server(session)
            agency = Agency(code=code, name=f"Agence {code}", address="Abidjan",
                            phone="27 22 00 00 00", email=f"agence{code}@guichet.example")
            session.add(agency)
            session.commit()
            agencies.append((code, agency.id))
            reference = DemoReference(agency, communes, streets, tariffs)
            factory = CustomerFactory(reference, XOF, as_of, 2026 + index, central.dialect)
            if counters is not None:
                factory.counters = counters
            else:
                for key, value in series.items():
                    factory.counters.per_series[key] = value
                factory.counters.meters[Energy.WATER] = 10**6
                factory.counters.meters[Energy.ELECTRICITY] = 10**6
                factory.counters.drn = 10**6
            counters = factory.counters
            with BulkWriter(central.engine, tables, rebuild_indexes=False) as writer:
                generate(factory, customers, lambda chunk: writer.put(chunk.tables))
            for (name, year), last in counters.per_series.items():
                owner = CENTRAL_SERIES if name == "consumption_invoice" else code
                session.merge(NumberSeries(agency_code=owner, series=name, year=year,
                                           last_value=last))
            session.commit()
    # Central's own first change (a roaming head-office administrator, who travels to every
    # desk): the commit history desks join at.
    from app.models.enums import Role
    from central.sync import numbering  # noqa: F401  (numbers the commits of central's sessions)
    from central.users import add_user

    add_user(central, "siege.admin", "Administrateur du siège", Role.ADMINISTRATOR,
             "Mot-de-passe-siege-2026", None, roaming=True)
    central.dispose()
    assert MeterPayment and Energy  # (enums used by the tariff keys)
    return agencies


def start_central(db_url: str, folder: Path, args: argparse.Namespace):  # type: ignore[no-untyped-def]

    import httpx

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_CENTRAL_")}
    log = open(folder / "server.log", "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "central", "--database-url", db_url, "--data-dir", str(folder),
         "--log-level", "INFO", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(args.workers), "--db-pool-size", str(args.pool_size),
         "--db-max-overflow", str(args.max_overflow)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("central did not start: see " + str(folder / "server.log"))


def credential(db_url: str, folder: Path, code: str, agency_id: uuid.UUID) -> str:

    path = folder / f"credential-{code}"
    subprocess.run([sys.executable, "-m", "central", "--database-url", db_url, "--data-dir",
                    str(folder), "agency", "ensure", code, f"Agence {code}", "--id",
                    str(agency_id), "--credential-file", str(path)],
                   cwd=ROOT, check=True, capture_output=True)
    return path.read_text().strip()


class DeskUnderTest:
    def __init__(self, folder: Path, code: str, endpoint: Endpoint) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.code = code
        self.endpoint = endpoint
        self.url = f"sqlite:///{folder / 'guichet.sqlite3'}"
        self.settings = Settings(data_dir=folder, central_url=endpoint.url, agency_code=code,
                                 demo_customers=0)

    def join(self) -> tuple[str, str, float]:
        """A new desk joins central: an empty database built from the agency's rows."""
        from app.sync.join import join_central

        started = time.perf_counter()
        db = Database(self.url)
        try:
            migrate.upgrade(db.engine)
            joined = join_central(db, self.settings, self.endpoint.url, self.endpoint.credential)
            return "succeeded", f"{joined.rows} rows", time.perf_counter() - started
        except Exception as error:  # noqa: BLE001  (counted and printed as a failure)
            return "failed", f"{type(error).__name__}: {error}", time.perf_counter() - started
        finally:
            db.dispose()

    def sync(self, deadline: float) -> tuple[str, str, float]:
        db = Database(self.url)
        try:
            installation = load_installation(db, self.settings)
            cancel = threading.Event()
            timer = threading.Timer(deadline, cancel.set)
            timer.start()
            started = time.perf_counter()
            try:
                outcome = run_sync(db, installation, self.endpoint, data_dir=self.folder,
                                   trigger="bench", cancel=cancel)
            finally:
                timer.cancel()
            return outcome.status, outcome.message, time.perf_counter() - started
        finally:
            db.dispose()

    def counter_day(self, changes: int) -> int:
        db = Database(self.url)
        try:
            return day_at_the_counter(db, load_installation(db, self.settings), changes)
        finally:
            db.dispose()

    def last_run(self) -> SyncRun | None:
        db = Database(self.url)
        try:
            with db.session() as session:
                return session.scalars(select(SyncRun).order_by(SyncRun.started_at.desc())
                                       ).first()
        finally:
            db.dispose()


def stop_central(process: subprocess.Popen[bytes] | None, name: str, keep: bool,
                 folder: Path) -> None:
    """End of a bench: the central server stopped, its database dropped unless kept."""
    if process is not None:
        process.terminate()
        process.wait(60)
    if keep:
        print(f"(central database kept: {name})")
    else:
        drop_pg(name)
    print(f"(files in {folder})")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank]


def server_errors(log_file: Path, since: float) -> dict[int, int]:
    counts: dict[int, int] = {}
    if not log_file.exists():
        return counts
    for line in log_file.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        status = record.get("status")
        if isinstance(status, int) and status >= 500:
            counts[status] = counts.get(status, 0) + 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--desks", type=int, default=40)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--changes", type=int, default=40)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pool-size", type=int, default=20)
    parser.add_argument("--max-overflow", type=int, default=20)
    parser.add_argument("--deadline", type=float, default=900.0,
                        help="seconds after which a desk's run is cancelled")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if not (1 <= args.desks <= 80 and 1 <= args.customers <= 2000 and args.changes <= 2000):
        raise SystemExit("bounded: 1-80 desks, 1-2000 customers, at most 2000 changes each")
    folder = Path(tempfile.mkdtemp(prefix="bench-desks-"))
    (folder / "central").mkdir()
    name = f"guichet_bench_desks_{uuid.uuid4().hex[:8]}"
    db_url = create_pg(name)
    process = None
    try:
        started = time.perf_counter()
        agencies = build_central(db_url, args.desks, args.customers)
        print(f"central: {args.desks} agencies of {args.customers} customers built in "
              f"{time.perf_counter() - started:.0f} s")
        process, url = start_central(db_url, folder / "central", args)
        memory = PeakMemory(process.pid)
        desks = [DeskUnderTest(folder / f"desk-{code}", code,
                               Endpoint(url, credential(db_url, folder / "central", code,
                                                        agency_id), code))
                 for code, agency_id in agencies]
        started = time.perf_counter()
        # One after the other: a bootstrap migrates the database it builds aside with Alembic,
        # which keeps process-wide state (a desk is one process; here they share one).
        first = [d.join() for d in desks]
        failed = [(d.code, m) for d, (s, m, _t) in zip(desks, first, strict=True)
                  if s != "succeeded"]
        print(f"{len(desks)} new desks join central, one after the other: "
              f"{time.perf_counter() - started:.0f} s, failed {len(failed)} {failed[:3]}")
        made = sum(d.counter_day(args.changes) for d in desks)
        print(f"day at the counter: {made} business transactions on {len(desks)} desks")
        log_file = folder / "central" / "logs" / "central.log"
        before = server_errors(log_file, 0)
        barrier = threading.Barrier(len(desks))

        def night(desk: DeskUnderTest) -> tuple[str, str, float]:
            barrier.wait()
            return desk.sync(args.deadline)

        started = time.perf_counter()
        with ThreadPoolExecutor(len(desks)) as pool:
            results = list(pool.map(night, desks))
        wall = time.perf_counter() - started
        after = server_errors(log_file, 0)
        new_5xx = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        runs = [d.last_run() for d in desks]
        failures = [(d.code, m) for d, (s, m, _t) in zip(desks, results, strict=True)
                    if s != "succeeded"]
        phases: dict[str, list[float]] = {}
        for run in runs:
            for phase in (run.phases if run else []):
                phases.setdefault(phase["label"], []).append(float(phase["seconds"]))
        totals = [t for _s, _m, t in results]
        print(f"\nnight of {len(desks)} desks at once ({args.customers} customers, "
              f"{args.changes} changes each; central workers {args.workers}, pool "
              f"{args.pool_size} + {args.max_overflow}): wall {wall:.1f} s")
        print(f"  {'step':<24} {'median':>8} {'p95':>8} {'max':>8}  (seconds, {len(desks)} desks)")
        for label, values in phases.items():
            print(f"  {label:<24} {statistics.median(values):>8.2f} "
                  f"{percentile(values, 0.95):>8.2f} {max(values):>8.2f}")
        print(f"  {'whole run':<24} {statistics.median(totals):>8.2f} "
              f"{percentile(totals, 0.95):>8.2f} {max(totals):>8.2f}")
        retries = sum(r.retries for r in runs if r)
        print(f"  errors: failed runs {len(failures)} {failures[:3]}, 5xx answers "
              f"{sum(new_5xx.values())} {new_5xx or ''}, desk retries {retries}")
        rows_up = sum(r.rows_up for r in runs if r)
        rows_down = sum(r.rows_down for r in runs if r)
        print(f"  rows up {rows_up}, rows down {rows_down}; central peak RSS "
              f"{memory.stop():.0f} MiB (first process)")
    finally:
        stop_central(process, name, args.keep, folder)


if __name__ == "__main__":
    main()
