"""Customer search on both databases, as an agent types."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from app.models import Account, Customer, Meter, Payment, Premise, search_index
from app.models.enums import Civility, MeterPayment
from app.services import search
from app.services.search import search_customers
from kernel.context import ServiceContext
from kernel.identifiers import format_account_number
from tests.conftest import make_demo


@pytest.fixture
def demo(demo_ctx: ServiceContext) -> ServiceContext:
    return demo_ctx


@pytest.fixture
def own_demo(ctx: ServiceContext) -> ServiceContext:
    """A demo database of this test's own, for tests that write."""
    from app.services.demo import reset_database

    reset_database(ctx.db)
    make_demo(ctx.db, customers=300)
    return ctx


def _someone(ctx: ServiceContext) -> tuple[Customer, Account]:
    with ctx.reading() as session:
        customer = session.scalars(
            select(Customer).where(Customer.first_name.like("%é%"), Customer.civility == Civility.MRS)
            .order_by(Customer.id)
        ).first()
        assert customer is not None
        account = session.scalars(select(Account).where(Account.customer_id == customer.id)).one()
        return customer, account


def _ids(page: search.SearchPage) -> list:
    return [hit.customer_id for hit in page.hits]


def test_names_without_accents_in_any_order(demo: ServiceContext) -> None:
    customer, _ = _someone(demo)
    first = search_index.normalise(customer.first_name)
    last = search_index.normalise(customer.last_name)
    for query in (f"{first} {last}", f"{last.upper()} {first}", f"{first[:3]} {last[:3]}"):
        page = search_customers(demo, query, limit=500)
        assert customer.id in _ids(page), query
    hit = next(h for h in search_customers(demo, f"{last} {first}").hits if h.customer_id == customer.id)
    assert hit.matched_field == "Nom"
    assert hit.name.startswith("Mme ") and customer.last_name.upper() in hit.name


def test_account_number_whole_or_partial_with_spaces(demo: ServiceContext) -> None:
    customer, account = _someone(demo)
    spaced = format_account_number(account.number)
    page = search_customers(demo, spaced)
    assert _ids(page) == [customer.id]
    assert page.hits[0].matched_field == "N° de compte" and page.hits[0].matched_value == spaced
    assert customer.id in _ids(search_customers(demo, account.number[:9], limit=500))


def test_meter_serial_and_sts_number(demo: ServiceContext) -> None:
    with demo.reading() as session:
        meter = session.scalars(select(Meter).where(Meter.payment == MeterPayment.PREPAID)).first()
        assert meter is not None and meter.sts_drn
    for query in (meter.serial.lower(), meter.sts_drn):
        page = search_customers(demo, query)
        assert len(page.hits) == 1 and page.hits[0].matched_field == "Compteur", query


def test_phone_with_spaces_or_country_prefix(demo: ServiceContext) -> None:
    customer, _ = _someone(demo)
    mobile = customer.mobile
    spaced = " ".join(mobile[i:i + 2] for i in range(0, 10, 2))
    for query in (mobile, spaced, "+225 " + spaced, "00225" + mobile):
        page = search_customers(demo, query)
        assert customer.id in _ids(page), query
        assert next(h for h in page.hits if h.customer_id == customer.id).matched_field == "Téléphone"


def test_address_street_number_and_commune(demo: ServiceContext) -> None:
    customer, account = _someone(demo)
    with demo.reading() as session:
        premise = session.get(Premise, account.billing_premise_id)
        assert premise is not None and premise.street is not None
        query = f"{premise.house_number} {premise.street.name} {premise.commune.name}"
    page = search_customers(demo, query, limit=500)
    assert customer.id in _ids(page)


def test_receipt_number(demo: ServiceContext) -> None:
    with demo.reading() as session:
        receipt, customer_id = session.execute(
            select(Payment.receipt_number, Account.customer_id).join(Account).limit(1)
        ).one()
    page = search_customers(demo, receipt.lower())
    assert [(h.customer_id, h.matched_field, h.matched_value) for h in page.hits] == [
        (customer_id, "Reçu", receipt)
    ]


def test_more_results_than_the_cap_are_not_counted(demo: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "MAX_RESULTS", 20)
    page = search_customers(demo, "a", limit=10)
    assert page.total is None and len(page.hits) == 10
    assert page.summary == "plus de 20 résultats : précisez la recherche"
    assert search_customers(demo, "zzzqqq").summary == "aucun résultat"


