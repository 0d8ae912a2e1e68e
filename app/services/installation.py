"""Opening this desk's database: schema at the head revision, demo agency on a first start, and
the facts fixed at creation (currency, agency) checked against the configuration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from app.models import Agency, InstallationSetting, migrate
from app.models.database import Database
from app.services.context import Installation, ServiceContext
from app.services.errors import InstallationError
from app.services.money import Currency
from app.settings import Settings

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Desk:
    """This desk's open database and the facts of its installation."""

    db: Database
    installation: Installation

    def context(self) -> ServiceContext:
        return ServiceContext(self.db, self.installation)

    def close(self) -> None:
        self.db.dispose()


def open_desk(settings: Settings, progress: Progress | None = None) -> Desk:
    """Open (and on a first start, create) this desk's database, ready for sign-in."""
    db = open_database(settings)
    try:
        return Desk(db, prepare(db, settings, progress))
    except BaseException:
        db.dispose()
        raise


def open_database(settings: Settings) -> Database:
    db = Database(settings.resolved_database_url)
    if migrate.needs_upgrade(db.engine):
        migrate.upgrade(db.engine)
    return db


def prepare(db: Database, settings: Settings, progress: Progress | None = None) -> Installation:
    # The demo generator is only needed on a first start: not imported on the others.
    from app.services.demo import build_demo, database_is_empty

    currency = Currency.of(settings.currency)
    if database_is_empty(db):
        build_demo(
            db,
            agency_code=settings.agency_code,
            currency=currency,
            customers=settings.demo_customers,
            progress=progress,
        )
    return load_installation(db, settings)


def load_installation(db: Database, settings: Settings) -> Installation:
    with db.reading() as session:
        stored = dict(
            session.execute(select(InstallationSetting.key, InstallationSetting.value)).all()
        )
        agency = session.scalars(
            select(Agency).where(Agency.code == settings.agency_code)
        ).one_or_none()
    stored_currency = stored.get("currency")
    if stored_currency and stored_currency != settings.currency:
        raise InstallationError(
            f"Cette base a été créée en {stored_currency} et la configuration demande "
            f"{settings.currency}. Corrigez la devise (GUICHET_CURRENCY ou --currency)."
        )
    if agency is None:
        raise InstallationError(
            f"L'agence {settings.agency_code} n'existe pas dans cette base. "
            "Vérifiez le code agence de la configuration."
        )
    return Installation(
        agency_id=agency.id,
        agency_code=agency.code,
        agency_name=agency.name,
        currency=Currency.of(settings.currency),
        zone=settings.zone,
    )
