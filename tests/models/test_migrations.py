"""Every revision of the desk's schema upgrades a database that already holds rows, keeps them,
and (where it defines a downgrade) goes back to the exact previous shape with the rows intact.

Each test starts from an empty database, upgrades to the revision before, loads rows with plain
SQL, then applies the revision under test. Revisions that change data have a test of their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from app.models import Base
from tests.migration_rows import (
    DESK,
    RowMaker,
    check,
    downgrade,
    empty_postgres,
    revisions,
    shape,
    upgrade,
)

CHAIN = revisions(DESK)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database, with no schema at all."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        yield engine
        engine.dispose()
    else:
        yield from empty_postgres(request.getfixturevalue("pg_admin_url"))


def test_the_chain_is_linear_from_0001_to_the_head() -> None:
    assert CHAIN[0] == ("base", "0001")
    assert [previous for previous, _ in CHAIN[1:]] == [revision for _, revision in CHAIN[:-1]]


def check_revision(engine: Engine, previous: str, revision: str) -> None:
    check(engine, DESK, [Base.metadata], previous, revision,
          first_tables={"agency", "customer", "account", "invoice", "payment"})


@pytest.mark.parametrize(("previous", "revision"), CHAIN, ids=[r for _, r in CHAIN])
def test_revision_keeps_the_rows_and_downgrades_to_the_previous_shape_on_sqlite(
        tmp_path: Path, previous: str, revision: str) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        if previous != "base":
            upgrade(engine, DESK, previous)
        check_revision(engine, previous, revision)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_every_revision_keeps_the_rows_and_downgrades_on_postgres(pg_admin_url: str) -> None:
    """One database walked up the chain (each step checked as on SQLite): PostgreSQL databases
    are too slow to make one per revision."""
    databases = empty_postgres(pg_admin_url)
    engine = next(databases)
    try:
        for previous, revision in CHAIN:
            check_revision(engine, previous, revision)
    finally:
        databases.close()


def test_0004_tariff_rules_and_categories_default_on_existing_rows(empty: Engine) -> None:
    upgrade(empty, DESK, "0003")
    with empty.begin() as connection:
        maker = RowMaker(connection, [Base.metadata])
        tariff = maker.insert("tariff")
        band = maker.insert("tariff_band", tariff_id=tariff["id"])
        premise = maker.insert("premise")
    upgrade(empty, DESK, "0004")
    with empty.connect() as connection:
        assert connection.execute(text(
            "SELECT customer_categories, arrears_recovery_share FROM tariff WHERE code = :c"),
            {"c": tariff["code"]}).one() == ("", None)
        assert connection.execute(text("SELECT is_social FROM tariff_band")).one() == (0,)  # false
        assert connection.execute(text("SELECT category FROM premise")).scalar_one() == "domestic"
        assert connection.execute(text("SELECT count(*) FROM tariff_band")).scalar_one() == 1
    assert band and premise


def test_0005_existing_payments_are_not_cancelled_and_readings_not_corrected(
        empty: Engine) -> None:
    upgrade(empty, DESK, "0004")
    with empty.begin() as connection:
        maker = RowMaker(connection, [Base.metadata])
        maker.insert("payment")
        maker.insert("meter_reading")
    upgrade(empty, DESK, "0005")
    with empty.connect() as connection:
        assert connection.execute(text(
            "SELECT cancelled_at, cancelled_by, cancellation_document_id FROM payment")
        ).one() == (None, "", None)
        assert connection.execute(text(
            "SELECT on_vacant_premise, corrected_from_index FROM meter_reading")
        ).one() == (0, None)  # false


def test_0006_indexes_the_ends_of_the_numbers_already_on_file(empty: Engine) -> None:
    upgrade(empty, DESK, "0005")
    with empty.begin() as connection:
        maker = RowMaker(connection, [Base.metadata])
        both = maker.insert("customer", mobile="0701020304", phone="2722334455")
        mobile_only = maker.insert("customer", mobile="0555667788", phone="")
        maker.insert("customer", mobile="", phone="")
    upgrade(empty, DESK, "0006")
    with empty.connect() as connection:
        found = connection.execute(text(
            "SELECT phone_end, customer_id FROM customer_search_phone_end")).all()
    dialect_id = (lambda value: value.hex) if empty.dialect.name == "sqlite" else (lambda v: v)
    assert sorted((end, str(who)) for end, who in found) == sorted([
        ("4030201070", str(dialect_id(both["id"]))),
        ("5544332272", str(dialect_id(both["id"]))),
        ("8877665550", str(dialect_id(mobile_only["id"]))),
    ])
    downgrade(empty, DESK, "0005")
    assert "customer_search_phone_end" not in shape(empty)


@pytest.mark.postgres
def test_0007_fills_the_word_prefixes_of_indexed_customers_on_postgres(
        pg_admin_url: str) -> None:
    databases = empty_postgres(pg_admin_url)
    engine = next(databases)
    try:
        upgrade(engine, DESK, "0006")
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO customer_search (customer_id, names, accounts, meters, phones, address)"
                " VALUES (:id, 'kone awa', '0012', '', '0701', 'rue 12')"), {"id": uuid.uuid4()})
        upgrade(engine, DESK, "0007")
        with engine.connect() as connection:
            prefixes = set(connection.execute(text(
                "SELECT prefixes FROM customer_search")).scalar_one().split())
            assert {"p2ko", "p3kon", "p2aw", "p3awa", "p200", "p3001", "p2ru"} <= prefixes
            assert connection.execute(text(
                "SELECT count(*) FROM customer_search WHERE document @@ 'p3kon'::tsquery")
            ).scalar_one() == 1
        downgrade(engine, DESK, "0006")
        with engine.connect() as connection:
            assert connection.execute(text(
                "SELECT count(*) FROM customer_search WHERE document @@ 'kone'::tsquery")
            ).scalar_one() == 1
        assert "prefixes" not in shape(engine)["customer_search"][0]
    finally:
        databases.close()


def test_0008_existing_users_stay_at_their_desk_and_are_not_locked(empty: Engine) -> None:
    upgrade(empty, DESK, "0007")
    with empty.begin() as connection:
        maker = RowMaker(connection, [Base.metadata])
        maker.insert("app_user")
        maker.insert("sign_in_throttle")
    upgrade(empty, DESK, "0008")
    with empty.connect() as connection:
        assert connection.execute(text("SELECT roaming, desk_only FROM app_user")).one() == (
            0, 0)  # false on both databases
        assert connection.execute(text("SELECT locked_at FROM sign_in_throttle")).one() == (
            None,)


def test_0013_existing_requests_and_technicians_get_the_defaults_of_issue_19(
        empty: Engine) -> None:
    upgrade(empty, DESK, "0012")
    with empty.begin() as connection:
        maker = RowMaker(connection, [Base.metadata])
        maker.insert("technician")
        maker.insert("intervention_request")
    upgrade(empty, DESK, "0013")
    with empty.connect() as connection:
        assert connection.execute(text(
            "SELECT skills, day_starts_minute, day_ends_minute, team_id FROM technician"
        )).one() == ("", 450, 990, None)
        assert connection.execute(text(
            "SELECT duration_minutes, landmark, forced_by, follow_up, due_at, commune_id "
            "FROM intervention_request")).one() == (60, "", "", "", None, None)


def test_0015_existing_prospect_quotes_get_their_search_key(empty: Engine) -> None:
    upgrade(empty, DESK, "0014")
    with empty.begin() as connection:
        maker = RowMaker(connection, [Base.metadata])
        maker.insert("works_quote", prospect_last_name="N'Guessan-Koné", prospect_first_name="Awa")
        maker.insert("works_quote", prospect_last_name="", prospect_first_name="")
    upgrade(empty, DESK, "0015")
    with empty.connect() as connection:
        assert sorted(connection.execute(text("SELECT prospect_key FROM works_quote")).scalars()) \
            == ["", "nguessan kone awa"]


def test_0016_an_agents_day_is_one_row_and_the_downgrade_drops_it(empty: Engine) -> None:
    upgrade(empty, DESK, "0015")
    with empty.begin() as connection:
        RowMaker(connection, [Base.metadata]).insert("document", kind="prepaid_cashup")
    upgrade(empty, DESK, "0016")
    insert = text("INSERT INTO cash_day (id, agent, day, count_reason, counted_by, "
                  "closing_reason, filename) VALUES (:id, 'agent', '2026-12-05', '', '', '', '')")
    with empty.begin() as connection:
        connection.execute(insert, {"id": uuid.uuid4().hex if empty.dialect.name == "sqlite"
                                    else str(uuid.uuid4())})
    with pytest.raises(Exception, match="(?i)unique"), empty.begin() as connection:
        connection.execute(insert, {"id": uuid.uuid4().hex if empty.dialect.name == "sqlite"
                                    else str(uuid.uuid4())})
    with empty.connect() as connection:
        assert connection.execute(text(
            "SELECT count(*) FROM document WHERE kind = 'prepaid_cashup'")).scalar() == 1
    downgrade(empty, DESK, "0015")
    with empty.connect() as connection:
        assert connection.execute(text(
            "SELECT count(*) FROM document WHERE kind = 'prepaid_cashup'")).scalar() == 1


def test_0017_puts_every_word_of_the_indexed_customers_in_the_word_table(empty: Engine) -> None:
    upgrade(empty, DESK, "0016")
    postgres = empty.dialect.name == "postgresql"
    if postgres:
        kone, ndiaye = uuid.uuid4(), uuid.uuid4()
        with empty.begin() as connection:
            connection.execute(text(
                "INSERT INTO customer_search (customer_id, names, accounts, meters, phones, address)"
                " VALUES (:a, 'kone awa', '10116000001234', 'ea123', '0701020304', '12 rue 12 bis')"
                ", (:b, 'n diaye ndiaye', '', '', '', '')"), {"a": kone, "b": ndiaye})
    upgrade(empty, DESK, "0017")
    if not postgres:
        assert "customer_search_word" not in shape(empty)  # FTS5 keeps SQLite's words
        return
    with empty.connect() as connection:
        assert sorted(connection.execute(text(
            "SELECT word, customer_id FROM customer_search_word")).all()) == sorted(
            [(w, kone) for w in ("kone", "awa", "10116000001234", "ea123", "0701020304", "12",
                                 "rue", "bis")]
            + [(w, ndiaye) for w in ("n", "diaye", "ndiaye")])
        assert connection.execute(text(
            "SELECT customer_id FROM customer_search_word WHERE word >= 'ko' AND word < 'kp'")
        ).scalar_one() == kone
    downgrade(empty, DESK, "0016")
    assert "customer_search_word" not in shape(empty)
