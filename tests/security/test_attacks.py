"""Issue 10's findings 1–4, played by an attacker holding agency 102's credential against a
real central over HTTP: every forged write is refused (or parked with its reason) and nothing of
agency 101, nothing shared, and nothing of 102's own rows beyond its parked entries changes."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

import central.sync.numbering  # noqa: F401  (central numbers the commits of its sessions)
from app.models import Account, Customer, Meter, SyncConflict, Tariff, User
from app.models.capture import Actor, set_actor
from app.models.enums import Role
from central.models import SyncBatch
from tests.security.conftest import Scene

PAID = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _first(scene: Scene, model: Any, **where: Any) -> Any:
    with scene.db.reading() as session:
        query = select(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        found = session.scalars(query.order_by(model.id).limit(1)).first()
        assert found is not None, (model, where)
        session.expunge(found)
        return found


def payment(scene: Scene, account_id: uuid.UUID, amount: Any = 5_000,
            **values: Any) -> dict[str, Any]:
    return scene.b.insert("payment", {
        "receipt_number": f"R102-2026-{uuid.uuid4().int % 10**6:06d}", "account_id": account_id,
        "amount_minor": amount, "method": "cash", "paid_at": PAID, "received_by": "agent102",
        **values})


# --- finding 1: a foreign key to another agency's row ----------------------------------------
def _new_account(scene: Scene) -> Account:
    """A new account of 102's own customer, sent as its desk would (the attacks that park an
    entry on a row of 102 use one of their own: later entries pointing at it would wait)."""
    entry = scene.b.insert("account", {
        "number": f"102{uuid.uuid4().int % 10**8:08d}", "customer_id": scene.template.customer_b,
        "opened_on": date(2026, 12, 1)})
    assert scene.b.send([entry])["applied"] == 1
    return _first(scene, Account, id=uuid.UUID(entry["row"]))


def _cross_agency_entry(scene: Scene, attack: str) -> dict[str, Any]:
    a_customer = _first(scene, Customer, agency_id=scene.a_id)
    if attack == "payment on 101's account":
        return payment(scene, scene.template.account_a, 5_000_000)
    if attack == "reading of 101's meter":
        return scene.b.insert("meter_reading", {
            "meter_id": _first(scene, Meter, agency_id=scene.a_id).id,
            "reading_date": date(2026, 12, 1), "read_at": PAID, "index_value": 999_999})
    if attack == "own account moved under 101's customer":
        account = _new_account(scene)
        return scene.b.update("account", account.id, account.version,
                              {"customer_id": (account.customer_id, a_customer.id)})
    assert attack == "new account of 101's customer"
    return scene.b.insert("account", {
        "number": f"102{uuid.uuid4().int % 10**8:08d}", "customer_id": a_customer.id,
        "opened_on": date(2026, 12, 1)})


@pytest.mark.parametrize("attack", ["payment on 101's account", "reading of 101's meter",
                                    "own account moved under 101's customer",
                                    "new account of 101's customer"])
def test_a_row_pointing_at_another_agencys_row_is_refused(scene: Scene, attack: str) -> None:
    entry = _cross_agency_entry(scene, attack)
    before, head = scene.snapshot(), scene.head()
    answer = scene.b.send([entry])
    assert answer["applied"] == 0 and answer["parked"] == 1, answer
    scene.assert_untouched(before, head)


# --- finding 2: rows shared by every agency ---------------------------------------------------
def _shared_rewrites(scene: Scene, who: Any) -> list[dict[str, Any]]:
    admin = _first(scene, User, role=Role.ADMINISTRATOR)
    tariff = _first(scene, Tariff)
    return [
        who.entry("app_user", admin.id, "update",
                  {"password_hash": [admin.password_hash, "$argon2id$v=19$forged"]},
                  base=admin.version, new=admin.version + 1),
        who.entry("app_user", uuid.uuid4(), "insert", {
            "username": ["", "intrus"], "full_name": ["", "Intrus"],
            "role": [None, "administrator"], "password_hash": [None, "$argon2id$forged"],
            "is_active": [None, True], "agency_id": [None, None]}),
        who.entry("tariff", tariff.id, "update", {"fixed_charge_minor": [
            tariff.fixed_charge_minor, 0]}, base=tariff.version, new=tariff.version + 1),
        who.entry("tariff", tariff.id, "insert", {
            "code": [None, tariff.code], "name": [None, tariff.name],
            "fixed_charge_minor": [None, 0], "agency_id": [None, None]},
            new=tariff.version + 5),
        who.entry("commune", uuid.uuid4(), "insert", {
            "code": [None, "X999"], "name": [None, "Nulle part"], "agency_id": [None, None]}),
        who.entry("app_user", admin.id, "delete", {}, base=admin.version,
                  new=admin.version + 1),
    ]


def test_a_new_agency_adopting_cannot_write_shared_rows(scene: Scene) -> None:
    new = scene.new_agency()
    before, head = scene.snapshot(), scene.head()
    assert new.state()["adopted"] is False
    answer = new.send(_shared_rewrites(scene, new), kind="adoption")
    assert answer["applied"] == 0, answer
    scene.assert_untouched(before, head)


def test_an_adopted_agency_cannot_write_shared_rows(scene: Scene) -> None:
    before, head = scene.snapshot(), scene.head()
    answer = scene.b.send(_shared_rewrites(scene, scene.b))
    assert answer["applied"] == 0, answer
    scene.assert_untouched(before, head)


def test_adoption_ends_even_when_the_desk_never_closes_it(scene: Scene) -> None:
    new = scene.new_agency()
    customer = new.insert("customer", {"last_name": "Adoptée"})
    assert new.send([customer], kind="adoption")["applied"] == 1
    assert new.state()["adopted"] is False
    with scene.db.session() as session, session.begin():
        session.execute(update(SyncBatch).where(SyncBatch.agency_id == new.agency_id)
                        .values(received_at=datetime.now(UTC) - timedelta(days=8)))
    assert new.state()["adopted"] is True
    late = new.post([new.insert("customer", {"last_name": "Tard"})], kind="adoption")
    assert late.status_code == 409 and late.json()["error"] == "adoption_refused"


def test_a_batch_of_changes_ends_adoption(scene: Scene) -> None:
    new = scene.new_agency()
    new.send([new.insert("customer", {"last_name": "Adoptée"})], kind="adoption")
    new.send([new.insert("customer", {"last_name": "Nouvelle"})])
    assert new.state()["adopted"] is True
    late = new.post([new.insert("customer", {"last_name": "Tard"})], kind="adoption")
    assert late.status_code == 409


def test_adoption_carries_only_inserts_of_the_agencys_own_rows(scene: Scene) -> None:
    new = scene.new_agency()
    a_customer = _first(scene, Customer, agency_id=scene.a_id)
    before, head = scene.snapshot(), scene.head()
    answer = new.send([
        new.entry("customer", a_customer.id, "update",
                  {"last_name": [a_customer.last_name, "Volé"]},
                  base=a_customer.version, new=a_customer.version + 1),
        new.insert("customer", {"last_name": "Volé", "agency_id": scene.a_id}),
        new.entry("customer", a_customer.id, "insert", {
            "last_name": [None, "Volé"], "agency_id": [None, str(new.agency_id)]},
            new=a_customer.version + 3),
    ], kind="adoption")
    assert answer["applied"] == 0 and answer["refused"] == 3, answer
    scene.assert_untouched(before, head)


# --- finding 3: forged conflict resolutions ---------------------------------------------------
def _open_conflict(scene: Scene) -> tuple[SyncConflict, str]:
    """A genuine conflict on 102's customer: central and the desk changed its mobile (the
    conflict and the desk's value)."""
    customer = _first(scene, Customer, id=scene.template.customer_b)
    ours, theirs = (f"07{uuid.uuid4().int % 10**8:08d}" for _ in range(2))
    with scene.db.session() as session:
        set_actor(session, Actor(username="siège"))
        row = session.get(Customer, customer.id)
        assert row is not None
        row.mobile = theirs
        session.commit()
    answer = scene.b.send([scene.b.update("customer", customer.id, customer.version,
                                          {"mobile": (customer.mobile, ours)})])
    assert answer["conflicts"] == 1, answer
    with scene.db.reading() as session:
        (conflict,) = [c for c in session.scalars(select(SyncConflict).where(
            SyncConflict.row_id == customer.id, SyncConflict.status == "open"))
            if c.incoming_value == ours]
        session.expunge(conflict)
    return conflict, ours