def test_the_write_path_keeps_the_index_current(own_demo: ServiceContext) -> None:
    demo = own_demo
    customer, _ = _someone(demo)
    with demo.unit_of_work() as uow:
        row = uow.session.get(Customer, customer.id)
        assert row is not None
        row.last_name = "Zinsou-Akpovi"
        uow.commit()
    assert _ids(search_customers(demo, "akpovi zinsou")) == [customer.id]
    assert customer.id not in _ids(search_customers(demo, f"{customer.last_name} {customer.first_name}", limit=500))


def test_a_damaged_index_is_rebuilt(own_demo: ServiceContext) -> None:
    demo = own_demo
    customer, _account = _someone(demo)
    name = f"{search_index.normalise(customer.first_name)} {search_index.normalise(customer.last_name)}"
    with demo.db.engine.begin() as connection:
        connection.execute(text("DELETE FROM customer_search"))
        connection.execute(text("DELETE FROM customer_search_phone_end"))
    assert search_customers(demo, name).hits == []
    assert customer.id not in _ids(search_customers(demo, customer.mobile[-6:], limit=500))
    with demo.db.session() as session:
        assert search_index.rebuild(session.connection(), session) == 300
        session.commit()
    assert customer.id in _ids(search_customers(demo, name))
    assert customer.id in _ids(search_customers(demo, customer.mobile[-6:], limit=500))


#: (elided or apart, glued): each stored one way and typed the other (and the same way).
FAMILIES = [
    ("N'Diaye", "NDIAYE"),
    ("N'Guessan", "NGUESSAN"),
    ("D'Almeida", "DALMEIDA"),
    ("M'Baye", "MBAYE"),
    ("Ben Saïd", "BENSAID"),
    ("Ould Sidi", "OULDSIDI"),
]
FIRST_NAMES = ["Philomène", "Anastasie", "Scholastique", "Eulalie", "Perpétue", "Honorine"]


def test_elided_and_glued_names_match_both_ways(own_demo: ServiceContext) -> None:
    demo = own_demo
    with demo.reading() as session:
        ids = list(session.scalars(
            select(Customer.id).where(Customer.last_name != "").order_by(Customer.id).limit(2 * len(FAMILIES))))
    stored: dict[str, list] = {}
    with demo.unit_of_work() as uow:
        for number, ((apart, glued), first) in enumerate(zip(FAMILIES, FIRST_NAMES, strict=True)):
            for form, customer_id in ((apart, ids[2 * number]), (glued, ids[2 * number + 1])):
                row = uow.session.get(Customer, customer_id)
                assert row is not None
                row.last_name, row.first_name = form, first
            stored[first] = [ids[2 * number], ids[2 * number + 1]]
        uow.commit()
    for (apart, glued), first in zip(FAMILIES, FIRST_NAMES, strict=True):
        for typed in (apart, glued, apart.lower(), glued.capitalize()):
            for query in (f"{typed} {first}", f"{first} {typed}"):
                assert sorted(_ids(search_customers(demo, query))) == sorted(stored[first]), query
            assert set(stored[first]) <= set(_ids(search_customers(demo, typed, limit=500))), typed
    # As it is typed: "N'D", "N'Di"… already find both spellings.
    for typed in ("N'D", "N'Di", "NDi", "n di"):
        assert set(stored["Philomène"]) <= set(_ids(search_customers(demo, f"Philomène {typed}"))), typed


def test_glued_forms_are_planned_both_ways() -> None:
    assert search.plan_query("N'Diaye").groups == ((("ndiaye",), ("diaye",)),)
    assert search.plan_query("ben said").groups == ((("ben", "said"), ("bensaid",)),)
    assert search.plan_query("n d").groups == ((("nd",),),)
    # A lone elided letter still being typed is not glued to anything, nor searched.
    assert search.plan_query("kone n").terms == ("kone",)
    assert search.plan_query("de l'eglise").groups == ((("leglise",), ("eglise",)),)
    assert search_index.glued_pairs(["mamadou", "ould", "sidi"]) == ["ouldsidi"]


