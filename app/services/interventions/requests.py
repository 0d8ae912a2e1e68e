"""Taking an intervention request: its kind, priority and channel, who reported it, and where —
a customer's account, premise or meter, or only an address for a leak in the street. A request of
the same kind already open at the same place is pointed out before a second one is taken."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.models import (
    Account,
    Commune,
    Contract,
    InterventionEvent,
    InterventionRequest,
    Meter,
    Premise,
    ServiceConnection,
    Street,
)
from app.models.enums import (
    ContractStatus,
    Energy,
    InterventionPriority,
    InterventionStatus,
    InterventionType,
    MeterStatus,
    RequestChannel,
)
from app.models.ids import utcnow
from app.services.editing import get_for_edit
from app.services.interventions.calendar import due_at, load_calendar
from kernel.context import ServiceContext
from kernel.errors import BusinessError, NotFoundError, ValidationError
from kernel.numbering import Series, next_number

OPEN_STATUSES = frozenset({
    InterventionStatus.NEW,
    InterventionStatus.SCHEDULED,
    InterventionStatus.IN_PROGRESS,
    InterventionStatus.REOPENED,
})
#: The kinds a new request may take (the two others are kept for older rows).
KINDS = tuple(k for k in InterventionType
              if k not in (InterventionType.NEW_CONNECTION, InterventionType.PREPAID_TOKEN))
CHANNELS = (RequestChannel.COUNTER, RequestChannel.PHONE, RequestChannel.FIELD,
            RequestChannel.QUOTE, RequestChannel.MAIL)
#: Kinds that need a meter to be named (the technician works on it).
NEEDS_METER = frozenset({InterventionType.METER_CHECK, InterventionType.METER_CHANGE,
                         InterventionType.METER_REMOVAL})
MAX_DURATION = 8 * 60
#: Kinds that are about water whatever is linked.
WATER_KINDS = frozenset({InterventionType.LEAK, InterventionType.LEAK_AT_CUSTOMER})


@dataclass(frozen=True)
class RequestInput:
    type: InterventionType
    priority: InterventionPriority = InterventionPriority.NORMAL
    channel: RequestChannel = RequestChannel.COUNTER
    description: str = ""
    reporter_name: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    customer_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    premise_id: uuid.UUID | None = None
    meter_id: uuid.UUID | None = None
    commune_id: uuid.UUID | None = None
    street_id: uuid.UUID | None = None
    house_number: str = ""
    landmark: str = ""
    energy: Energy | None = None
    duration_minutes: int = 60
    disputed_reading_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Duplicate:
    request_id: uuid.UUID
    number: str
    status: InterventionStatus
    requested_at: datetime


class DuplicateRequestWarning(BusinessError):
    """A request of the same kind is open at the same place: the agent confirms a new one."""

    def __init__(self, message: str, duplicates: list[Duplicate]) -> None:
        super().__init__(message)
        self.duplicates = duplicates


@dataclass(frozen=True)
class SavedRequest:
    request_id: uuid.UUID
    number: str
    version: int
    due_at: datetime | None


def _clean(text: str) -> str:
    return " ".join(text.split())


def _resolve(session: Session, data: RequestInput) -> RequestInput:
    """Fills what the links imply (meter → premise → place; account → customer) and checks that
    the links agree with each other."""
    errors: dict[str, str] = {}
    premise_id, account_id, customer_id = data.premise_id, data.account_id, data.customer_id
    energy = data.energy
    if data.meter_id is not None:
        meter = session.get(Meter, data.meter_id)
        if meter is None:
            raise NotFoundError("Compteur introuvable.")
        energy = energy or meter.energy
        if meter.connection_id is not None:
            connection = session.get(ServiceConnection, meter.connection_id)
            assert connection is not None
            if premise_id is not None and premise_id != connection.premise_id:
                errors["meter_id"] = "Ce compteur n'est pas sur la propriété choisie"
            premise_id = connection.premise_id
            if account_id is None:
                account_id = session.scalar(select(Contract.account_id).where(
                    Contract.connection_id == connection.id,
                    Contract.status == ContractStatus.ACTIVE).limit(1))
    if account_id is None and customer_id is None and premise_id is not None:
        holders = session.scalars(
            select(Contract.account_id).distinct()
            .join(ServiceConnection, ServiceConnection.id == Contract.connection_id)
            .where(ServiceConnection.premise_id == premise_id,
                   Contract.status == ContractStatus.ACTIVE).limit(2)).all()
        account_id = holders[0] if len(holders) == 1 else None
    if account_id is not None:
        account = session.get(Account, account_id)
        if account is None:
            raise NotFoundError("Compte introuvable.")
        if customer_id is not None and customer_id != account.customer_id:
            errors["account_id"] = "Ce compte n'est pas celui du client choisi"
        customer_id = account.customer_id
        if premise_id is None:
            premise_id = account.billing_premise_id
    commune_id, street_id, house_number = data.commune_id, data.street_id, data.house_number
    if premise_id is not None:
        premise = session.get(Premise, premise_id)
        if premise is None:
            raise NotFoundError("Propriété introuvable.")
        commune_id, street_id = premise.commune_id, premise.street_id
        house_number = house_number or premise.house_number
    elif street_id is not None:
        street = session.get(Street, street_id)
        if street is None or (commune_id is not None and street.commune_id != commune_id):
            errors["street_id"] = "Cette rue n'est pas dans la commune choisie"
        elif commune_id is None:
            commune_id = street.commune_id
    if commune_id is None and customer_id is None:
        errors["commune_id"] = ("Indiquez le client, le compte, la propriété ou le compteur — "
                                "ou au moins la commune du lieu")
    elif premise_id is None and commune_id is not None and street_id is None \
            and not _clean(data.landmark):
        errors["landmark"] = "Sans propriété, indiquez la rue ou un point de repère"
    meter_id = data.meter_id
    if meter_id is None and data.type in NEEDS_METER and premise_id is not None:
        meters = session.scalars(
            select(Meter.id)
            .join(ServiceConnection, ServiceConnection.id == Meter.connection_id)
            .where(ServiceConnection.premise_id == premise_id,
                   Meter.status == MeterStatus.INSTALLED).limit(2)).all()
        meter_id = meters[0] if len(meters) == 1 else None
    if data.type in NEEDS_METER and meter_id is None:
        errors["meter_id"] = "Choisissez le compteur concerné"
    if not _clean(data.description):
        errors["description"] = "Décrivez ce qui est demandé"
    if not 15 <= data.duration_minutes <= MAX_DURATION:
        errors["duration_minutes"] = "La durée prévue va de 15 minutes à 8 heures"
    if errors:
        raise ValidationError(errors)
    if energy is None and data.type in WATER_KINDS:
        energy = Energy.WATER
    return replace(data, meter_id=meter_id, customer_id=customer_id, account_id=account_id, premise_id=premise_id,
                   commune_id=commune_id, street_id=street_id, house_number=_clean(house_number),
                   landmark=_clean(data.landmark), description=data.description.strip(),
                   reporter_name=_clean(data.reporter_name), contact_name=_clean(data.contact_name),
                   contact_phone=_clean(data.contact_phone), energy=energy)


def find_duplicates(session: Session, data: RequestInput,
                    excluding: uuid.UUID | None = None) -> list[Duplicate]:
    """Open requests of the same kind at the same place: the same meter, else the same
    premise, else the same street (or landmark) of the same commune."""
    query = select(InterventionRequest).where(
        InterventionRequest.type == data.type,
        InterventionRequest.status.in_(OPEN_STATUSES),
    )
    if data.meter_id is not None:
        query = query.where(or_(InterventionRequest.meter_id == data.meter_id,
                                InterventionRequest.premise_id == data.premise_id))
    elif data.premise_id is not None:
        query = query.where(InterventionRequest.premise_id == data.premise_id)
    elif data.commune_id is not None and data.street_id is not None:
        query = query.where(InterventionRequest.commune_id == data.commune_id,
                            InterventionRequest.street_id == data.street_id)
    elif data.commune_id is not None and data.landmark:
        query = query.where(InterventionRequest.commune_id == data.commune_id,
                            func.lower(InterventionRequest.landmark) == data.landmark.lower())
    else:
        return []
    if excluding is not None:
        query = query.where(InterventionRequest.id != excluding)
    return [Duplicate(r.id, r.number, r.status, r.requested_at)
            for r in session.scalars(query.order_by(InterventionRequest.requested_at).limit(10))]


def _duplicate_message(session: Session, duplicates: list[Duplicate], data: RequestInput) -> str:
    from kernel.vocabulary import label

    place = ""
    if data.commune_id is not None:
        commune = session.get(Commune, data.commune_id)
        place = f" ({commune.name})" if commune else ""
    numbers = ", ".join(f"{d.number} — {label(d.status).lower()}" for d in duplicates)
    return (f"Une demande « {label(data.type)} » est déjà ouverte au même endroit{place} : "
            f"{numbers}.\n\nEnregistrer quand même une nouvelle demande ?")


def add_event(session: Session, ctx: ServiceContext, request: InterventionRequest, action: str,
              from_status: InterventionStatus | None, note: str = "") -> None:
    session.add(InterventionEvent(
        agency_id=request.agency_id,
        request_id=request.id,
        at=utcnow(),
        actor=ctx.actor.username,
        actor_name=ctx.user.full_name if ctx.user else ctx.actor.username,
        action=action,
        from_status=from_status,
        to_status=request.status,
        note=note,
    ))


def new_request(session: Session, ctx: ServiceContext, data: RequestInput,
                *, confirmed_duplicate: bool = False, note: str = "") -> InterventionRequest:
    """Adds a request in the caller's transaction (other services use it: the reconnection
    after a payment, the works ordered from a quote)."""
    data = _resolve(session, data)
    if not confirmed_duplicate:
        duplicates = find_duplicates(session, data)
        if duplicates:
            raise DuplicateRequestWarning(_duplicate_message(session, duplicates, data),
                                          duplicates)
    now = utcnow()
    calendar = load_calendar(session, ctx.installation.agency_id, ctx.installation.zone)
    request = InterventionRequest(
        agency_id=ctx.installation.agency_id,
        number=next_number(session, ctx.installation.agency_code, Series.INTERVENTION,
                           ctx.installation.local(now).year),
        type=data.type,
        priority=data.priority,
        status=InterventionStatus.NEW,
        channel=data.channel,
        customer_id=data.customer_id,
        account_id=data.account_id,
        premise_id=data.premise_id,
        meter_id=data.meter_id,
        description=data.description,
        reporter_name=data.reporter_name,
        contact_name=data.contact_name,
        contact_phone=data.contact_phone,
        commune_id=data.commune_id,
        street_id=data.street_id,
        house_number=data.house_number,
        landmark=data.landmark,
        energy=data.energy,
        duration_minutes=data.duration_minutes,
        disputed_reading_id=data.disputed_reading_id,
        requested_at=now,
        due_at=due_at(session, calendar, data.type, data.priority, now),
        recorded_by=ctx.actor.username,
    )
    session.add(request)
    session.flush()
    add_event(session, ctx, request, "created", None, note)
    return request


def create_request(ctx: ServiceContext, data: RequestInput,
                   *, confirmed_duplicate: bool = False) -> SavedRequest:
    """Takes a request; ``DuplicateRequestWarning`` asks the agent to confirm a second one at
    the same place (``confirmed_duplicate``)."""
    with ctx.unit_of_work() as uow:
        request = new_request(uow.session, ctx, data, confirmed_duplicate=confirmed_duplicate)
        uow.commit()
        return SavedRequest(request.id, request.number, request.version, request.due_at)


def update_request(ctx: ServiceContext, request_id: uuid.UUID, version: int,
                   data: RequestInput) -> SavedRequest:
    """Saves the agent's edit of an open request, if nobody saved it since it was opened; a new
    kind or priority moves the deadline (counted from when the request was taken)."""
    with ctx.unit_of_work() as uow:
        session = uow.session
        request = get_for_edit(session, InterventionRequest, request_id, version,
                               "Demande d'intervention")
        if request.status not in OPEN_STATUSES:
            raise BusinessError("Une demande terminée ou annulée ne se modifie plus : "
                                "rouvrez-la d'abord.")
        data = _resolve(session, data)
        changed_deadline = (data.type, data.priority) != (request.type, request.priority)
        for name in ("type", "priority", "channel", "customer_id", "account_id", "premise_id",
                     "meter_id", "description", "reporter_name", "contact_name",
                     "contact_phone", "commune_id", "street_id", "house_number", "landmark",
                     "energy", "duration_minutes", "disputed_reading_id"):
            setattr(request, name, getattr(data, name))
        if changed_deadline:
            calendar = load_calendar(session, ctx.installation.agency_id,
                                     ctx.installation.zone)
            request.due_at = due_at(session, calendar, data.type, data.priority,
                                    request.requested_at)
        if session.is_modified(request):
            add_event(session, ctx, request, "edited", request.status)
        uow.commit()
        return SavedRequest(request.id, request.number, request.version, request.due_at)
