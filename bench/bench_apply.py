"""Central's apply path alone: one agency's batches of payments and meter readings (one desk
transaction each, the usual night) applied by ``receive_batch`` on a central database, every
entry checked against the ownership rule and the value checks. Prints entries per second.

    python bench/bench_apply.py [--accounts 500] [--batches 5] [--database-url URL]

The central is a fresh SQLite file unless ``--database-url`` names an empty migrated central
database (PostgreSQL: ``postgresql+psycopg://postgres@127.0.0.1:5432/NAME``)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.models.database import Database  # noqa: E402
from central import migrate  # noqa: E402
from central.collector import tune_for_server  # noqa: E402
from central.sync.batches import Batch, receive_batch  # noqa: E402
from central.sync.state import Agency  # noqa: E402
from kernel import migrate as desk_migrate  # noqa: E402
from kernel import wire  # noqa: E402
from tests.central.world import World  # noqa: E402

PER_BATCH = 2000


def _entry(seq: int, table: str, values: dict[str, Any]) -> dict[str, Any]:
    return {"seq": seq, "tx": str(uuid.uuid4()), "table": table, "row": str(uuid.uuid4()),
            "op": "insert", "base": 0, "new": 1, "schema": 2,
            "at": "2026-12-01T09:00:00+00:00",
            "changes": {k: [None, wire.to_wire(v)] for k, v in values.items()}}


def _backends(db: Database) -> list[int]:
    """The database server processes of the pool's sessions (PostgreSQL), to count their CPU."""
    if db.dialect != "postgresql":
        return []
    with db.engine.connect() as connection:
        return [int(connection.exec_driver_sql("select pg_backend_pid()").scalar_one())]


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--database-url")
    parser.add_argument("--default-collector", action="store_true",
                        help="Python's default garbage collector thresholds (not the server's)")
    args = parser.parse_args()
    url = args.database_url
    if url is None:
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'central.sqlite3'}"
    db = Database(url)
    desk_migrate.upgrade(db.engine)
    migrate.upgrade(db.engine)
    world = World(db, agency_code="101")
    started = time.perf_counter()
    subs = [world.subscribe() for _ in range(args.accounts)]
    print(f"{args.accounts} subscriptions made in {time.perf_counter() - started:.1f} s")
    if not args.default_collector:
        tune_for_server()  # as the central server runs
    agency = Agency(world.agency_id, "101")
    paid = datetime(2026, 12, 1, 9, tzinfo=UTC)
    seq = 0
    total = 0
    elapsed = 0.0
    cpu = 0.0
    backends = _backends(db)
    backend_cpu = _cpu(backends)
    for number in range(1, args.batches + 1):
        entries = []
        while len(entries) < PER_BATCH:
            sub = subs[len(entries) // 2 % len(subs)]
            seq += 1
            if len(entries) % 2:
                entries.append(_entry(seq, "payment", {
                    "agency_id": world.agency_id, "account_id": sub.account_id,
                    "receipt_number": f"R101-2026-{seq:06d}", "amount_minor": 1000 + seq,
                    "method": "cash", "paid_at": paid, "received_by": "agent"}))
            else:
                entries.append(_entry(seq, "meter_reading", {
                    "agency_id": world.agency_id, "meter_id": sub.meter_id,
                    "reading_date": date(2026, 11, 30), "read_at": paid,
                    "index_value": seq, "recorded_by": "agent"}))
        batch = Batch(number, uuid.uuid4().hex * 2, "changes", entries)
        started, started_cpu = time.perf_counter(), time.process_time()
        answer = receive_batch(db, agency, batch)
        elapsed += time.perf_counter() - started
        cpu += time.process_time() - started_cpu
        total += len(entries)
        assert answer["applied"] == len(entries), answer
    print(f"{db.dialect}: {total} entries in {args.batches} batches applied in {elapsed:.2f} s: "
          f"{total / elapsed:,.0f} entries/s (load average {os.getloadavg()[0]:.1f})")
    database_cpu = _cpu(backends) - backend_cpu
    if backends:
        print(f"  CPU: {cpu:.2f} s of Python, {database_cpu:.2f} s of the database's session: "
              f"{total / (cpu + database_cpu):,.0f} entries per CPU-second "
              f"(what one core would do unloaded)")
    db.dispose()


if __name__ == "__main__":
    main()
