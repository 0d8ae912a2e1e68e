"""Billing throughput and memory on PostgreSQL: ``python -m central bill`` over N contracts.

The data is made on the server side (``generate_series``; a million contracts in a couple of
minutes), on top of the demo agency's reference data (agency 101, tariffs, communes):
one customer, account, premise, connection, meter and postpaid contract per contract number,
an October invoice (70 % paid), readings on 31 October and 30 November; 5 % of the meters
have no November reading (estimated, from August–October history), 2 % of the contracts
start on 10 November (move-in, prorated), 1 % end on 20 November (move-out), and one prepaid
contract in ten more (not billed). The engine then bills November (in ``--workers`` processes
past 10 000 contracts); invoices per second, the peak memory of the process and of each worker
process (RSS sampled every 100 ms), the CPU seconds of Python (process and workers) and of the
PostgreSQL backends, the ceiling they allow on idle cores and the load average are printed with
the data size.

Run: ``python bench/bench_billing.py --contracts 100000 [--chunk-size 2000] [--workers 2]
[--keep] [--template NAME]`` (``GUICHET_BENCH_PG`` = server URL, default the local one; a database
is created and dropped). With ``--template`` the data is made once in database NAME (kept) and
each run bills a copy of it (``CREATE DATABASE … TEMPLATE``, brought to the schema's head): runs
compare on the same data.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from app.models.database import Database  # noqa: E402
from app.services.demo import build_demo  # noqa: E402
from central import migrate  # noqa: E402
from central.billing.engine import BillingEngine, BillingReport  # noqa: E402
from central.billing.period import Period  # noqa: E402
from kernel.money import Currency  # noqa: E402

SERVER = os.environ.get("GUICHET_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
GOAL = 7_000
BATCH = 250_000


def uid(tag: str, extra: str = "''") -> str:
    """A time-ordered UUID (like the UUIDv7 the desks make) from the row number ``i``."""
    digest = f"md5('{tag}' || {extra} || i)"
    return (
        f"(lpad(to_hex(1700000000000 + i), 12, '0') || '7' || substr({digest}, 1, 3)"
        f" || '8' || substr({digest}, 4, 15))::uuid"
    )


def rnd(tag: str, modulus: int) -> str:
    return f"(('x' || substr(md5('{tag}' || i), 1, 7))::bit(28)::int % {modulus})"


SYNCED = "{id}, a.agency_id, 1, now(), now()"
COLS = "id, agency_id, version, created_at, updated_at"

STATEMENTS = [
    f"""INSERT INTO customer ({COLS}, kind, last_name, first_name, organisation_name, phone,
        mobile, email, id_document_number, notes, is_active)
        SELECT {SYNCED.format(id=uid('cu'))}, 'person', 'CLIENT ' || i, 'Prénom', '', '',
        '07' || lpad(i::text, 8, '0'), '', '', '', true FROM g, a""",
    f"""INSERT INTO premise ({COLS}, commune_id, house_number, complement, plot_reference)
        SELECT {SYNCED.format(id=uid('pr'))}, a.commune_id, (i % 400)::text, '', '' FROM g, a""",
    f"""INSERT INTO account ({COLS}, number, customer_id, status, payment_mode, opened_on,
        billing_premise_id, balance_minor, balance_as_of)
        SELECT {SYNCED.format(id=uid('ac'))}, 'B' || lpad(i::text, 13, '0'), {uid('cu')},
        'active', 'cash', date '2015-01-01', {uid('pr')}, 0, now() FROM g, a""",
    f"""INSERT INTO service_connection ({COLS}, reference, premise_id, energy, status,
        installed_on)
        SELECT {SYNCED.format(id=uid('sc'))}, 'BRB-' || lpad(i::text, 12, '0'), {uid('pr')},
        CASE WHEN i % 2 = 0 THEN 'water' ELSE 'electricity' END, 'active', date '2015-01-01'
        FROM g, a""",
    f"""INSERT INTO meter ({COLS}, serial, energy, payment, status, connection_id, make, digits,
        initial_index, installed_on)
        SELECT {SYNCED.format(id=uid('me'))}, 'MB' || lpad(i::text, 12, '0'),
        CASE WHEN i % 2 = 0 THEN 'water' ELSE 'electricity' END,
        CASE WHEN i % 11 = 10 THEN 'prepaid' ELSE 'postpaid' END, 'installed', {uid('sc')},
        'Itron', CASE WHEN i % 2 = 0 THEN 5 ELSE 6 END, 0, date '2015-01-01' FROM g, a""",
    f"""INSERT INTO meter_reading ({COLS}, meter_id, reading_date, read_at, index_value, source,
        kind, consumption, recorded_by, note)
        SELECT {SYNCED.format(id=uid('r0', 'd::text'))}, {uid('me')}, d, d + time '09:00',
        ({rnd('ix', 50000)} + 9 * (d - date '2026-08-31')) %
            CASE WHEN i % 2 = 0 THEN 100000 ELSE 1000000 END,
        'agent', 'regular', NULL, 'releveur', ''
        FROM g, a, unnest(ARRAY[date '2026-08-31', date '2026-09-30', date '2026-10-31']) AS d
        WHERE i % 11 <> 10 AND i % 50 <> 7 AND (i % 20 = 3 OR d = date '2026-10-31')""",
    f"""INSERT INTO meter_reading ({COLS}, meter_id, reading_date, read_at, index_value, source,
        kind, consumption, recorded_by, note)
        SELECT {SYNCED.format(id=uid('rn'))}, {uid('me')},
        CASE WHEN i % 100 = 11 THEN date '2026-11-20' ELSE date '2026-11-30' END, now(),
        ({rnd('ix', 50000)} + 9 * 61 + {rnd('use', 45)} * (1 + (i % 2) * 7)) %
            CASE WHEN i % 2 = 0 THEN 100000 ELSE 1000000 END,
        'agent', CASE WHEN i % 100 = 11 THEN 'move_out' ELSE 'regular' END, NULL, 'releveur', ''
        FROM g, a WHERE i % 11 <> 10 AND i % 20 <> 3""",
    f"""INSERT INTO meter_reading ({COLS}, meter_id, reading_date, read_at, index_value, source,
        kind, consumption, recorded_by, note)
        SELECT {SYNCED.format(id=uid('rm'))}, {uid('me')}, date '2026-11-10', now(),
        {rnd('ix', 50000)}, 'agent', 'move_in', NULL, 'releveur', ''
        FROM g, a WHERE i % 50 = 7 AND i % 11 <> 10""",
    f"""INSERT INTO contract ({COLS}, number, account_id, connection_id, tariff_id, status,
        start_date, end_date, move_in_reading_id, billed_until)
        SELECT {SYNCED.format(id=uid('co'))}, 'ABB-' || lpad(i::text, 12, '0'), {uid('ac')},
        {uid('sc')},
        CASE WHEN i % 11 = 10 THEN a.prepaid WHEN i % 2 = 0 THEN a.water ELSE a.electricity END,
        CASE WHEN i % 100 = 11 THEN 'closed' ELSE 'active' END,
        CASE WHEN i % 50 = 7 THEN date '2026-11-10' ELSE date '2015-01-01' END,
        CASE WHEN i % 100 = 11 THEN date '2026-11-20' END,
        CASE WHEN i % 50 = 7 AND i % 11 <> 10 THEN {uid('rm')} END,
        CASE WHEN i % 50 = 7 OR i % 11 = 10 THEN NULL ELSE date '2026-10-31' END
        FROM g, a""",
    f"""INSERT INTO invoice ({COLS}, number, kind, status, account_id, contract_id, period,
        period_start, period_end, issued_on, due_on, total_excl_vat_minor, vat_minor,
        total_minor, is_estimated)
        SELECT {SYNCED.format(id=uid('iv'))}, 'FB2026-' || lpad(i::text, 10, '0'),
        'consumption', 'issued', {uid('ac')}, {uid('co')}, '2026-10', date '2026-10-01',
        date '2026-10-31', date '2026-11-05', date '2026-11-25', 10000 + i % 5000,
        1800 + i % 900, 11800 + i % 5000 + i % 900, false
        FROM g, a WHERE i % 11 <> 10 AND i % 50 <> 7""",
    f"""INSERT INTO payment ({COLS}, receipt_number, account_id, invoice_id, amount_minor, method,
        reference, paid_at, received_by, is_cancelled, cancel_reason)
        SELECT {SYNCED.format(id=uid('pa'))}, 'RCB-' || lpad(i::text, 12, '0'), {uid('ac')},
        {uid('iv')}, 11800 + i % 5000 + i % 900, 'cash', '', now(), 'agent', false, ''
        FROM g, a WHERE i % 11 <> 10 AND i % 50 <> 7 AND i % 10 < 7""",
]


def make_data(url: str, contracts: int) -> float:
    """Reference data from the demo, then ``contracts`` postpaid contracts (and their prepaid
    tenth) made by the server; returns the seconds it took."""
    started = time.perf_counter()
    db = Database(url)
    build_demo(db, agency_code="101", currency=Currency.of("XOF"), customers=0,
               as_of=date(2026, 11, 15))
    db.dispose()
    # Every 11th row is prepaid: make enough rows for ``contracts`` postpaid ones.
    rows = contracts * 11 // 10
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("""CREATE TEMP TABLE a AS SELECT
            (SELECT id FROM agency) AS agency_id, (SELECT min(id::text)::uuid FROM commune) AS commune_id,
            (SELECT id FROM tariff WHERE code = 'EAU-DOM') AS water,
            (SELECT id FROM tariff WHERE code = 'ELEC-DOM') AS electricity,
            (SELECT id FROM tariff WHERE code = 'ELEC-PRE') AS prepaid"""))
        for low in range(1, rows + 1, BATCH):
            high = min(rows, low + BATCH - 1)
            connection.execute(text(
                f"CREATE TEMP TABLE g AS SELECT generate_series({low}, {high}) AS i"))
            for statement in STATEMENTS:
                connection.execute(text(statement))
            connection.execute(text("DROP TABLE g"))
            print(f"\r  données : {high:,} / {rows:,} lignes".replace(",", " "), end="",
                  flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    print()
    return time.perf_counter() - started


def counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        found = {
            table: int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ("contract", "meter", "meter_reading", "account", "invoice",
                          "invoice_line", "sync_journal", "audit_entry")
        }
    engine.dispose()
    return found


class MemoryWatch:
    """Peak resident memory of this process and of each of its billing processes, sampled in a
    thread (children are read from ``/proc/<pid>/task/*/children``: cheap, unlike a scan of
    every process of the machine, whose CPU would count as the bench's)."""

    def __init__(self, every: float = 0.1) -> None:
        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        self.worker_peak = 0
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now)
            self.worker_peak = max([self.worker_peak, *self.workers()])
            self._stop.wait(self.every)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def now(self) -> int:
        return int(self.process.memory_info().rss)

    def workers(self) -> list[int]:
        """Resident memory of each child process."""
        found = []
        for children in Path(f"/proc/{self.process.pid}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                for pid in children.read_text().split():
                    with contextlib.suppress(psutil.Error):
                        found.append(int(psutil.Process(int(pid)).memory_info().rss))
        return found


def backend_cpu(admin: Any, name: str, seen: dict[int, float]) -> float:
    """CPU seconds of the PostgreSQL backends serving database ``name`` (same machine), those
    seen earlier and gone keeping their last figure."""
    with admin.connect() as connection:
        pids = connection.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :n"),
                                  {"n": name}).scalars().all()
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            seen[pid] = sum(psutil.Process(pid).cpu_times()[:2])
    return sum(seen.values())


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"charge {one:.1f} (5 min {five:.1f}) sur {psutil.cpu_count()} cœurs"


def mib(value: int) -> str:
    return f"{value / 2**20:,.0f} Mio".replace(",", " ")


def n(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def database_url(name: str) -> str:
    return SERVER.rsplit("/", 1)[0] + f"/{name}"


def exists(admin: Any, name: str) -> bool:
    with admin.connect() as connection:
        return connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": name}).first() is not None


def prepare(admin: Any, name: str, contracts: int, *, created: bool = False) -> None:
    """Database ``name`` at the schema's head with ``contracts`` postpaid contracts to bill."""
    if not created:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(database_url(name))
    migrate.upgrade(engine)
    engine.dispose()
    print(f"Base {name} : {n(contracts)} contrats postpayés")
    seconds = make_data(database_url(name), contracts)
    print(f"  préparées en {seconds:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=100_000,
                        help="contrats postpayés à facturer")
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2, help="processus (au-delà de 10 000 contrats) ou fils de facturation")
    parser.add_argument("--keep", action="store_true", help="garder la base à la fin")
    parser.add_argument("--template", help="base modèle des données (faite une fois, gardée)")
    args = parser.parse_args()

    name = f"guichet_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    if args.template and not exists(admin, args.template):
        prepare(admin, args.template, args.contracts)
    with admin.connect() as connection:
        template = f' TEMPLATE "{args.template}"' if args.template else ""
        connection.execute(text(f'CREATE DATABASE "{name}"{template}'))
    url = database_url(name)
    try:
        if not args.template:
            prepare(admin, name, args.contracts, created=True)
        else:  # a template made before the last revision: its copy brought to the head
            engine = create_engine(url)
            migrate.upgrade(engine)
            engine.dispose()
        before = counts(url)
        print(f"Base {name} : " + ", ".join(f"{k} {n(v)}" for k, v in before.items() if v))

        with admin.connect() as connection:
            size_before = connection.execute(text("SELECT pg_database_size(:n)"),
                                             {"n": name}).scalar_one()
        db = Database(url)
        billing = BillingEngine(db, Currency.of("XOF"), chunk_size=args.chunk_size,
                                workers=args.workers)
        samples: list[tuple[int, int]] = []
        seen: dict[int, float] = {}
        server_before = backend_cpu(admin, name, seen)
        me = psutil.Process()
        times_before = me.cpu_times()  # this process, then its (waited for) worker processes
        load_before = load()
        with MemoryWatch() as memory:
            start_rss = memory.now

            def progress(report: BillingReport) -> None:
                samples.append((report.invoices, memory.now + max(memory.workers(), default=0)))
                backend_cpu(admin, name, seen)

            report = billing.run(Period.parse("2026-11"), date(2026, 12, 5), progress=progress)
        times = me.cpu_times()
        own = sum(times[:2]) - sum(times_before[:2])
        cpu = own + sum(times[2:4]) - sum(times_before[2:4])
        server = backend_cpu(admin, name, seen) - server_before
        db.dispose()
        with admin.connect() as connection:
            size_after = connection.execute(text("SELECT pg_database_size(:n)"),
                                            {"n": name}).scalar_one()
        after = counts(url)
        print(f"Facturation 2026-11 : {n(report.invoices)} factures ({n(report.estimated)} "
              f"estimées) en {report.seconds:.1f} s, {report.chunks} lots de {args.chunk_size}, "
              f"{args.workers} {'processus' if memory.worker_peak else 'fil(s)'}")
        print(f"  débit : {n(round(report.per_second))} factures/s (objectif ≥ {n(GOAL)})")
        print(f"  écrit : {n(after['invoice'] - before['invoice'])} factures, "
              f"{n(after['invoice_line'] - before['invoice_line'])} lignes, "
              f"{n(after['meter_reading'] - before['meter_reading'])} relevés estimés, "
              f"{n(after['sync_journal'] - before['sync_journal'])} entrées de journal, "
              f"{n(after['audit_entry'] - before['audit_entry'])} entrées d'audit")
        marks = [samples[0], samples[len(samples) // 2], samples[-1]] if samples else []
        workers = (f", pic de chaque processus de facturation {mib(memory.worker_peak)}"
                   if memory.worker_peak else "")
        print(f"  mémoire : au départ {mib(start_rss)}, pic {mib(memory.peak)}{workers} ; "
              + ", ".join(f"après {n(count)} factures {mib(rss)}" for count, rss in marks)
              + (" (processus principal + le plus gros processus de facturation)"
                 if memory.worker_peak else ""))
        per_100k = 100_000 / max(report.invoices, 1)
        cores = psutil.cpu_count() or 1
        # Python past one core only with worker processes (threads share one interpreter
        # lock), and one thread alone waits for the server: nothing overlaps.
        spread = args.workers if memory.worker_peak else 1
        if args.workers == 1:
            ceiling = report.invoices / (cpu + server)
        else:
            ceiling = report.invoices / max(cpu / spread, (cpu + server) / cores)
        print(f"  CPU (indépendant de la charge) : Python {cpu:.1f} s (dont ce processus "
              f"{own:.1f} s, le reste ses processus de facturation), serveur PostgreSQL "
              f"{server:.1f} s, ensemble {cpu + server:.1f} s, soit {cpu * per_100k:.1f} + "
              f"{server * per_100k:.1f} s pour 100 000 factures ; plafond sur {cores} cœurs "
              f"libres ≈ {n(round(ceiling))} factures/s (Python sur {spread} processus)")
        print(f"  base : {mib(size_before)} avant, {mib(size_after)} après")
        print(f"  machine : avant {load_before} ; après {load()}")
    finally:
        if not args.keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
