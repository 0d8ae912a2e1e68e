"""Versions that differ: field-level merge with central's journal, owner rules, the conflict
queue, and resolutions coming back up from a desk."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.models import Account, Customer, SyncConflict
from app.models.capture import SYSTEM
from app.models.sync import ConflictStatus
from kernel.context import UnitOfWork
from tests.central.sync.kit import Central


def _central_edit(central: Central, model: Any, row_id: uuid.UUID, **values: Any) -> None:
    with UnitOfWork(central.db, SYSTEM) as uow:
        row = uow.session.get(model, row_id)
        for name, value in values.items():
            setattr(row, name, value)
        uow.commit()


def _row(central: Central, model: Any, row_id: uuid.UUID) -> Any:
    with central.db.reading() as session:
        return session.get(model, row_id)


def _customer_id(central: Central, code: str) -> uuid.UUID:
    return _row(central, Account, central.subs[code].account_id).customer_id  # type: ignore[no-any-return]


def _conflicts(central: Central) -> list[SyncConflict]:
    with central.db.reading() as session:
        return list(session.scalars(select(SyncConflict).order_by(SyncConflict.created_at)))


def test_fields_changed_on_one_side_each_are_merged_into_a_new_central_version(
        central: Central) -> None:
    desk = central.desks["101"]
    customer = _customer_id(central, "101")
    _central_edit(central, Customer, customer, phone="0101010101")
    answer = desk.send([desk.entry("customer", customer, "update", 1, 2,
                                   {"email": ("", "client@exemple.ci")})])
    assert (answer["merged"], answer["applied"], answer["conflicts"]) == (1, 0, 0)
    row = _row(central, Customer, customer)
    assert (row.email, row.phone, row.version) == ("client@exemple.ci", "0101010101", 3)
    assert _conflicts(central) == []
    page = desk.get("changes", after=0, limit=1000)
    merges = [e for c in page["commits"] for e in c["entries"]
              if e["row"] == str(customer) and e["new"] == 3]
    assert len(merges) == 1
    assert merges[0]["changes"]["phone"][1] == "0101010101"
    assert merges[0]["changes"]["email"][1] == "client@exemple.ci"


def test_a_shared_field_changed_on_both_sides_keeps_central_value_and_opens_a_conflict(
        central: Central) -> None:
    desk = central.desks["101"]
    customer = _customer_id(central, "101")
    old_name = _row(central, Customer, customer).last_name
    _central_edit(central, Customer, customer, last_name="Central")
    answer = desk.send([desk.entry("customer", customer, "update", 1, 2,
                                   {"last_name": (old_name, "Guichet")})])
    assert (answer["conflicts"], answer["merged"]) == (1, 0)
    row = _row(central, Customer, customer)
    assert (row.last_name, row.version) == ("Central", 3)
    (conflict,) = _conflicts(central)
    assert (conflict.agency_id, conflict.table_name, conflict.row_id, conflict.field) == (
        desk.agency_id, "customer", customer, "last_name")
    assert (conflict.old_value, conflict.incoming_value, conflict.current_value) == (
        old_name, "Guichet", "Central")
    assert conflict.status is ConflictStatus.OPEN and conflict.batch_number == 1
    downloaded = [e for c in desk.get("changes", after=0)["commits"] for e in c["entries"]
                  if e["table"] == "sync_conflict"]
    assert [e["row"] for e in downloaded] == [str(conflict.id)]

    resolution = desk.entry("sync_conflict", conflict.id, "update", conflict.version,
                            conflict.version + 1,
                            {"status": ("open", "resolved"), "choice": (None, "incoming"),
                             "resolved_by": ("", "superviseur")})
    assert desk.send([resolution])["applied"] == 1
    row = _row(central, Customer, customer)
    assert (row.last_name, row.version) == ("Guichet", 4)
    assert _conflicts(central)[0].status is ConflictStatus.RESOLVED


def test_agency_owned_field_wins_and_central_owned_field_is_refused(central: Central) -> None:
    desk = central.desks["101"]
    account = central.subs["101"].account_id
    _central_edit(central, Account, account, payment_mode="cheque")
    answer = desk.send([desk.entry("account", account, "update", 1, 2,
                                   {"payment_mode": ("cash", "mobile_money")})])
    assert answer["merged"] == 1
    row = _row(central, Account, account)
    assert (row.payment_mode.value, row.version) == ("mobile_money", 3)

    answer = desk.send([desk.entry("account", account, "update", 3, 4,
                                   {"balance_minor": (0, 999), "status": ("active", "suspended")})])
    assert answer["refused"] == 1 and answer["applied"] == 0
    row = _row(central, Account, account)
    assert (row.balance_minor, row.status.value) == (0, "suspended")
    assert row.version == 5
    resent = [e for c in desk.get("changes", after=0)["commits"] for e in c["entries"]
              if e["row"] == str(account) and e["new"] == 5]
    assert resent and resent[0]["changes"]["balance_minor"] == [999, 0]


def test_deleting_a_row_central_changed_is_a_conflict_and_the_row_goes_back_down(
        central: Central) -> None:
    desk = central.desks["101"]
    customer = uuid.uuid4()
    desk.send([desk.insert("customer", {"last_name": "Éphémère"}, row=customer)])
    _central_edit(central, Customer, customer, notes="vu au central")
    answer = desk.send([desk.entry("customer", customer, "delete", 1, 2,
                                   {"last_name": ("Éphémère", None)})])
    assert answer["conflicts"] == 1
    assert _row(central, Customer, customer).notes == "vu au central"
    (conflict,) = _conflicts(central)
    assert conflict.field == "*"
    back = [e for c in desk.get("changes", after=0)["commits"] for e in c["entries"]
            if e["row"] == str(customer) and e["op"] == "insert"]
    assert back and back[-1]["changes"]["notes"][1] == "vu au central"


def test_an_update_of_another_agencys_row_is_refused(central: Central) -> None:
    desk = central.desks["101"]
    foreign = _customer_id(central, "102")
    answer = desk.send([desk.entry("customer", foreign, "update", 1, 2,
                                   {"last_name": ("x", "Intrus")})])
    assert answer["refused"] == 1
    assert _row(central, Customer, foreign).last_name != "Intrus"
