"""Works (AGT): the catalogue, quotes and their lines. Works invoices are ``Invoice`` rows."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, SmallInteger, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, Synced
from app.models.enums import ApprovalMethod, Civility, Energy, QuoteStatus
from app.models.search_index import ELIDED, PARTICLES, normalise
from app.models.types import ScaledDecimal


class WorksCatalogueItem(Synced, Base):
    """A priced works item of central's catalogue (connection, meter move, trench per metre...)."""

    __tablename__ = "works_catalogue_item"

    code: Mapped[str] = mapped_column(String(20), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(60), default="")
    energy: Mapped[Energy | None]
    unit: Mapped[str] = mapped_column(String(10), default="u")
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    vat_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    is_active: Mapped[bool] = mapped_column(default=True)


class WorksQuote(Synced, Base):
    """A devis de travaux, numbered in its agency's series (``DV101-2026-000042``, a revision
    ``DV101-2026-000042-2``), for a customer or a prospect. Every step of its workflow keeps who
    and when; an approved quote is never edited again (a revision replaces it)."""

    __tablename__ = "works_quote"
    #: The quotes list, newest first (a few statuses are not worth an index: a scan of the
    #: table is faster than visiting a tenth of it through one).
    #: A customer's or a prospect's quotes (the list's names search) come from indexes that
    #: hold what the list counts, sums and sorts: thousands of matches without a table read.
    __table_args__ = (Index("ix_works_quote_issued", "issued_on", "number"),
                      Index("ix_works_quote_customer_list", "customer_id", "issued_on", "number",
                            "total_minor"),
                      Index("ix_works_quote_prospect_key", "prospect_key", "issued_on", "number",
                            "total_minor",
                            postgresql_ops={"prospect_key": "text_pattern_ops"}))

    number: Mapped[str] = mapped_column(String(24), unique=True)
    status: Mapped[QuoteStatus] = mapped_column(default=QuoteStatus.DRAFT)
    #: Empty while the quote is for a prospect: filled when the works are invoiced.
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customer.id"), index=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("account.id"), index=True)
    premise_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("premise.id"))
    #: Commune of the works site (the premise's, or the prospect's address).
    commune_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("commune.id"), index=True)
    prospect_civility: Mapped[Civility | None]
    prospect_last_name: Mapped[str] = mapped_column(String(100), default="")
    prospect_first_name: Mapped[str] = mapped_column(String(100), default="")
    prospect_phone: Mapped[str] = mapped_column(String(20), default="")
    #: The prospect's names as the list's search types them (lower case, no accents, last name
    #: first): a range on its index finds "traor" in "Traoré" (set on every write, below).
    prospect_key: Mapped[str] = mapped_column(String(200), default="")
    prospect_street_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("street.id"))
    prospect_house_number: Mapped[str] = mapped_column(String(12), default="")
    prospect_complement: Mapped[str] = mapped_column(String(120), default="")
    #: Tariff of the contract a connection quote leads to.
    tariff_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tariff.id"))
    subject: Mapped[str] = mapped_column(String(200), default="")
    issued_on: Mapped[date]
    valid_until: Mapped[date]
    #: Discount on the whole quote (0.05 = 5 %), applied per VAT rate after the lines'.
    discount_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(4), default=Decimal(0))
    revision: Mapped[int] = mapped_column(SmallInteger, default=1)
    #: The revision this one replaces (kept, status "revised").
    previous_quote_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("works_quote.id"))
    sent_at: Mapped[datetime | None]
    sent_by: Mapped[str] = mapped_column(String(40), default="")
    #: The PDF as sent to the customer.
    document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("document.id"))
    approved_on: Mapped[date | None]
    #: Name of who signed the approval for the customer.
    approved_by: Mapped[str] = mapped_column(String(120), default="")
    approval_method: Mapped[ApprovalMethod | None]
    #: The signed paper, scanned.
    approval_document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("document.id"))
    approval_recorded_at: Mapped[datetime | None]
    approval_recorded_by: Mapped[str] = mapped_column(String(40), default="")
    refused_reason: Mapped[str] = mapped_column(Text, default="")
    refused_at: Mapped[datetime | None]
    refused_by: Mapped[str] = mapped_column(String(40), default="")
    expired_at: Mapped[datetime | None]
    revised_at: Mapped[datetime | None]
    revised_by: Mapped[str] = mapped_column(String(40), default="")
    ordered_at: Mapped[datetime | None]
    ordered_by: Mapped[str] = mapped_column(String(40), default="")
    invoiced_at: Mapped[datetime | None]
    invoiced_by: Mapped[str] = mapped_column(String(40), default="")
    total_excl_vat_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    vat_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    total_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    prepared_by: Mapped[str] = mapped_column(String(40), default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    lines: Mapped[list[WorksQuoteLine]] = relationship(
        back_populates="quote", order_by="WorksQuoteLine.position", cascade="all, delete-orphan"
    )


def glued_words(text: str) -> list[str]:
    """Lower case, no accents, an elided letter or a particle glued to the word after it
    ("N'Guessan", "n guessan", "Nguessan" → ["nguessan"]): a name typed either way is the same."""
    words = normalise(text).split()
    glued: list[str] = []
    index = 0
    while index < len(words):
        if words[index] in ELIDED | PARTICLES and index + 1 < len(words):
            glued.append(words[index] + words[index + 1])
            index += 2
        else:
            glued.append(words[index])
            index += 1
    return glued


def prospect_key(last_name: str, first_name: str) -> str:
    return " ".join(glued_words(f"{last_name} {first_name}"))[:200]


@event.listens_for(WorksQuote, "before_insert")
@event.listens_for(WorksQuote, "before_update")
def _keep_prospect_key(_mapper: object, _connection: object, quote: WorksQuote) -> None:
    quote.prospect_key = prospect_key(quote.prospect_last_name or "",
                                      quote.prospect_first_name or "")


class WorksQuoteLine(Synced, Base):
    __tablename__ = "works_quote_line"

    quote_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("works_quote.id"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    catalogue_item_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("works_catalogue_item.id")
    )
    label: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Decimal] = mapped_column(ScaledDecimal(3))
    unit: Mapped[str] = mapped_column(String(10), default="u")
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    vat_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(4))
    #: Discount on this line (0.1 = 10 %); the amounts are after it.
    discount_rate: Mapped[Decimal] = mapped_column(ScaledDecimal(4), default=Decimal(0))
    amount_excl_vat_minor: Mapped[int] = mapped_column(BigInteger)
    vat_minor: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)

    quote: Mapped[WorksQuote] = relationship(back_populates="lines")
