"""Demo generation rate: customers (and rows) per second at a given size, SQLite or PostgreSQL.

    python bench/bench_demo.py --customers 100000 [--database-url URL] [--keep PATH]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import psutil
from sqlalchemy import text

from app.models.database import Database
from app.services.demo import build_demo, reset_database
from app.services.demo.rows import TABLES
from kernel import migrate
from kernel.money import Currency


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--keep", type=Path, help="SQLite file to keep (for the other benches)")
    parser.add_argument("--without-history", action="store_true",
                        help="no readings, invoices nor payments (enough for bench_search)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="guichet-bench-")
    path = args.keep or Path(folder) / "demo.sqlite3"
    url = args.database_url or f"sqlite:///{path}"
    if not args.database_url and path.exists():
        path.unlink()
    db = Database(url)
    migrate.upgrade(db.engine)
    reset_database(db)
    process = psutil.Process()
    peak = 0

    def progress(done: int, total: int) -> None:
        nonlocal peak
        peak = max(peak, process.memory_info().rss)

    started = time.perf_counter()
    build_demo(db, agency_code="101", currency=Currency.of("XOF"), customers=args.customers,
               as_of=date(2026, 11, 15), progress=progress,
               history=not args.without_history)
    elapsed = time.perf_counter() - started
    with db.engine.connect() as connection:
        rows = {t: connection.execute(text(f"select count(*) from {t}")).scalar_one() for t in TABLES}
    total_rows = sum(rows.values())
    print(f"database        {db.describe()}")
    print(f"customers       {args.customers:,}")
    print(f"rows written    {total_rows:,}  " + ", ".join(f"{t} {n:,}" for t, n in rows.items()))
    print(f"elapsed         {elapsed:,.1f} s")
    print(f"rate            {args.customers / elapsed:,.0f} customers/s, {total_rows / elapsed:,.0f} rows/s")
    print(f"peak RSS        {peak / 2**20:,.0f} MiB")
    if not args.database_url:
        print(f"file size       {path.stat().st_size / 2**20:,.0f} MiB")
    db.dispose()


if __name__ == "__main__":
    main()
