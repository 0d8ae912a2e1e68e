"""Management tokens at an agency's counter: supervisors and administrators only (checked by
central against its users), a reason, audited, stored with a receipt, idempotent; each token is
taken by a virtual meter built from central's record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import AuditEntry, Meter, User, VendTransaction
from app.models.capture import SYSTEM
from app.models.enums import Role
from central.meters.fleet import Fleet
from central.meters.store import MeterStore
from central.vending.diagnosis import meter_record
from central.vending.errors import VendingError
from central.vending.platform import DeskSeller, Platform
from kernel.context import UnitOfWork

from .world import DRN_A, DRN_B, DRN_C, VendingWorld


class Counter:
    def __init__(self, world: VendingWorld, tmp_path: Path) -> None:
        self.world = world
        self.platform: Platform = world.platform()
        self.fleet = Fleet(MeterStore(tmp_path / "meters.sqlite3"))
        with UnitOfWork(world.db, SYSTEM) as uow:
            for name, role in (("chef", Role.SUPERVISOR), ("akouassi", Role.AGENT)):
                uow.session.add(User(agency_id=world.agency_id, username=name,
                                     full_name=name.title(), role=role, password_hash="x"))
            uow.commit()
        self.n = 0

    def ask(self, agent: str, meter: str, kind: str, reason: str = "alarme après contrôle",
            watts: int | None = None, reference: str | None = None) -> tuple[object, bool]:
        self.n += 1
        return self.platform.issue_management(
            DeskSeller(self.world.agency_id, "101", agent), reference=reference or f"M-{self.n}",
            meter=meter, kind=kind, reason=reason, watts=watts)

    def meter(self, drn: str) -> None:
        with self.world.db.reading() as session:
            found = session.scalars(select(Meter).where(Meter.sts_drn == drn)).one()
            record = meter_record(found)
        self.fleet.load_records([record], self.platform.tokens.keys)  # type: ignore[union-attr]

    def rows(self) -> int:
        with self.world.db.reading() as session:
            return int(session.scalar(select(func.count()).select_from(VendTransaction)) or 0)


@pytest.fixture
def counter(any_world: VendingWorld, tmp_path: Path) -> Iterator[Counter]:
    """On SQLite and on PostgreSQL (the receipt numbered in one statement after the commit)."""
    yield Counter(any_world, tmp_path)


def test_an_agent_is_refused_and_nothing_is_written(counter: Counter) -> None:
    before = counter.rows()
    with pytest.raises(VendingError) as agent:
        counter.ask("akouassi", DRN_A, "clear_tamper")
    assert agent.value.status == 403 and "superviseurs" in agent.value.message
    with pytest.raises(VendingError) as nobody:
        counter.ask("inconnu", DRN_A, "clear_tamper")
    assert nobody.value.status == 403
    with pytest.raises(VendingError) as no_reason:
        counter.ask("chef", DRN_A, "clear_tamper", reason="  ")
    assert no_reason.value.code == "reason_missing"
    with pytest.raises(VendingError) as bad_power:
        counter.ask("chef", DRN_A, "power_limit", watts=5)
    assert bad_power.value.code == "power_invalid"
    assert counter.rows() == before


def test_each_token_is_taken_by_the_meter_stored_and_audited(counter: Counter) -> None:
    counter.meter(DRN_A)
    sale, _ = counter.platform.sell_at_desk(DeskSeller(counter.world.agency_id, "101", "chef"),
                                            reference="S-1", meter=DRN_A, amount_minor=2000,
                                            phone="0701020304")
    assert counter.fleet.enter(DRN_A, sale.token).accepted  # type: ignore[attr-defined]
    tamper, replayed = counter.ask("chef", DRN_A, "clear_tamper", reference="M-T")
    assert not replayed and tamper.receipt.startswith("RP")  # type: ignore[attr-defined]
    assert counter.fleet.enter(DRN_A, tamper.token).code == "management"  # type: ignore[attr-defined]
    again, replayed = counter.ask("chef", DRN_A, "clear_tamper", reference="M-T")
    assert replayed and again.token == tamper.token  # type: ignore[attr-defined]
    limit, _ = counter.ask("chef", DRN_A, "power_limit", watts=2300)
    assert counter.fleet.enter(DRN_A, limit.token).accepted  # type: ignore[attr-defined]
    assert counter.fleet.state(DRN_A)["power_limit_w"] == 2300
    cleared, _ = counter.ask("chef", DRN_A, "clear_credit")
    assert counter.fleet.enter(DRN_A, cleared.token).accepted  # type: ignore[attr-defined]
    assert counter.fleet.state(DRN_A)["credit_kwh"] == "0.000"
    with counter.world.db.reading() as session:
        row = session.scalars(select(VendTransaction).where(
            VendTransaction.receipt_number == cleared.receipt)).one()  # type: ignore[attr-defined]
        assert (row.amount_minor, row.token_class, row.token_subclass) == (0, 2, 1)
        assert row.sold_by == "chef"
        reasons = session.scalars(select(AuditEntry.reason).where(
            AuditEntry.row_id == row.id)).all()
    assert any("remise à zéro du crédit" in r and "alarme après contrôle" in r for r in reasons)


def test_a_key_change_set_only_when_the_key_must_change(counter: Counter) -> None:
    with pytest.raises(VendingError) as current:
        counter.ask("chef", DRN_A, "key_change")
    assert current.value.code == "key_current"
    counter.meter(DRN_C)
    change, _ = counter.ask("chef", DRN_C, "key_change")
    assert len(change.key_change_tokens) == 2 and change.token == ""  # type: ignore[attr-defined]
    for code in change.key_change_tokens:  # type: ignore[attr-defined]
        assert counter.fleet.enter(DRN_C, code).accepted
    assert counter.fleet.state(DRN_C)["key"]["krn"] == 2


def test_a_management_token_does_not_take_the_months_fixed_charge(counter: Counter) -> None:
    counter.ask("chef", DRN_B, "clear_tamper")
    assert counter.platform.quote(DRN_B, amount_minor=5000).split.fixed_charge_minor == 500
