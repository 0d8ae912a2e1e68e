"""The demo agency: ``python -m app demo --customers N`` and the first start of a new desk."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.models import Agency, Base, InstallationSetting, NumberSeries, search_index
from app.models.bulk import BulkWriter, analyse
from app.models.capture import mark_from_server
from app.models.database import Database
from app.services.demo.customers import CustomerFactory, generate
from app.services.demo.reference import DEMO_USERS, build_reference
from app.services.demo.rows import TABLES
from kernel.errors import BusinessError
from kernel.money import Currency
from kernel.numbering import CENTRAL_CODE, CentralSeries

__all__ = ["DEMO_USERS", "build_demo", "database_is_empty", "reset_database"]

def database_is_empty(db: Database) -> bool:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(Agency)) == 0


def reset_database(db: Database) -> None:
    """Empty every table (children first), keeping the schema."""
    with db.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(delete(table))


def _record_series(session: Session, agency_code: str, factory: CustomerFactory) -> None:
    for (series, year), last in factory.counters.per_series.items():
        code = CENTRAL_CODE if series == CentralSeries.CONSUMPTION_INVOICE else agency_code
        session.merge(NumberSeries(agency_code=code, series=series, year=year, last_value=last))


def build_demo(
    db: Database,
    *,
    agency_code: str,
    currency: Currency,
    customers: int,
    seed: int = 2026,
    as_of: date | None = None,
    progress: Callable[[int, int], None] | None = None,
    history: bool = True,
) -> None:
    """Fill an empty database with a demo agency. Same seed and date → same data. Without
    ``history``: no readings, invoices or payments (a quarter of the rows, for search benches)."""
    if not database_is_empty(db):
        raise BusinessError(
            "La base contient déjà des données : la démonstration ne se crée que dans une base vide "
            "(ajoutez --reset pour la vider d'abord)."
        )
    as_of = as_of or date.today()
    rng = random.Random(seed)
    with db.session() as session:
        mark_from_server(session)
        created = datetime.combine(as_of, time(6, 0), tzinfo=UTC) - timedelta(days=3650)
        reference = build_reference(session, agency_code, currency, rng, created)
        session.add_all(
            [
                InstallationSetting(key="currency", value=currency.code),
                InstallationSetting(key="agency_code", value=agency_code),
                InstallationSetting(key="demo_seed", value=str(seed)),
            ]
        )
        session.commit()
        factory = CustomerFactory(reference, currency, as_of, seed, db.dialect, history)
        tables = {name: Base.metadata.tables[name] for name in TABLES}
        with BulkWriter(db.engine, tables, rebuild_indexes=customers >= 50_000) as writer:
            generate(factory, customers, lambda chunk: writer.put(chunk.tables), progress=progress)
        _record_series(session, agency_code, factory)
        session.commit()
    with db.session() as session:
        search_index.rebuild(session.connection(), session)
        session.commit()
    with db.engine.begin() as connection:
        analyse(connection)
