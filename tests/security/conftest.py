"""A real central (``python -m central serve`` on PostgreSQL) with two adopted agencies, and an
attacker holding agency 102's credential who talks to it over HTTP.

Agency 101 (the demo agency, 15 customers) is the victim, 102 (one subscription, a billed
invoice) the attacker; new agencies that have not adopted yet are made on demand. One server
serves the session: each test compares the rows it must not touch before and after."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from app.models import Agency
from app.models.database import Database
from central.agencies import add_agency
from kernel import wire
from tests import pg_server
from tests.central.api_world import build_two_agencies
from tests.central.conftest import (  # noqa: F401  (fixtures)
    central_pg_template,
    central_pg_url,
)
from tests.sync.conftest import Central

#: Central's queues: a refused entry of the attacker may leave a parked row of its own there.
QUEUES = ("sync_parked", "sync_conflict")


def _admin():  # type: ignore[no-untyped-def]
    return create_engine(pg_server.admin_url(), isolation_level="AUTOCOMMIT")


def _url(name: str) -> str:
    return pg_server.database_url(name)


@dataclass(frozen=True)
class Template:
    """Who is who in the central the tests attack."""

    agency_a: uuid.UUID
    agency_b: uuid.UUID
    agency_c: uuid.UUID
    credential_a: str
    credential_b: str
    credential_c: str
    account_a: uuid.UUID
    account_b: uuid.UUID
    customer_b: uuid.UUID


def _build(db: Database) -> Template:
    two = build_two_agencies(db)
    c_info, credential_c = add_agency(db, "103", "Agence 103")
    with db.reading() as session:
        ids = {code: id_ for code, id_ in session.execute(select(Agency.code, Agency.id))}
    return Template(ids["101"], ids["102"], c_info.id, two.credential_101,
                    two.credential_102, credential_c, two.account_101, two.account_102,
                    two.customer_102)


@dataclass
class Attacker:
    """A desk client of one agency: builds entries and posts numbered batches over HTTP."""

    code: str
    agency_id: uuid.UUID
    credential: str
    http: httpx.Client
    seq: int = 0

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credential}"}

    def url(self, path: str) -> str:
        return f"/agencies/{self.code}/sync/{path}"

    def entry(self, table: str, row: Any, op: str, changes: dict[str, list[Any]], *,
              base: int = 0, new: int = 1, tx: str | None = None) -> dict[str, Any]:
        self.seq += 1
        return {"seq": self.seq, "tx": tx or str(uuid.uuid4()), "table": table,
                "row": row if not isinstance(row, uuid.UUID) else str(row), "op": op,
                "base": base, "new": new, "schema": 2,
                "at": datetime(2026, 12, 1, 9, tzinfo=UTC).isoformat(),
                "changes": {k: [wire.to_wire(o), wire.to_wire(n)] for k, (o, n) in changes.items()}}

    def insert(self, table: str, values: dict[str, Any], *, row: uuid.UUID | None = None,
               version: int = 1, tx: str | None = None) -> dict[str, Any]:
        values = {"agency_id": self.agency_id, **values}
        return self.entry(table, row or uuid.uuid4(), "insert",
                          {k: [None, v] for k, v in values.items()}, new=version, tx=tx)

    def update(self, table: str, row: uuid.UUID, base: int, values: dict[str, tuple[Any, Any]],
               tx: str | None = None) -> dict[str, Any]:
        return self.entry(table, row, "update", {k: [o, n] for k, (o, n) in values.items()},
                          base=base, new=base + 1, tx=tx)

    def state(self) -> dict[str, Any]:
        response = self.http.get(self.url("state"), headers=self.auth)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def post(self, entries: list[dict[str, Any]], kind: str = "changes") -> httpx.Response:
        """Posts the next batch (numbered after what central last committed)."""
        number = self.state()["last_batch"] + 1
        payload = {"agency": self.code, "number": number, "kind": kind, "protocol": 1,
                   "schema": 2, "entries": entries}
        _data, digest, packed = wire.pack(payload)
        return self.post_body(number, packed, digest, len(entries))

    def post_body(self, number: int | str, body: bytes, digest: str, rows: int
                  ) -> httpx.Response:
        return self.http.post(self.url(f"batches/{number}"), content=body, headers={
            **self.auth, "Content-Type": "application/gzip", "X-Batch-Sha256": digest,
            "X-Batch-Rows": str(rows)})

    def send(self, entries: list[dict[str, Any]], kind: str = "changes") -> dict[str, Any]:
        response = self.post(entries, kind)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def changes_after(self, after: int) -> list[dict[str, Any]]:
        response = self.http.get(self.url("changes"), params={"after": after, "limit": 20000},
                                 headers=self.auth)
        assert response.status_code == 200, response.text
        return [e for c in response.json()["commits"] for e in c["entries"]]


@dataclass
class Snapshot:
    """Row counts and content checksums (every column) per table, per owner."""

    tables: dict[str, dict[str, tuple[int, str]]] = field(default_factory=dict)

    def of(self, owner: str, *, without: tuple[str, ...] = ()) -> dict[str, tuple[int, str]]:
        return {t: v for t, v in self.tables[owner].items() if t not in without}


@dataclass
class Scene:
    """The running central, its database, the attacker (102), the victim's id (101) and a new
    agency (103) that has not adopted."""

    central: Central
    db: Database
    template: Template
    a: Attacker
    b: Attacker
    c: Attacker
    http: httpx.Client

    @property
    def a_id(self) -> uuid.UUID:
        return self.template.agency_a

    def new_agency(self) -> Attacker:
        """A new agency, known to central, that has not adopted yet."""
        with self.db.reading() as session:
            taken = set(session.scalars(select(Agency.code)))
        code = next(f"{n:03d}" for n in range(200, 1000) if f"{n:03d}" not in taken)
        info, credential = add_agency(self.db, code, f"Agence {code}")
        return Attacker(code, info.id, credential, self.http)

    def snapshot(self) -> Snapshot:
        owners = {"A": self.template.agency_a, "B": self.template.agency_b,
                  "C": self.template.agency_c, "shared": None}
        found = Snapshot({owner: {} for owner in owners})
        with self.db.reading() as session:
            for tbl in wire.synced_tables():
                for owner, agency_id in owners.items():
                    where = tbl.c.agency_id.is_(None) if agency_id is None \
                        else tbl.c.agency_id == agency_id
                    rows = session.execute(select(tbl).where(where).order_by(tbl.c.id)).mappings()
                    digest = hashlib.sha256()
                    count = 0
                    for row in rows:
                        count += 1
                        digest.update(json.dumps(wire.row_to_wire(dict(row)), sort_keys=True,
                                                 default=str).encode())
                    found.tables[owner][tbl.name] = (count, digest.hexdigest())
        return found

    def head(self) -> int:
        return int(self.b.state()["head"])

    def assert_untouched(self, before: Snapshot, head: int, *,
                         b_may_change: tuple[str, ...] = ()) -> None:
        """Nothing of agency 101 nor any shared row changed, and nothing new travels to 101's
        desk; agency 102's rows neither, except its parked entries (and the tables named)."""
        assert self.a.changes_after(head) == []
        after = self.snapshot()
        for owner in ("A", "shared", "C"):
            assert after.of(owner) == before.of(owner), owner
        skip = (*QUEUES, *b_may_change)
        assert after.of("B", without=skip) == before.of("B", without=skip), "B"


