"""Adoption of a desk's data by a new central, closed by ``POST adopted``; ``POST close`` bills
the agency's previous month once."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date

import pytest
from sqlalchemy import func, select

from app.models import Account, Commune, Customer, Invoice, Tariff
from central.agencies import add_agency
from central.sync.closing import close
from central.sync.state import Agency
from kernel.money import Currency
from kernel.numbering import CentralSeries, reserve
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
    # The agency's own rows are taken as they are; shared reference data is central's: the
    # tariff central has is kept, the commune it lacks is not created by an agency.
    assert (answer["applied"], answer["skipped"], answer["refused"]) == (2, 1, 1)
    with central.db.reading() as session:
        assert session.get(Commune, commune) is None
        stored = session.get(Account, account)
        # The balance is central's to compute (no invoice, no payment: nothing owed).
        assert stored is not None and stored.balance_minor == 0 and stored.version > 3
        assert session.get(Customer, customer).version == 7  # type: ignore[union-attr]
    down = [e for c in desk.get("changes", after=0)["commits"] for e in c["entries"]
            if e["row"] in (str(customer), str(account))]
    # Only central's balance travels back to the desk.
    assert [(e["row"], e["changes"]["balance_minor"]) for e in down] == [(str(account), [1234, 0])]
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


def test_invoices_an_agency_brings_move_centrals_series_past_their_numbers(
        central: Central) -> None:
    desk = _new_agency(central)
    customer, account = uuid.uuid4(), uuid.uuid4()
    history = [
        desk.insert("customer", {"last_name": "Historique"}, row=customer),
        desk.insert("account", {"number": "A1030000002", "customer_id": customer,
                                "opened_on": date(2024, 1, 1)}, row=account),
        *(desk.insert("invoice", {"number": number, "kind": "consumption", "status": "issued",
                                  "account_id": account, "issued_on": date(2026, 10, 5),
                                  "period": "2026-09"})
          for number in ("FC2026-00000041", "FC2026-00000007", "FC2025-00000900", "W1032026-9")),
    ]
    assert desk.send(history, kind="adoption")["applied"] == 6
    with central.db.engine.begin() as connection:
        assert reserve(connection, CentralSeries.CONSUMPTION_INVOICE, 2026, 2) == 42
        assert reserve(connection, CentralSeries.CONSUMPTION_INVOICE, 2025, 1) == 901
        assert reserve(connection, CentralSeries.CREDIT_NOTE, 2026, 1) == 1


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
    agency = Agency(desk.agency_id, "101")
    first = close(central.db, Currency.of("XOF"), agency, date(2026, 12, 5))
    assert first["billed"]["period"] == "2026-11" and first["billed"]["invoices"] == 1
    again = close(central.db, Currency.of("XOF"), agency, date(2026, 12, 9))
    assert again["billed"]["invoices"] == 0 and again["billed"]["already"] is True
    # The endpoint closes the month before today's (whatever today is): November is not billed
    # a second time.
    response = desk.client.post(desk.url("close"), headers=desk.auth)
    assert response.status_code == 200, response.text
    assert set(response.json()["billed"]) >= {"period", "invoices", "credit_notes"}
    with central.db.reading() as session:
        by_agency = dict(session.execute(select(Invoice.agency_id, func.count())
                                         .where(Invoice.period == "2026-11")
                                         .group_by(Invoice.agency_id)).all())
    assert by_agency == {desk.agency_id: 1}
    invoices = [e for c in desk.get("changes", after=0)["commits"] for e in c["entries"]
                if e["table"] == "invoice" and e["changes"]["period"][1] == "2026-11"]
    assert len(invoices) == 1


def test_a_close_queues_behind_a_billing_run_in_progress(pg_central: Central) -> None:
    """Forty agencies close at once and are billed one after the other: an agency whose turn
    comes late is billed when it comes, not refused (a country's night lost 14 of 40 agencies
    to a ten-minute limit); past its wait it gets the clear refusal."""
    from sqlalchemy import text

    from app.sync.client import CLOSE_TIMEOUT
    from central.billing.engine import _ADVISORY_KEY
    from central.sync.closing import TURN_WAIT_SECONDS
    from kernel.errors import BusinessError

    assert TURN_WAIT_SECONDS < CLOSE_TIMEOUT  # the desk hears the answer, not a timeout
    agency = Agency(pg_central.desks["101"].agency_id, "101")
    holder = pg_central.db.engine.connect()
    holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_KEY})
    holder.commit()
    try:
        with pytest.raises(BusinessError, match="déjà en cours"):
            close(pg_central.db, Currency.of("XOF"), agency, date(2026, 12, 5), turn_wait=1.0)
        release = threading.Timer(3.0, lambda: (
            holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_KEY}),
            holder.commit()))
        release.start()
        started = time.monotonic()
        billed = close(pg_central.db, Currency.of("XOF"), agency, date(2026, 12, 5),
                       turn_wait=60.0)
        release.join()
        assert time.monotonic() - started >= 2.5  # it waited for the run in progress
        assert billed["billed"]["period"] == "2026-11" and billed["billed"]["invoices"] == 1
    finally:
        holder.close()
