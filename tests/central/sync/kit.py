"""What the sync tests share: a central with two agencies (101 and 102, each with one
subscription) served in process, and a fake desk that builds journal entries and batches the
way docs/sync.md describes them."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.models import Agency
from app.models.database import Database
from central.agencies import new_agency_credential
from central.api import create_app
from central.credentials import issue_admin_credential
from central.settings import CentralSettings
from kernel import wire
from tests.central.world import Subscription, World

with warnings.catch_warnings():
    # starlette asks for httpx2; its test client still works with httpx.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


@dataclass
class Desk:
    """A fake desk of one agency: numbers its batches and transactions like a real one."""

    code: str
    agency_id: uuid.UUID
    credential: str
    client: TestClient
    number: int = 0
    seq: count[int] = field(default_factory=lambda: count(1))

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credential}"}

    def url(self, path: str) -> str:
        return f"/agencies/{self.code}/sync/{path}"

    def entry(self, table: str, row: uuid.UUID, op: str, base: int, new: int,
              changes: dict[str, list[Any]], tx: uuid.UUID | None = None) -> dict[str, Any]:
        return {"seq": next(self.seq), "tx": str(tx or uuid.uuid4()), "table": table,
                "row": str(row), "op": op, "base": base, "new": new,
                "at": datetime(2026, 11, 21, 18, 2, 3, tzinfo=UTC).isoformat(), "schema": 2,
                "changes": {k: [wire.to_wire(o), wire.to_wire(n)] for k, (o, n) in changes.items()}}

    def insert(self, table: str, values: dict[str, Any], tx: uuid.UUID | None = None,
               row: uuid.UUID | None = None, version: int = 1) -> dict[str, Any]:
        values = {"agency_id": self.agency_id, **values}
        return self.entry(table, row or uuid.uuid4(), "insert", 0, version,
                          {k: [None, v] for k, v in values.items()}, tx)

    def payload(self, entries: list[dict[str, Any]], number: int | None = None,
                kind: str = "changes") -> dict[str, Any]:
        return {"agency": self.code, "number": number or self.number + 1, "kind": kind,
                "protocol": 1, "schema": 2, "entries": entries}

    def post(self, payload: dict[str, Any], *, dry_run: bool = False,
             body: bytes | None = None, sha: str | None = None, rows: int | None = None,
             auth: dict[str, str] | None = None) -> Any:
        _data, digest, packed = wire.pack(payload)
        response = self.client.post(
            self.url(f"batches/{payload['number']}"),
            params={"dry_run": "true"} if dry_run else None,
            content=packed if body is None else body,
            headers={**(auth or self.auth), "Content-Type": "application/gzip",
                     "X-Batch-Sha256": sha or digest,
                     "X-Batch-Rows": str(len(payload["entries"]) if rows is None else rows)},
        )
        return response

    def send(self, entries: list[dict[str, Any]], kind: str = "changes") -> dict[str, Any]:
        """Sends the next batch; it must be accepted."""
        response = self.post(self.payload(entries, kind=kind))
        assert response.status_code == 200, response.text
        self.number += 1
        answer: dict[str, Any] = response.json()
        return answer

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(self.url(path), params=params, headers=self.auth)
        assert response.status_code == 200, response.text
        return response.json()


@dataclass
class Central:
    db: Database
    client: TestClient
    admin: str
    desks: dict[str, Desk]
    worlds: dict[str, World]
    subs: dict[str, Subscription]


def agency_id(db: Database, code: str) -> uuid.UUID:
    with db.reading() as session:
        return session.scalars(select(Agency.id).where(Agency.code == code)).one()


def build_central(db: Database, tmp_path: Path) -> Iterator[Central]:
    worlds = {code: World(db, agency_code=code) for code in ("101", "102")}
    worlds["102"]._counter = 500  # numbers are made from time-ordered ids: keep them apart
    subs = {code: world.subscribe() for code, world in worlds.items()}
    with db.session() as session, session.begin():
        admin = issue_admin_credential(session, "tests")
    settings = CentralSettings(data_dir=tmp_path, database_url=db.url)
    with TestClient(create_app(settings, db=db)) as client:
        desks = {code: Desk(code, worlds[code].agency_id, new_agency_credential(db, code), client)
                 for code in worlds}
        yield Central(db, client, admin, desks, worlds, subs)
