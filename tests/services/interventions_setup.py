"""What the intervention tests set up: a role signed in, a street, a leak reported, a
technician, quotes approved and ordered (also used by the screens' tests)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.models import (
    Commune,
    InterventionRequest,
    Street,
    WorksCatalogueItem,
    WorksQuote,
    WorksQuoteLine,
)
from app.models.enums import (
    InterventionPriority,
    InterventionType,
    QuoteStatus,
    Role,
    Skill,
)
from app.services.interventions import lists, planning, workflow
from app.services.interventions.planning import TechnicianInput, place_job
from app.services.interventions.requests import (
    RequestInput,
)
from kernel.context import ServiceContext, SignedInUser

ABIDJAN = ZoneInfo("Africa/Abidjan")


def as_role(ctx: ServiceContext, role: Role, name: str = "") -> ServiceContext:
    return ctx.signed_in(SignedInUser(uuid.uuid4(), role.value, name or f"Awa {role.value}", role))


def abidjan_time(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ABIDJAN)


def street_of(ctx: ServiceContext, commune: str = "Cocody", n: int = 0) -> tuple[uuid.UUID, uuid.UUID]:
    with ctx.reading() as session:
        place = session.scalars(select(Commune).where(Commune.name == commune)).one()
        street = session.scalars(select(Street).where(Street.commune_id == place.id)
                                 .order_by(Street.name)).all()[n]
        return place.id, street.id


def leak(ctx: ServiceContext, **changes: object) -> RequestInput:
    commune_id, street_id = street_of(ctx)
    fields: dict[str, object] = dict(type=InterventionType.LEAK, priority=InterventionPriority.HIGH,
                                     description="Eau qui jaillit du trottoir", commune_id=commune_id,
                                     street_id=street_id, reporter_name="Un passant")
    fields.update(changes)
    return RequestInput(**fields)  # type: ignore[arg-type]


def technician(ctx: ServiceContext, name: str, *skills: Skill) -> uuid.UUID:
    return planning.save_technician(ctx, TechnicianInput(name=name, skills=frozenset(skills)))


def version_of(ctx: ServiceContext, request_id: uuid.UUID) -> int:
    return lists.request_detail(ctx, request_id).version


def next_monday(ctx: ServiceContext) -> date:
    today = ctx.installation.today()
    return today + timedelta(days=7 - today.weekday())



def approved_quote(ctx: ServiceContext, customer_id: uuid.UUID, premise_id: uuid.UUID) -> uuid.UUID:
    with ctx.unit_of_work() as uow:
        items = {i.code: i for i in uow.session.scalars(select(WorksCatalogueItem))}
        today = ctx.installation.today()
        quote = WorksQuote(agency_id=ctx.installation.agency_id, number=f"DV101-T-{uuid.uuid4().hex[:6]}",
                           status=QuoteStatus.APPROVED, customer_id=customer_id, premise_id=premise_id,
                           subject="Branchement neuf", issued_on=today, valid_until=today,
                           approved_on=today, approved_by="Hélène KONÉ")
        for position, (code, quantity) in enumerate((("BR-EAU-15", "1"), ("TR-ML", "12.5")), start=1):
            item = items[code]
            quote.lines.append(WorksQuoteLine(
                agency_id=quote.agency_id, position=position, catalogue_item_id=item.id, label=item.label,
                quantity=Decimal(quantity), unit=item.unit, unit_price_minor=item.unit_price_minor,
                vat_rate=item.vat_rate, amount_excl_vat_minor=0, vat_minor=0, amount_minor=0))
        uow.session.add(quote)
        uow.session.flush()
        uow.commit()
        return quote.id



def ordered_connection_quote(ctx: ServiceContext) -> tuple[uuid.UUID, uuid.UUID, int]:
    """A prospect's connection quote (water tariff), approved and ordered: (quote, job, version)."""
    from app.models.enums import ApprovalMethod, Civility
    from app.services.works.catalogue import item_for, load_catalogue
    from app.services.works.connection import connection_tariffs
    from app.services.works.quotes import (
        Prospect,
        QuoteInput,
        approve_quote,
        create_quote,
        order_works,
        send_quote,
    )
    from app.services.works.totals import LineInput

    item = item_for(load_catalogue(ctx), "PEHD-25")
    assert item is not None
    water = next(t for t, name in connection_tariffs(ctx) if "au" in name.lower())
    commune_id, street_id = street_of(ctx)
    saved = create_quote(ctx, QuoteInput(
        [LineInput(item.label, Decimal(8), item.unit_price_minor, item.vat_rate, item.unit,
                   catalogue_item_id=item.item_id)],
        prospect=Prospect(Civility.MRS, "Yao", "Adjoua", "0505050505", commune_id, street_id, "21"),
        tariff_id=water, subject="Branchement neuf"))
    send_quote(ctx, saved.quote_id)
    approve_quote(ctx, saved.quote_id, "Adjoua Yao", ApprovalMethod.IN_PERSON)
    ordered = order_works(ctx, saved.quote_id)
    with ctx.reading() as session:
        job = session.scalars(select(InterventionRequest).where(
            InterventionRequest.number == ordered.request_number)).one()
    tech = technician(ctx, "Seydou TRAORÉ", Skill.WATER, Skill.METERS)
    version = place_job(ctx, job.id, job.version, tech, abidjan_time(next_monday(ctx), 9).astimezone(UTC))
    return saved.quote_id, job.id, workflow.start(ctx, job.id, version)



