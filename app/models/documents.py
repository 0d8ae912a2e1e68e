"""Issued documents kept as issued (receipts, letters), and the Word letter templates."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Synced


class Document(Synced, Base):
    """The bytes of a document exactly as it was first issued; reprints are made from these."""

    __tablename__ = "document"

    kind: Mapped[str] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(160))
    media_type: Mapped[str] = mapped_column(String(80))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    reprint_count: Mapped[int] = mapped_column(Integer, default=0)


class LetterTemplate(Synced, Base):
    """A Word (.docx) model of letter with merge fields, versioned."""

    __tablename__ = "letter_template"

    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(60), default="")
    revision: Mapped[int] = mapped_column(Integer, default=1)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    #: Who made this revision (central's user, or the agency's for its own templates).
    revised_by: Mapped[str] = mapped_column(String(80), default="", server_default="")


class Letter(Synced, Base):
    """A courrier issued to a customer from a template; its .docx is kept as a Document."""

    __tablename__ = "letter"

    number: Mapped[str] = mapped_column(String(24), unique=True)
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("letter_template.id"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customer.id"), index=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("account.id"))
    subject: Mapped[str] = mapped_column(String(200), default="")
    issued_at: Mapped[datetime]
    issued_by: Mapped[str] = mapped_column(String(40), default="")
    document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("document.id"))
    template_revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    #: The merged data as JSON, exactly what was put in the letter.
    merged_data: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: The batch the letter was made in ("" for a letter made one at a time).
    batch_ref: Mapped[str] = mapped_column(String(40), default="", server_default="")
