"""« Envoyer un technicien » from the Jetons page (issue 17): a meter refuses a code and central's
verdict says a technician should look at it. One click files a meter check on that meter (its
connection, account and customer filled by the request's own rules), with the refused code,
the verdict in French and the agent who filed it. A second click — or another refused code on
the same meter — files nothing new while a meter check is open there: the open request is
named (and the other code added to its history)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from app.models import InterventionRequest, Meter
from app.models.enums import InterventionPriority, InterventionType, RequestChannel
from app.services.interventions.requests import OPEN_STATUSES, RequestInput, add_event, new_request
from kernel.context import ServiceContext
from kernel.errors import NotFoundError, ValidationError

KIND = InterventionType.METER_CHECK
#: Central's verdicts after which a technician is worth sending (its « que faire » says so).
TECHNICIAN_ACTIONS = frozenset({"technician", "check_credit"})


@dataclass(frozen=True)
class RefusedCode:
    meter: str  # serial or DRN, as typed
    token: str
    verdict: str
    title: str
    explanation: str


@dataclass(frozen=True)
class TechnicianRequest:
    request_id: uuid.UUID
    number: str
    #: True: a meter check was already open on this meter (nothing new filed).
    already: bool


def _grouped(token: str) -> str:
    digits = "".join(ch for ch in token if ch.isdigit())
    return " ".join(digits[i:i + 4] for i in range(0, len(digits), 4))


def request_technician(ctx: ServiceContext, refused: RefusedCode) -> TechnicianRequest:
    """Files the meter check (once per open request on the meter)."""
    typed = refused.meter.strip()
    if not typed or not refused.token.strip():
        raise ValidationError({"meter": "Indiquez le compteur et le code refusé"})
    code = _grouped(refused.token) or refused.token.strip()
    who = ctx.user.full_name if ctx.user else ctx.actor.username
    with ctx.unit_of_work() as uow:
        session = uow.session
        meter = session.scalars(select(Meter).where(
            (Meter.sts_drn == typed) | (Meter.serial == typed))).first()
        if meter is None:
            raise NotFoundError(
                f"Le compteur {typed} n'est pas encore dans la base de l'agence (il arrive à la "
                "prochaine synchronisation) : créez la demande depuis la page Interventions.")
        number = meter.sts_drn or meter.serial
        found = session.scalars(select(InterventionRequest).where(
            InterventionRequest.meter_id == meter.id, InterventionRequest.type == KIND,
            InterventionRequest.status.in_(OPEN_STATUSES))
            .order_by(InterventionRequest.requested_at)).first()
        if found is not None:
            if code not in found.description:
                add_event(session, ctx, found, "noted", found.status,
                          f"Autre code refusé par le compteur {number} : {code} — "
                          f"{refused.title} (signalé par {who} au guichet)")
                uow.commit()
            return TechnicianRequest(found.id, found.number, True)
        request = new_request(session, ctx, RequestInput(
            type=KIND, priority=InterventionPriority.HIGH, channel=RequestChannel.COUNTER,
            meter_id=meter.id,
            description=(f"Le compteur prépayé {number} refuse le code {code}.\n"
                         f"Verdict du serveur central : {refused.title}. "
                         f"{refused.explanation}\n"
                         f"Demande déposée au guichet (page Jetons) par {who} "
                         f"({ctx.actor.username})."),
        ), confirmed_duplicate=True, note=f"Code refusé {code} ({refused.verdict})")
        uow.commit()
        return TechnicianRequest(request.id, request.number, False)
