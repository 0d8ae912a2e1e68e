"""Settings of the central server, declared once with their types and defaults.

Sources, strongest first: command-line flags, ``GUICHET_CENTRAL_*`` environment variables, the
configuration file (TOML, given by ``--config`` or ``GUICHET_CENTRAL_CONFIG_FILE``), defaults.
"""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from platformdirs import user_data_dir
from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from kernel.installation import check_currency, check_timezone

ENV_PREFIX = "GUICHET_CENTRAL_"
CONFIG_FILE_VARIABLE = f"{ENV_PREFIX}CONFIG_FILE"
DEFAULT_PORT = 8470
MEBIBYTE = 1024 * 1024


def default_data_dir() -> Path:
    return Path(user_data_dir("GuichetCentral", appauthor=False))


class CentralSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    #: TOML file with any of the settings below (flat keys, e.g. ``port = 8470``).
    config_file: Path | None = None
    data_dir: Path = Field(default_factory=default_data_dir)
    #: Empty: a SQLite file in the data directory (embedded use). PostgreSQL in production.
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = Field(DEFAULT_PORT, ge=1, le=65535)
    log_level: str = "INFO"
    #: ISO 4217 currency of the installation (fixed when the database is created).
    currency: str = "XOF"
    timezone: str = "Africa/Abidjan"
    #: Requests with a larger body are refused (413).
    max_request_bytes: int = Field(20 * MEBIBYTE, ge=1024)
    #: Limit of a synchronisation batch body as it arrives (gzip), checked while it streams.
    max_batch_bytes: int = Field(16 * MEBIBYTE, ge=1024)
    #: Limit of a batch once inflated (and of each member of a desk's bundle), checked a
    #: megabyte at a time while it inflates. A desk batch of 2,000 entries is 1-3 MiB.
    max_batch_uncompressed_bytes: int = Field(32 * MEBIBYTE, ge=1024, le=1024 * MEBIBYTE)
    #: PostgreSQL connections kept open per server process, and how many more it may open
    #: when they are all busy; a request waits up to ``db_pool_timeout`` seconds for one.
    db_pool_size: int = Field(20, ge=1, le=1000)
    db_max_overflow: int = Field(20, ge=0, le=1000)
    db_pool_timeout: float = Field(120.0, gt=0, le=3600)
    #: Server processes (uvicorn workers). Each has its own pool.
    workers: int = Field(1, ge=1, le=64)
    #: TLS: certificate chain and private key (PEM). Both or neither.
    certfile: Path | None = None
    keyfile: Path | None = None
    #: Contracts billed per transaction: memory is bounded by this, not by the data size.
    billing_chunk_size: int = Field(2000, ge=1, le=100_000)
    #: Billing workers: processes for a run of at least ``billing_processes_from`` contracts on
    #: PostgreSQL (one per core is the most that helps), threads below that.
    billing_workers: int = Field(2, ge=1, le=64)
    billing_processes_from: int = Field(10_000, ge=1)
    #: Days between the issue date and the due date of an invoice.
    payment_terms_days: int = Field(20, ge=0, le=365)
    #: Local hour by which every agency's night must be done (``night status`` exits 1 and
    #: ``night status --alert`` alerts after it).
    night_deadline: time = time(7, 0)
    #: Command run when agencies are late (the status as JSON on its standard input, the late
    #: agencies' codes in ``GUICHET_NIGHT_LATE``). Empty: none.
    night_alert_command: str = ""
    #: E-mail alert: SMTP server (empty: no e-mail), sender and recipients.
    smtp_host: str = ""
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_user: str = ""
    smtp_password: str = ""
    alert_from: str = "guichet-central@localhost"
    alert_to: list[str] = Field(default_factory=list)
    #: Vending platform. Vending keys: one file per key revision in this folder
    #: (``sgc123456-krn2-dkga04.key``), or the public test keys (demonstrations only).
    vending_key_dir: Path | None = None
    vending_test_keys: bool = False
    #: The HES pushes each sale's tokens to the meters behind this URL (the virtual fleet,
    #: ``python -m central.meters serve``); empty: tokens are not pushed.
    hes_meters_url: str = ""
    hes_max_attempts: int = Field(5, ge=1, le=100)
    #: SMS gateway (HTTP; the local test gateway is ``python -m central.sms serve``); empty:
    #: no SMS. Messages wait in the outbox and are retried with back-off.
    sms_gateway_url: str = ""
    sms_gateway_user: str = ""
    sms_gateway_password: str = ""
    sms_sender: str = "ODYSSEE"
    sms_max_attempts: int = Field(6, ge=1, le=100)
    #: First wait before a retry (HES and SMS), doubled each time (capped at 10 minutes).
    retry_base_seconds: float = Field(2.0, gt=0, le=3600)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _config_file(init_settings)
        if config_file is not None:
            if not config_file.is_file():
                raise ValueError(f"fichier de configuration introuvable : {config_file}")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    _currency = field_validator("currency")(check_currency)
    _timezone = field_validator("timezone")(check_timezone)

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"niveau de journal inconnu : {value}")
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'central.sqlite3').as_posix()}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def log_file(self) -> Path:
        return self.data_dir / "logs" / "central.log"


def _config_file(init_settings: PydanticBaseSettingsSource) -> Path | None:
    given: Any = None
    if isinstance(init_settings, InitSettingsSource):
        given = init_settings.init_kwargs.get("config_file")
    given = given or os.environ.get(CONFIG_FILE_VARIABLE)
    return Path(given) if given else None
