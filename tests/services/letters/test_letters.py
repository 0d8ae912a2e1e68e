"""One letter from the customer file, reprints, and batches cancelled and resumed."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from sqlalchemy import select

from app.models import Document, Letter, LetterTemplate
from app.services.letters import engine
from app.services.letters.batch import (
    BatchProgress,
    InArrears,
    OnStreet,
    batch_output,
    plan_batch,
    run_batch,
)
from app.services.letters.fields import Subject
from app.services.letters.issue import (
    issue_letter,
    letters_of_customer,
    original_letter,
    preview_letter,
    reprint_letter,
)
from app.services.letters.templates import TemplateInfo, list_templates
from kernel.context import ServiceContext
from kernel.errors import BusinessError
from tests.services.letters.helpers import indebted, text_of, with_shipped


def _template(ctx: ServiceContext, code: str) -> TemplateInfo:
    return next(t for t in list_templates(ctx) if t.code == code)


def test_a_reminder_says_what_is_owed_and_is_kept_as_issued(ctx: ServiceContext) -> None:
    with_shipped(ctx)
    home = indebted(ctx, [(8000, 40), (4500, 10)])
    subject = Subject(home.customer_id, home.account_id)
    reminder = _template(ctx, "RAPPEL")
    preview = text_of(preview_letter(ctx, reminder.id, subject, {"texte": "Merci de votre diligence."}))
    assert "(attribué à l'émission)" in preview
    issued = issue_letter(ctx, reminder.id, subject, {"texte": "Merci de votre diligence."})
    year = ctx.installation.today().year
    assert issued.number == f"CR101-{year}-000001"
    text = text_of(issued.docx)
    assert "Mme KONÉ Hélène" in text and "Madame," in text
    assert "Le montant des factures échues s'élève à 12 500 FCFA" in text
    assert "8 000 FCFA" in text and "4 500 FCFA" in text
    assert "Merci de votre diligence." in text and f"Réf. : {issued.number}" in text
    assert original_letter(ctx, issued.letter_id) == issued.docx
    with ctx.reading() as session:
        letter = session.get(Letter, issued.letter_id)
        assert letter is not None
        document = session.get(Document, letter.document_id)
        assert document is not None and document.sha256 == hashlib.sha256(issued.docx).hexdigest()
        assert letter.template_revision == 1
        assert json.loads(letter.merged_data)["compte"]["impayes"] == "12\u00a0500\u00a0FCFA"
    second = issue_letter(ctx, _template(ctx, "RECLAMATION").id, subject,
                          {"objet": "Index contesté", "texte": "Le relevé a été vérifié."})
    assert second.number == f"CR101-{year}-000002"
    rows = letters_of_customer(ctx, home.customer_id)
    assert [(r.number, r.template_name, r.subject) for r in rows] == [
        (second.number, "Réponse à une réclamation", "Index contesté"),
        (issued.number, "Rappel de paiement", "Rappel de paiement")]


def test_a_reprint_comes_from_the_stored_bytes_and_is_marked(ctx: ServiceContext) -> None:
    with_shipped(ctx)
    home = indebted(ctx, [(8000, 40)])
    subject = Subject(home.customer_id, home.account_id)
    issued = issue_letter(ctx, _template(ctx, "RAPPEL").id, subject)
    with ctx.unit_of_work() as uow:  # the customer pays meanwhile: the reprint does not change
        from app.models import Account
        account = uow.session.get(Account, home.account_id)
        assert account is not None
        account.balance_minor = 0
        uow.commit()
    reprint = reprint_letter(ctx, issued.letter_id)
    text = text_of(reprint.docx)
    assert text.startswith(f"RÉIMPRESSION n° 1 du courrier {issued.number} émis le")
    assert "s'élève à 8 000 FCFA" in text
    assert original_letter(ctx, issued.letter_id) == issued.docx
    assert letters_of_customer(ctx, home.customer_id)[0].reprints == 1


def test_a_template_failing_the_check_cannot_be_used(ctx: ServiceContext) -> None:
    from tests.services.letters.helpers import docx_of
    with_shipped(ctx)
    home = indebted(ctx, [])
    with ctx.unit_of_work() as uow:
        uow.session.add(LetterTemplate(code="CASSE", name="Cassé", content=docx_of("{{ client.nom")))
        uow.commit()
    with pytest.raises(BusinessError, match="ne passe pas la vérification"):
        issue_letter(ctx, _template(ctx, "CASSE").id, Subject(home.customer_id, home.account_id))
    with ctx.reading() as session:
        assert session.scalars(select(Letter)).all() == []


def test_a_batch_cancelled_half_way_and_resumed_gives_each_letter_once(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    with_shipped(ctx)
    owing = [indebted(ctx, [(20000, 45)], last_name=f"Débiteur {chr(65 + i)}") for i in range(5)]
    indebted(ctx, [(20000, 5)], last_name="Récent")  # not yet 30 days late
    indebted(ctx, [(900, 60)], last_name="Petit")  # under the amount
    plan = plan_batch(ctx, _template(ctx, "COUPURE").id, InArrears(min_minor=10000, days=30))
    assert len(plan.subjects) == 5
    assert plan.description.replace("\u00a0", " ") == "Comptes avec plus de 10 000 FCFA d'impayés échus depuis plus de 30 jours"
    seen: list[BatchProgress] = []
    stop = iter([False, False, True])
    first = run_batch(ctx, plan, seen.append, lambda: next(stop), chunk=2)
    assert first == BatchProgress(4, 5, True)
    assert [p.done for p in seen] == [0, 2, 4]
    with ctx.reading() as session:
        assert len(session.scalars(select(Letter)).all()) == 4
    resumed = run_batch(ctx, plan, chunk=2)
    assert resumed == BatchProgress(5, 5, False)
    assert run_batch(ctx, plan) == BatchProgress(5, 5, False)
    with ctx.reading() as session:
        letters = session.scalars(select(Letter).order_by(Letter.number)).all()
    year = ctx.installation.today().year
    assert [letter.number for letter in letters] == [f"CR101-{year}-{n:06d}" for n in range(1, 6)]
    assert {letter.account_id for letter in letters} == {h.account_id for h in owing}
    monkeypatch.setattr(engine, "office_program", lambda: None)
    output = batch_output(ctx, plan)
    assert not output.is_pdf and output.letters == 5 and output.filename.endswith("-coupure.docx")
    merged = text_of(output.data)
    assert all(letter.number in merged for letter in letters)
    with ctx.reading() as session:
        archived = session.scalars(select(Document).where(Document.kind == "letter_batch")).one()
        assert archived.size == len(output.data)


@pytest.mark.skipif(engine.office_program() is None, reason="LibreOffice n'est pas installé")
def test_a_batch_prints_as_one_pdf_with_libreoffice(ctx: ServiceContext) -> None:
    from pypdf import PdfReader

    with_shipped(ctx)
    homes = [indebted(ctx, [(15000, 40)], last_name=f"Rue {chr(65 + i)}") for i in range(2)]
    with ctx.reading() as session:
        from app.models import Account, Premise, Street
        account = session.get(Account, homes[0].account_id)
        assert account is not None
        premise = session.get(Premise, account.billing_premise_id)
        assert premise is not None and premise.street_id is not None
        street = session.get(Street, premise.street_id)
        assert street is not None
    plan = plan_batch(ctx, _template(ctx, "RDV").id, OnStreet(street.id, street.name),
                      {"rendez_vous": "mardi 8 décembre à 9 h"})
    assert len(plan.subjects) == 2
    run_batch(ctx, plan)
    output = batch_output(ctx, plan)
    assert output.is_pdf
    pages = PdfReader(io.BytesIO(output.data)).pages
    assert len(pages) == 2
    year = ctx.installation.today().year
    for page, number in zip(pages, (1, 2), strict=True):  # each letter its own footer
        text = page.extract_text()
        assert "mardi 8 décembre à 9 h" in text
        assert f"Courrier n° CR101-{year}-00000{number}" in text
