"""Whether the central server answers, for the status bar (never blocks the screens: run it in
a worker)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CentralStatus:
    online: bool
    label: str


OFFLINE = CentralStatus(False, "Hors ligne : aucun serveur central configuré")


def check_central(url: str, timeout: float = 3.0) -> CentralStatus:
    if not url or url == "off":
        return OFFLINE
    import httpx  # in the worker thread, off the program's start

    try:
        response = httpx.get(url.rstrip("/") + "/health", timeout=timeout)
    except httpx.HTTPError:
        return CentralStatus(False, "Serveur central injoignable")
    if response.status_code != 200:
        return CentralStatus(False, f"Serveur central en erreur ({response.status_code})")
    return CentralStatus(True, "Serveur central connecté")
