"""The live central search (issue 17): a meter the desk does not know yet (installed today, not
synced) is looked for on central with the agency's credential, through a real central process:
start of the DRN, of the serial or of the holder's name; owners masked; short text refused;
central down said in French."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.services.prepaid_desk import CentralUnreachable, VendingDesk, VendRefused
from app.sync.endpoint import Endpoint
from central.embedded import free_port
from tests.vending.world import DRN_A, DRN_B, DRN_OLD, DRN_STOCK

from .conftest import Central, key_change_meter, pending_store


@pytest.fixture
def desk(central: Central, tmp_path: Path) -> Iterator[VendingDesk]:
    with VendingDesk(central.endpoint, pending_store(tmp_path)) as opened:
        yield opened


def test_start_of_the_number_finds_the_agencys_meter(desk: VendingDesk) -> None:
    found = desk.search(DRN_A[:10]).meters
    assert [m.meter for m in found] == [DRN_A]
    assert found[0].owner == "K*** A." and "prépayée" in found[0].tariff
    # spaces and dashes typed from the card are ignored
    spaced = desk.search(f"{DRN_B[:4]} {DRN_B[4:8]}-{DRN_B[8:]}").meters
    assert [m.meter for m in spaced] == [DRN_B]


def test_start_of_the_holders_name_finds_the_meter_masked(desk: VendingDesk) -> None:
    found = desk.search("  KOUAS ").meters
    assert [m.meter for m in found] == [DRN_A]
    assert "Kouassi" not in repr(found) and found[0].owner == "K*** A."
    bamba = {m.meter for m in desk.search("bamba").meters}
    assert {key_change_meter(1), key_change_meter(2)} <= bamba


def test_only_installed_prepaid_meters_and_a_capped_answer(desk: VendingDesk) -> None:
    every = {m.meter for m in desk.search("471").meters}
    assert DRN_A in every and DRN_B in every
    assert DRN_OLD not in every and DRN_STOCK not in every, "removed or in stock: not sold"
    assert len(every) <= 20
    assert desk.search("9999999").meters == ()


def test_too_short_a_text_is_refused_in_french(desk: VendingDesk) -> None:
    with pytest.raises(VendRefused) as short:
        desk.search("47")
    assert short.value.code == "search_too_short" and "au moins 3" in str(short.value)


def test_central_down_is_said_plainly(central: Central, tmp_path: Path) -> None:
    down = Endpoint(f"http://127.0.0.1:{free_port()}", central.endpoint.credential, "101")
    with VendingDesk(down, pending_store(tmp_path)) as desk, \
            pytest.raises(CentralUnreachable) as problem:
        desk.search(DRN_A[:6])
    assert "ne répond pas" in str(problem.value)
