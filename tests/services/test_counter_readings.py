"""Readings at the counter: estimates are not readings, vacant premises are flagged, a meter
with no history is compared with its category, a supervisor corrects a wrong index."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, update

from app.models import AuditEntry, Contract, Meter, MeterReading, SyncJournalEntry
from app.models.capture import SYSTEM
from app.models.enums import ContractStatus, ReadingKind, ReadingSource, Role
from app.models.ids import utcnow
from app.services.readings import (
    UnusualConsumptionError,
    VacantPremiseWarning,
    correct_reading,
    record_reading,
    vacant_premise_readings,
)
from kernel.context import ServiceContext, SignedInUser, UnitOfWork
from kernel.errors import BusinessError, PermissionDeniedError, ValidationError
from tests.services.helpers import day_ago, household


def _as(ctx: ServiceContext, role: Role) -> ServiceContext:
    return ctx.signed_in(SignedInUser(uuid.uuid4(), role.value, f"Awa {role.value.title()}", role))


def _estimate(ctx: ServiceContext, meter_id: uuid.UUID, days_ago: int, index: int) -> uuid.UUID:
    with UnitOfWork(ctx.db, SYSTEM, from_server=True) as uow:
        reading = MeterReading(agency_id=ctx.installation.agency_id, meter_id=meter_id,
                               reading_date=day_ago(ctx, days_ago), read_at=utcnow(), index_value=index,
                               source=ReadingSource.ESTIMATE, kind=ReadingKind.REGULAR, consumption=30,
                               recorded_by="facturation")
        uow.session.add(reading)
        uow.commit()
        return reading.id


def test_a_real_index_below_centrals_estimate_is_taken(ctx: ServiceContext) -> None:
    home = household(ctx)  # last real index 220, 30 days ago
    _estimate(ctx, home.meter_id, 2, 260)  # central guessed too high
    recorded = record_reading(ctx, home.meter_id, day_ago(ctx, 0), 245)
    assert recorded.consumption == 25  # against the last real index, not the estimate
    with ctx.reading() as session:
        reading = session.get(MeterReading, recorded.reading_id)
        assert reading is not None and reading.kind is ReadingKind.REGULAR
    with pytest.raises(ValidationError, match="inférieur au précédent \\(245"):
        record_reading(ctx, home.meter_id, day_ago(ctx, 0), 240)


def test_a_reading_on_a_vacant_premise_is_warned_recorded_as_such_and_listed(ctx: ServiceContext) -> None:
    home = household(ctx)
    with UnitOfWork(ctx.db, SYSTEM) as uow:
        uow.session.execute(update(Contract).where(Contract.id == home.contract_id)
                            .values(status=ContractStatus.CLOSED, end_date=day_ago(ctx, 20)))
        uow.commit()
    with pytest.raises(VacantPremiseWarning, match="local vacant"):
        record_reading(ctx, home.meter_id, day_ago(ctx, 0), 260)
    recorded = record_reading(ctx, home.meter_id, day_ago(ctx, 0), 260, confirmed_vacant=True)
    assert recorded.on_vacant_premise
    (listed,) = vacant_premise_readings(ctx, day_ago(ctx, 7))
    assert (listed.reading_id, listed.index_value, listed.consumption) == (recorded.reading_id, 260, 40)
    assert vacant_premise_readings(ctx, day_ago(ctx, -1)) == []
    occupied = household(ctx, last_name="Bamba")
    assert not record_reading(ctx, occupied.meter_id, day_ago(ctx, 0), 250).on_vacant_premise


def test_a_meter_with_no_history_is_compared_with_its_category(ctx: ServiceContext) -> None:
    household(ctx, last_name="Yao")  # peers: 1 m³ a day under the same tariff
    household(ctx, last_name="Bamba")
    new = household(ctx, readings=[], last_name="Traoré")
    with UnitOfWork(ctx.db, SYSTEM) as uow:
        uow.session.execute(update(Meter).where(Meter.id == new.meter_id)
                            .values(installed_on=day_ago(ctx, 10), initial_index=0))
        uow.commit()
    with pytest.raises(UnusualConsumptionError) as unusual:
        record_reading(ctx, new.meter_id, day_ago(ctx, 0), 99_987)
    assert "même catégorie" in unusual.value.message and "par jour" in unusual.value.message
    assert "99\u202f987\xa0m³" in unusual.value.message and "(s)" not in unusual.value.message
    assert record_reading(ctx, new.meter_id, day_ago(ctx, 0), 12).consumption == 12


def test_only_a_supervisor_corrects_a_reading_with_a_reason(ctx: ServiceContext) -> None:
    home = household(ctx)
    recorded = record_reading(ctx, home.meter_id, day_ago(ctx, 0), 290)  # typed 290 for 250
    with pytest.raises(PermissionDeniedError):
        correct_reading(_as(ctx, Role.AGENT), recorded.reading_id, 250, "index mal lu")
    supervisor = _as(ctx, Role.SUPERVISOR)
    with pytest.raises(ValidationError) as error:
        correct_reading(supervisor, recorded.reading_id, 250, "")
    assert "reason" in error.value.fields
    with pytest.raises(ValidationError, match="inférieur à la relève précédente \\(220"):
        correct_reading(supervisor, recorded.reading_id, 200, "index mal lu")
    done = correct_reading(supervisor, recorded.reading_id, 250, "index mal lu sur le cadran")
    assert (done.old_index, done.new_index) == (290, 250)
    with ctx.reading() as session:
        reading = session.get(MeterReading, recorded.reading_id)
        assert reading is not None and (reading.index_value, reading.corrected_from_index) == (250, 290)
        audit = session.scalars(select(AuditEntry).where(AuditEntry.row_id == recorded.reading_id,
                                                         AuditEntry.reason != "")).one()
        assert audit.changes["index_value"] == [290, 250] and "index mal lu sur le cadran" in audit.reason
        assert audit.username == "supervisor"
        journal = session.scalars(select(SyncJournalEntry).where(
            SyncJournalEntry.row_id == recorded.reading_id, SyncJournalEntry.operation == "update")).one()
        assert journal.changes["index_value"] == [290, 250] and "consumption" not in journal.changes
    estimate = _estimate(ctx, home.meter_id, 0, 300)
    with pytest.raises(BusinessError, match="estimation ne se corrige pas"):
        correct_reading(supervisor, estimate, 280, "estimation trop haute")


# --- move-in tariff --------------------------------------------------------------------------


def test_move_in_proposes_the_previous_tariff_and_takes_the_one_chosen(ctx: ServiceContext) -> None:
    from app.models import Tariff
    from app.services.occupancy import change_occupant, tariff_choices

    home = household(ctx)
    with ctx.reading() as session:
        previous = session.get(Contract, home.contract_id)
        assert previous is not None
        version, old_tariff = previous.version, previous.tariff_id
        base = session.get(Tariff, old_tariff)
        assert base is not None
        energy, payment = base.energy, base.payment
    with UnitOfWork(ctx.db, SYSTEM) as uow:  # a second tariff for this kind of connection
        social = Tariff(code="EAU-SOC", name="Eau tranche sociale", energy=energy, payment=payment,
                        vat_rate=base.vat_rate, valid_from=day_ago(ctx, 900))
        expired = Tariff(code="EAU-OLD", name="Eau ancien barème", energy=energy, payment=payment,
                         vat_rate=base.vat_rate, valid_from=day_ago(ctx, 2000), valid_to=day_ago(ctx, 1000))
        uow.session.add_all([social, expired])
        uow.commit()
        social_id, expired_id = social.id, expired.id
    choices = tariff_choices(ctx, home.connection_id, day_ago(ctx, 0))
    names = [name for _, name in choices.options]
    assert "Eau tranche sociale (EAU-SOC)" in names and all("ancien" not in n for n in names)
    assert choices.proposed == old_tariff and "précédent abonnement" in choices.why
    with pytest.raises(ValidationError) as refused:
        change_occupant(ctx, home.connection_id, day_ago(ctx, 0), 240,
                        leaving=(home.contract_id, version), arriving_account_id=home.account_id,
                        tariff_id=expired_id)
    assert "tariff" in refused.value.fields
    done = change_occupant(ctx, home.connection_id, day_ago(ctx, 0), 240,
                           leaving=(home.contract_id, version), arriving_account_id=home.account_id,
                           tariff_id=social_id)
    assert done.tariff_name == "Eau tranche sociale"
    with ctx.reading() as session:
        opened = session.get(Contract, done.opened_contract_id)
        assert opened is not None and opened.tariff_id == social_id
