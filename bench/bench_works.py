"""Works quotes: the time to render a 50-line quote PDF, and the quotes list's filters on an
agency with 100,000 quotes (median and p95 of each, in milliseconds).

    python bench/bench_works.py [--quotes 100000] [--runs 30] [--database-url URL]

The database is a fresh SQLite file unless ``--database-url`` names an empty PostgreSQL
database. The quotes are written in bulk (the bench's set-up, not the write path)."""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select  # noqa: E402

from app.models import Commune, Customer, WorksQuote  # noqa: E402
from app.models.database import Database  # noqa: E402
from app.models.enums import Civility, QuoteStatus  # noqa: E402
from app.models.search_index import rebuild  # noqa: E402
from app.models.works import prospect_key  # noqa: E402
from app.services.demo import build_demo  # noqa: E402
from app.services.documents.works_pdf import (  # noqa: E402
    DocumentLine,
    RateLine,
    WorksDocumentData,
    render_works_document,
)
from app.services.installation import load_installation  # noqa: E402
from app.services.works.lists import QuoteFilter, list_quotes  # noqa: E402
from app.settings import Settings  # noqa: E402
from kernel import migrate  # noqa: E402
from kernel.context import ServiceContext  # noqa: E402
from kernel.money import Currency  # noqa: E402


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"


def bench_pdf(runs: int) -> None:
    currency = Currency.of("XOF")
    lines = tuple(DocumentLine(f"C-{n:03d}", f"Fourniture et pose, article n° {n}",
                               Decimal(n % 9 + 1) / 2, "m", Decimal(1000 + n), Decimal(0),
                               Decimal("0.18"), (1000 + n) * (n % 9 + 1) // 2)
                  for n in range(50))
    base = sum(line.amount_excl_vat_minor for line in lines)
    data = WorksDocumentData(
        "DEVIS", "DV101-2026-000001", date(2026, 12, 5), "Agence de Cocody", "Cocody",
        "27 22 44 10 10", "M. KONÉ Ali", "12 rue des Jardins, Cocody", "101 26 0000001 12",
        "Extension réseau", lines, (RateLine(Decimal("0.18"), base, base * 18 // 100),),
        base, base * 18 // 100, base + base * 18 // 100, currency, approval_box=True)
    render_works_document(data)  # fonts registered, modules imported
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        pdf = render_works_document(data)
        samples.append(time.perf_counter() - started)
    print(f"50-line quote PDF ({len(pdf) // 1024} KiB): {_ms(samples)} over {runs} renders")


def bench_list(url: str, count: int, runs: int, data_dir: Path) -> None:
    db = Database(url)
    fresh = migrate.current_revision(db.engine) is None
    migrate.upgrade(db.engine)
    if fresh:
        build_demo(db, agency_code="101", currency=Currency.of("XOF"), customers=0,
                   as_of=date(2026, 11, 15))
    ctx = ServiceContext(db, load_installation(db, Settings(data_dir=data_dir,
                                                            central_url="off",
                                                            demo_customers=0)))
    if fresh:
        _fill(ctx, db, count)
    _measure(ctx, db, runs)
    db.dispose()


def _fill(ctx: ServiceContext, db: Database, count: int) -> None:
    agency = ctx.installation.agency_id
    rng = random.Random(7)
    names = ["Koné", "Traoré", "Yao", "Bamba", "Kouassi", "Coulibaly", "Diallo", "Ouattara"]
    with db.session() as session:
        communes = list(session.scalars(select(Commune.id)))
        customers = []
        for n in range(2000):
            customers.append({"id": uuid.uuid4(), "agency_id": agency, "version": 1,
                              "civility": Civility.MR, "last_name": f"{rng.choice(names)}{n}",
                              "first_name": "Ali"})
        session.execute(insert(Customer), customers)
        rebuild(session.connection(), session)  # the names search reads the customer index
        statuses = list(QuoteStatus)
        started = time.perf_counter()
        day0 = date(2022, 1, 1)
        for chunk in range(0, count, 10_000):
            rows = []
            for n in range(chunk, min(count, chunk + 10_000)):
                issued = day0 + timedelta(days=rng.randrange(1800))
                prospect = rng.random() < 0.2
                name = rng.choice(names) if prospect else ""
                rows.append({
                    "id": uuid.uuid4(), "agency_id": agency, "version": 1,
                    "number": f"DV101-{issued.year}-{n + 1:06d}",
                    "status": rng.choice(statuses),
                    "customer_id": None if prospect else rng.choice(customers)["id"],
                    "commune_id": rng.choice(communes),
                    "prospect_last_name": name, "prospect_key": prospect_key(name, ""),
                    "issued_on": issued, "valid_until": issued + timedelta(days=30),
                    "total_minor": rng.randrange(5_000, 2_000_000),
                    "prepared_by": rng.choice(["Awa", "Yao", "Ibrahim"]),
                })
            session.execute(insert(WorksQuote), rows)
        session.commit()
    print(f"{count} quotes written in {time.perf_counter() - started:.1f} s "
          f"({db.engine.dialect.name})")


def _measure(ctx: ServiceContext, db: Database, runs: int) -> None:
    with db.session() as session:
        communes = list(session.scalars(select(Commune.id).order_by(Commune.name)))
    filters = {
        "no filter": QuoteFilter(),
        "status": QuoteFilter(status=QuoteStatus.SENT),
        "dates (one month)": QuoteFilter(date_from=date(2024, 3, 1), date_to=date(2024, 3, 31)),
        "agent + amount": QuoteFilter(agent="yao", min_total_minor=1_000_000),
        "commune + status": QuoteFilter(commune_id=communes[0], status=QuoteStatus.APPROVED),
        "number": QuoteFilter(text="DV101-2024-0500"),
        "name letters": QuoteFilter(text="traor"),
    }
    for caption, given in filters.items():
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            listed = list_quotes(ctx, given, limit=200)
            samples.append(time.perf_counter() - started)
        print(f"list {caption:<18} → {listed.count:>6} quotes (200 shown): {_ms(samples)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quotes", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", help="kept between runs: filled only when empty")
    parser.add_argument("--skip-pdf", action="store_true")
    args = parser.parse_args()
    print("load average (1, 5, 15 min): " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    if not args.skip_pdf:
        bench_pdf(args.runs)
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.sqlite3"
        bench_list(url, args.quotes, args.runs, Path(folder))
    print("load average at the end: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