def _answer(scene: Scene, conflict: SyncConflict, **fields: tuple[Any, Any]) -> dict[str, Any]:
    values = {"status": ("open", "resolved"), "resolved_by": ("", "superviseur"), **fields}
    return scene.b.update("sync_conflict", conflict.id, conflict.version, values)


def test_a_resolution_cannot_retarget_a_conflict(scene: Scene) -> None:
    conflict, _ours = _open_conflict(scene)
    before, head = scene.snapshot(), scene.head()
    answer = scene.b.send([_answer(
        scene, conflict, table_name=("customer", "account"),
        row_id=(conflict.row_id, scene.template.account_b), field=("mobile", "balance_minor"),
        choice=(None, "custom"), chosen_value=(None, 0))])
    assert answer["applied"] == 0, answer
    scene.assert_untouched(before, head)


def test_a_resolution_cannot_move_a_row_into_another_agency(scene: Scene) -> None:
    conflict, _ours = _open_conflict(scene)
    before, head = scene.snapshot(), scene.head()
    answer = scene.b.send([_answer(scene, conflict, field=("mobile", "agency_id"),
                                   choice=(None, "custom"),
                                   chosen_value=(None, str(scene.a_id)))])
    assert answer["applied"] == 0, answer
    scene.assert_untouched(before, head)
    assert _first(scene, Customer, id=scene.template.customer_b).agency_id \
        == scene.template.agency_b


