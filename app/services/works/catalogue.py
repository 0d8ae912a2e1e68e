"""Central's works catalogue as the quote editor uses it: a code or a few letters of a label
give the item (the catalogue is small: it is read once and searched in memory)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from app.models import WorksCatalogueItem
from app.models.search_index import normalise
from kernel.context import ServiceContext


@dataclass(frozen=True)
class CatalogueItem:
    item_id: uuid.UUID
    code: str
    label: str
    category: str
    unit: str
    unit_price_minor: int
    vat_rate: Decimal

    @property
    def words(self) -> str:
        return normalise(f"{self.code} {self.label}")


def load_catalogue(ctx: ServiceContext) -> list[CatalogueItem]:
    with ctx.reading() as session:
        return [
            CatalogueItem(item.id, item.code, item.label, item.category, item.unit,
                          item.unit_price_minor, item.vat_rate)
            for item in session.scalars(select(WorksCatalogueItem).where(
                WorksCatalogueItem.is_active.is_(True)).order_by(WorksCatalogueItem.code))
        ]


def find_items(items: Sequence[CatalogueItem], typed: str, limit: int = 12) -> list[CatalogueItem]:
    """The exact code first, then codes starting with what was typed, then labels holding
    every word typed (accents and case ignored)."""
    text = typed.strip()
    if not text:
        return []
    upper = text.upper()
    exact = [item for item in items if item.code.upper() == upper]
    prefix = [item for item in items if item.code.upper().startswith(upper)
              and item not in exact]
    words = normalise(text).split()
    found = [item for item in items if item not in exact and item not in prefix
             and all(word in item.words for word in words)]
    return (exact + prefix + found)[:limit]


def item_for(items: Sequence[CatalogueItem], typed: str) -> CatalogueItem | None:
    """The one item that answers what was typed: its exact code, or the only match."""
    found = find_items(items, typed, limit=2)
    if found and found[0].code.upper() == typed.strip().upper():
        return found[0]
    return found[0] if len(found) == 1 else None
