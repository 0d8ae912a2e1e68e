"""Every setting of the program, declared once with its type and default.

Sources, strongest first: command-line flags, ``GUICHET_*`` environment variables, defaults.
Window geometry is not here: it lives in ``QSettings`` with the views.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from babel.numbers import get_currency_precision
from platformdirs import user_data_dir
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kernel.installation import check_currency, check_timezone


def default_data_dir() -> Path:
    return Path(user_data_dir("Guichet", appauthor=False))


def check_database_url(value: str) -> str:
    """Empty (the SQLite file of the data folder), or a SQLite or PostgreSQL URL."""
    if not value.strip():
        return ""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        backend = make_url(value.strip()).get_backend_name()
    except ArgumentError:
        raise ValueError(
            f"adresse de base illisible : « {value} » (attendu sqlite:///chemin ou "
            "postgresql+psycopg://utilisateur@serveur/base)") from None
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(f"base « {backend} » non prise en charge : SQLite ou PostgreSQL seulement")
    return value.strip()


def check_log_level(value: str) -> str:
    level = value.strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"niveau de journal inconnu : « {value} » ({', '.join(LOG_LEVELS)})")
    return level


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GUICHET_", extra="forbid")

    data_dir: Path = Field(default_factory=default_data_dir)
    #: Empty: a SQLite file in the data directory. A PostgreSQL URL for an agency with several desks.
    database_url: str = ""
    #: Empty: the desk starts the embedded central server itself. "off": work offline.
    central_url: str = ""
    #: This agency's credential on the configured central (empty: read from the credential file
    #: ``central-agence-CODE.credential`` of the data directory).
    central_credential: str = ""
    #: PEM file of the certificate authority that signed central's certificate (a private CA);
    #: empty: the system's authorities. The certificate is always verified.
    central_ca_file: Path | None = None
    #: Allow plain ``http://`` to a central that is not on this machine (a test network only:
    #: credentials and data would cross the network unencrypted).
    central_allow_http: bool = False
    #: Largest member of a bundle carried by hand (stored and once inflated), in MiB.
    bundle_max_member_mib: int = Field(256, ge=1, le=1024)
    #: The night's synchronisation must have completed by this local time (HH:MM).
    sync_deadline: str = "07:30"
    agency_code: str = "101"
    currency: str = "XOF"
    timezone: str = "Africa/Abidjan"
    #: A payment above this amount (in the currency's units) asks the agent to confirm it.
    payment_confirm_above: int = Field(default=500_000, ge=0)
    #: Paper of the prepaid recharge receipt: "a4" (office printer) or "thermal80" (80 mm roll).
    prepaid_receipt_paper: Literal["a4", "thermal80"] = "a4"
    #: Demo customers created in a new, empty database on first start (0: none).
    demo_customers: int = 2000
    log_level: str = "INFO"

    @field_validator("agency_code")
    @classmethod
    def _agency_code(cls, value: str) -> str:
        if not (len(value) == 3 and value.isdigit()):
            raise ValueError("le code agence doit faire 3 chiffres")
        return value

    @field_validator("sync_deadline")
    @classmethod
    def _sync_deadline(cls, value: str) -> str:
        try:
            time.fromisoformat(value)
        except ValueError as exc:
            raise ValueError("l'heure limite de synchronisation s'écrit HH:MM") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return check_database_url(value)

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        return check_log_level(value)

    _currency = field_validator("currency")(check_currency)
    _timezone = field_validator("timezone")(check_timezone)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'guichet.sqlite3').as_posix()}"

    @property
    def currency_exponent(self) -> int:
        return int(get_currency_precision(self.currency))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def log_file(self) -> Path:
        return self.data_dir / "logs" / "guichet.log"
