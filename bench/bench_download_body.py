"""Python CPU of writing one download page (20,000 invoice entries, the database fetch left
out, the same for both): before, each entry's ``changes`` decoded (as the driver did), the
page built as dicts and encoded as JSON; now, the stored text copied into the answer
(``central.sync.changes.changes_body``'s loop).

Run: ``python bench/bench_download_body.py [--entries N]``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections import namedtuple
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.responses import JSONResponse  # noqa: E402

from app.models.enums import JournalOperation  # noqa: E402
from central.sync import changes  # noqa: E402
from central.sync.entries import entry_to_wire, fill_binary  # noqa: E402

Row = namedtuple("Row", "no tx committed_at seq table_name row_id operation base_version "
                        "new_version at schema_version changes agency_id")


def rows_of(count: int) -> list[Any]:
    now = datetime.now(UTC)
    found = []
    for i in range(count):
        stored = {"account_id": [None, str(uuid.uuid4())], "number": [None, f"F2026-{i:06d}"],
                  "total_minor": [None, 12345], "issued_on": [None, "2026-12-03"],
                  "status": [None, "issued"], "period_start": [None, "2026-11-01"],
                  "period_end": [None, "2026-11-30"], "agency_id": [None, str(uuid.uuid4())],
                  "notes": [None, "Échéance"]}
        found.append(Row(i // 3, uuid.uuid4(), now, i, "invoice", uuid.uuid4(),
                         JournalOperation.INSERT, 0, 1, now, 17, json.dumps(stored), None))
    return found


def decoded(rows: list[Any]) -> bytes:
    commits: list[dict[str, Any]] = []
    for row in rows:
        if not commits or commits[-1]["no"] != row.no:
            commits.append({"no": row.no, "tx": str(row.tx),
                            "at": row.committed_at.isoformat(), "entries": []})
        commits[-1]["entries"].append(entry_to_wire(row, row.tx, json.loads(row.changes)))
    fill_binary(None, [e for c in commits for e in c["entries"]])  # type: ignore[arg-type]
    return JSONResponse({"after": 0, "anchor_ok": True, "head": 1, "commits": commits,
                         "next": 1, "more": False}).body


def copied(rows: list[Any]) -> bytes:
    parts = []
    for first, members in changes._commits(rows):  # noqa: SLF001
        texts = [f'{{"seq":{int(row.seq)},"tx":"{row.tx}",'
                 f'"table":{changes._dumps(row.table_name)},"row":"{row.row_id}",'  # noqa: SLF001
                 f'"op":"{changes._OPERATIONS[row.operation]}",'  # noqa: SLF001
                 f'"base":{int(row.base_version)},"new":{int(row.new_version)},'
                 f'"at":"{row.at.isoformat()}","schema":{int(row.schema_version)},'
                 f'"changes":{row.changes}}}' for row in members]
        parts.append(f'{{"no":{int(first.no)},"tx":"{first.tx}",'
                     f'"at":"{first.committed_at.isoformat()}","entries":[{",".join(texts)}]}}')
    return ('{"commits":[' + ",".join(parts) + "]}").encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=20000)
    args = parser.parse_args()
    rows = rows_of(args.entries)
    one, five, fifteen = os.getloadavg()
    print(f"download page of {args.entries} entries; load average {one:.1f} / {five:.1f} / "
          f"{fifteen:.1f}")
    for write in (decoded, copied, decoded, copied):
        started = time.process_time()
        body = write(rows)
        spent = time.process_time() - started
        print(f"  {write.__name__:<8} {spent * 1e6 / len(rows):6.1f} µs of CPU per entry, "
              f"{len(body):,} bytes")


if __name__ == "__main__":
    main()
