"""Who may settle synchronisation queues, and the check every settling write starts with."""

from __future__ import annotations

import uuid
from typing import Any

from app.models.enums import Role
from kernel.context import ServiceContext, UnitOfWork
from kernel.errors import ConcurrentEditError, NotFoundError, PermissionDeniedError

SUPERVISING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})


def may_supervise(ctx: ServiceContext) -> bool:
    return ctx.user is not None and ctx.user.role in SUPERVISING_ROLES


def require_supervisor(ctx: ServiceContext, what: str) -> None:
    if not may_supervise(ctx):
        raise PermissionDeniedError(
            f"Seul un superviseur ou un administrateur peut {what}."
        )


def get_for_write(
    uow: UnitOfWork, model: type[Any], row_id: uuid.UUID, expected_version: int, what: str
) -> Any:
    """The row as the supervisor saw it (``expected_version``), locked on PostgreSQL."""
    session = uow.session
    lock = session.get_bind().dialect.name == "postgresql"
    row = session.get(model, row_id, with_for_update=lock)
    if row is None:
        raise NotFoundError(f"{what} introuvable : elle a peut-être déjà été traitée.")
    if row.version != expected_version:
        raise ConcurrentEditError(
            f"{what} a été modifié(e) depuis son affichage (par la synchronisation ou un autre "
            "poste). Actualisez la liste puis recommencez."
        )
    return row
