"""The modules shown in the navigation: only those that work, only for the roles allowed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import QWidget

from app.models.enums import Role
from app.views.shell import Shell

ALL_ROLES = frozenset(Role)


@dataclass(frozen=True)
class Module:
    key: str
    title: str
    shortcut: str
    build: Callable[[Shell], QWidget]
    roles: frozenset[Role] = ALL_ROLES


def available_modules() -> list[Module]:
    from app.views.customers.page import ClientsPage
    from app.views.home_page import HomePage
    from app.views.sync.page import SyncPage
    from app.views.users_page import LockedUsersPage

    return [
        Module("home", "Accueil", "Ctrl+1", HomePage),
        Module("clients", "Clients", "Ctrl+2", ClientsPage),
        Module("locked_users", "Comptes verrouillés", "Ctrl+8", LockedUsersPage,
               frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})),
        Module("sync", "Synchronisation", "Ctrl+9", SyncPage),
    ]