def test_a_conflict_the_desk_made_up_is_not_a_conflict(scene: Scene) -> None:
    b_account = _first(scene, Account, id=scene.template.account_b)
    before, head = scene.snapshot(), scene.head()
    forged = scene.b.insert("sync_conflict", {
        "table_name": "account", "row_id": b_account.id, "field": "balance_minor",
        "detected_by": "agency", "base_version": 1, "current_version": 1,
        "incoming_value": -777_777, "status": "resolved", "choice": "incoming",
        "resolved_by": "superviseur"})
    answer = scene.b.send([forged])
    assert answer["applied"] == 0, answer
    answer = scene.b.send([scene.b.update("sync_conflict", uuid.UUID(forged["row"]), 1,
                                          {"status": ("open", "resolved"),
                                           "choice": (None, "incoming")})])
    assert answer["applied"] == 0, answer
    scene.assert_untouched(before, head)


def test_a_resolved_conflict_is_not_resolved_again(scene: Scene) -> None:
    conflict, ours = _open_conflict(scene)
    answer = scene.b.send([_answer(scene, conflict, choice=(None, "incoming"))])
    assert answer["applied"] == 1, answer
    assert _first(scene, Customer, id=scene.template.customer_b).mobile == ours
    resolved = _first(scene, SyncConflict, id=conflict.id)
    before, head = scene.snapshot(), scene.head()
    again = scene.b.update("sync_conflict", conflict.id, resolved.version, {
        "choice": ("incoming", "custom"), "chosen_value": (ours, "0799999999")})
    assert scene.b.send([again])["applied"] == 0
    scene.assert_untouched(before, head)
    assert _first(scene, Customer, id=scene.template.customer_b).mobile == ours


# --- finding 4: central-owned fields on insert ------------------------------------------------
def test_an_inserted_row_keeps_centrals_value_of_central_owned_fields(scene: Scene) -> None:
    before, head = scene.snapshot(), scene.head()
    account = scene.b.insert("account", {
        "number": f"102{uuid.uuid4().int % 10**8:08d}", "customer_id": scene.template.customer_b,
        "opened_on": date(2026, 12, 1), "balance_minor": -777_777,
        "balance_as_of": datetime(2030, 1, 1, tzinfo=UTC)})
    answer = scene.b.send([account])
    assert answer["refused"] == 1, answer
    stored = _first(scene, Account, id=uuid.UUID(account["row"]))
    assert (stored.balance_minor, stored.balance_as_of) == (0, None)
    scene.assert_untouched(before, head, b_may_change=("account",))
    down = [e for e in scene.b.changes_after(head) if e["row"] == account["row"]]
    assert down and down[-1]["changes"]["balance_minor"] == [-777_777, 0]
