"""Opening the central database: both schemas at their head, and the installation's currency
fixed at creation and checked on every start."""

from __future__ import annotations

from sqlalchemy import select

import central.sync.numbering  # noqa: F401  (numbers the commits of central's sessions)
from app.models import InstallationSetting
from app.models.database import Database
from central import migrate
from central.settings import CentralSettings
from kernel.errors import InstallationError
from kernel.money import Currency

ROLE_KEY = "installation_role"
CURRENCY_KEY = "currency"


def open_database(settings: CentralSettings, *, upgrade: bool = True) -> Database:
    """The central database, migrated when ``upgrade`` (the server and commands do it on start)."""
    url = settings.resolved_database_url
    # psycopg sends a many-row INSERT fastest as a pipelined executemany of one prepared
    # statement; SQLAlchemy's default (one long multi-VALUES statement) costs psycopg a parse
    # of the whole text each time (central applying an agency's night).
    # The pool hands out the connection used last (LIFO): under a light load the same few
    # connections serve every request, so psycopg's prepared statements (made on a
    # connection's 5th use of a statement) and their plans serve at once, instead of each of
    # the pool's connections planning every statement anew in turn.
    options: dict[str, object] = {}
    if url.startswith("postgresql"):
        options = {"use_insertmanyvalues": False, "pool_size": settings.db_pool_size,
                   "max_overflow": settings.db_max_overflow,
                   "pool_timeout": settings.db_pool_timeout, "pool_use_lifo": True}
    db = Database(url, **options)
    try:
        if upgrade and migrate.needs_upgrade(db.engine):
            migrate.upgrade(db.engine)
        installation_currency(db, settings)
    except BaseException:
        db.dispose()
        raise
    return db


def installation_currency(db: Database, settings: CentralSettings) -> Currency:
    """The currency this database was created with; stored on first use, refused if changed."""
    with db.session() as session, session.begin():
        stored = dict(
            session.execute(select(InstallationSetting.key, InstallationSetting.value)).all()
        )
        currency = stored.get(CURRENCY_KEY)
        if currency is None:
            session.add(InstallationSetting(key=CURRENCY_KEY, value=settings.currency))
            if ROLE_KEY not in stored:
                session.add(InstallationSetting(key=ROLE_KEY, value="central"))
            currency = settings.currency
    if currency != settings.currency:
        raise InstallationError(
            f"Cette base centrale a été créée en {currency} et la configuration demande "
            f"{settings.currency}. Corrigez la devise (GUICHET_CENTRAL_CURRENCY)."
        )
    return Currency.of(currency)
