"""Which central server this desk talks to, and with which credential.

A configured ``central_url`` is used as is, with the credential from the settings or from the
data directory's credential file. Without one, the desk starts the embedded central server
(through ``app.sync.embedded_central``) for itself, which creates the agency and its credential on first start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from app.settings import Settings
from kernel.errors import EnvironmentProblem


class NoCentral(EnvironmentProblem):
    """No central server can be reached with what is configured."""


@dataclass(frozen=True)
class Endpoint:
    url: str
    credential: str
    agency_code: str
    #: Certificate authority (PEM) to verify central's certificate with; None: the system's.
    ca_file: Path | None = None


def credential_path(settings: Settings) -> Path:
    return settings.data_dir / f"central-agence-{settings.agency_code}.credential"


def configured_endpoint(settings: Settings) -> Endpoint | None:
    """The configured central (None when the desk should start its embedded one)."""
    url = settings.central_url.strip()
    if not url:
        return None
    if url == "off":
        raise NoCentral("La synchronisation est désactivée : le poste travaille hors ligne.")
    check_url(url, settings.central_allow_http)
    return Endpoint(url.rstrip("/"), agency_credential(settings), settings.agency_code,
                    settings.central_ca_file)


def agency_credential(settings: Settings) -> str:
    """The agency's credential: the setting, or the data folder's credential file (which the
    embedded central writes on its first start). Bundles are signed with it."""
    credential = settings.central_credential.strip()
    if credential:
        return credential
    try:
        return credential_path(settings).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise NoCentral(
            "Aucun identifiant d'agence pour le serveur central : renseignez "
            f"GUICHET_CENTRAL_CREDENTIAL ou le fichier {credential_path(settings)}."
        ) from error


_LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


def check_url(url: str, allow_http: bool = False) -> None:
    """``https://`` anywhere; ``http://`` only to this machine unless explicitly allowed
    (``central_allow_http``): a credential must not cross a network in clear."""
    parsed = urlsplit(url)
    if parsed.scheme == "https" and parsed.hostname:
        return
    if parsed.scheme != "http" or not parsed.hostname:
        raise NoCentral(f"Adresse du serveur central invalide : {url} (https://… attendu).")
    host = parsed.hostname.lower()
    if host in _LOOPBACK or host.startswith("127.") or allow_http:
        return
    raise NoCentral(
        f"Connexion non chiffrée refusée vers {parsed.hostname} : utilisez https:// (ou, sur "
        "un réseau de test seulement, GUICHET_CENTRAL_ALLOW_HTTP=true)."
    )
