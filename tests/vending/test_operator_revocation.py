"""A revoked or replaced operator credential sells nothing from the moment it is revoked, even
while a server process still holds it as recognised (the purchase checks it in its first
statement); a replayed reference on it is refused too, and nothing is written."""

from __future__ import annotations

from sqlalchemy import func, select

from app.models import VendTransaction
from central.models import VendingRequest
from central.vending.errors import VendingError
from central.vending.operators import (
    authenticate_operator,
    new_operator_secret,
    revoke_operator,
)

from .world import DRN_A, VendingWorld


def _refused(call: object, **kwargs: object) -> VendingError:
    try:
        call(**kwargs)  # type: ignore[operator]
    except VendingError as error:
        return error
    raise AssertionError("the purchase went through")


def test_a_revoked_credential_sells_nothing_at_once(any_world: VendingWorld) -> None:
    world = any_world
    platform = world.platform()
    _moov, secret = world.operator()
    recognised = authenticate_operator(world.db, secret)  # what the server keeps a moment
    assert recognised is not None
    sold, _ = platform.purchase(recognised, reference="R1", meter=DRN_A, amount_minor=2000,
                                phone="0701020304")
    revoke_operator(world.db, "moov")
    error = _refused(platform.purchase, operator=recognised, reference="R2", meter=DRN_A,
                     amount_minor=2000, phone="0701020304")
    assert (error.status, error.code) == (401, "unauthorized")
    replay = _refused(platform.purchase, operator=recognised, reference="R1", meter=DRN_A,
                      amount_minor=2000, phone="0701020304")
    assert replay.code == "unauthorized", "not even the sale already made"
    with world.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(VendTransaction)) == 1
        assert session.scalar(select(func.count()).select_from(VendingRequest)) == 1
    assert sold.receipt.endswith("000001")


def test_a_replaced_credential_stops_and_the_new_one_sells(any_world: VendingWorld) -> None:
    world = any_world
    platform = world.platform()
    _moov, secret = world.operator()
    old = authenticate_operator(world.db, secret)
    assert old is not None
    fresh = authenticate_operator(world.db, new_operator_secret(world.db, "moov"))
    assert fresh is not None
    error = _refused(platform.purchase, operator=old, reference="N1", meter=DRN_A,
                     amount_minor=2000, phone="0701020304")
    assert error.code == "unauthorized"
    sale, replayed = platform.purchase(fresh, reference="N1", meter=DRN_A, amount_minor=2000,
                                       phone="0701020304")
    assert not replayed and sale.receipt.endswith("000001")
    again, replayed = platform.purchase(fresh, reference="N1", meter=DRN_A, amount_minor=2000,
                                        phone="0701020304")
    assert replayed and again.token == sale.token