@contextmanager
def running_scene(template: str, folder: Path) -> Iterator[Scene]:
    """A central database copied from ``template``, the two agencies built in it, and the
    server running on it."""
    engine = _admin()
    name = f"guichet_sec_{uuid.uuid4().hex[:10]}"
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    db = Database(_url(name))
    server = Central(_url(name), folder)
    http = httpx.Client(timeout=120)
    try:
        built = _build(db)
        server.start()
        http.base_url = httpx.URL(server.url)
        yield Scene(server, db, built,
                    Attacker("101", built.agency_a, built.credential_a, http),
                    Attacker("102", built.agency_b, built.credential_b, http),
                    Attacker("103", built.agency_c, built.credential_c, http),
                    http)
    finally:
        http.close()
        server.stop()
        db.dispose()
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(scope="session")
def _scene(central_pg_template: str, tmp_path_factory: pytest.TempPathFactory  # noqa: F811
           ) -> Iterator[Scene]:
    """One central for the attacks (a server process costs seconds on a busy machine): every
    test compares what it may touch before and after its own attack, none changes the rows the
    others rely on, and the agencies that adopt are made fresh (``Scene.new_agency``)."""
    with running_scene(central_pg_template, tmp_path_factory.mktemp("security")) as scene:
        yield scene


@pytest.fixture
def scene(_scene: Scene) -> Scene:
    return _scene
