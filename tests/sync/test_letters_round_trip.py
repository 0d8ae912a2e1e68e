"""Letters through a real synchronisation (issue 20): an agency's own template and the letter
issued with it reach central as the agency's rows, a new revision follows, nothing is parked;
the shipped templates came down from central."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Customer, Letter, LetterTemplate, SyncParked
from app.models.database import Database
from app.services.letters.fields import Subject
from app.services.letters.issue import issue_letter
from app.services.letters.templates import list_templates, save_agency_template
from tests.services.letters.helpers import docx_of
from tests.sync.conftest import Central, Desk


def test_an_agency_template_and_its_letters_go_up(desk: Desk, central: Central) -> None:
    assert desk.sync().status == "succeeded"
    ctx = desk.ctx
    assert any(not t.is_agency_own for t in list_templates(ctx)), "shipped templates came down"
    first = docx_of("Bonjour {{ client.nom_complet }}, votre solde : {{ compte.solde }}.")
    template_id, _ = save_agency_template(ctx, "relance_courte", "Relance courte",
                                          "Recouvrement", first)
    with ctx.reading() as session:
        customer_id = session.scalars(select(Customer.id).where(
            Customer.agency_id == ctx.installation.agency_id).order_by(Customer.id)).first()
    assert customer_id is not None
    issued = issue_letter(ctx, template_id, Subject(customer_id))
    night = desk.sync()
    assert night.status == "succeeded", night.message
    second = docx_of("Bonjour {{ client.nom_complet }}.")
    assert save_agency_template(ctx, "RELANCE_COURTE", "Relance courte", "Recouvrement",
                                second)[0] == template_id
    night = desk.sync()
    assert night.status == "succeeded", night.message
    central_db = Database(central.db_url)
    try:
        with central_db.session() as session:
            parked = [(p.table_name, p.error) for p in session.scalars(select(SyncParked))]
            assert not parked, parked[:6]
            stored = session.get(LetterTemplate, template_id)
            assert stored is not None
            assert (stored.agency_id, stored.code, stored.revision, stored.content) == (
                ctx.installation.agency_id, "RELANCE_COURTE", 2, second)
            letter = session.get(Letter, issued.letter_id)
            assert letter is not None and letter.template_id == template_id
            assert letter.template_revision == 1
    finally:
        central_db.dispose()
