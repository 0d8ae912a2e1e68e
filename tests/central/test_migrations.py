"""Every revision of central's own chain upgrades a database holding rows (the shared schema at
its head, central's tables at the revision before), keeps them, and downgrades to the exact
previous shape; revisions that add data or defaults have a check of their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text

from app.models import Base
from app.models.ids import new_id
from central.models import CentralBase
from tests.migration_rows import (
    CENTRAL,
    DESK,
    RowMaker,
    check,
    downgrade,
    empty_postgres,
    revisions,
    upgrade,
)

CHAIN = revisions(CENTRAL)
MODELS = [Base.metadata, CentralBase.metadata]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shared_only(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database with the shared schema at its head and none of central's tables."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'central.sqlite3'}")
        upgrade(engine, DESK, "head")
        yield engine
        engine.dispose()
    else:
        databases = empty_postgres(request.getfixturevalue("pg_admin_url"))
        engine = next(databases)
        upgrade(engine, DESK, "head")
        yield engine
        databases.close()


def test_the_chain_is_linear_from_c0001_to_the_head() -> None:
    assert CHAIN[0] == ("base", "c0001")
    assert [previous for previous, _ in CHAIN[1:]] == [revision for _, revision in CHAIN[:-1]]


def test_every_revision_keeps_the_rows_and_downgrades_to_the_previous_shape(
        shared_only: Engine) -> None:
    """The chain walked on one database, every step checked (three revisions: cheap enough)."""
    for previous, revision in CHAIN:
        check(shared_only, CENTRAL, MODELS, previous, revision,
              first_tables={"billing_run", "billed_period", "central_credential"})


def test_c0002_starts_the_commit_counter_and_a_database_generation(shared_only: Engine) -> None:
    upgrade(shared_only, CENTRAL, "c0001")
    with shared_only.begin() as connection:
        RowMaker(connection, MODELS).insert("billing_run", period="2026-11")
    upgrade(shared_only, CENTRAL, "c0002")
    with shared_only.connect() as connection:
        assert connection.execute(text("SELECT id, last FROM sync_commit_counter")).all() == [
            (1, 0)]
        assert connection.execute(text("SELECT count(*) FROM sync_generation")).scalar_one() == 1
        assert connection.execute(text("SELECT period FROM billing_run")).scalar_one() == "2026-11"
    downgrade(shared_only, CENTRAL, "c0001")
    upgrade(shared_only, CENTRAL, "c0002")
    with shared_only.connect() as connection:
        assert connection.execute(text("SELECT last FROM sync_commit_counter")).all() == [(0,)]


def test_c0003_existing_billing_runs_have_no_machine_and_keep_their_figures(
        shared_only: Engine) -> None:
    upgrade(shared_only, CENTRAL, "c0002")
    with shared_only.begin() as connection:
        RowMaker(connection, MODELS).insert("billing_run", period="2026-10", invoices=42,
                                            total_minor=123456, status="completed")
    upgrade(shared_only, CENTRAL, "c0003")
    with shared_only.connect() as connection:
        assert connection.execute(text(
            "SELECT period, status, invoices, total_minor, host, pid FROM billing_run")
        ).one() == ("2026-10", "completed", 42, 123456, None, None)
        assert connection.execute(text("SELECT count(*) FROM night_report")).scalar_one() == 0
    downgrade(shared_only, CENTRAL, "c0002")
    with shared_only.connect() as connection:
        assert connection.execute(text("SELECT invoices FROM billing_run")).scalar_one() == 42


def test_c0006_leaves_room_on_contract_and_account_pages_for_the_billing_updates(
        shared_only: Engine) -> None:
    """Fill factor 50 on PostgreSQL (HOT updates of the billing run), nothing on SQLite; the
    downgrade gives the default back."""
    upgrade(shared_only, CENTRAL, "c0005")

    def options() -> dict[str, list[str] | None]:
        with shared_only.connect() as connection:
            return dict(connection.execute(text(
                "SELECT relname, reloptions FROM pg_class WHERE relname IN ('contract', 'account')"
            )).all())

    postgres = shared_only.dialect.name == "postgresql"
    if postgres:
        assert options() == {"contract": None, "account": None}
    upgrade(shared_only, CENTRAL, "c0006")
    if postgres:
        assert options() == {"contract": ["fillfactor=50"], "account": ["fillfactor=50"]}
    downgrade(shared_only, CENTRAL, "c0005")
    if postgres:
        assert options() == {"contract": None, "account": None}


def test_c0007_indexes_central_commits_apart_from_the_uploads(shared_only: Engine) -> None:
    upgrade(shared_only, CENTRAL, "c0006")
    with shared_only.begin() as connection:
        rows = RowMaker(connection, MODELS)
        rows.insert("sync_commit", no=1, origin_agency_id=None)
        rows.insert("sync_commit", no=2, origin_agency_id=new_id())
    upgrade(shared_only, CENTRAL, "c0007")
    assert "ix_sync_commit_central" in {i["name"] for i in inspect(shared_only).get_indexes(
        "sync_commit")}
    with shared_only.connect() as connection:
        assert connection.execute(text(
            "SELECT no FROM sync_commit WHERE origin_agency_id IS NULL")).scalars().all() == [1]
    downgrade(shared_only, CENTRAL, "c0006")
    assert "ix_sync_commit_central" not in {i["name"] for i in inspect(shared_only).get_indexes(
        "sync_commit")}


def test_c0008_drops_the_agency_index_of_invoice_lines_on_postgresql_only(
        shared_only: Engine) -> None:
    """The billing run's bulk table loses an index no query of central uses (PostgreSQL); the
    downgrade gives it back; SQLite keeps its shape."""
    upgrade(shared_only, CENTRAL, "c0007")

    def indexes() -> set[str]:
        return {i["name"] for i in inspect(shared_only).get_indexes("invoice_line")}

    assert "ix_invoice_line_agency_id" in indexes()
    upgrade(shared_only, CENTRAL, "c0008")
    postgres = shared_only.dialect.name == "postgresql"
    assert ("ix_invoice_line_agency_id" in indexes()) is not postgres
    assert "ix_invoice_line_invoice_id" in indexes()
    downgrade(shared_only, CENTRAL, "c0007")
    assert "ix_invoice_line_agency_id" in indexes()


def test_c0009_gives_invoice_lines_one_key_to_their_invoice_and_its_agency_on_postgresql(
        shared_only: Engine) -> None:
    """One composite key (invoice, agency) instead of two (PostgreSQL): a line in another
    agency than its invoice's, without an agency, or of no invoice is refused; a line of its
    invoice's agency goes in; the downgrade gives the two keys back; SQLite keeps its shape."""
    upgrade(shared_only, CENTRAL, "c0008")

    def keys() -> set[tuple[tuple[str, ...], str]]:
        return {(tuple(fk["constrained_columns"]), fk["referred_table"])
                for fk in inspect(shared_only).get_foreign_keys("invoice_line")}

    two = {(("agency_id",), "agency"), (("invoice_id",), "invoice")}
    assert keys() == two
    upgrade(shared_only, CENTRAL, "c0009")
    if shared_only.dialect.name != "postgresql":
        assert keys() == two
        downgrade(shared_only, CENTRAL, "c0008")
        return
    assert keys() == {(("invoice_id", "agency_id"), "invoice")}
    indexes = {i["name"] for i in inspect(shared_only).get_indexes("invoice")}
    assert "ix_invoice_agency_id" not in indexes
    with shared_only.connect() as connection:  # no line broke it: checked for every line
        assert connection.execute(text(
            "SELECT convalidated FROM pg_constraint WHERE conname = "
            "'fk_invoice_line_invoice_id_agency_id_invoice'")).scalar_one() is True
    assert {"agency_id", "id"} in [set(u["column_names"]) for u in
                                   inspect(shared_only).get_unique_constraints("invoice")]
    with shared_only.begin() as connection:
        maker = RowMaker(connection, MODELS)
        ids = {"agency": maker.insert("agency")["id"], "other": maker.insert("agency")["id"]}
        ids["invoice"] = maker.insert("invoice", agency_id=ids["agency"])["id"]
    line = ("INSERT INTO invoice_line (id, agency_id, version, created_at, updated_at, "
            "invoice_id, position, kind, label, quantity, unit, unit_price, "
            "amount_excl_vat_minor, vat_rate, vat_minor, amount_minor) VALUES (:id, :agency, 1, "
            "now(), now(), :invoice, 1, 'consumption', 'x', 1000, 'm3', 2450000, 245, 1800, 45, "
            "290)")
    for agency, invoice in ((ids["other"], ids["invoice"]), (None, ids["invoice"]),
                            (ids["agency"], new_id())):
        with pytest.raises(Exception, match="foreign key"), shared_only.begin() as connection:
            connection.execute(text(line), {"id": new_id(), "agency": agency,
                                            "invoice": invoice})
    with shared_only.begin() as connection:
        connection.execute(text(line), {"id": new_id(), "agency": ids["agency"],
                                        "invoice": ids["invoice"]})
    downgrade(shared_only, CENTRAL, "c0008")
    assert keys() == two
    assert "ix_invoice_agency_id" in {i["name"] for i in inspect(shared_only).get_indexes(
        "invoice")}


def test_c0010_commits_numbered_before_name_no_agency_and_are_read_by_every_download(
        shared_only: Engine) -> None:
    upgrade(shared_only, CENTRAL, "c0009")
    with shared_only.begin() as connection:
        RowMaker(connection, MODELS).insert("sync_commit", no=7, origin_agency_id=None)
    upgrade(shared_only, CENTRAL, "c0010")
    indexes = {i["name"]: i["column_names"] for i in inspect(shared_only).get_indexes(
        "sync_commit")}
    assert indexes["ix_sync_commit_agency"] == ["agency_id", "no"]
    with shared_only.connect() as connection:
        assert connection.execute(text(
            "SELECT no, agency_id FROM sync_commit")).all() == [(7, None)]
    downgrade(shared_only, CENTRAL, "c0009")
    assert "agency_id" not in {c["name"] for c in inspect(shared_only).get_columns("sync_commit")}
