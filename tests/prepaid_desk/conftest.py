"""A real central process (SQLite, public test keys) with the vending world of tests/vending,
and the agency 101's own credential."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from app.models import Agency, PendingVendSale
from app.models.database import Database
from app.services.prepaid_desk import PendingStore
from app.sync.endpoint import Endpoint
from central.credentials import issue_agency_credential
from central.embedded import free_port
from central.sts.meter_number import luhn_check_digit
from tests.central.conftest import central_sqlite_template  # noqa: F401
from tests.vending.stack import PY, Service, clean_env
from tests.vending.world import VendingWorld


def key_change_meter(n: int) -> str:
    payload = f"471000010{n}"
    return payload + str(luhn_check_digit(payload))


@dataclass
class Central:
    endpoint: Endpoint
    database_url: str
    service: Service
    sms: Service


@pytest.fixture(scope="module")
def central(central_sqlite_template: Path,  # noqa: F811
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Central]:
    workdir = tmp_path_factory.mktemp("desk-vending")
    shutil.copy(central_sqlite_template, workdir / "central.sqlite3")
    url = f"sqlite:///{workdir / 'central.sqlite3'}"
    db = Database(url)
    world = VendingWorld(db)
    for n in (1, 2):  # meters still on the 1993 base date: their first sale changes the key
        payload = f"471000010{n}"
        world.add_meter(payload + str(luhn_check_digit(payload)), "Bamba", f"Awa {n}", krn=1,
                        base_date=1993)
    with db.session() as session, session.begin():
        agency = session.scalars(select(Agency).where(Agency.code == "101")).one()
        secret = issue_agency_credential(session, agency.id, "101")
    db.dispose()
    sms_port, port = free_port(), free_port()
    sms = Service("sms", [PY, "-m", "central.sms", "--data-dir", str(workdir), "serve",
                          "--port", str(sms_port)], sms_port, workdir, clean_env()).start()
    try:
        service = Service("central", [PY, "-m", "central", "--database-url", url, "--data-dir",
                                      str(workdir), "serve", "--port", str(port)], port, workdir,
                          clean_env(GUICHET_CENTRAL_VENDING_TEST_KEYS="1",
                                    GUICHET_CENTRAL_RETRY_BASE_SECONDS="0.2",
                                    GUICHET_CENTRAL_SMS_GATEWAY_URL=f"{sms.url}/messages"))
        service.start()
        try:
            yield Central(Endpoint(service.url, secret, "101"), url, service, sms)
        finally:
            service.stop()
    finally:
        sms.stop()


_STORES: dict[Path, Database] = {}


def pending_store(folder: Path) -> PendingStore:
    """A desk's pending sales in a small SQLite file of ``folder`` (the same one per folder)."""
    db = _STORES.get(folder)
    if db is None:
        db = _STORES[folder] = Database(f"sqlite:///{folder / 'pending.sqlite3'}")
        PendingVendSale.__table__.create(db.engine, checkfirst=True)
    return PendingStore(db)


@pytest.fixture(autouse=True)
def _close_stores() -> Iterator[None]:
    yield
    while _STORES:
        _STORES.popitem()[1].dispose()
