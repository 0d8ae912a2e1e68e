"""Letters made from a works quote and from an intervention request, and the batch of the
requests due tomorrow (cancelled and resumed: each request gets its letter once)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import Commune, InterventionRequest, Letter, Street
from app.models.enums import Civility, InterventionStatus, InterventionType, Skill
from app.services.interventions import planning
from app.services.interventions.planning import TechnicianInput
from app.services.interventions.requests import RequestInput, create_request
from app.services.letters.batch import plan_batch, run_batch
from app.services.letters.issue import letters_of_customer
from app.services.letters.sources import (
    DueTomorrow,
    create_letter_for_intervention,
    create_letter_for_quote,
    target_for_intervention,
    target_for_quote,
)
from app.services.letters.templates import list_templates
from app.services.works.quotes import Prospect, QuoteInput, create_quote
from app.services.works.totals import LineInput
from kernel.context import ServiceContext
from kernel.errors import BusinessError
from tests.services.helpers import Household, household
from tests.services.letters.helpers import text_of, with_shipped


def _quote(ctx: ServiceContext, home: Household) -> uuid.UUID:
    lines = [LineInput("Tube PEHD 25 mm", Decimal("12.5"), 1200, Decimal("0.18"), "m"),
             LineInput("Main-d'œuvre", Decimal("2"), 4000, Decimal("0.18"), "h")]
    return create_quote(ctx, QuoteInput(lines, account_id=home.account_id,
                                        subject="Extension du réseau")).quote_id


def test_a_letter_from_a_quote_carries_its_number_amount_validity_and_site(
        ctx: ServiceContext) -> None:
    with_shipped(ctx)
    home = household(ctx)
    quote_id = _quote(ctx, home)
    target = target_for_quote(ctx, quote_id)
    assert target.template_code == "ENVOI_DEVIS" and target.accounts[0][0] == home.account_id
    issued = create_letter_for_quote(ctx, quote_id)
    text = text_of(issued.docx)
    number = target.reference
    assert number.startswith("DV101-")
    assert f"Votre devis de travaux n° {number}" in text
    # 12,5 × 1 200 = 15 000 + 2 × 4 000 = 8 000 → 23 000 HT, VAT 18 % 4 140 → 27 140 TTC.
    assert "s'élève à 27 140 FCFA TTC (dont TVA 4 140 FCFA)" in text
    valid = ctx.installation.today()
    assert "Ce devis est valable jusqu'au " in text and str(valid.year) in text
    assert "Tube PEHD 25 mm | 12,5 m | 17 700 FCFA" in text
    assert "Main-d'œuvre | 2 h | 9 440 FCFA" in text
    assert "Cocody" in text.split("l'adresse suivante : ")[1].split("\n")[0]
    assert "{{" not in text and "{%" not in text
    rows = letters_of_customer(ctx, home.customer_id)
    assert [r.number for r in rows] == [issued.number]
    with ctx.reading() as session:
        letter = session.get(Letter, issued.letter_id)
        assert letter is not None
        data = json.loads(letter.merged_data)
    assert data["devis"]["numero"] == number and data["sujet"]["devis"] == str(quote_id)
    assert data["libre"]["reference"] == number


def test_a_prospects_quote_has_no_customer_to_write_to(ctx: ServiceContext) -> None:
    with_shipped(ctx)
    with ctx.reading() as session:
        commune = session.scalars(select(Commune).where(Commune.name == "Cocody")).one()
        street = session.scalars(select(Street).where(Street.commune_id == commune.id)).first()
        assert street is not None
        place = (commune.id, street.id)
    saved = create_quote(ctx, QuoteInput(
        [LineInput("Coffret", Decimal(1), 28000, Decimal("0.18"))],
        prospect=Prospect(Civility.MR, "Traoré", "Ali", "07 11 22 33 44", *place, "7")))
    with pytest.raises(BusinessError, match="prospect"):
        create_letter_for_quote(ctx, saved.quote_id)


def _tomorrow_at(ctx: ServiceContext, hour: int, minute: int = 0, days: int = 1) -> datetime:
    day = ctx.installation.today() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), tzinfo=ctx.installation.zone)


def _request(ctx: ServiceContext, home: Household, when: datetime | None,
             technician_id: uuid.UUID | None = None,
             status: InterventionStatus = InterventionStatus.SCHEDULED,
             kind: InterventionType = InterventionType.METER_CHANGE) -> uuid.UUID:
    saved = create_request(ctx, RequestInput(type=kind, description="Compteur bloqué",
                                             meter_id=home.meter_id, duration_minutes=90),
                           confirmed_duplicate=True)
    with ctx.unit_of_work() as uow:  # as the planning leaves it (its rules are tested there)
        request = uow.session.get(InterventionRequest, saved.request_id)
        assert request is not None
        request.scheduled_for, request.technician_id, request.status = when, technician_id, status
        uow.commit()
    return saved.request_id


def test_a_letter_from_an_intervention_gives_the_appointment_and_technician(
        ctx: ServiceContext) -> None:
    with_shipped(ctx)
    home = household(ctx)
    technician = planning.save_technician(ctx, TechnicianInput(
        name="Koffi Yao", skills=frozenset({Skill.METERS})))
    request_id = _request(ctx, home, _tomorrow_at(ctx, 9), technician)
    target = target_for_intervention(ctx, request_id)
    assert target.template_code == "AVIS_PASSAGE"
    issued = create_letter_for_intervention(ctx, request_id)
    text = text_of(issued.docx)
    assert f"Avis de passage — demande n° {target.reference}" in text
    assert "(Remplacement de compteur)" in text
    assert " de 9 h à 10 h 30" in text
    assert "Technicien chargé de l'intervention : Koffi Yao." in text
    assert "Cocody" in text.split("l'adresse suivante : ")[1].split("\n")[0]
    without = _request(ctx, home, _tomorrow_at(ctx, 14, 30))
    text = text_of(create_letter_for_intervention(ctx, without).docx)
    assert "de 14 h 30 à 16 h" in text and "Technicien" not in text  # {%p if %} drops the line


def test_a_request_without_customer_cannot_get_a_letter(ctx: ServiceContext) -> None:
    with_shipped(ctx)
    with ctx.reading() as session:
        commune = session.scalars(select(Commune).where(Commune.name == "Cocody")).one()
    saved = create_request(ctx, RequestInput(type=InterventionType.LEAK, description="Fuite",
                                             commune_id=commune.id, landmark="Devant l'école"))
    with pytest.raises(BusinessError, match="aucun client"):
        create_letter_for_intervention(ctx, saved.request_id)


def test_requests_due_tomorrow_make_one_letter_each_cancelled_and_resumed(
        ctx: ServiceContext) -> None:
    with_shipped(ctx)
    home = household(ctx)
    other = household(ctx, None, last_name="Diallo", first_name="Awa")
    due = [_request(ctx, home, _tomorrow_at(ctx, 8)), _request(ctx, home, _tomorrow_at(ctx, 15)),
           _request(ctx, other, _tomorrow_at(ctx, 10))]
    _request(ctx, home, _tomorrow_at(ctx, 9, days=2))  # the day after
    _request(ctx, other, _tomorrow_at(ctx, 11), status=InterventionStatus.CANCELLED)
    _request(ctx, other, _tomorrow_at(ctx, 0, days=0))  # today
    template = next(t for t in list_templates(ctx) if t.code == "AVIS_PASSAGE")
    plan = plan_batch(ctx, template.id, DueTomorrow())
    assert plan.description.startswith("Demandes d'intervention avec rendez-vous le ")
    assert [s.intervention_id for s in plan.subjects] == [due[0], due[2], due[1]]
    calls = 0

    def cancel_after_one() -> bool:
        nonlocal calls
        calls += 1
        return calls > 1

    first = run_batch(ctx, plan, cancelled=cancel_after_one, chunk=1)
    assert (first.done, first.cancelled) == (1, True)
    resumed = run_batch(ctx, plan, chunk=1)
    assert (resumed.done, resumed.total, resumed.cancelled) == (3, 3, False)
    assert run_batch(ctx, plan).done == 3  # nothing left to make
    with ctx.reading() as session:
        letters = session.scalars(select(Letter).where(Letter.batch_ref == plan.ref)
                                  .order_by(Letter.number)).all()
        made = [json.loads(letter.merged_data)["sujet"]["intervention"] for letter in letters]
        numbers = [json.loads(letter.merged_data)["intervention"]["numero"] for letter in letters]
    assert made == [str(r) for r in (due[0], due[2], due[1])]
    assert len(set(numbers)) == 3


def test_a_quote_or_request_template_is_refused_without_its_quote_or_request(
        ctx: ServiceContext) -> None:
    from app.services.letters.batch import InArrears
    from app.services.letters.fields import Subject
    from app.services.letters.issue import issue_letter, preview_letter
    from tests.services.letters.helpers import indebted

    with_shipped(ctx)
    home = indebted(ctx, [(8000, 40)])
    codes = {t.code: t.id for t in list_templates(ctx)}
    subject = Subject(home.customer_id, home.account_id)
    with pytest.raises(BusinessError, match="se remplit avec un devis de travaux : ouvrez le "
                                            "devis et faites « Courrier… » \\(Ctrl\\+Maj\\+E\\)"):
        issue_letter(ctx, codes["ENVOI_DEVIS"], subject)
    with pytest.raises(BusinessError, match="se remplit avec une demande d'intervention"):
        preview_letter(ctx, codes["AVIS_PASSAGE"], subject)
    with pytest.raises(BusinessError, match="Rendez-vous d'intervention de demain"):
        plan_batch(ctx, codes["AVIS_PASSAGE"], InArrears(1000, 30))
    assert letters_of_customer(ctx, home.customer_id) == []
    issue_letter(ctx, codes["RECLAMATION"], subject)  # the customer's own templates still go
