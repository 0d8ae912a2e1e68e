"""Adoption of a desk's data by a new central, closed by ``POST adopted``; ``POST close`` bills
the agency's previous month once."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select

from app.models import Account, Commune, Customer, Invoice, Tariff
from app.services.money import Currency
from central.agencies import add_agency
from central.sync.closing import close
from central.sync.state import Agency
from tests.central.sync.kit import Central, Desk


def _new_agency(central: Central) -> Desk:
    info, secret = add_agency(central.db, "103", "Agence 103")
    return Desk("103", info.id, secret, central.client)


def test_adoption_takes_every_row_as_it_is_then_closes(central: Central) -> None:
    desk = _new_agency(central)
    assert desk.get("state")["adopted"] is False
    with central.db.reading() as session:
        tariff = session.scalars(select(Tariff).limit(1)).one()
    commune, customer, account = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    entries = [
        desk.insert("commune", {"code": "C103", "name": "Yopougon", "agency_id": None},
                    row=commune, version=4),
        desk.insert("tariff", {"code": tariff.code, "name": tariff.name, "agency_id": None},
                    row=tariff.id, version=tariff.version),
        desk.insert("customer", {"last_name": "Adopté"}, row=customer, version=7),
        desk.insert("account", {"number": "A1030000001", "customer_id": customer,
                                "opened_on": date(2025, 1, 1), "balance_minor": 1234},
                    row=account, version=3),
    ]
    answer = desk.send(entries, kind="adoption")
    assert (answer["applied"], answer["skipped"], answer["refused"]) == (3, 1, 0)
    with central.db.reading() as session:
        assert session.get(Commune, commune).version == 4  # type: ignore[union-attr]
        stored = session.get(Account, account)
        assert stored is not None and (stored.balance_minor, stored.version) == (1234, 3)
        assert session.get(Customer, customer).version == 7  # type: ignore[union-attr]
    assert all(e["row"] not in (str(customer), str(account))
               for c in desk.get("changes", after=0)["commits"] for e in c["entries"])
    second = desk.send([desk.insert("customer", {"last_name": "Encore"}, version=2)],
                       kind="adoption")
    assert second["applied"] == 1
    assert desk.get("state")["adopted"] is False
    response = desk.client.post(desk.url("adopted"), headers=desk.auth)
    assert response.status_code == 200 and response.json() == {"adopted": True}
    assert desk.get("state")["adopted"] is True
    late = desk.post(desk.payload([desk.insert("customer", {"last_name": "Tard"})],
                                  kind="adoption"))
    assert late.status_code == 409 and late.json()["error"] == "adoption_refused"


def test_adoption_is_refused_where_central_already_has_the_agencys_rows(
        central: Central) -> None:
    desk = central.desks["101"]
    assert desk.get("state")["adopted"] is True, "nothing to adopt: the desk bootstraps"
    refused = desk.post(desk.payload([desk.insert("customer", {"last_name": "X"})],
                                     kind="adoption"))
    assert refused.status_code == 409 and refused.json()["error"] == "adoption_refused"
    assert desk.get("state")["last_batch"] == 0


def test_close_bills_the_previous_month_once_for_that_agency_only(central: Central) -> None:
    desk = central.desks["101"]
    response = desk.client.post(desk.url("close"), headers=desk.auth)
    assert response.status_code == 200, response.text
    billed = response.json()["billed"]
    assert set(billed) >= {"period", "invoices", "credit_notes"}
    agency = Agency(desk.agency_id, "101")
    first = close(central.db, Currency.of("XOF"), agency, date(2026, 12, 5))
    assert first["billed"]["period"] == "2026-11" and first["billed"]["invoices"] == 1
    again = close(central.db, Currency.of("XOF"), agency, date(2026, 12, 9))
    assert again["billed"]["invoices"] == 0 and again["billed"]["already"] is True
    with central.db.reading() as session:
        by_agency = dict(session.execute(select(Invoice.agency_id, func.count())
                                         .group_by(Invoice.agency_id)).all())
    assert by_agency == {desk.agency_id: 1}
    invoices = [e for c in desk.get("changes", after=0)["commits"] for e in c["entries"]
                if e["table"] == "invoice"]
    assert len(invoices) == 1 and invoices[0]["changes"]["period"][1] == "2026-11"
