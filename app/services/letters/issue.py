"""One letter from the customer file: preview, issue, list, reprint.

Numbering stays gap-free with the one counter, and the letter is merged outside the write
transaction: it is merged with the number the counter will give next, then the write takes the
number; should another letter have taken it meanwhile, the letter is merged again inside."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Customer, Document, Letter, LetterTemplate, NumberSeries
from app.models.capture import set_reason
from app.models.ids import utcnow
from app.services.letters.engine import render
from app.services.letters.fields import Subject, merge_data
from app.services.letters.templates import require_origin, require_usable, template_content
from kernel.context import ServiceContext
from kernel.errors import NotFoundError
from kernel.numbering import Series, format_number, next_counter

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PREVIEW_NUMBER = "(attribué à l'émission)"


@dataclass(frozen=True)
class IssuedLetter:
    letter_id: uuid.UUID
    number: str
    docx: bytes
    filename: str


@dataclass(frozen=True)
class LetterRow:
    id: uuid.UUID
    number: str
    issued_at: datetime
    template_name: str
    template_revision: int
    subject: str
    issued_by: str
    reprints: int
    batch_ref: str


@dataclass(frozen=True)
class Merged:
    """A letter merged but not yet written: its number, data and bytes."""

    subject: Subject
    counter: int
    number: str
    data: dict[str, Any]
    docx: bytes


def peek_counter(session: Session, ctx: ServiceContext, year: int) -> int:
    """The counter the next letter will take (nothing is reserved)."""
    last = session.scalar(select(NumberSeries.last_value).where(
        NumberSeries.agency_code == ctx.installation.agency_code,
        NumberSeries.series == Series.LETTER.value, NumberSeries.year == year))
    return int(last or 0) + 1


def merge_one(session: Session, ctx: ServiceContext, template: LetterTemplate, subject: Subject,
              free: dict[str, str], counter: int, year: int) -> Merged:
    number = format_number(Series.LETTER, ctx.installation.agency_code, year, counter)
    data = merge_data(session, ctx, subject, free, number)
    return Merged(subject, counter, number, data, render(template.content, data))


def store(session: Session, ctx: ServiceContext, template: LetterTemplate, merged: Merged,
          subject_line: str, batch_ref: str = "") -> Letter:
    """Writes the letter and its document (inside the caller's transaction)."""
    filename = f"courrier-{merged.number}.docx"
    document = Document(agency_id=ctx.installation.agency_id, kind="letter", filename=filename,
                        media_type=DOCX, content=merged.docx,
                        sha256=hashlib.sha256(merged.docx).hexdigest(), size=len(merged.docx))
    session.add(document)
    session.flush()
    letter = Letter(agency_id=ctx.installation.agency_id, number=merged.number,
                    template_id=template.id, customer_id=merged.subject.customer_id,
                    account_id=merged.subject.account_id, subject=subject_line[:200],
                    issued_at=utcnow(),
                    issued_by=ctx.user.full_name if ctx.user else ctx.actor.username,
                    document_id=document.id, template_revision=template.revision,
                    merged_data=json.dumps(merged.data, ensure_ascii=False, sort_keys=True),
                    batch_ref=batch_ref)
    session.add(letter)
    session.flush()
    return letter


def preview_letter(ctx: ServiceContext, template_id: uuid.UUID, subject: Subject,
                   free: dict[str, str] | None = None) -> bytes:
    """The letter as it would be issued, without a number; nothing is written."""
    with ctx.reading() as session:
        template = template_content(session, template_id)
        require_usable(template)
        require_origin(template, [subject])
        data = merge_data(session, ctx, subject, free, PREVIEW_NUMBER)
        return render(template.content, data)


def issue_letter(ctx: ServiceContext, template_id: uuid.UUID, subject: Subject,
                 free: dict[str, str] | None = None) -> IssuedLetter:
    free = {k: v.strip() for k, v in (free or {}).items()}
    year = ctx.installation.today().year
    with ctx.reading() as session:
        template = template_content(session, template_id)
        require_usable(template)
        require_origin(template, [subject])
        if session.get(Customer, subject.customer_id) is None:
            raise NotFoundError("Client introuvable.")
        merged = merge_one(session, ctx, template, subject, free,
                           peek_counter(session, ctx, year), year)
        revision = template.revision
    with ctx.unit_of_work() as uow:
        session = uow.session
        template = template_content(session, template_id)
        counter = next_counter(session, ctx.installation.agency_code, Series.LETTER, year)
        if counter != merged.counter or template.revision != revision:
            merged = merge_one(session, ctx, template, subject, free, counter, year)
        letter = store(session, ctx, template, merged, free.get("objet") or template.name)
        issued = IssuedLetter(letter.id, letter.number, merged.docx,
                              f"courrier-{letter.number}.docx")
        uow.commit()
    return issued


def letters_of_customer(ctx: ServiceContext, customer_id: uuid.UUID) -> list[LetterRow]:
    with ctx.reading() as session:
        rows = session.execute(
            select(Letter, LetterTemplate.name, Document.reprint_count)
            .join(LetterTemplate, LetterTemplate.id == Letter.template_id)
            .outerjoin(Document, Document.id == Letter.document_id)
            .where(Letter.customer_id == customer_id)
            .order_by(Letter.issued_at.desc(), Letter.number.desc()))
        return [LetterRow(letter.id, letter.number, ctx.installation.local(letter.issued_at),
                          name, letter.template_revision, letter.subject, letter.issued_by,
                          reprints or 0, letter.batch_ref)
                for letter, name, reprints in rows]


def original_letter(ctx: ServiceContext, letter_id: uuid.UUID) -> bytes:
    """The .docx exactly as issued."""
    with ctx.reading() as session:
        letter = session.get(Letter, letter_id)
        if letter is None or letter.document_id is None:
            raise NotFoundError("Courrier introuvable.")
        document = session.get(Document, letter.document_id)
        assert document is not None
        return document.content


def reprint_letter(ctx: ServiceContext, letter_id: uuid.UUID) -> IssuedLetter:
    """A reprint: the stored bytes with a "RÉIMPRESSION" line on top (never merged again from
    today's data); counted and audited."""
    from docx import Document as Docx
    from docx.shared import Pt, RGBColor

    with ctx.unit_of_work() as uow:
        session = uow.session
        letter = session.get(Letter, letter_id)
        if letter is None or letter.document_id is None:
            raise NotFoundError("Courrier introuvable.")
        document = session.get(Document, letter.document_id)
        assert document is not None
        set_reason(session, f"réimpression du courrier {letter.number}")
        document.reprint_count += 1
        who = ctx.user.full_name if ctx.user else ctx.actor.username
        when = ctx.installation.local(utcnow())
        issued = ctx.installation.local(letter.issued_at)
        word = Docx(io.BytesIO(document.content))
        first = word.paragraphs[0]
        mark = first.insert_paragraph_before()
        run = mark.add_run(
            f"RÉIMPRESSION n° {document.reprint_count} du courrier {letter.number} émis le "
            f"{issued:%d/%m/%Y} — imprimée le {when:%d/%m/%Y à %H:%M} par {who}")
        run.bold, run.font.size, run.font.color.rgb = True, Pt(9), RGBColor(0xB0, 0x00, 0x00)
        out = io.BytesIO()
        word.save(out)
        number = letter.number
        uow.commit()
    return IssuedLetter(letter_id, number, out.getvalue(), f"courrier-{number}-reimpression.docx")
