from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import Contract, Meter, MeterReading
from app.models.enums import ContractStatus, Energy, MeterStatus, ReadingKind
from app.services.occupancy import change_occupant
from app.services.readings import (
    NewMeterInput,
    UnusualConsumptionError,
    record_reading,
    replace_meter,
)
from kernel.context import ServiceContext
from kernel.errors import BusinessError, ValidationError
from kernel.identifiers import make_meter_serial
from tests.services.helpers import day_ago, household


def test_a_normal_reading_is_recorded(ctx: ServiceContext) -> None:
    home = household(ctx)
    recorded = record_reading(ctx, home.meter_id, day_ago(ctx, 0), 250)
    assert recorded.consumption == 30


def test_the_index_cannot_go_down_without_a_reason(ctx: ServiceContext) -> None:
    home = household(ctx)
    with pytest.raises(ValidationError) as error:
        record_reading(ctx, home.meter_id, day_ago(ctx, 0), 200)
    assert "inférieur au précédent (220" in error.value.fields["index_value"]
    assert "Passage par zéro" in error.value.fields["index_value"]


def test_a_register_rollover_counts_through_zero(ctx: ServiceContext) -> None:
    home = household(ctx, readings=[(60, 99950), (30, 99980)])
    recorded = record_reading(ctx, home.meter_id, day_ago(ctx, 0), 10, rollover=True)
    assert recorded.consumption == 99999 - 99980 + 1 + 10
    with pytest.raises(ValidationError, match="pas un passage par zéro"):
        record_reading(ctx, home.meter_id, day_ago(ctx, 0), 20, rollover=True)


def test_an_unusual_consumption_asks_for_confirmation(ctx: ServiceContext) -> None:
    home = household(ctx)
    with pytest.raises(UnusualConsumptionError) as unusual:
        record_reading(ctx, home.meter_id, day_ago(ctx, 0), 900)
    assert unusual.value.consumption == 680 and "Confirmez" in unusual.value.message
    assert record_reading(ctx, home.meter_id, day_ago(ctx, 0), 900, confirmed_unusual=True).consumption == 680


def test_future_dates_and_oversized_indexes_are_refused(ctx: ServiceContext) -> None:
    home = household(ctx)
    with pytest.raises(ValidationError, match="futur"):
        record_reading(ctx, home.meter_id, day_ago(ctx, -1), 300)
    with pytest.raises(ValidationError, match="entre 0 et 99999"):
        record_reading(ctx, home.meter_id, day_ago(ctx, 0), 123456)


def test_a_meter_change_removes_the_old_and_installs_the_new(ctx: ServiceContext) -> None:
    home = household(ctx)
    with ctx.reading() as session:
        version = session.get(Meter, home.meter_id).version  # type: ignore[union-attr]
    serial = make_meter_serial(Energy.WATER, 77_000_001)
    new_id = replace_meter(ctx, home.meter_id, version, day_ago(ctx, 1), 235,
                           NewMeterInput(serial=serial, digits=5, initial_index=3))
    with ctx.reading() as session:
        old = session.get(Meter, home.meter_id)
        new = session.get(Meter, new_id)
        assert old is not None and new is not None
        assert old.status is MeterStatus.REMOVED and new.status is MeterStatus.INSTALLED
        kinds = {(r.meter_id, r.kind, r.index_value) for r in session.scalars(
            select(MeterReading).where(MeterReading.reading_date == day_ago(ctx, 1)))}
    assert kinds == {(home.meter_id, ReadingKind.METER_REMOVED, 235), (new_id, ReadingKind.METER_INSTALLED, 3)}
    assert record_reading(ctx, new_id, day_ago(ctx, 0), 10).consumption == 7
    with pytest.raises(BusinessError, match="plus posé"):
        record_reading(ctx, home.meter_id, day_ago(ctx, 0), 300)


def test_move_out_and_move_in_in_one_go(ctx: ServiceContext) -> None:
    leaving = household(ctx)
    from app.models.enums import Civility
    from app.services.customer_edit import create_customer
    from tests.services.helpers import new_customer_input

    newcomer = create_customer(ctx, new_customer_input(ctx, last_name="Traoré", first_name="Moussa",
                                                       civility=Civility.MR, mobile="0505050505"))
    with ctx.reading() as session:
        version = session.get(Contract, leaving.contract_id).version  # type: ignore[union-attr]
    change = change_occupant(ctx, leaving.connection_id, day_ago(ctx, 0), 240,
                             leaving=(leaving.contract_id, version), arriving_account_id=newcomer.account_id)
    with ctx.reading() as session:
        old = session.get(Contract, leaving.contract_id)
        new = session.get(Contract, change.opened_contract_id)
        assert old is not None and new is not None
        assert (old.status, old.end_date) == (ContractStatus.CLOSED, day_ago(ctx, 0))
        assert (new.status, new.start_date, new.account_id) == (ContractStatus.ACTIVE, day_ago(ctx, 0), newcomer.account_id)
        assert session.get(MeterReading, old.move_out_reading_id).kind is ReadingKind.MOVE_OUT  # type: ignore[union-attr]
        assert session.get(MeterReading, new.move_in_reading_id).index_value == 240  # type: ignore[union-attr]
    assert change.opened_contract_number and change.opened_contract_number.startswith("AB101-")
    with pytest.raises(BusinessError, match="abonnement en cours"):
        change_occupant(ctx, leaving.connection_id, day_ago(ctx, 0), 240, leaving=None,
                        arriving_account_id=leaving.account_id)


def test_a_failed_move_in_keeps_the_move_out_unwritten(ctx: ServiceContext) -> None:
    leaving = household(ctx)
    with ctx.reading() as session:
        version = session.get(Contract, leaving.contract_id).version  # type: ignore[union-attr]
    with pytest.raises(ValidationError):
        change_occupant(ctx, leaving.connection_id, day_ago(ctx, 0), 100,  # below the last index
                        leaving=(leaving.contract_id, version), arriving_account_id=leaving.account_id)
    with ctx.reading() as session:
        assert session.get(Contract, leaving.contract_id).status is ContractStatus.ACTIVE  # type: ignore[union-attr]
