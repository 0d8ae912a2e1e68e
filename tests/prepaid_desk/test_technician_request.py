"""« Envoyer un technicien » (SQLite and PostgreSQL): a meter check filed for the meter whose code
is refused, on its connection, account and customer, with the code, central's verdict and the
agent; a second filing names the open request instead (another code is added to its history);
once that request is cancelled a new one can be filed; an unknown meter is refused plainly."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import Account, InterventionEvent, InterventionRequest, ServiceConnection
from app.models.enums import InterventionStatus, InterventionType, RequestChannel
from app.services.auth import sign_in
from app.services.interventions.token_refusal import RefusedCode, request_technician
from app.services.interventions.workflow import cancel
from kernel.context import ServiceContext
from kernel.errors import NotFoundError
from tests.prepaid_desk.desk_rows import TOKEN, add_prepaid_sales

USED = RefusedCode("47100000018", TOKEN, "used", "Code déjà utilisé",
                   "Ce code a déjà été tapé sur ce compteur.")


@pytest.fixture
def agent(ctx: ServiceContext) -> ServiceContext:
    add_prepaid_sales(ctx)
    return ctx.signed_in(sign_in(ctx.db, "agent", "Guichet-Agent-2026"))


def test_one_request_per_open_meter_check(agent: ServiceContext) -> None:
    filed = request_technician(agent, USED)
    assert not filed.already and filed.number.startswith("DI101-")
    with agent.reading() as session:
        request = session.get(InterventionRequest, filed.request_id)
        assert request is not None
        assert (request.type, request.channel, request.recorded_by) == (
            InterventionType.METER_CHECK, RequestChannel.COUNTER, "agent")
        assert request.meter_id is not None and request.customer_id is not None
        account = session.get(Account, request.account_id)
        assert account is not None and account.number == "101260000099"
        connection = session.scalars(select(ServiceConnection)).one()
        assert request.premise_id == connection.premise_id
        for part in ("5950 7744 7134 7068 7251", "Code déjà utilisé", "déjà été tapé",
                     "Yao KOUASSI", "(agent)", "47100000018"):
            assert part in request.description, part
    again = request_technician(agent, USED)
    assert again.already and again.request_id == filed.request_id
    other = request_technician(agent, RefusedCode("SN-4710", "1234 5678 9012 3456 7890",
                                                  "key_expired", "Clé expirée", "…"))
    assert other.already and other.number == filed.number, "the serial finds the same meter"
    with agent.reading() as session:
        assert session.scalars(select(InterventionRequest.id)).all() == [filed.request_id], \
            "one request"
        notes = session.scalars(select(InterventionEvent.note).where(
            InterventionEvent.request_id == filed.request_id,
            InterventionEvent.action == "noted")).all()
        assert len(notes) == 1 and "1234 5678 9012 3456 7890" in notes[0]
    with agent.reading() as session:
        version = session.get(InterventionRequest, filed.request_id).version  # type: ignore[union-attr]
    supervisor = agent.signed_in(sign_in(agent.db, "superviseur", "Guichet-Sup-2026"))
    cancel(supervisor, filed.request_id, version, "déplacement inutile, code retrouvé")
    renewed = request_technician(agent, USED)
    assert not renewed.already and renewed.number != filed.number
    with agent.reading() as session:
        assert session.get(InterventionRequest, filed.request_id).status \
            is InterventionStatus.CANCELLED  # type: ignore[union-attr]


def test_a_meter_the_agency_does_not_know_is_refused(agent: ServiceContext) -> None:
    with pytest.raises(NotFoundError) as refused:
        request_technician(agent, RefusedCode("99999999999", TOKEN, "used", "Code déjà utilisé",
                                              ""))
    assert "pas encore dans la base de l'agence" in str(refused.value)
