"""First start of a desk of a real agency: join its central instead of building a demo agency.

``./guichet --agency 102 join https://central.example.org`` checks the credential with the
central, builds the desk's database from central (the bootstrap of ``app.sync.bootstrap``: the
agency, its agents, customers, tariffs…), keeps the credential in the data folder (mode 0600),
and writes ``poste.json`` there: the central's address, the agency code and the currency, which
later starts take as their defaults (flags and ``GUICHET_*`` variables still win). A demo agency
is never made in that folder.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.models import InstallationSetting
from app.models.database import Database
from app.settings import Settings
from app.sync import bootstrap
from app.sync.client import CentralClient, CentralError
from app.sync.endpoint import Endpoint, check_url, credential_path
from kernel.errors import BusinessError, ConfigurationError

log = logging.getLogger("app.sync")

JOINED_FILE = "poste.json"
#: The settings ``poste.json`` may give (anything else in it is ignored).
JOINED_KEYS = ("central_url", "agency_code", "currency")


def joined_settings(data_dir: Path) -> dict[str, str]:
    """What a join recorded in this data folder (empty for a demo or a new folder)."""
    try:
        found = json.loads((data_dir / JOINED_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except (OSError, ValueError) as error:
        raise ConfigurationError(
            f"Fichier {data_dir / JOINED_FILE} illisible : {error}. Corrigez-le ou "
            "supprimez-le (le poste repart alors de la configuration).") from error
    if not isinstance(found, dict):
        return {}
    return {key: str(found[key]) for key in JOINED_KEYS if found.get(key)}


@dataclass(frozen=True)
class Joined:
    agency_code: str
    agency_name: str
    agency_id: str
    rows: int
    currency: str


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def join_central(db: Database, settings: Settings, url: str, credential: str,
                 progress: Callable[[int, int], None] | None = None) -> Joined:
    """Builds this (empty) desk database from the central at ``url``; see the module."""
    from app.services.demo import database_is_empty

    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"Adresse du serveur central invalide : « {url} » (attendu https://serveur:port).")
    if not credential.strip():
        raise ConfigurationError("Identifiant de l'agence vide : rien à présenter au central.")
    if not database_is_empty(db):
        raise BusinessError(
            f"La base de ce poste ({db.describe()}) contient déjà une agence : un poste ne "
            "rejoint un central qu'au premier démarrage. Prenez un dossier de données neuf "
            "(--data-dir) ou, pour la base PostgreSQL d'une agence, une base neuve.")
    check_url(url, settings.central_allow_http)
    endpoint = Endpoint(url, credential.strip(), settings.agency_code, settings.central_ca_file)
    client = CentralClient(endpoint, attempts=3)
    try:
        try:
            version: dict[str, Any] = client.version()
            central_state = client.state()
        except CentralError as error:
            raise BusinessError(f"Le serveur central {url} ne permet pas de rejoindre l'agence "
                                f"{settings.agency_code} : {error.message}") from error
        currency = str(version.get("currency") or settings.currency)
        # A brand-new agency (central holds only its agency row and agents) is joined the same
        # way: the desk receives what central has, and its first synchronisation adopts it.
        log.info("joining %s for agency %s (central already holds its rows: %s)", url,
                 settings.agency_code, bool(central_state.get("adopted")))
        with db.session() as session:
            session.merge(InstallationSetting(key="currency", value=currency))
            session.merge(InstallationSetting(key="agency_code", value=settings.agency_code))
            session.merge(InstallationSetting(key="central_url", value=url))
            session.commit()
        rows = 0

        def loaded(count: int) -> None:
            nonlocal rows
            rows += count

        aside = bootstrap.build_aside(db, client, agency_code=settings.agency_code,
                                      progress=progress, loaded=loaded)
        assert aside is not None  # never cancelled here
        bootstrap.swap_in(db, aside)
    finally:
        client.close_connection()
    _write_private(credential_path(settings), credential.strip() + "\n")
    joined = {"central_url": url, "agency_code": settings.agency_code, "currency": currency}
    (settings.data_dir / JOINED_FILE).write_text(
        json.dumps(joined, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    from sqlalchemy import select

    from app.models import Agency

    reopened = Database(db.url)
    try:
        with reopened.reading() as session:
            agency = session.scalars(
                select(Agency).where(Agency.code == settings.agency_code)).one_or_none()
    finally:
        reopened.dispose()
    if agency is None:
        raise BusinessError(
            f"Amorçage terminé mais l'agence {settings.agency_code} n'est pas dans les données "
            "reçues : vérifiez le code agence (--agency) et l'identifiant utilisés.")
    return Joined(agency.code, agency.name, str(agency.id), rows, currency)
