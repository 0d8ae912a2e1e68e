"""Time from the agent's Enter to the token: ``VendingDesk.sell`` (key written to disk, HTTP
request, central's sale, answer) against a real central process on 127.0.0.1 (SQLite, public
test keys, one worker). Prints the count, median and p95, then the time central takes to explain
a refused code (``VendingDesk.diagnose``) for three kinds: already used, a typing error, and a code
of no known meter (the slowest: every former key revision is tried). The load average is
printed beside the figures.

    .venv/bin/python bench/bench_desk_sale.py [--sales 200]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import os  # noqa: E402

from app.models import Agency, PendingVendSale  # noqa: E402
from app.models.database import Database  # noqa: E402
from app.services.prepaid_desk import PendingStore, VendingDesk  # noqa: E402
from app.sync.endpoint import Endpoint  # noqa: E402
from central.credentials import issue_agency_credential  # noqa: E402
from central.embedded import free_port  # noqa: E402
from tests.vending.stack import PY, Service, clean_env  # noqa: E402
from tests.vending.world import DRN_A, VendingWorld  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sales", type=int, default=200)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-desk-sale-"))
    url = f"sqlite:///{workdir / 'central.sqlite3'}"
    done = __import__("subprocess").run(
        [PY, "-m", "central", "--database-url", url, "--data-dir", str(workdir), "db",
         "upgrade"], cwd=ROOT, env=clean_env(), capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    db = Database(url)
    VendingWorld(db)
    with db.session() as session, session.begin():
        agency = session.scalars(select(Agency).where(Agency.code == "101")).one()
        secret = issue_agency_credential(session, agency.id, "101")
    db.dispose()
    port = free_port()
    service = Service("central", [PY, "-m", "central", "--database-url", url, "--data-dir",
                                  str(workdir), "serve", "--port", str(port)], port, workdir,
                      clean_env(GUICHET_CENTRAL_VENDING_TEST_KEYS="1")).start()
    try:
        pending = Database(f"sqlite:///{workdir / 'desk.sqlite3'}")
        PendingVendSale.__table__.create(pending.engine)  # type: ignore[attr-defined]
        desk = VendingDesk(Endpoint(service.url, secret, "101"), PendingStore(pending))
        desk.sell(DRN_A, 1500, "0701020304", "bench")  # warm-up
        times = []
        last = None
        for _ in range(args.sales):
            start = time.perf_counter()
            last = desk.sell(DRN_A, 1000, "0701020304", "bench")
            times.append((time.perf_counter() - start) * 1000)
        assert last is not None
        typo = last.token[:3] + str((int(last.token[3]) + 1) % 10) + last.token[4:]
        why: dict[str, list[float]] = {}
        for kind, token in (("used", last.token), ("typing_error", typo),
                            ("not_this_meter", "12345678901234567890")):
            for _ in range(20):
                start = time.perf_counter()
                found = desk.diagnose(DRN_A, token)
                why.setdefault(f"{kind} → {found.verdict}", []).append(
                    (time.perf_counter() - start) * 1000)
        desk.close()
        pending.dispose()
    finally:
        service.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"desk sales through central (SQLite, 1 meter, {args.sales} sales in a row): "
          f"median {statistics.median(times):.0f} ms, p95 {p95:.0f} ms, max {times[-1]:.0f} ms"
          f" — load average {load}")
    for kind, spent in why.items():
        spent.sort()
        print(f"refusal explained ({kind}, meter with {args.sales + 1} sales, 20 asks): "
              f"median {statistics.median(spent):.0f} ms, max {spent[-1]:.0f} ms")


if __name__ == "__main__":
    main()
