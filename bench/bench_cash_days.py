"""The supervisor's closing screen of the cash-up: ``agency_day`` (every agent's till of the day,
read in the background when the screen opens and after each closing) and ``close_all`` (every
counted till closed, each with its report PDF), on a SQLite or PostgreSQL desk with ``--agents``
agents, each with ``--sales`` counter sales and ``--payments`` invoice payments that day.
Prints the sizes, the wall and CPU seconds (this process; on PostgreSQL the server's backends are
not counted) and the load average.

    .venv/bin/python bench/bench_cash_days.py [--agents 20] [--sales 60] [--payments 30]
        [--database-url postgresql://…]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.models import Account, Meter, Payment, User, VendTransaction  # noqa: E402
from app.models.database import Database  # noqa: E402
from app.models.enums import PaymentMethod, Role, VendChannel  # noqa: E402
from app.services.auth import sign_in  # noqa: E402
from app.services.demo import build_demo  # noqa: E402
from app.services.installation import load_installation  # noqa: E402
from app.services.prepaid_cashup import agency_day, close_all, submit_count  # noqa: E402
from app.settings import Settings  # noqa: E402
from kernel import migrate  # noqa: E402
from kernel.context import ServiceContext, UnitOfWork  # noqa: E402
from kernel.money import Currency  # noqa: E402


def _timed(what: str, run: object) -> object:
    assert callable(run)
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    print(f"{what}: {time.perf_counter() - wall:.3f} s wall, "
          f"{time.process_time() - cpu:.3f} s CPU (this process)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--sales", type=int, default=60)
    parser.add_argument("--payments", type=int, default=30)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-cash-days-"))
    db = Database(args.database_url or f"sqlite:///{folder / 'desk.sqlite3'}")
    migrate.upgrade(db.engine)
    build_demo(db, agency_code="101", currency=Currency.of("XOF"), customers=20)
    settings = Settings(data_dir=folder / "data", central_url="off", demo_customers=0)
    ctx = ServiceContext(db, load_installation(db, settings))
    day = ctx.installation.today()
    start = datetime.combine(day, datetime.min.time(), ctx.installation.zone) + timedelta(hours=8)
    agents = [f"caisse{n:02d}" for n in range(args.agents)]
    with UnitOfWork(db, ctx.actor, from_server=True) as uow:
        s = uow.session
        meter = s.scalars(select(Meter.id)).first()
        account = s.scalars(select(Account.id)).first()
        template = s.scalars(select(User).where(User.username == "agent")).one()
        for n, agent in enumerate(agents):
            s.add(User(agency_id=ctx.installation.agency_id, username=agent,
                       full_name=f"Agent {n:02d}", role=Role.AGENT,
                       password_hash=template.password_hash))
            for k in range(args.sales):
                s.add(VendTransaction(
                    agency_id=ctx.installation.agency_id,
                    receipt_number=f"RP101-B{n:02d}-{k:05d}", meter_id=meter,
                    channel=VendChannel.COUNTER, amount_minor=1000 + k, energy=Decimal("1.0"),
                    sold_at=start + timedelta(minutes=k), sold_by=agent))
            for k in range(args.payments):
                s.add(Payment(
                    agency_id=ctx.installation.agency_id, receipt_number=f"RC-B{n:02d}-{k:05d}",
                    account_id=account, amount_minor=5000, method=PaymentMethod.CASH,
                    paid_at=start + timedelta(minutes=k), received_by=f"Agent {n:02d}"))
        uow.commit()
    supervisor = ctx.signed_in(sign_in(db, "superviseur", "Guichet-Sup-2026"))
    for agent in agents:
        expected = args.sales * 1000 + sum(range(args.sales)) + args.payments * 5000
        submit_count(supervisor, agent, day, expected, "")
    print(f"{db.dialect}: {args.agents} agents × ({args.sales} sales + {args.payments} "
          f"payments) in the day; load average {os.getloadavg()}")
    found = _timed("agency_day (the closing screen's read)", lambda: agency_day(supervisor, day))
    print(f"  {len(found.agents)} tills listed")  # type: ignore[attr-defined]
    done = _timed("close_all (every till, each with its report PDF)",
                  lambda: close_all(supervisor, day))
    print(f"  {len(done.closed)} closed, {len(done.left_open)} left open")  # type: ignore[attr-defined]
    _timed("agency_day after the closing", lambda: agency_day(supervisor, day))
    print(f"load average {os.getloadavg()}")
    db.dispose()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
