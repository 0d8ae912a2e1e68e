"""Technicians, their teams, skills, hours and absences, and the planning board: one row per
technician over a day or a week, the jobs as blocks in their time slots, the unscheduled requests
beside them. A job put where it clashes (two jobs at once counting the travel between communes,
the technician absent or off duty, a skill missing) is refused unless a supervisor forces it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Row, Select, String, and_, case, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from app.models import (
    Commune,
    Customer,
    InterventionRequest,
    Technician,
    TechnicianAbsence,
    TechnicianTeam,
)
from app.models.enums import CustomerKind, Energy, InterventionStatus, InterventionType, Role, Skill
from app.models.ids import utcnow
from app.services.editing import get_for_edit
from app.services.interventions.calendar import WorkingCalendar, load_calendar
from app.services.interventions.requests import OPEN_STATUSES, add_event
from app.services.interventions.workflow import check_step
from kernel.context import ServiceContext
from kernel.errors import (
    BusinessError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)

#: The requests to plan shown beside the board (the most urgent first).
WAITING_SHOWN = 200
#: Rough travel time between two jobs in different communes.
TRAVEL_BUFFER = timedelta(minutes=30)
FORCING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMINISTRATOR})
METER_KINDS = frozenset({InterventionType.METER_CHECK, InterventionType.METER_INSTALL,
                         InterventionType.METER_CHANGE, InterventionType.METER_REMOVAL})
#: Statuses shown on the board once planned (cancelled requests leave it).
ON_BOARD = frozenset({InterventionStatus.SCHEDULED, InterventionStatus.IN_PROGRESS,
                      InterventionStatus.DONE})
BUSY = frozenset({InterventionStatus.SCHEDULED, InterventionStatus.IN_PROGRESS})

SKILL_WORDS = {Skill.WATER: "eau", Skill.ELECTRICITY: "électricité", Skill.METERS: "compteurs"}


def parse_skills(text: str) -> frozenset[Skill]:
    return frozenset(Skill(part) for part in text.split(",") if part in Skill._value2member_map_)


def skills_of(technician: Technician) -> frozenset[Skill]:
    skills = parse_skills(technician.skills)
    if not skills and technician.speciality is not None:
        skills = frozenset({Skill(technician.speciality.value)})
    return skills


@cache
def needed_skills(kind: InterventionType, energy: Energy | None) -> frozenset[Skill]:
    needed = set()
    if energy is not None:
        needed.add(Skill(energy.value))
    if kind in METER_KINDS:
        needed.add(Skill.METERS)
    return frozenset(needed)


# --- technicians, teams, absences -----------------------------------------------------------

@dataclass(frozen=True)
class TechnicianInput:
    name: str
    phone: str = ""
    team_id: uuid.UUID | None = None
    skills: frozenset[Skill] = frozenset()
    day_starts_minute: int = 450
    day_ends_minute: int = 990
    is_active: bool = True


@dataclass(frozen=True)
class Absence:
    absence_id: uuid.UUID
    starts_on: date
    ends_on: date
    reason: str


@dataclass(frozen=True)
class TechnicianRow:
    technician_id: uuid.UUID
    version: int
    name: str
    phone: str
    team_id: uuid.UUID | None
    team: str
    skills: frozenset[Skill]
    day_starts_minute: int
    day_ends_minute: int
    is_active: bool
    absences: tuple[Absence, ...] = ()

    def absent_on(self, day: date) -> Absence | None:
        return next((a for a in self.absences if a.starts_on <= day <= a.ends_on), None)

    @property
    def skills_text(self) -> str:
        return ", ".join(SKILL_WORDS[s] for s in Skill if s in self.skills)


def _check_technician(data: TechnicianInput) -> None:
    errors = {}
    if len(" ".join(data.name.split())) < 3:
        errors["name"] = "Indiquez le nom du technicien"
    if not 0 <= data.day_starts_minute < data.day_ends_minute <= 24 * 60:
        errors["hours"] = "L'heure de fin de journée doit suivre l'heure de début"
    if not data.skills:
        errors["skills"] = "Cochez au moins une compétence"
    if errors:
        raise ValidationError(errors)


def save_technician(ctx: ServiceContext, data: TechnicianInput,
                    technician_id: uuid.UUID | None = None, version: int | None = None) -> uuid.UUID:
    _check_technician(data)
    with ctx.unit_of_work() as uow:
        if technician_id is None:
            technician = Technician(agency_id=ctx.installation.agency_id)
            uow.session.add(technician)
        else:
            assert version is not None
            technician = get_for_edit(uow.session, Technician, technician_id, version,
                                      "Technicien")
        technician.name = " ".join(data.name.split())
        technician.phone = data.phone.strip()
        technician.team_id = data.team_id
        technician.skills = ",".join(s.value for s in Skill if s in data.skills)
        technician.day_starts_minute = data.day_starts_minute
        technician.day_ends_minute = data.day_ends_minute
        technician.is_active = data.is_active
        uow.session.flush()
        uow.commit()
        return technician.id


def save_team(ctx: ServiceContext, name: str) -> uuid.UUID:
    name = " ".join(name.split())
    if len(name) < 2:
        raise ValidationError({"name": "Indiquez le nom de l'équipe"})
    with ctx.unit_of_work() as uow:
        team = TechnicianTeam(agency_id=ctx.installation.agency_id, name=name)
        uow.session.add(team)
        uow.session.flush()
        uow.commit()
        return team.id


def add_absence(ctx: ServiceContext, technician_id: uuid.UUID, starts_on: date, ends_on: date,
                reason: str = "") -> uuid.UUID:
    if ends_on < starts_on:
        raise ValidationError({"ends_on": "La fin de l'absence précède son début"})
    with ctx.unit_of_work() as uow:
        if uow.session.get(Technician, technician_id) is None:
            raise NotFoundError("Technicien introuvable.")
        absence = TechnicianAbsence(agency_id=ctx.installation.agency_id,
                                    technician_id=technician_id, starts_on=starts_on,
                                    ends_on=ends_on, reason=" ".join(reason.split()))
        uow.session.add(absence)
        uow.session.flush()
        uow.commit()
        return absence.id


def technicians(ctx: ServiceContext, *, active_only: bool = True,
                around: tuple[date, date] | None = None) -> list[TechnicianRow]:
    with ctx.reading() as session:
        return _technicians(session, active_only, around)


def _technicians(session: Session, active_only: bool,
                 around: tuple[date, date] | None) -> list[TechnicianRow]:
    query = (select(Technician, TechnicianTeam.name)
             .outerjoin(TechnicianTeam, TechnicianTeam.id == Technician.team_id)
             .order_by(TechnicianTeam.name.nulls_last(), Technician.name))
    if active_only:
        query = query.where(Technician.is_active.is_(True))
    absences: dict[uuid.UUID, list[Absence]] = {}
    absence_query = select(TechnicianAbsence)
    if around is not None:
        absence_query = absence_query.where(TechnicianAbsence.ends_on >= around[0],
                                            TechnicianAbsence.starts_on <= around[1])
    for absence in session.scalars(absence_query.order_by(TechnicianAbsence.starts_on)):
        absences.setdefault(absence.technician_id, []).append(
            Absence(absence.id, absence.starts_on, absence.ends_on, absence.reason))
    return [
        TechnicianRow(t.id, t.version, t.name, t.phone, t.team_id, team or "", skills_of(t),
                      t.day_starts_minute, t.day_ends_minute, t.is_active,
                      tuple(absences.get(t.id, ())))
        for t, team in session.execute(query)
    ]


def teams(ctx: ServiceContext) -> list[tuple[uuid.UUID, str]]:
    with ctx.reading() as session:
        return [(t.id, t.name) for t in session.scalars(
            select(TechnicianTeam).where(TechnicianTeam.is_active.is_(True))
            .order_by(TechnicianTeam.name))]


# --- the board --------------------------------------------------------------------------------

@dataclass(slots=True)
class Job:
    request_id: uuid.UUID
    version: int
    number: str
    type: InterventionType
    status: InterventionStatus
    priority: str
    technician_id: uuid.UUID | None
    start: datetime | None
    end: datetime | None
    commune_id: uuid.UUID | None
    commune: str
    who: str
    description: str
    due_at: datetime | None
    overdue: bool
    needs: frozenset[Skill]
    clashes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Board:
    first_day: date
    days: int
    technicians: list[TechnicianRow]
    jobs: list[Job]
    unscheduled: list[Job]
    calendar: WorkingCalendar

    def jobs_of(self, technician_id: uuid.UUID) -> list[Job]:
        return [j for j in self.jobs if j.technician_id == technician_id]


def is_overdue(status: InterventionStatus, due: datetime | None, done: datetime | None,
               now: datetime) -> bool:
    if due is None or status is InterventionStatus.CANCELLED:
        return False
    if status is InterventionStatus.DONE:
        return done is not None and done > due
    return now > due


def customer_name(kind: CustomerKind | None, last: str | None, first: str | None,
                  organisation: str | None) -> str:
    if kind is None:
        return ""
    if kind is CustomerKind.ORGANISATION:
        return organisation or ""
    return " ".join(p for p in ((last or "").upper(), first or "") if p)


R = InterventionRequest
#: What a job needs of a request: plain columns (no ORM objects: a week's board has thousands).
def _text(column: Any) -> Any:
    """An enum column read as its stored text (the board converts thousands of rows: a dict
    look-up is cheaper than the enum type's processing)."""
    return type_coerce(column, String())


_NAME = case(
    (Customer.kind == CustomerKind.ORGANISATION, Customer.organisation_name),
    else_=func.trim(func.upper(Customer.last_name) + " " + Customer.first_name),
)
JOB_COLUMNS = (R.id, R.version, R.number, _text(R.type).label("type"),
               _text(R.status).label("status"), _text(R.priority).label("priority"),
               R.technician_id, R.scheduled_for, R.duration_minutes, R.commune_id, R.landmark,
               func.substr(R.description, 1, 200).label("description"), R.due_at, R.done_at,
               _text(R.energy).label("energy"), Commune.name.label("commune"),
               _NAME.label("who"))
_TYPES = {k.value: k for k in InterventionType}
_STATUSES = {k.value: k for k in InterventionStatus}
_ENERGIES = {k.value: k for k in Energy}


def _job(row: Row[Any], now: datetime) -> Job:
    end = (row.scheduled_for + timedelta(minutes=row.duration_minutes)
           if row.scheduled_for is not None else None)
    kind, status = _TYPES[row.type], _STATUSES[row.status]
    energy = _ENERGIES[row.energy] if row.energy else None
    return Job(row.id, row.version, row.number, kind, status, row.priority,
               row.technician_id, row.scheduled_for, end, row.commune_id, row.commune or "",
               row.who or row.landmark or "", row.description, row.due_at,
               is_overdue(status, row.due_at, row.done_at, now), needed_skills(kind, energy))


def _job_query() -> Select[*tuple[Any, ...]]:
    return (select(*JOB_COLUMNS)
            .outerjoin(Commune, Commune.id == InterventionRequest.commune_id)
            .outerjoin(Customer, Customer.id == InterventionRequest.customer_id))


def _jobs(rows: Iterable[Row[Any]], now: datetime) -> list[Job]:
    return [_job(r, now) for r in rows]


def clashes(job: Job, technician: TechnicianRow | None, others: Iterable[Job],
            calendar: WorkingCalendar) -> list[str]:
    """What is wrong with ``job`` where it stands (``others``: the technician's other jobs)."""
    if job.start is None or job.end is None or technician is None:
        return []
    found = []
    local_start = job.start.astimezone(calendar.zone)
    local_end = job.end.astimezone(calendar.zone)
    day = local_start.date()
    absence = technician.absent_on(day)
    if absence is not None:
        reason = f" ({absence.reason})" if absence.reason else ""
        found.append(f"{technician.name} est absent le {day:%d/%m/%Y}{reason}")
    elif not calendar.is_working_day(day):
        found.append(f"Le {day:%d/%m/%Y} n'est pas un jour travaillé")
    else:
        starts = local_start.hour * 60 + local_start.minute
        ends = (local_end.hour * 60 + local_end.minute) if local_end.date() == day else 24 * 60
        if starts < technician.day_starts_minute or ends > technician.day_ends_minute:
            found.append(f"En dehors des heures de {technician.name} "
                         f"({_hm(technician.day_starts_minute)}–{_hm(technician.day_ends_minute)})")
    missing = job.needs - technician.skills
    if missing:
        words = ", ".join(SKILL_WORDS[s] for s in Skill if s in missing)
        found.append(f"{technician.name} n'a pas la compétence demandée ({words})")
    for other in others:
        if other.request_id == job.request_id or other.start is None or other.end is None \
                or other.status not in BUSY:
            continue
        travel = (TRAVEL_BUFFER if job.commune_id and other.commune_id
                  and job.commune_id != other.commune_id else timedelta(0))
        if job.start < other.end + travel and other.start < job.end + travel:
            what = "en même temps" if job.start < other.end and other.start < job.end \
                else "sans le temps de trajet entre communes"
            found.append(f"{technician.name} a déjà la demande {other.number} "
                         f"{other.start.astimezone(calendar.zone):%H:%M} {what}")
    return found


def _hm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def board(ctx: ServiceContext, first_day: date, days: int = 1) -> Board:
    """The board of ``days`` days from ``first_day``, with each job's clashes worked out."""
    zone = ctx.installation.zone
    start = datetime.combine(first_day, time(0), zone).astimezone(UTC)
    end = datetime.combine(first_day + timedelta(days=days), time(0), zone).astimezone(UTC)
    now = utcnow()
    with ctx.reading() as session:
        calendar = load_calendar(session, ctx.installation.agency_id, zone)
        people = _technicians(session, True, (first_day, first_day + timedelta(days=days)))
        rows = session.execute(_job_query().where(
            InterventionRequest.scheduled_for >= start - timedelta(hours=8),
            InterventionRequest.scheduled_for < end,
            InterventionRequest.technician_id.is_not(None),
            InterventionRequest.status.in_(ON_BOARD),
        ).order_by(InterventionRequest.scheduled_for)).all()
        waiting = session.execute(_job_query().where(
            InterventionRequest.status.in_(OPEN_STATUSES),
            or_(InterventionRequest.scheduled_for.is_(None),
                InterventionRequest.technician_id.is_(None)),
        ).order_by(InterventionRequest.due_at.nulls_last(), InterventionRequest.requested_at)
            .limit(WAITING_SHOWN)).all()
    planned = _jobs(rows, now)
    planned = [j for j in planned if j.end is not None and j.end > start]
    # A job can only clash with the same technician's jobs of the same day.
    by_day: dict[tuple[uuid.UUID, date], list[Job]] = {}
    for job in planned:
        assert job.technician_id is not None and job.start is not None
        by_day.setdefault((job.technician_id, job.start.astimezone(zone).date()), []).append(job)
    people_by_id = {t.technician_id: t for t in people}
    checked = []
    for job in planned:
        assert job.technician_id is not None and job.start is not None
        if job.status in BUSY:
            found = clashes(job, people_by_id.get(job.technician_id),
                            by_day[job.technician_id, job.start.astimezone(zone).date()],
                            calendar)
            job.clashes = tuple(found)
        checked.append(job)
    return Board(first_day, days, people, checked, _jobs(waiting, now), calendar)


class PlanningClash(BusinessError):
    """The slot clashes; a supervisor may force it."""

    def __init__(self, message: str, reasons: list[str]) -> None:
        super().__init__(message)
        self.reasons = reasons


def _others(session: Session, technician_id: uuid.UUID, start: datetime, end: datetime,
            now: datetime) -> list[Job]:
    rows = session.execute(_job_query().where(
        InterventionRequest.technician_id == technician_id,
        InterventionRequest.status.in_(BUSY),
        and_(InterventionRequest.scheduled_for < end + TRAVEL_BUFFER,
             InterventionRequest.scheduled_for >= start - timedelta(hours=9)),
    )).all()
    return _jobs(rows, now)


def place_job(ctx: ServiceContext, request_id: uuid.UUID, version: int,
              technician_id: uuid.UUID, start: datetime, *, force: bool = False) -> int:
    """Puts a request on a technician at ``start`` (a drag on the board, or the editor's
    planning). ``PlanningClash`` lists what is wrong unless a supervisor ``force``s it; the
    forcing is kept on the request and in its history. Returns the new version."""
    if force and (ctx.user is None or ctx.user.role not in FORCING_ROLES):
        raise PermissionDeniedError("Seul un superviseur peut forcer un créneau en conflit.")
    now = utcnow()
    with ctx.unit_of_work() as uow:
        session = uow.session
        request = get_for_edit(session, InterventionRequest, request_id, version,
                               "Demande d'intervention")
        if request.status is not InterventionStatus.IN_PROGRESS:
            check_step(request, InterventionStatus.SCHEDULED)
        technician = session.get(Technician, technician_id)
        if technician is None or not technician.is_active:
            raise NotFoundError("Technicien introuvable ou inactif.")
        people = {t.technician_id: t for t in _technicians(session, True, None)
                  if t.technician_id == technician_id}
        commune = session.get(Commune, request.commune_id) if request.commune_id else None
        job = Job(request.id, request.version, request.number, request.type, request.status,
                  request.priority.value, technician_id, start,
                  start + timedelta(minutes=request.duration_minutes), request.commune_id,
                  commune.name if commune else "", "", request.description, request.due_at,
                  False, needed_skills(request.type, request.energy))
        calendar = load_calendar(session, ctx.installation.agency_id, ctx.installation.zone)
        assert job.end is not None
        found = clashes(job, people.get(technician_id),
                        _others(session, technician_id, start, job.end, now), calendar)
        if found and not force:
            raise PlanningClash(
                "Ce créneau est en conflit :\n" + "\n".join(f"• {r}" for r in found)
                + ("\n\nUn superviseur peut forcer ce créneau."), found)
        before = request.status
        moved = request.scheduled_for is not None
        request.technician_id = technician_id
        request.scheduled_for = start
        if request.status is not InterventionStatus.IN_PROGRESS:
            request.status = InterventionStatus.SCHEDULED
        request.forced_by = ctx.actor.username if found else ""
        local = start.astimezone(ctx.installation.zone)
        note = f"{technician.name}, le {local:%d/%m/%Y à %H:%M}"
        if found:
            note += " — forcé malgré : " + " ; ".join(found)
        add_event(session, ctx, request, "moved" if moved else "scheduled", before, note)
        uow.commit()
        return request.version


def unschedule(ctx: ServiceContext, request_id: uuid.UUID, version: int) -> int:
    """Takes a planned request off the board (back to the requests to plan)."""
    with ctx.unit_of_work() as uow:
        request = get_for_edit(uow.session, InterventionRequest, request_id, version,
                               "Demande d'intervention")
        if request.status is not InterventionStatus.SCHEDULED:
            raise BusinessError("Seule une demande planifiée peut être retirée du planning.")
        request.status = InterventionStatus.NEW
        request.technician_id = None
        request.scheduled_for = None
        request.forced_by = ""
        add_event(uow.session, ctx, request, "unscheduled", InterventionStatus.SCHEDULED)
        uow.commit()
        return request.version
