"""The history of a customer file (who changed what, when, old → new) and "restore this value"
for a field the agency owns; the restore is itself a change, audited with its reason."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Account,
    AuditEntry,
    Base,
    Commune,
    Contract,
    Meter,
    ServiceConnection,
    Street,
)
from app.models.capture import set_reason
from app.models.enums import JournalOperation
from app.models.ownership import agency_may_change
from app.services.context import ServiceContext
from app.services.errors import BusinessError, NotFoundError
from app.services.labels import TABLE_LABELS, field_label

_MODELS: dict[str, Any] = {
    mapper.class_.__tablename__: mapper.class_ for mapper in Base.registry.mappers
}
_HIDDEN = {"id", "version", "created_at", "updated_at", "agency_id", "password_hash"}
_OPERATIONS = {
    JournalOperation.INSERT: "création",
    JournalOperation.UPDATE: "modification",
    JournalOperation.DELETE: "suppression",
}


@dataclass(frozen=True)
class HistoryLine:
    entry_id: uuid.UUID
    at: datetime
    username: str
    what: str
    operation: str
    field: str
    field_label: str
    old: str
    new: str
    reason: str
    restorable: bool


def _file_rows(session: Session, customer_id: uuid.UUID) -> dict[uuid.UUID, str]:
    rows = {customer_id: "customer"}
    accounts = list(session.scalars(select(Account).where(Account.customer_id == customer_id)))
    rows |= {a.id: "account" for a in accounts}
    premises = {a.billing_premise_id for a in accounts if a.billing_premise_id}
    contracts = list(
        session.scalars(select(Contract).where(Contract.account_id.in_([a.id for a in accounts])))
    )
    rows |= {c.id: "contract" for c in contracts}
    connections = list(
        session.scalars(
            select(ServiceConnection).where(
                ServiceConnection.id.in_({c.connection_id for c in contracts})
            )
        )
    )
    rows |= {c.id: "service_connection" for c in connections}
    premises |= {c.premise_id for c in connections}
    rows |= dict.fromkeys(premises, "premise")
    rows |= {
        m: "meter"
        for m in session.scalars(
            select(Meter.id).where(Meter.connection_id.in_([c.id for c in connections]))
        )
    }
    return rows


def _shown(session: Session, field: str, value: Any) -> str:
    """A stored value as the agent would read it (names for references, French dates)."""
    if value is None or value == "":
        return "—"
    if field in ("commune_id", "street_id"):
        key = uuid.UUID(str(value))
        row = session.get(Commune, key) if field == "commune_id" else session.get(Street, key)
        return row.name if row else str(value)
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    return str(value)


def file_history(
    ctx: ServiceContext, customer_id: uuid.UUID, limit: int = 500
) -> list[HistoryLine]:
    with ctx.reading() as session:
        rows = _file_rows(session, customer_id)
        entries = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.row_id.in_(list(rows)))
            .order_by(AuditEntry.at.desc())
            .limit(limit)
        )
        lines = []
        for entry in entries:
            what = TABLE_LABELS.get(entry.table_name, entry.table_name)
            for field, (old, new) in sorted(entry.changes.items()):
                if field in _HIDDEN:
                    continue
                restorable = entry.operation is JournalOperation.UPDATE and agency_may_change(
                    entry.table_name, field
                )
                lines.append(
                    HistoryLine(
                        entry.id,
                        ctx.installation.local(entry.at),
                        entry.username,
                        what,
                        _OPERATIONS[entry.operation],
                        field,
                        field_label(field),
                        _shown(session, field, old),
                        _shown(session, field, new),
                        entry.reason,
                        restorable,
                    )
                )
        return lines


def _coerce(model: type, field: str, stored: Any) -> Any:
    """The JSON form kept in the audit back to the column's Python type."""
    if stored is None:
        return None
    column = model.__table__.columns[field]  # type: ignore[attr-defined]
    python_type = column.type.python_type
    if python_type is uuid.UUID:
        return uuid.UUID(str(stored))
    if python_type is date:
        return date.fromisoformat(stored)
    if python_type is datetime:
        return datetime.fromisoformat(stored)
    if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
        return python_type(stored)
    return python_type(stored) if not isinstance(stored, python_type) else stored


def restore_value(ctx: ServiceContext, entry_id: uuid.UUID, field: str) -> None:
    """Put a field back to the value it had before the audited change."""
    with ctx.unit_of_work() as uow:
        entry = uow.session.get(AuditEntry, entry_id)
        if entry is None or field not in entry.changes:
            raise NotFoundError("Modification introuvable dans l'historique.")
        if entry.operation is not JournalOperation.UPDATE or not agency_may_change(
            entry.table_name, field
        ):
            raise BusinessError(
                "Cette valeur appartient au site central : elle ne se restaure pas en agence."
            )
        model = _MODELS[entry.table_name]
        row = uow.session.get(model, entry.row_id)
        if row is None:
            raise NotFoundError("L'élément modifié n'existe plus.")
        old = _coerce(model, field, entry.changes[field][0])
        if getattr(row, field) == old:
            raise BusinessError("Le champ a déjà cette valeur.")
        setattr(row, field, old)
        set_reason(
            uow.session,
            f"restauration de « {field_label(field)} » "
            f"(modification du {ctx.installation.local(entry.at):%d/%m/%Y %H:%M})",
        )
        uow.commit()
