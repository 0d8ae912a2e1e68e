"""PostgreSQL's word table (word, customer) read as ranges finds exactly the customers the
full-text index found, as an agent types, and is kept current by every way rows are written."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.models import Account, Customer, Meter, Premise, search_index
from app.models.database import Database
from app.services import search
from app.services.installation import load_installation
from app.services.search import plan_query, search_customers, words
from app.settings import Settings
from kernel.context import ServiceContext
from tests.conftest import make_demo
from tests.services.helpers import word_table_is_current

pytestmark = pytest.mark.postgres

REVISION = importlib.import_module("app.models.migrations.versions.0017_i22_search_word_ranges")


@pytest.fixture
def demo(pg_url: str, settings: Settings) -> Iterator[ServiceContext]:
    database = Database(pg_url)
    make_demo(database, customers=300)
    yield ServiceContext(database, load_installation(database, settings))
    database.dispose()


def full_text_ids(cap: int) -> Any:
    """The search as it was before the word table: the first ``cap + 1`` customers the GIN index
    gives for the query."""

    def found(session: Session, _plan: Any, tsquery: str, _cap: int, _exact: Any) -> dict[Any, None]:
        return dict.fromkeys(session.execute(text(
            f"SELECT customer_id FROM {search_index.TABLE} "
            "WHERE document @@ to_tsquery('simple', :q) LIMIT :n"), {"q": tsquery, "n": cap + 1}
        ).scalars())
    return found


def keystrokes(query: str) -> list[str]:
    return [query[:n] for n in range(1, len(query) + 1) if query[n - 1] != " "]


def typed_queries(ctx: ServiceContext) -> list[str]:
    """What agents type: names with and without accents, in any order, whole or started; a name
    with a phone's or an account's start, a meter serial and a name, addresses."""
    with ctx.reading() as session:
        people = list(session.scalars(
            select(Customer).where(Customer.last_name != "").order_by(Customer.id).limit(12)))
        accented = session.scalars(select(Customer).where(Customer.first_name.like("%é%"))).first()
        assert accented is not None
        people.append(accented)
        accounts = {a.customer_id: a for a in session.scalars(
            select(Account).where(Account.customer_id.in_([c.id for c in people])))}
        premises = {p.id: p for p in session.scalars(select(Premise).where(
            Premise.id.in_([a.billing_premise_id for a in accounts.values()])))}
        meter = session.scalars(select(Meter).order_by(Meter.serial)).first()
        assert meter is not None
        queries = [f"{accented.first_name} {accented.last_name}",
                   search_index.normalise(f"{accented.last_name} {accented.first_name}")]
        for person in people:
            account = accounts[person.id]
            premise = premises[account.billing_premise_id]
            queries += [
                f"{person.first_name} {person.last_name}",
                f"{person.last_name[:4]} {person.first_name[:3]}",
                f"{person.last_name} {person.mobile[:4]}",
                f"{account.number[:6]} {person.first_name}",
                f"{premise.house_number} {premise.street.name if premise.street else ''} "
                f"{premise.commune.name}",
            ]
        queries += [f"{meter.serial} {people[0].last_name}", "de la", "n d", "4 b", "a b c"]
    return queries


def pages(ctx: ServiceContext, query: str, limit: int = 500) -> tuple[Any, ...]:
    page = search_customers(ctx, query, limit=limit)
    return page.total, [(h.customer_id, h.matched_field, h.matched_value) for h in page.hits]


def _same_as_the_full_text_index(ctx: ServiceContext, queries: list[str],
                                 monkeypatch: pytest.MonkeyPatch) -> int:
    compared = 0
    for query in queries:
        for typed in keystrokes(query):
            if search_index.normalise(typed) == "p":
                continue  # the full-text index found everyone: see the test below
            now = pages(ctx, typed)
            with monkeypatch.context() as patched:
                patched.setattr(words, "word_range_ids", full_text_ids(search.MAX_RESULTS))
                before = pages(ctx, typed)
            assert now == before, typed
            compared += plan_query(typed).kind == "words"
    return compared


def test_every_keystroke_finds_what_the_full_text_index_found(
        demo: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _same_as_the_full_text_index(demo, typed_queries(demo), monkeypatch) > 300


def test_words_with_many_entries_each_are_intersected_by_the_full_text_index(
        demo: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past ``COUNTED`` entries for every word typed, the GIN index intersects them, with the
    prefixes only one word starts as that word: the same customers again."""
    from app.services.search import ranges

    monkeypatch.setattr(ranges, "COUNTED", 1)
    queries = typed_queries(demo)[:12]
    assert _same_as_the_full_text_index(demo, queries, monkeypatch) > 50
    with demo.reading() as session:
        customer = session.scalars(select(Customer).where(Customer.last_name != "")
                                   .order_by(Customer.id)).first()
        assert customer is not None
        last = search_index.normalise(customer.last_name).split()[0]
        first = search_index.normalise(customer.first_name).split()[0]
        raw = session.connection().connection.driver_connection
        plan = plan_query(f"{last} {first}")
        assert len(last) >= 4 and ranges._survey(raw, plan).only.get(last) == last


