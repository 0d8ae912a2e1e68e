"""What noting the changes of a write costs: one transaction of N new customers (each with its
audit entry, journal entry and search index rows), written with no collector (central, the
command line) and inside one (a job of the desk's runner). Prints rows per second both ways.

    python bench/bench_changes.py [--rows 5000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.models import Agency, Customer  # noqa: E402
from app.models.capture import Actor, set_actor  # noqa: E402
from app.models.changes import collecting  # noqa: E402
from app.models.database import Database  # noqa: E402
from kernel import migrate as desk_migrate  # noqa: E402


def _write(db: Database, rows: int, agency: uuid.UUID) -> float:
    started = time.perf_counter()
    with db.session() as session:
        set_actor(session, Actor("bench", agency_id=agency))
        for n in range(rows):
            session.add(Customer(agency_id=agency, last_name=f"Client{n}", first_name="Awa"))
        session.commit()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    db = Database(f"sqlite:///{Path(tempfile.mkdtemp()) / 'desk.sqlite3'}")
    desk_migrate.upgrade(db.engine)
    with db.session() as session:
        set_actor(session, Actor("bench"))
        place = Agency(code="101", name="Agence du banc d'essai")
        session.add(place)
        session.commit()
        agency: uuid.UUID = place.id
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name in ("without a collector", "inside a collector"):
            with collecting() if name == "inside a collector" else nullcontext() as collector:
                seconds = _write(db, args.rows, agency)
            if collector is not None:
                assert len(collector.changes().ids("customer")) == args.rows
            best[name] = min(best.get(name, seconds), seconds)
    for name, seconds in best.items():
        print(f"{args.rows} customers in one transaction, {name}: {seconds:.3f} s "
              f"({args.rows / seconds:,.0f} rows/s, best of {args.rounds})")


if __name__ == "__main__":
    main()
