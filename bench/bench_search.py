"""Customer search and file opening on a large demo database (e.g. 1,000,000 customers).

Service level: every keystroke of realistic queries (names, partial names, account numbers,
meter serials and STS numbers, phones, streets) → p50 / p95 / max. Screen level (offscreen Qt):
time from the typing pause to the first results in the table, time to open a customer file,
resident memory after browsing 100 files.

    python bench/bench_search.py --database-url sqlite:////path/guichet.sqlite3
    python bench/bench_search.py --database-url postgresql+psycopg://postgres@127.0.0.1/db \
        --build 1000000 --no-screen [--forget-statistics]

``--build N`` first fills an empty database with a demo agency of N customers without history
(no readings, invoices nor payments: search reads none of them; COPY on PostgreSQL).
``--forget-statistics`` (PostgreSQL) removes the planner's statistics of every table, as after a
bulk load with autovacuum off and nobody running ANALYZE: the plans must hold without them.
``--build`` leaves a database that is not empty as it is (only migrated): a database built once
is the cache of the next runs.

CPU time per keystroke is this process's and, on PostgreSQL, that of the server processes serving
its connections (read from the operating system: the server must run on this machine). On a
shared machine it is the steadier figure; wall time grows with the load average.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import time
import uuid

import psutil
from sqlalchemy import Connection, Engine, event, func, select

from app.models import Account, Customer, Meter, Premise
from app.models.database import Database
from app.models.enums import MeterPayment
from app.services.customer_file import load_customer_file
from app.services.installation import load_installation
from app.services.search import format_phone, search_customers
from app.settings import Settings
from kernel.identifiers import format_account_number


def _samples(db: Database, rng: random.Random, count: int) -> dict[str, list[str]]:
    with db.reading() as session:
        total = session.scalar(select(func.count()).select_from(Customer)) or 0
        picks = [rng.randrange(total) for _ in range(count)]
        customers = [session.scalars(select(Customer).order_by(Customer.id).offset(p).limit(1)).one() for p in picks[:count]]
        ids = [c.id for c in customers]
        accounts = list(session.scalars(select(Account).where(Account.customer_id.in_(ids))))
        meters = list(session.scalars(select(Meter).where(Meter.payment == MeterPayment.POSTPAID).limit(2000)))
        prepaid = list(session.scalars(select(Meter).where(Meter.payment == MeterPayment.PREPAID).limit(2000)))
        premises = list(session.scalars(select(Premise).where(Premise.id.in_([a.billing_premise_id for a in accounts]))))
        streets = [f"{p.house_number} {p.street.name} {p.commune.name}" for p in premises if p.street]
    people = [c for c in customers if c.last_name]
    return {
        "full names": [f"{c.first_name} {c.last_name}" for c in people[:10]],
        "partial names": [f"{c.last_name[:4]} {c.first_name[:3]}" for c in people[10:20]],
        "account numbers": [format_account_number(a.number) for a in accounts[:10]],
        "meter serials": [m.serial for m in rng.sample(meters, 5)] + [m.sts_drn or "" for m in rng.sample(prepaid, 5)],
        "phones": [format_phone(c.mobile) for c in customers[20:30]],
        "phone ends": [c.mobile[-rng.choice((4, 6, 9)):] for c in customers[30:40]],
        "streets": streets[:10],
    }


def _keystrokes(query: str) -> list[str]:
    return [query[:n] for n in range(2, len(query) + 1) if query[n - 1] != " "]


#: Per keystroke: wall time, this process's CPU time, the PostgreSQL server's, and both.
MEASURES = ("wall", "cpu", "server cpu", "cpu total")


class ServerTime:
    """CPU seconds of the PostgreSQL server processes serving this process's connections: their
    time on a CPU in nanoseconds (``/proc/PID/schedstat``), where the usual counters tick in
    hundredths of a second, more than a keystroke takes."""

    def __init__(self, db: Database) -> None:
        self.pids: set[int] = set()
        if db.dialect == "postgresql":
            # every engine's checkouts: the search has a pool of its own
            event.listen(Engine, "engine_connect", self._checked_out)

    def _checked_out(self, connection: Connection) -> None:
        self._connected(connection.connection.dbapi_connection, None)

    def _connected(self, dbapi_connection: object, _record: object) -> None:
        self.pids.add(dbapi_connection.info.backend_pid)  # type: ignore[attr-defined]

    def seconds(self) -> float:
        total = 0
        for pid in list(self.pids):
            try:
                with open(f"/proc/{pid}/schedstat") as stat:
                    total += int(stat.read().split()[0])
            except FileNotFoundError:
                self.pids.discard(pid)
        return total / 1e9


def service_level(
    ctx: object, samples: dict[str, list[str]], slowest: list[tuple[float, float, float, str]],
    server: ServerTime,
) -> dict[tuple[str, str], list[float]]:
    timings: dict[tuple[str, str], list[float]] = {}
    for kind, queries in samples.items():
        for query in queries:
            for typed in _keystrokes(query):
                served = server.seconds()
                started, cpu = time.perf_counter(), time.thread_time()
                search_customers(ctx, typed)  # type: ignore[arg-type]
                elapsed = (time.perf_counter() - started) * 1000
                used = (time.thread_time() - cpu) * 1000
                backend = (server.seconds() - served) * 1000
                for measure, value in zip(MEASURES, (elapsed, used, backend, used + backend),
                                          strict=True):
                    timings.setdefault((kind, measure), []).append(value)
                slowest.append((used + backend, used, elapsed, typed))
    return timings


def _report(title: str, values: list[float]) -> None:
    values = sorted(values)
    p95 = values[max(0, int(len(values) * 0.95) - 1)]
    print(f"  {title:<18} n={len(values):>4}  p50 {statistics.median(values):6.1f} ms  "
          f"p95 {p95:6.1f} ms  max {values[-1]:6.1f} ms")


def screen_level(ctx: object, samples: dict[str, list[str]], ids: list[uuid.UUID]) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.views import messages
    from app.views.application import configure_application
    from app.views.customers.page import ClientsPage
    from app.views.shell import Shell
    from app.views.tasks import TaskRunner

    def report(_parent: object, title: str, text: str, details: str = "") -> None:
        print(f"  !! {title}: {text}\n{details}")

    messages.warn = report  # type: ignore[assignment]
    messages.inform = lambda _parent, title, text: print(f"  {title}: {text}")  # type: ignore[assignment]
    app = QApplication.instance() or QApplication([])
    configure_application(app)  # type: ignore[arg-type]
    runner = TaskRunner()
    settings = Settings(central_url="off")
    page = ClientsPage(Shell(settings, ctx, runner))  # type: ignore[arg-type]
    page.resize(1200, 800)
    page.show()

    def wait(signal: object, timeout_ms: int = 10_000) -> None:
        loop = QEventLoop()
        signal.connect(loop.quit)  # type: ignore[attr-defined]
        QTimer.singleShot(timeout_ms, loop.quit)
        loop.exec()
        signal.disconnect(loop.quit)  # type: ignore[attr-defined]

    first_results = []
    for queries in samples.values():
        for query in queries[:5]:
            page.search_tab.box.setText(query)
            started = time.perf_counter()
            page.search_tab.run_search()
            wait(page.search_tab.model.searched)
            app.processEvents()
            first_results.append((time.perf_counter() - started) * 1000)
    _report("first results", first_results)

    process = psutil.Process()
    opens = []
    rss_before = process.memory_info().rss
    for customer_id in ids[:100]:
        started = time.perf_counter()
        view = page.open_file(customer_id)
        wait(view.loaded)  # type: ignore[attr-defined]
        app.processEvents()
        opens.append((time.perf_counter() - started) * 1000)
        page.close_tab(page.tabs.indexOf(view))
        app.processEvents()
    runner.shutdown()
    app.processEvents()
    _report("open file (screen)", opens)
    print(f"  RSS after 100 files: {process.memory_info().rss / 2**20:.0f} MiB "
          f"(before browsing {rss_before / 2**20:.0f} MiB)")


def build(db: Database, customers: int) -> None:
    from datetime import date

    from app.services.demo import build_demo, database_is_empty
    from kernel import migrate
    from kernel.money import Currency

    migrate.upgrade(db.engine)
    if not database_is_empty(db):
        return
    started = time.perf_counter()
    build_demo(db, agency_code="101", currency=Currency.of("XOF"), customers=customers,
               as_of=date(2026, 11, 15), history=False)
    print(f"demo of {customers:,} customers (without history) built in "
          f"{time.perf_counter() - started:,.1f} s")


def _size(db: Database) -> str:
    """The database's size on disk, and the search index's share of it."""
    with db.engine.connect() as connection:
        if db.dialect == "postgresql":
            total, search = connection.exec_driver_sql(
                "SELECT pg_database_size(current_database()), coalesce(sum("
                "pg_total_relation_size(c.oid)), 0) FROM pg_class c WHERE c.relkind = 'r' AND "
                "c.relname LIKE 'customer_search%%'").one()
        else:
            total = connection.exec_driver_sql(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
            ).scalar_one()
            search = connection.exec_driver_sql(
                "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'customer_search%'").scalar_one() \
                if _has_dbstat(connection) else None
    shown = f", {total / 2**30:.2f} GiB"
    return shown + (f" (search index {search / 2**30:.2f} GiB)" if search else "")


def _has_dbstat(connection: object) -> bool:
    try:
        connection.exec_driver_sql("SELECT 1 FROM dbstat LIMIT 1")  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - SQLite built without the dbstat table
        return False
    return True


def forget_statistics(db: Database) -> None:
    """As if no ANALYZE ever ran: no column statistics, row and page counts unknown."""
    if db.dialect != "postgresql":
        print("--forget-statistics: SQLite keeps none unless asked; nothing to forget")
        return
    with db.engine.begin() as connection:
        connection.exec_driver_sql(
            "DELETE FROM pg_statistic WHERE starelid IN (SELECT c.oid FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public')")
        connection.exec_driver_sql(
            "UPDATE pg_class SET reltuples = -1, relpages = 0, relallvisible = 0 "
            "WHERE relnamespace = 'public'::regnamespace")
    print("planner statistics forgotten (pg_statistic and pg_class counts of every table)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-screen", action="store_true")
    parser.add_argument("--slowest", type=int, default=0, help="print the N slowest keystrokes")
    parser.add_argument("--rounds", type=int, default=1, help="type every query this many times")
    parser.add_argument("--build", type=int, default=0, metavar="N",
                        help="fill an empty database with N demo customers first")
    parser.add_argument("--forget-statistics", action="store_true")
    args = parser.parse_args()
    db = Database(args.database_url)
    server = ServerTime(db)
    if args.build:
        build(db, args.build)
    if args.forget_statistics:
        forget_statistics(db)
    settings = Settings(database_url=args.database_url, central_url="off")
    from kernel.context import ServiceContext

    ctx = ServiceContext(db, load_installation(db, settings))
    with db.reading() as session:
        customers = session.scalar(select(func.count()).select_from(Customer))
    rng = random.Random(args.seed)
    samples = _samples(db, rng, 60)
    print(f"database {db.describe()} — {customers:,} customers{_size(db)}")
    search_customers(ctx, "warm up")
    gc.freeze()  # as the program does once signed in (app/views/application.py)
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    slowest: list[tuple[float, float, float, str]] = []
    timings: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for kind, values in service_level(ctx, samples, slowest, server).items():
            timings.setdefault(kind, []).extend(values)
    print("search per keystroke (service level): wall time, then CPU time of this process "
          "(cpu), of the PostgreSQL server processes serving it (server cpu) and both (cpu total):")
    for (kind, measure), values in timings.items():
        if measure == "wall":
            _report(kind, values)
    for measure in MEASURES:
        if db.dialect == "postgresql" or measure in ("wall", "cpu"):
            _report(f"all ({measure})", [v for (_kind, m), values in timings.items()
                                         if m == measure for v in values])
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.slowest:
        print("slowest keystrokes by cpu time (process + server):")
    for total, used, elapsed, typed in sorted(slowest, reverse=True)[: args.slowest]:
        print(f"    cpu {total:7.1f} ms (process {used:6.1f})  wall {elapsed:7.1f} ms  {typed!r}")
    with db.reading() as session:
        ids = list(session.scalars(select(Customer.id).order_by(func.random()).limit(100)))
    opens = []
    for customer_id in ids:
        started = time.perf_counter()
        load_customer_file(ctx, customer_id)
        opens.append((time.perf_counter() - started) * 1000)
    print("customer file (service level):")
    _report("open file", opens)
    if not args.no_screen:
        print("screen (offscreen Qt):")
        screen_level(ctx, samples, ids)
    print(f"process RSS {psutil.Process().memory_info().rss / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
