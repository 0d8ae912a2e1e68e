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
    Customer,
    Document,
    Invoice,
    Meter,
    MeterReading,
    Payment,
    Premise,
    ServiceConnection,
    Street,
    Tariff,
)
from app.models.capture import set_reason
from app.models.enums import JournalOperation, ReadingSource
from app.models.ownership import agency_may_change
from app.services.search import format_address
from kernel.context import ServiceContext
from kernel.errors import BusinessError, NotFoundError
from kernel.identifiers import format_account_number
from kernel.vocabulary import TABLE_LABELS, field_label, label

_MODELS: dict[str, Any] = {
    mapper.class_.__tablename__: mapper.class_ for mapper in Base.registry.mappers
}
_HIDDEN = {
    "id", "version", "created_at", "updated_at", "agency_id", "password_hash",
    # said by the lines around them (who cancelled and when is the line's own "by" and "at")
    "receipt_document_id", "cancellation_document_id", "cancelled_at", "cancelled_by",
}
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
    """Every row of the file whose changes the history shows: the customer, accounts,
    contracts, connections, premises, meters, and the payments and readings made on them."""
    rows = _structure_rows(session, customer_id)
    accounts = [k for k, v in rows.items() if v == "account"]
    meters = [k for k, v in rows.items() if v == "meter"]
    rows |= {
        p: "payment" for p in session.scalars(select(Payment.id).where(Payment.account_id.in_(accounts)))
    }
    for receipt, slip in session.execute(
        select(Payment.receipt_document_id, Payment.cancellation_document_id).where(
            Payment.account_id.in_(accounts)
        )
    ):
        rows |= {d: "document" for d in (receipt, slip) if d is not None}
    rows |= {
        r: "meter_reading"
        for r in session.scalars(
            select(MeterReading.id).where(
                MeterReading.meter_id.in_(meters), MeterReading.source != ReadingSource.ESTIMATE
            )
        )
    }
    return rows


def _structure_rows(session: Session, customer_id: uuid.UUID) -> dict[uuid.UUID, str]:
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


def row_label(ctx: ServiceContext, session: Session, table: str, row_id: Any) -> str:
    """What the agent calls a row: "Abonnement AB101-2026-000012", "Relève du 05/12/2026"…"""
    model = _MODELS.get(table)
    row = session.get(model, uuid.UUID(str(row_id))) if model is not None else None
    name = TABLE_LABELS.get(table, table)
    if row is None:
        return name
    currency = ctx.installation.currency
    if isinstance(row, Payment):
        return f"Encaissement {row.receipt_number} de {currency.format_minor(row.amount_minor)}"
    if isinstance(row, MeterReading):
        meter = session.get(Meter, row.meter_id)
        serial = f", compteur {meter.serial}" if meter else ""
        return f"Relève du {row.reading_date:%d/%m/%Y} (index {row.index_value}{serial})"
    if isinstance(row, Account):
        return f"Compte {format_account_number(row.number)}"
    if isinstance(row, Contract | ServiceConnection | Invoice):
        number = row.reference if isinstance(row, ServiceConnection) else row.number
        return f"{name} {number}"
    if isinstance(row, Meter):
        return f"Compteur {row.serial}"
    if isinstance(row, Premise):
        street = row.street.name if row.street else None
        return "Propriété " + format_address(
            row.house_number, street, row.complement, row.commune.name
        )
    if isinstance(row, Commune | Street | Tariff):
        return str(row.name)
    if isinstance(row, Customer):
        return f"Client {row.display_name}"
    if isinstance(row, Document):
        kind = {"receipt": "Reçu", "payment_cancellation": "Bordereau d'annulation"}
        return f"{kind.get(row.kind, 'Document')} {row.filename}"
    return name


def _shown(
    ctx: ServiceContext, session: Session, table: str, field: str, value: Any
) -> str:
    """A stored value as the agent would read it: the label of what an id points at, the
    French word of a code, amounts in the currency, French dates."""
    if value is None or value == "":
        return "—"
    model = _MODELS.get(table)
    column = model.__table__.columns.get(field) if model is not None else None
    if column is not None and column.foreign_keys:
        target = next(iter(column.foreign_keys)).column.table.name
        return row_label(ctx, session, target, value)
    if column is not None and field.endswith("_minor") and isinstance(value, int):
        return ctx.installation.currency.format_minor(value)
    if column is not None:
        python_type = getattr(column.type, "enum_class", None)
        if python_type is not None:
            try:
                return label(python_type(value))
            except ValueError:
                return str(value)
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, str) and len(value) > 10 and value[4] == "-" and value[10] == "T":
        try:
            moment = datetime.fromisoformat(value)
            return ctx.installation.local(moment).strftime("%d/%m/%Y %H:%M")
        except ValueError:
            return value
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
            what = row_label(ctx, session, entry.table_name, entry.row_id)
            if entry.operation is JournalOperation.INSERT and entry.table_name in _SUMMARISED:
                lines.append(
                    HistoryLine(
                        entry.id,
                        ctx.installation.local(entry.at),
                        entry.username,
                        what,
                        _INSERTED.get(entry.table_name, "création"),
                        "",
                        "",
                        "—",
                        _summary(ctx, session, entry),
                        entry.reason,
                        False,
                    )
                )
                continue
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
                        _operation(entry, field),
                        field,
                        field_label(field),
                        _shown(ctx, session, entry.table_name, field, old),
                        _shown(ctx, session, entry.table_name, field, new),
                        entry.reason,
                        restorable,
                    )
                )
        return lines


#: Rows whose creation reads as one line (what was done), not field by field.
_SUMMARISED = frozenset({"payment", "meter_reading", "document"})
_INSERTED = {
    "payment": "encaissement",
    "meter_reading": "relève",
    "document": "document émis",
}


def _summary(ctx: ServiceContext, session: Session, entry: AuditEntry) -> str:
    new = {k: v[1] for k, v in entry.changes.items()}
    if entry.table_name == "payment":
        method = _shown(ctx, session, "payment", "method", new.get("method"))
        reference = f" — réf. {new['reference']}" if new.get("reference") else ""
        return f"{ctx.installation.currency.format_minor(int(new.get('amount_minor') or 0))} " \
            f"({method.lower()}){reference}"
    if entry.table_name == "meter_reading":
        kind = _shown(ctx, session, "meter_reading", "kind", new.get("kind"))
        vacant = " — local vacant" if new.get("on_vacant_premise") else ""
        return f"index {new.get('index_value')} ({kind.lower()}){vacant}"
    return str(new.get("filename") or "")


def _operation(entry: AuditEntry, field: str) -> str:
    if entry.table_name == "payment" and field in ("is_cancelled", "cancel_reason"):
        return "annulation"
    if entry.table_name == "meter_reading" and field in ("index_value", "corrected_from_index"):
        return "correction"
    if entry.table_name == "document" and field == "reprint_count":
        return "réimpression"
    return _OPERATIONS[entry.operation]


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
