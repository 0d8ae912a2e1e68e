"""Intervention requests at volume: the list's filters over 100,000 requests (p50 / p95 / max),
the planning board of a week with 50 technicians and 2,000 jobs (service time, and with
``--screen`` the time the board widget takes to draw it offscreen), a drag applied.

    python -m bench.bench_interventions [--requests 100000] [--technicians 50] [--jobs 2000]
                                       [--database-url sqlite:////tmp/x.sqlite3] [--screen]

Without ``--database-url`` a SQLite file is made in a temporary folder (demo reference data,
200 customers) and filled with generated requests.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

from sqlalchemy import insert, select

from app.models import Commune, Customer, InterventionRequest, Technician
from app.models.database import Database
from app.models.enums import (
    InterventionPriority,
    InterventionStatus,
    RequestChannel,
)
from app.models.ids import new_id, utcnow
from app.services.demo import build_demo
from app.services.installation import load_installation
from app.services.interventions import lists, planning
from app.services.interventions.requests import KINDS
from app.settings import Settings
from kernel import migrate
from kernel.context import ServiceContext
from kernel.money import Currency
from kernel.numbering import cover_held


def fill(db: Database, ctx: ServiceContext, requests: int, technicians: int, jobs: int,
         first_day: date, seed: int = 19) -> None:
    """Adds ``technicians`` technicians, ``jobs`` jobs planned over the week from
    ``first_day`` and ``requests`` requests in all (the rest spread over two years)."""
    rng = random.Random(seed)
    agency = ctx.installation.agency_id
    zone = ctx.installation.zone
    now = utcnow()
    with db.session() as session, session.begin():
        communes = list(session.scalars(select(Commune.id)))
        customers = list(session.scalars(select(Customer.id).limit(500)))
        skills = [",".join(s) for s in (("water", "meters"), ("electricity", "meters"),
                                        ("water",), ("electricity",),
                                        ("water", "electricity", "meters"))]
        people = [new_id() for _ in range(technicians)]
        session.execute(insert(Technician), [
            {"id": t, "agency_id": agency, "name": f"Technicien {i + 1:03d}", "phone": "",
             "skills": skills[-1] if rng.random() < 0.9 else rng.choice(skills), "day_starts_minute": 450, "day_ends_minute": 990,
             "is_active": True, "version": 1, "created_at": now, "updated_at": now}
            for i, t in enumerate(people)])
        rows = []
        year = now.year
        for n in range(requests):
            kind = rng.choice(KINDS)
            planned = n < jobs
            # Two years of requests; what is older than six weeks is closed but for a few.
            requested = now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60))
            if planned:
                status = rng.choice((InterventionStatus.SCHEDULED, InterventionStatus.SCHEDULED,
                                     InterventionStatus.IN_PROGRESS))
            elif now - requested > timedelta(days=42) and rng.random() < 0.97:
                status = rng.choice((InterventionStatus.DONE,) * 9 + (InterventionStatus.CANCELLED,))
            else:
                status = rng.choice(list(InterventionStatus))
            scheduled = None
            technician = None
            if planned:
                # Each technician's day filled hour by hour in their sector (one commune); one
                # job in ten lands on another.
                day = first_day + timedelta(days=(n // technicians) % 5)
                slot = n // (5 * technicians)
                if rng.random() < 0.1:
                    slot = max(0, slot - 1)
                minute = 450 + 60 * slot + (60 if slot >= 5 else 0)
                scheduled = datetime.combine(day, dtime(minute // 60, minute % 60), zone) \
                    .astimezone(UTC)
                technician = people[n % technicians]
            elif status in (InterventionStatus.SCHEDULED, InterventionStatus.IN_PROGRESS):
                status = InterventionStatus.NEW
            rows.append({
                "id": new_id(), "agency_id": agency, "version": 1, "created_at": requested,
                "updated_at": requested, "number": f"DI{ctx.installation.agency_code}-{year}-"
                f"{n + 1:06d}", "type": kind, "priority": rng.choice(list(InterventionPriority)),
                "status": status, "channel": rng.choice(list(RequestChannel)),
                "customer_id": rng.choice(customers) if customers and rng.random() < 0.8
                else None, "commune_id": communes[(n % technicians) % len(communes)] if planned
                else rng.choice(communes), "landmark": "repère",
                "description": f"Demande générée {n}", "requested_at": requested,
                "due_at": requested + timedelta(hours=rng.choice((4, 8, 24, 48, 96))),
                "scheduled_for": scheduled, "technician_id": technician,
                "duration_minutes": 45 if planned else rng.choice((30, 60, 90, 120)),
                "done_at": requested + timedelta(days=2)
                if status is InterventionStatus.DONE else None,
            })
            if len(rows) == 5000:
                session.execute(insert(InterventionRequest), rows)
                rows = []
        if rows:
            session.execute(insert(InterventionRequest), rows)
        cover_held(session, ctx.installation.agency_code)  # the next number follows them


def _timed(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def _line(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (f"  {name:<34} p50 {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms   "
            f"max {max(times):7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--technicians", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2_000)
    parser.add_argument("--database-url")
    parser.add_argument("--screen", action="store_true", help="time the board widget too")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench_interventions_"))
    url = args.database_url or f"sqlite:///{folder / 'desk.sqlite3'}"
    db = Database(url)
    migrate.upgrade(db.engine)
    build_demo(db, agency_code="101", currency=Currency.of("XOF"), customers=200,
               as_of=date.today())
    settings = Settings(data_dir=folder / "data", central_url="off", demo_customers=0)
    ctx = ServiceContext(db, load_installation(db, settings))
    today = ctx.installation.today()
    monday = today + timedelta(days=7 - today.weekday())
    started = time.perf_counter()
    fill(db, ctx, args.requests, args.technicians, args.jobs, monday)
    print(f"{args.requests:,} requests, {args.technicians} technicians, {args.jobs:,} jobs in "
          f"the week of {monday:%d/%m/%Y} ({db.dialect}); filled in "
          f"{time.perf_counter() - started:.1f} s")
    print("load average (1, 5, 15 min): " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    with db.reading() as session:
        communes = list(session.scalars(select(Commune.id)))
        techs = list(session.scalars(select(Technician.id).limit(20)))
    rng = random.Random(7)
    filters = {
        "no filter (first page)": lambda: lists.RequestFilter(),
        "status": lambda: lists.RequestFilter(status=rng.choice(list(InterventionStatus))),
        "kind": lambda: lists.RequestFilter(type=rng.choice(KINDS)),
        "commune": lambda: lists.RequestFilter(commune_id=rng.choice(communes)),
        "technician": lambda: lists.RequestFilter(technician_id=rng.choice(techs)),
        "overdue": lambda: lists.RequestFilter(overdue_only=True),
        "open + kind + commune": lambda: lists.RequestFilter(
            open_only=True, type=rng.choice(KINDS), commune_id=rng.choice(communes)),
        "number end": lambda: lists.RequestFilter(number=f"{rng.randrange(args.requests):06d}"),
    }
    print("List (one page of 200 rows):")
    everything: list[float] = []
    for name, make in filters.items():
        times = _timed(lambda make=make: lists.list_requests(ctx, make()), 30)
        everything += times
        print(_line(name, times))
    print(_line("all filters together", everything))
    print(_line("counts per status", _timed(
        lambda: lists.counts_by_status(ctx, lists.RequestFilter()), 20)))
    print("Planning board (a week):")
    print(_line("board service", _timed(lambda: planning.board(ctx, monday, 7), 10)))
    week = planning.board(ctx, monday, 7)
    job = next(j for j in week.jobs if j.status is InterventionStatus.SCHEDULED)
    target = week.technicians[-1].technician_id
    versions = {"v": job.version}
    supervisor_ctx = _supervisor(ctx)

    def drag() -> None:
        start = job.start + timedelta(days=1) if job.start else None
        assert start is not None
        versions["v"] = planning.place_job(supervisor_ctx, job.request_id, versions["v"],
                                           target, start, force=True)

    print(_line("drag applied (service, forced)", _timed(drag, 20)))
    if args.screen:
        _screen(ctx, monday)
    db.dispose()


def _supervisor(ctx: ServiceContext) -> ServiceContext:
    from app.models.enums import Role
    from kernel.context import SignedInUser

    return ctx.signed_in(SignedInUser(uuid.uuid4(), "superviseur", "Awa KONÉ", Role.SUPERVISOR))


def _screen(ctx: ServiceContext, monday: date) -> None:

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication, QScrollArea

    from app.views.interventions.board import BoardView

    app = QApplication.instance() or QApplication([])
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    view = BoardView()
    scroll.setWidget(view)
    scroll.resize(1130, 620)  # the board's part of a 1366×768 window
    scroll.show()
    board = planning.board(ctx, monday, 7)
    times = []
    for _ in range(10):
        start = time.perf_counter()
        view.show_board(board)
        scroll.viewport().grab()  # what a screen shows: the visible part drawn
        times.append((time.perf_counter() - start) * 1000)
    print(_line("board widget: load + draw (visible)", times))
    whole = _timed(lambda: (view.show_board(board), view.grab()), 5)
    print(_line(f"board widget: all {len(board.technicians)} rows", whole))
    scroll.close()
    app.processEvents()
    print("load average at the end: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    os._exit(0)  # PySide's teardown of a bench's widgets is not worth waiting for


if __name__ == "__main__":
    main()