def test_a_lone_p_finds_the_words_starting_with_p_not_the_prefix_lexemes(
        demo: ServiceContext) -> None:
    """The document's prefix lexemes ("p2ko", "p3kon") all start with "p": as a prefix, "p"
    matched every customer in the full-text index."""
    with demo.reading() as session:
        starting = set(session.execute(text(
            f"SELECT customer_id FROM {search_index.TABLE} WHERE "
            "' ' || names || ' ' || accounts || ' ' || meters || ' ' || phones || ' ' || address "
            "LIKE '% p%'")).scalars())
        everyone = session.execute(text(f"SELECT count(*) FROM {search_index.TABLE}")).scalar_one()
    page = search_customers(demo, "P", limit=500)
    assert 0 < len(starting) < everyone
    assert page.total == len(starting) and {h.customer_id for h in page.hits} == starting


def test_elided_and_glued_names_after_edits_find_the_same(
        demo: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """N'Diaye / NDIAYE and the like, written by the write path (which keeps the word table),
    typed both ways."""
    families = [("N'Diaye", "NDIAYE"), ("D'Almeida", "DALMEIDA"), ("Ben Saïd", "BENSAID")]
    with demo.reading() as session:
        ids = list(session.scalars(select(Customer.id).where(Customer.last_name != "")
                                   .order_by(Customer.id).limit(2 * len(families))))
    with demo.unit_of_work() as uow:
        for number, (apart, glued) in enumerate(families):
            for form, customer_id in ((apart, ids[2 * number]), (glued, ids[2 * number + 1])):
                row = uow.session.get(Customer, customer_id)
                assert row is not None
                row.last_name, row.first_name = form, "Éléonore"
        uow.commit()
    queries = [f"{form} Éléonore" for family in families for form in family]
    queries += [f"eleonore {form.lower()}" for family in families for form in family]
    _same_as_the_full_text_index(demo, queries, monkeypatch)
    assert sorted(h.customer_id for h in search_customers(demo, "NDIAYE eleonore").hits) \
        == sorted(ids[:2])


def test_past_the_cap_only_matches_are_read_and_not_counted(
        demo: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "MAX_RESULTS", 20)
    with demo.reading() as session:
        for typed in ("a", "ab", "ko", "ru", "12 r", "n d", "de", "kone a"):
            plan = plan_query(typed)
            tsquery = words._tsquery(plan)
            every = set(session.execute(text(
                f"SELECT customer_id FROM {search_index.TABLE} "
                "WHERE document @@ to_tsquery('simple', :q)"), {"q": tsquery}).scalars())
            found = list(words.word_range_ids(session.connection(), plan, tsquery, 20,
                                              partial(words._tsquery, plan)))
            assert len(found) == min(21, len(every)) and set(found) <= every, typed
    page = search_customers(demo, "a", limit=10)
    assert page.total is None and len(page.hits) == 10


def test_the_word_table_follows_writes_and_a_rebuild(demo: ServiceContext) -> None:
    with demo.reading() as session:
        assert word_table_is_current(session)
        customer = session.scalars(select(Customer).where(Customer.last_name != "")
                                   .order_by(Customer.id)).first()
        assert customer is not None
        old = search_index.normalise(customer.last_name).split()[0]
    with demo.unit_of_work() as uow:
        row = uow.session.get(Customer, customer.id)
        assert row is not None
        row.last_name = "Zinsou-Akpovi"
        uow.commit()
    with demo.reading() as session:
        assert word_table_is_current(session)
        assert session.execute(text(
            f"SELECT count(*) FROM {search_index.WORDS} WHERE customer_id = :id AND word = :w"),
            {"id": customer.id, "w": old}).scalar_one() == 0
    assert [h.customer_id for h in search_customers(demo, "akpo zins").hits] == [customer.id]
    # A page of rows applied in one go (as from central): replaced by key, the planner's
    # settings as they were after it.
    with demo.db.session() as session:
        ids = list(session.scalars(select(Customer.id)))
        connection = session.connection()
        connection.execute(text(f"UPDATE {search_index.TABLE} SET names = 'ancien nom'"))
        connection.execute(text(
            f"INSERT INTO {search_index.WORDS} SELECT 'ancien', customer_id FROM {search_index.TABLE}"))
        search_index.write_documents(connection, search_index.build_documents(session, ids), replace=True)
        assert connection.execute(text(
            "SELECT current_setting('enable_seqscan'), current_setting('enable_hashjoin')")).one() \
            == ("on", "on")
        assert word_table_is_current(session)
        session.commit()
    with demo.db.engine.begin() as connection:
        connection.execute(text(f"DELETE FROM {search_index.WORDS}"))
    with demo.db.session() as session:
        search_index.rebuild(session.connection(), session)
        session.commit()
    with demo.reading() as session:
        assert word_table_is_current(session)
        # what revision 0017 fills an existing index with
        assert set(session.execute(text(REVISION.WORD_ROWS)).all()) == set(session.execute(
            text(f"SELECT word, customer_id FROM {search_index.WORDS}")).all())


def test_plans_walk_the_word_index_in_order_without_statistics(demo: ServiceContext) -> None:
    """After a bulk load nobody analysed: no full scan, no bitmap built whole, no sort."""
    from app.services.search import ranges

    with demo.db.engine.begin() as connection:
        connection.exec_driver_sql(
            "DELETE FROM pg_statistic WHERE starelid IN (SELECT c.oid FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public')")
        connection.exec_driver_sql(
            "UPDATE pg_class SET reltuples = -1, relpages = 0, relallvisible = 0 "
            "WHERE relnamespace = 'public'::regnamespace")
    with demo.db.reading_connection(search.INDEX_PLANS) as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        last = ("kone", "00000000-0000-0000-0000-000000000000")
        for statement, values, rows_read in (
            (ranges._FIRST, ("'p2ko'", "ko", "kp", "'p2ko'", 501), True),
            (ranges._NEXT, ("'p2ko'", "ko", "kp", *last, "'p2ko'", 501), True),
            (ranges._ALONE_FIRST, ("ko", "kp", 501), False),
            (ranges._ALONE_NEXT, ("ko", "kp", *last, 501), False),
        ):
            plan = "\n".join(row[0] for row in raw.execute("EXPLAIN " + statement, values))
            assert "Index Only Scan using ix_customer_search_word" in plan, plan
            assert ("customer_search_pkey" in plan) == rows_read, plan
            assert not any(word in plan for word in ("Seq Scan", "Bitmap", "Sort", "Hash")), plan
        with raw.transaction():
            raw.execute("SELECT set_config('enable_bitmapscan', 'on', true)")
            plan = "\n".join(row[0] for row in raw.execute(
                "EXPLAIN " + ranges._GIN, ("'p2ko' & 'awa'", "'p2ko' & 'awa'", 501)))
        assert "Bitmap Index Scan on ix_customer_search_document" in plan and "Seq Scan" not in plan


def test_the_search_runs_on_connections_that_start_with_its_planner_settings(
        demo: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """No BEGIN, ``set_config`` nor ROLLBACK per keystroke: the search's own connections start
    with its settings, in autocommit; the GIN intersection's bitmap is on for its statement only;
    the program's other connections keep the server's defaults."""
    from app.services.search import ranges

    settings = "SELECT " + ", ".join(f"current_setting('{name}')" for name in search.INDEX_PLANS)
    with demo.db.reading_connection(search.INDEX_PLANS) as connection:
        assert connection.exec_driver_sql(settings).one() == tuple(search.INDEX_PLANS.values())
        raw = connection.connection.driver_connection
        assert raw.autocommit and raw.info.transaction_status.name == "IDLE"
    with demo.reading() as session:
        customer = session.scalars(select(Customer).where(Customer.last_name != "")
                                   .order_by(Customer.id)).first()
        assert customer is not None
    monkeypatch.setattr(ranges, "COUNTED", 1)  # every word typed is large: the GIN intersection
    intersected = []
    monkeypatch.setattr(ranges, "_GIN", ranges._GIN + " -- intersected")
    from psycopg import Connection as Driver

    execute = Driver.execute

    def noted(self: Driver, query: Any, *args: Any, **kwargs: Any) -> Any:
        if "intersected" in str(query):
            intersected.append(query)
        return execute(self, query, *args, **kwargs)

    monkeypatch.setattr(Driver, "execute", noted)
    typed = f"{customer.last_name} {customer.first_name}"
    assert customer.id in [h.customer_id for h in search_customers(demo, typed).hits]
    assert intersected
    monkeypatch.undo()
    with demo.db.reading_connection(search.INDEX_PLANS) as connection:
        assert connection.exec_driver_sql("SHOW enable_bitmapscan").scalar() == "off"
    with demo.reading() as session:
        assert session.execute(text("SHOW enable_seqscan")).scalar() == "on"


def test_a_search_connection_the_server_closed_is_replaced_without_an_error(
        demo: ServiceContext) -> None:
    """The search's connections are not pinged when taken from their pool: after a server
    restart the first statement fails, and the search runs again on a new connection."""
    for typed in ("ko", "10"):  # the first statement sent to the driver itself, or through Core
        assert search_customers(demo, typed).hits
        with demo.db.reading_connection(search.INDEX_PLANS) as connection:
            old = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with demo.db.engine.begin() as connection:  # as a restart would
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        assert search_customers(demo, typed).hits
        with demo.db.reading_connection(search.INDEX_PLANS) as connection:
            assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() != old
