"""The seam: the one module of the desk that imports central (an import-linter contract).

Without a configured ``central_url`` the desk runs central's server in process for itself
(``central.embedded``). Callers get a handle they only stop; central's own types stay behind
this module, which imports central only when the embedded server starts (starting the program
does not load the server).
"""

from __future__ import annotations

from typing import Protocol

from app.settings import Settings
from app.sync.endpoint import Endpoint
from kernel.context import Installation


class EmbeddedHandle(Protocol):
    """A running embedded central server."""

    def stop(self, timeout: float = 10.0) -> None: ...


def start_embedded_endpoint(
    settings: Settings, installation: Installation
) -> tuple[Endpoint, EmbeddedHandle]:
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
