from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.models import Account, AuditEntry, Customer, Premise, SyncJournalEntry
from app.models.enums import CustomerKind, ReadingKind
from app.services.customer_edit import (
    IdentityInput,
    create_customer,
    find_similar,
    update_identity,
)
from app.services.customer_file import load_customer_file
from app.services.search import search_customers
from kernel.context import ServiceContext
from kernel.errors import ConcurrentEditError, ValidationError
from kernel.identifiers import validate_account_number
from tests.services.helpers import household, new_customer_input


def test_a_new_customer_comes_with_account_and_premise_and_is_found(ctx: ServiceContext) -> None:
    created = create_customer(ctx, new_customer_input(ctx))
    assert validate_account_number(created.account_number) == created.account_number
    assert created.account_number.startswith("101" + f"{ctx.installation.today().year % 100:02d}")
    with ctx.reading() as session:
        customer = session.get(Customer, created.customer_id)
        assert customer is not None and customer.mobile == "0701020304"
        tables = set(session.scalars(select(SyncJournalEntry.table_name)))
        assert {"customer", "account", "premise"} <= tables
    assert [h.customer_id for h in search_customers(ctx, "helene kone").hits] == [created.customer_id]


def test_every_wrong_field_is_reported_and_nothing_is_written(ctx: ServiceContext) -> None:
    bad = new_customer_input(ctx, last_name=" ", mobile="", email="pas-un-mail", civility=None)
    with pytest.raises(ValidationError) as error:
        create_customer(ctx, bad)
    assert set(error.value.fields) == {"last_name", "mobile", "email", "civility"}
    assert error.value.fields["email"] == "Adresse e-mail invalide"
    with ctx.reading() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 0
        assert session.scalar(select(func.count()).select_from(Premise)) == 0


def test_an_organisation_needs_its_name_not_a_civility(ctx: ServiceContext) -> None:
    data = new_customer_input(ctx, kind=CustomerKind.ORGANISATION, civility=None, last_name="",
                              organisation_name="Pharmacie du Plateau")
    created = create_customer(ctx, data)
    file = load_customer_file(ctx, created.customer_id)
    assert file.identity.display_name == "Pharmacie du Plateau"


def test_duplicates_are_detected_by_phone_or_name_and_address(ctx: ServiceContext) -> None:
    first = create_customer(ctx, new_customer_input(ctx))
    same_phone = find_similar(ctx, new_customer_input(ctx, last_name="Traoré", mobile="+225 0701020304"))
    assert [(s.customer_id, s.reason) for s in same_phone] == [(first.customer_id, "même téléphone")]
    same_name = find_similar(ctx, new_customer_input(ctx, last_name="KONE", first_name="helene", mobile="0505050505"))
    assert [(s.customer_id, s.reason) for s in same_name] == [(first.customer_id, "même nom et même adresse")]
    assert find_similar(ctx, new_customer_input(ctx, last_name="Bamba", mobile="0505050505")) == []


def test_identity_edit_is_refused_when_the_file_changed_since_it_was_opened(ctx: ServiceContext) -> None:
    created = create_customer(ctx, new_customer_input(ctx))
    opened = load_customer_file(ctx, created.customer_id).identity
    mine = IdentityInput.from_identity(opened)
    theirs = IdentityInput.from_identity(opened)
    from dataclasses import replace

    assert update_identity(ctx, created.customer_id, opened.version, replace(theirs, email="h.kone@mail.example")) == 2
    with pytest.raises(ConcurrentEditError, match="modifiée par un autre poste"):
        update_identity(ctx, created.customer_id, opened.version, replace(mine, first_name="Hélène Awa"))
    assert load_customer_file(ctx, created.customer_id).identity.email == "h.kone@mail.example"


def test_the_file_shows_accounts_premises_meters_and_last_reading(ctx: ServiceContext) -> None:
    home = household(ctx)
    file = load_customer_file(ctx, home.customer_id)
    assert [a.account_id for a in file.accounts] == [home.account_id]
    assert file.accounts[0].billing_address.startswith("12 ")
    (premise,) = file.premises
    (connection,) = premise.connections
    assert connection.current_meter is not None and connection.current_meter.meter_id == home.meter_id
    last = connection.current_meter.last_reading
    assert last is not None and last.index_value == 220 and last.kind is ReadingKind.REGULAR
    assert connection.current_contract is not None and connection.current_contract.is_this_customer


def test_audit_records_who_changed_the_identity(ctx: ServiceContext) -> None:
    created = create_customer(ctx, new_customer_input(ctx))
    with ctx.reading() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.table_name == "account")).one()
        number = session.scalars(select(Account.number)).one()
    assert entry.changes["number"] == [None, number]
    assert entry.username == "système"
    assert created.account_number == number


def test_a_meter_without_readings_has_an_empty_history(ctx: ServiceContext) -> None:
    from app.services.customer_file import meter_readings

    home = household(ctx, readings=[])
    assert meter_readings(ctx, home.meter_id) == []