def ordered_prepaid_quote(agent: ServiceContext) -> tuple[uuid.UUID, uuid.UUID, str]:
    """The agency's one prepaid meter so far (its STS model), then a prospect's connection
    quote on the prepaid tariff, approved and ordered: (tariff, quote, job number)."""
    from app.models import Meter, Tariff
    from app.models.enums import ApprovalMethod, Civility, Energy, MeterPayment
    from app.services.works.catalogue import item_for, load_catalogue
    from app.services.works.quotes import (
        Prospect,
        QuoteInput,
        approve_quote,
        create_quote,
        order_works,
        send_quote,
    )
    from app.services.works.totals import LineInput
    from kernel.identifiers import make_drn, make_meter_serial

    agency = agent.installation.agency_id
    with agent.unit_of_work() as uow:  # the agency's prepaid meters so far: one, its STS model
        prepaid = uow.session.scalars(select(Tariff).where(
            Tariff.payment == MeterPayment.PREPAID)).one()
        uow.session.add(Meter(agency_id=agency, serial=make_meter_serial(Energy.ELECTRICITY, 5),
                              energy=Energy.ELECTRICITY, payment=MeterPayment.PREPAID, digits=6,
                              sts_drn=make_drn(4, 10_000_001), sts_iin="600727",
                              sts_sgc=600675, sts_tariff_index=1, sts_key_revision=2,
                              sts_key_type=2, sts_key_expiry=255, sts_algorithm="07",
                              sts_dkga="04", sts_base_date=2014, prepaid_tariff_id=prepaid.id))
        uow.commit()
        prepaid_id = prepaid.id
    item = item_for(load_catalogue(agent), "COFFRET")
    assert item is not None
    commune_id, street_id = street_of(agent)
    saved = create_quote(agent, QuoteInput(
        [LineInput(item.label, Decimal(1), item.unit_price_minor, item.vat_rate, item.unit,
                   catalogue_item_id=item.item_id)],
        prospect=Prospect(Civility.MR, "Bamba", "Issa", "0707070707", commune_id, street_id, "4"),
        tariff_id=prepaid_id))
    send_quote(agent, saved.quote_id)
    approve_quote(agent, saved.quote_id, "Issa Bamba", ApprovalMethod.IN_PERSON)
    ordered = order_works(agent, saved.quote_id)
    return prepaid_id, saved.quote_id, ordered.request_number

