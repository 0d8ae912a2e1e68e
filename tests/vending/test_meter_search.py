"""``Platform.search_meters`` (the desk's live central search, issue 17) on SQLite and
PostgreSQL: the cap, LIKE wildcards typed by the agent taken literally, another agency's meters
never listed, the organisation's name masked."""

from __future__ import annotations

import pytest

from app.models import Account, Customer
from app.models.capture import SYSTEM
from app.models.enums import CustomerKind
from central.agencies import add_agency
from central.vending.errors import VendingError
from central.vending.platform import SEARCH_LIMIT
from kernel.context import UnitOfWork

from .world import DRN_A, DRN_B, DRN_C, VendingWorld


def test_capped_literal_and_agency_bound(any_world: VendingWorld) -> None:
    platform, own = any_world.platform(), any_world.agency_id
    assert [m["meter"] for m in platform.search_meters("471", own, limit=2)] == [DRN_A, DRN_B]
    assert len(platform.search_meters("471", own)) <= SEARCH_LIMIT
    assert platform.search_meters("47_0", own) == [], "_ is not a wildcard"
    assert platform.search_meters("%%%", own) == [], "% is not a wildcard"
    other, _ = add_agency(any_world.db, "102", "Agence 102")
    assert platform.search_meters("471", other.id) == []
    assert platform.search_meters("kouassi", other.id) == []
    with pytest.raises(VendingError):
        platform.search_meters(" 4 7 ", own)


def test_an_organisation_is_found_by_its_name_and_masked(any_world: VendingWorld) -> None:
    meter = any_world.meters[DRN_C]
    with UnitOfWork(any_world.db, SYSTEM) as uow:
        account = uow.session.get(Account, meter.account_id)
        assert account is not None
        customer = uow.session.get(Customer, account.customer_id)
        assert customer is not None
        customer.kind = CustomerKind.ORGANISATION
        customer.organisation_name = "Boulangerie du Plateau"
        uow.commit()
    found = any_world.platform().search_meters("boulang", any_world.agency_id)
    assert [(m["meter"], m["owner"]) for m in found] == [(DRN_C, "B***")]
    assert "Boulangerie" not in repr(found)