def test_the_end_of_a_phone_number(own_demo: ServiceContext) -> None:
    demo = own_demo
    customer, _ = _someone(demo)
    mobile = customer.mobile
    for digits in (4, 6, 9):
        page = search_customers(demo, mobile[-digits:], limit=500)
        hit = next(h for h in page.hits if h.customer_id == customer.id)
        assert (hit.matched_field, hit.matched_value) == ("Téléphone", search.format_phone(mobile))
    spaced = " ".join(mobile[i:i + 2] for i in range(0, 10, 2))
    assert customer.id in _ids(search_customers(demo, spaced[-8:], limit=500))
    # Three digits are too few to be an end: only numbers starting with them.
    assert search.plan_query(mobile[-3:]).phone_end == ""
    # The write path keeps the ends current: a new number is found by its end, the old one not.
    with demo.unit_of_work() as uow:
        row = uow.session.get(Customer, customer.id)
        assert row is not None
        row.mobile = "0779074341"
        uow.commit()
    assert customer.id in _ids(search_customers(demo, "779074341"))
    assert customer.id in _ids(search_customers(demo, "4341", limit=500))
    assert customer.id not in _ids(search_customers(demo, mobile[-6:], limit=500))


def test_a_letter_being_typed_does_not_widen_the_search() -> None:
    assert search.plan_query("12 rue des j").terms == ("12",)
    assert search.plan_query("rue").terms == ("rue",)
    assert search.plan_query("k").terms == ("k",)
    assert search.plan_query("de la").terms == ("de", "la")
    assert search.plan_query("203 chemi").terms == ("203",)
    # A one-character word followed by another is complete: that word, not a prefix.
    assert search.plan_query("4 b").terms == ("4",) and search.plan_query("4 b").exact == {"4"}
    assert search.plan_query("k").exact == frozenset()


def test_a_name_ranks_above_an_address(own_demo: ServiceContext) -> None:
    demo = own_demo
    with demo.reading() as session:
        named = {w for c in session.scalars(select(Customer))
                 for w in search_index.normalise(f"{c.last_name} {c.first_name} {c.organisation_name}").split()}
        streets = [p.street.name for p in session.scalars(select(Premise).where(Premise.street_id.is_not(None)))]
        # A word of a street where customers live that is nobody's name.
        word = next(w for street in streets for w in search_index.normalise(street).split()
                    if len(w) >= 5 and w not in named)
        customer_id = session.scalars(select(Customer.id).where(Customer.last_name != "").order_by(Customer.id.desc())).first()
    with demo.unit_of_work() as uow:
        row = uow.session.get(Customer, customer_id)
        assert row is not None
        row.last_name = word.capitalize()
        uow.commit()
    page = search_customers(demo, word, limit=500)
    assert page.total is not None and page.total > 1  # the street's residents are found too
    assert page.hits[0].customer_id == customer_id and page.hits[0].matched_field.startswith("Nom")


def test_postgresql_prefix_lexemes_are_those_the_revision_computes(demo: ServiceContext) -> None:
    if demo.db.dialect != "postgresql":
        pytest.skip("prefix lexemes are PostgreSQL's (FTS5 keeps its own prefix index)")
    import importlib

    revision = importlib.import_module("app.models.migrations.versions.0007_i22_search_prefix_lexemes")
    with demo.reading() as session:
        rows = session.execute(text(f"SELECT prefixes, {revision.PREFIXES} FROM customer_search")).all()
    assert len(rows) == 300
    assert all(set(stored.split()) == set(computed.split()) and stored for stored, computed in rows)
    # and a two-letter start is looked up as its lexeme
    assert search.words._tsquery(search.plan_query("ko")) == "'p2ko'"


def test_sqlite_keystrokes_keep_a_page_cache_of_their_own(demo: ServiceContext) -> None:
    """One connection serves keystroke after keystroke with the search's large page cache; the
    other connections keep SQLite's default."""
    if demo.db.dialect != "sqlite":
        pytest.skip("PostgreSQL's search connections start with planner settings instead")
    seen = []

    def cache(connection: object) -> None:
        raw = connection.connection.driver_connection  # type: ignore[attr-defined]
        seen.append((id(raw), raw.execute("PRAGMA cache_size").fetchone()[0]))

    for _ in range(3):
        demo.db.reading_with(cache, search.INDEX_PLANS, search.SEARCH_PRAGMAS)
    assert [size for _raw, size in seen] == [int(search.SEARCH_PRAGMAS["cache_size"])] * 3
    assert len({raw for raw, _size in seen}) == 1
    with demo.reading() as session:
        assert session.connection().exec_driver_sql("PRAGMA cache_size").scalar() == -2000
