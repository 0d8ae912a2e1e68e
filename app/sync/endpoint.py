"""Which central server this desk talks to, and with which credential.

A configured ``central_url`` is used as is, with the credential from the settings or from the
data directory's credential file. Without one, the desk starts the embedded central server
(``central.embedded``) for itself, which creates the agency and its credential on first start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.services.errors import EnvironmentProblem
from app.settings import Settings

if TYPE_CHECKING:
    from app.services.context import Installation
    from central.embedded import EmbeddedCentral


class NoCentral(EnvironmentProblem):
    """No central server can be reached with what is configured."""


@dataclass(frozen=True)
class Endpoint:
    url: str
    credential: str
    agency_code: str


def credential_path(settings: Settings) -> Path:
    return settings.data_dir / f"central-agence-{settings.agency_code}.credential"


def configured_endpoint(settings: Settings) -> Endpoint | None:
    """The configured central (None when the desk should start its embedded one)."""
    url = settings.central_url.strip()
    if not url:
        return None
    if url == "off":
        raise NoCentral("La synchronisation est désactivée : le poste travaille hors ligne.")
    credential = settings.central_credential.strip()
    if not credential:
        try:
            credential = credential_path(settings).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise NoCentral(
                "Aucun identifiant d'agence pour le serveur central : renseignez "
                f"GUICHET_CENTRAL_CREDENTIAL ou le fichier {credential_path(settings)}."
            ) from error
    return Endpoint(url.rstrip("/"), credential, settings.agency_code)


def start_embedded_endpoint(
    settings: Settings, installation: Installation
) -> tuple[Endpoint, EmbeddedCentral]:
    """Starts the embedded central for this agency; the caller stops the handle."""
    from central.embedded import start_embedded

    url, credential, handle = start_embedded(
        settings.data_dir,
        installation.agency_code,
        installation.agency_name,
        agency_id=installation.agency_id,
        currency=settings.currency,
        reference_from=settings.resolved_database_url,
    )
    return Endpoint(url, credential, installation.agency_code), handle
