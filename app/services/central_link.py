"""Whether the central server answers, for the status bar (never blocks the screens: run it in
a worker)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CentralStatus:
    online: bool
    label: str


OFFLINE = CentralStatus(False, "Hors ligne : aucun serveur central configuré")


def check_central(url: str, timeout: float = 3.0, ca_file: Path | None = None) -> CentralStatus:
    """``/health`` of central; its certificate is verified (against ``ca_file`` when set)."""
    if not url or url == "off":
        return OFFLINE
    import ssl

    import httpx  # in the worker thread, off the program's start

    try:
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=str(ca_file)) if ca_file else True)
        response = httpx.get(url.rstrip("/") + "/health", timeout=timeout, verify=verify)
    except (OSError, ssl.SSLError):
        return CentralStatus(False, "Certificat du serveur central illisible ou refusé")
    except httpx.HTTPError:
        return CentralStatus(False, "Serveur central injoignable")
    if response.status_code != 200:
        return CentralStatus(False, f"Serveur central en erreur ({response.status_code})")
    return CentralStatus(True, "Serveur central connecté")
