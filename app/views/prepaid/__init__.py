"""The prepaid module: recharges at the counter (*Prépayé*) and the token look-up (*Jetons*)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from PySide6.QtWidgets import QWidget

from app.services.prepaid_desk import CentralUnreachable, PendingStore, VendingDesk

if TYPE_CHECKING:
    from app.views.shell import Shell
    from app.views.sync.connection import CentralConnection

#: Where versions before the ``prepaid_pending_sale`` table kept pending sales (taken in once).
PENDING_FILE = "ventes-prepayees-en-attente.json"

W = TypeVar("W", bound=QWidget)


def named(widget: W, name: str) -> W:
    """The widget with its object name (tests and the style sheet find it by that name)."""
    widget.setObjectName(name)
    return widget


def central_of(shell: Shell, owner: QWidget) -> CentralConnection:
    """The session's central connection (a page built without one starts its own)."""
    from app.views.sync.connection import CentralConnection

    if shell.central is not None:
        return shell.central
    connection = CentralConnection(shell.settings, owner)
    connection.start(shell.ctx.installation, shell.runner)
    return connection


def vending_desk(shell: Shell, connection: CentralConnection) -> VendingDesk:
    """A client of central's vending API (to use in a worker, then close)."""
    from app.views.sync.connection import CentralState

    endpoint = connection.endpoint
    if connection.state is not CentralState.READY or endpoint is None:
        raise CentralUnreachable(
            "Le serveur central n'est pas joignable (" + connection.status_text()
            + ") : rien n'a été fait.")
    return VendingDesk(endpoint, PendingStore(shell.ctx.db, shell.settings.data_dir / PENDING_FILE))
