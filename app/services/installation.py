"""Opening this desk's database: schema at the head revision, demo agency on a first start, and
the facts fixed at creation (currency, agency) checked against the configuration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from app.models import Agency, InstallationSetting
from app.models.database import Database
from app.private_files import private_dir, secure_tree
from app.settings import Settings
from kernel import migrate
from kernel.context import Installation, ServiceContext
from kernel.errors import ConfigurationError, InstallationError
from kernel.money import Currency

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


def open_desk(settings: Settings, progress: Progress | None = None, *,
              demo_if_empty: bool = False) -> Desk:
    """Open this desk's database, ready for sign-in; an empty one gets a demo agency only when
    the caller asks for it (the window's first start), never as a side effect."""
    db = open_database(settings)
    try:
        return Desk(db, prepare(db, settings, progress, demo_if_empty=demo_if_empty))
    except BaseException:
        db.dispose()
        raise


def first_start_question(settings: Settings) -> bool:
    """Whether the program should ask demo or join: a desk with the embedded central (no central
    configured, not offline) whose database holds no agency yet."""
    from app.services.demo import database_is_empty

    if settings.central_url.strip():
        return False
    db = open_database(settings)
    try:
        return database_is_empty(db)
    finally:
        db.dispose()


def open_database(settings: Settings) -> Database:
    private_dir(settings.data_dir)
    db = connect_database(settings)
    try:
        if migrate.needs_upgrade(db.engine):
            migrate.upgrade(db.engine)
    except BaseException:
        db.dispose()
        raise
    # The database (its -wal and -shm too), backups, logs, bundles and credentials: the
    # user's only, whatever an earlier version or a copy left.
    secure_tree(settings.data_dir)
    return db


def connect_database(settings: Settings) -> Database:
    """This desk's database, checked to answer: a configuration that cannot work is a
    ``ConfigurationError`` in French (server unreachable, database not created, folder that
    cannot be written), not a driver's traceback."""
    url = settings.resolved_database_url
    try:
        db = Database(url)
    except OSError as error:  # the SQLite file's folder cannot be made
        raise ConfigurationError(
            f"Dossier de la base impossible à créer : {error.strerror or error} "
            f"({make_url(url).database}).") from error
    try:
        with db.engine.connect() as connection:
            connection.execute(text("select 1"))
    except OperationalError as error:
        db.dispose()
        raise ConfigurationError(database_problem(url, error)) from error
    return db


def database_problem(url: str, error: OperationalError) -> str:
    """One French sentence for a database that cannot be opened."""
    parsed = make_url(url)
    first = (str(error.orig).strip().splitlines() or [""])[0] if error.orig else str(error)
    if parsed.get_backend_name() == "sqlite":
        return f"Base SQLite impossible à ouvrir ({parsed.database}) : {first}."
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    if "does not exist" in first and "database" in first:
        return (f"La base « {parsed.database} » n'existe pas sur le serveur PostgreSQL {where} : "
                f"créez-la d'abord (createdb -h {parsed.host or 'localhost'} "
                f"-U {parsed.username or 'postgres'} {parsed.database}).")
    if "password authentication failed" in first or "no password supplied" in first:
        return (f"Le serveur PostgreSQL {where} refuse l'utilisateur "
                f"« {parsed.username} » : vérifiez le nom et le mot de passe de l'adresse.")
    return (f"Serveur PostgreSQL injoignable sur {where} : {first} — vérifiez qu'il est "
            "démarré et l'adresse de la base (GUICHET_DATABASE_URL ou --database-url).")


def prepare(db: Database, settings: Settings, progress: Progress | None = None, *,
            demo_if_empty: bool = False) -> Installation:
    """The installation of an existing agency. Making one is a step of its own: a demo agency
    (``demo_if_empty``, or ``./guichet demo``) or joining the agency's central."""
    # The demo generator is only needed on a first start: not imported on the others.
    from app.services.demo import build_demo, database_is_empty

    currency = Currency.of(settings.currency)
    if database_is_empty(db):
        central = settings.central_url.strip()
        if central and central != "off":
            # A desk pointed at a real central joins it; a demo agency here would be refused.
            raise InstallationError(
                f"Base vide et serveur central configuré ({central}) : ce poste doit d'abord "
                f"rejoindre son central (./guichet --agency {settings.agency_code} join "
                f"{central}) ; pour une démonstration, démarrez sans adresse de central.")
        if not demo_if_empty:
            raise InstallationError(
                "Base vide : aucune agence dans ce poste. Créez-la d'abord : ./guichet demo "
                "(agence de démonstration) ou ./guichet join ADRESSE (agence réelle).")
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
        payment_confirm_above=Decimal(settings.payment_confirm_above),
    )
