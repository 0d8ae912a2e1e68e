"""Field-level merge of an agency's update with what central changed since the version the
desk's edit started from (docs/sync.md, "How central applies an entry")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import SyncJournalEntry
from app.models.ownership import Owner, agency_may_change, owner_of


def changed_since(session: Session, table_name: str, row_id: uuid.UUID,
                  base: int) -> dict[str, Any]:
    """``{field: value at base}`` (journal form) of the fields central's journal shows changed
    after version ``base``."""
    j = SyncJournalEntry
    found: dict[str, Any] = {}
    for changes in session.scalars(
        select(j.changes).where(j.row_id == row_id, j.table_name == table_name,
                                j.new_version > base).order_by(j.seq)
    ):
        for name, (old, _new) in changes.items():
            found.setdefault(name, old)
    return found


@dataclass
class Decision:
    """What becomes of each incoming field."""

    apply: dict[str, Any] = field(default_factory=dict)
    same: list[str] = field(default_factory=list)
    refused: dict[str, Any] = field(default_factory=dict)
    conflicts: dict[str, tuple[Any, Any]] = field(default_factory=dict)


def decide(table_name: str, incoming: dict[str, tuple[Any, Any]], current: dict[str, Any],
           central_changed: dict[str, Any] | None) -> Decision:
    """``incoming``: ``{field: (old, new)}`` in Python values; ``current``: central's values;
    ``central_changed``: None when the versions match (no merge), else the fields central
    changed since the base. Fields the agency may not change are refused (adoption inserts
    whole rows and never comes here)."""
    decision = Decision()
    for name, (old, new) in incoming.items():
        if not agency_may_change(table_name, name):
            if current.get(name) != new:
                decision.refused[name] = new
            else:
                decision.same.append(name)
            continue
        if central_changed is None or name not in central_changed:
            decision.apply[name] = new
        elif current.get(name) == new:
            decision.same.append(name)
        elif owner_of(table_name, name) is Owner.SHARED:
            decision.conflicts[name] = (old, new)
        else:
            decision.apply[name] = new
    return decision
