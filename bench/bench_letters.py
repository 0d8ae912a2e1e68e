"""Word letters in a batch: N letters merged to .docx and written (numbered, stored as issued),
then the merged PDF of the batch made by one LibreOffice conversion.

    python bench/bench_letters.py [--letters 1000] [--template RAPPEL] [--database-url URL]

The desk is a demo database (SQLite file in a temporary folder unless ``--database-url``)."""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pypdf import PdfReader  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from app.models import Account  # noqa: E402
from app.models.database import Database  # noqa: E402
from app.services.demo import build_demo, reset_database  # noqa: E402
from app.services.installation import load_installation  # noqa: E402
from app.services.letters import engine  # noqa: E402
from app.services.letters.batch import batch_output, plan_batch, run_batch  # noqa: E402
from app.services.letters.fields import Subject  # noqa: E402
from app.services.letters.templates import list_templates  # noqa: E402
from app.settings import Settings  # noqa: E402
from kernel import migrate  # noqa: E402
from kernel.context import ServiceContext  # noqa: E402
from kernel.money import Currency  # noqa: E402


@dataclass(frozen=True)
class FirstAccounts:
    count: int

    def describe(self, ctx: ServiceContext) -> str:
        return f"{self.count} premiers comptes"

    def subjects(self, session: Session, ctx: ServiceContext) -> list[Subject]:
        rows = session.execute(select(Account.customer_id, Account.id)
                               .order_by(Account.number).limit(self.count))
        return [Subject(customer_id, account_id) for customer_id, account_id in rows]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument("--template", default="RAPPEL")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="guichet-bench-letters-"))
    db = Database(args.database_url or f"sqlite:///{folder / 'desk.sqlite3'}")
    migrate.upgrade(db.engine)
    reset_database(db)
    started = time.perf_counter()
    build_demo(db, agency_code="101", currency=Currency.of("XOF"), customers=args.letters,
               as_of=date(2026, 11, 15))
    print(f"database        {db.describe()}")
    print(f"demo            {args.letters:,} customers in {time.perf_counter() - started:,.1f} s")
    ctx = ServiceContext(db, load_installation(db, Settings(data_dir=folder / "data")))
    template = next(t for t in list_templates(ctx) if t.code == args.template)
    plan = plan_batch(ctx, template.id, FirstAccounts(args.letters), {"texte": "Essai."})
    started = time.perf_counter()
    result = run_batch(ctx, plan)
    elapsed = time.perf_counter() - started
    print(f"letters         {result.done:,} « {template.name} » (.docx merged, numbered, stored)")
    print(f"elapsed         {elapsed:,.1f} s  ({result.done / elapsed:,.0f} letters/s; goal < 30 s "
          "for 1,000)")
    started = time.perf_counter()
    output = batch_output(ctx, plan, pdf=False)
    print(f"merged .docx    {time.perf_counter() - started:,.1f} s, "
          f"{len(output.data) / 2**20:,.1f} MiB")
    if engine.office_program() is None:
        print("merged PDF      LibreOffice is not installed")
    else:
        started = time.perf_counter()
        output = batch_output(ctx, plan, pdf=True)
        elapsed = time.perf_counter() - started
        pages = len(PdfReader(io.BytesIO(output.data)).pages)
        print(f"merged PDF      {elapsed:,.1f} s (merge + one LibreOffice conversion), "
              f"{pages:,} pages, {len(output.data) / 2**20:,.1f} MiB")
    db.dispose()


if __name__ == "__main__":
    main()
