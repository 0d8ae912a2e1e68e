"""Works quotes: totals and rounding (hand-computed), the workflow and its refusals, revisions,
deposit and balance, credit notes, the prospect becoming a customer, numbering."""

from __future__ import annotations

import io
import re
import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.models import Commune, Customer, Invoice, Street, WorksQuote
from app.models.database import Database
from app.models.enums import ApprovalMethod, Civility, InvoiceKind, QuoteStatus, Role
from app.services.balances import account_balance
from app.services.statements import account_statement
from app.services.works import quotes as quotes_module
from app.services.works.catalogue import find_items, item_for, load_catalogue
from app.services.works.documents import quote_pdf
from app.services.works.invoicing import InvoiceChoice, credit_invoice, invoice_quote
from app.services.works.lists import (
    QuoteFilter,
    customer_works,
    list_quotes,
    monthly_report,
    quotes_csv,
    quotes_to_follow_up,
)
from app.services.works.quotes import (
    Prospect,
    QuoteInput,
    approve_quote,
    create_quote,
    expire_overdue,
    load_quote,
    order_works,
    refuse_quote,
    revise_quote,
    send_quote,
    update_quote,
)
from app.services.works.totals import LineInput, parse_percent, parse_quantity, price_quote
from kernel.context import ServiceContext, SignedInUser
from kernel.errors import (
    BusinessError,
    PermissionDeniedError,
    ValidationError,
)
from kernel.money import Currency
from tests.services.helpers import household

XOF = Currency.of("XOF")


def _as(ctx: ServiceContext, role: Role) -> ServiceContext:
    return ctx.signed_in(SignedInUser(uuid.uuid4(), role.value, f"Awa {role.value.title()}", role))


def _text(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_totals_round_each_line_then_add_them_up() -> None:
    lines = [
        # 12,5 m × 1 850 less 10 % = 20 812,5 → 20 813; VAT 18 % 3 746,34 → 3 746.
        LineInput("Tranchée", Decimal("12.5"), 1850, Decimal("0.18"), "m", Decimal("0.1")),
        LineInput("Branchement", Decimal(1), 85000, Decimal("0.18")),
        # 2,25 × 333 = 749,25 → 749; VAT 9 % 67,41 → 67.
        LineInput("Fourniture à taux réduit", Decimal("2.25"), 333, Decimal("0.09")),
    ]
    priced = price_quote(lines, Decimal("0.05"), XOF)
    assert [line.amount_excl_vat_minor for line in priced.lines] == [20813, 85000, 749]
    assert [line.vat_minor for line in priced.lines] == [3746, 15300, 67]
    # 5 % on the total, per rate: 105 813 → −5 291 (VAT −952); 749 → −37 (VAT −3).
    assert [(d.amount_excl_vat_minor, d.vat_minor) for d in priced.discounts] == \
        [(-37, -3), (-5291, -952)]
    assert "TVA 18 %" in priced.discounts[1].label
    assert priced.total_excl_vat_minor == 101234
    assert priced.vat_minor == 18158
    assert priced.total_minor == 119392
    assert [(r.vat_rate, r.base_minor, r.vat_minor) for r in priced.by_rate()] == \
        [(Decimal("0.09"), 712, 64), (Decimal("0.18"), 100522, 18094)]


def test_cents_are_rounded_half_up_in_euros() -> None:
    euro = Currency.of("EUR")
    # 3,333 × 12,34 € = 41,12922 → 41,13 €; VAT 20 % 8,226 → 8,23 €.
    priced = price_quote([LineInput("Câble", Decimal("3.333"), 1234, Decimal("0.2"), "m")],
                         Decimal(0), euro)
    assert (priced.total_excl_vat_minor, priced.vat_minor, priced.total_minor) == (4113, 823, 4936)


def test_typed_quantities_and_percentages() -> None:
    assert parse_quantity("12,5") == Decimal("12.5")
    assert parse_percent("5,5 %", "d") == Decimal("0.055")
    with pytest.raises(ValidationError, match="Trois décimales"):
        parse_quantity("1,2345")
    with pytest.raises(ValidationError, match="positive"):
        parse_quantity("0")
    with pytest.raises(ValidationError, match="entre 0 et 100"):
        parse_percent("150", "d")


def _lines(ctx: ServiceContext, *codes_and_quantities: tuple[str, str]) -> list[LineInput]:
    items = load_catalogue(ctx)
    found = []
    for code, quantity in codes_and_quantities:
        item = item_for(items, code)
        assert item is not None, code
        found.append(LineInput(item.label, Decimal(quantity), item.unit_price_minor,
                               item.vat_rate, item.unit, catalogue_item_id=item.item_id,
                               code=item.code))
    return found


def test_catalogue_answers_a_code_or_a_few_letters(ctx: ServiceContext) -> None:
    items = load_catalogue(ctx)
    assert item_for(items, "pehd-25") is not None
    assert item_for(items, "pehd-25").code == "PEHD-25"  # type: ignore[union-attr]
    assert [i.code for i in find_items(items, "tube pehd")] == ["PEHD-25"]
    assert [i.code for i in find_items(items, "câble")] == ["CABLE-16"]
    assert find_items(items, "") == []


def test_quote_workflow_with_its_refusals(ctx: ServiceContext) -> None:
    agent = _as(ctx, Role.AGENT)
    home = household(agent)
    data = QuoteInput(_lines(agent, ("PEHD-25", "12.5"), ("COUPURE", "1")),
                      account_id=home.account_id, subject="Extension réseau")
    saved = create_quote(agent, data)
    assert re.fullmatch(r"DV101-\d{4}-000001", saved.number)
    # 12,5 × 1 200 = 15 000 (VAT 2 700) + 5 000 (VAT 900).
    assert saved.total_minor == 15000 + 2700 + 5000 + 900
    saved = update_quote(agent, saved.quote_id, saved.version,
                         QuoteInput([*data.lines, LineInput("Main-d'œuvre", Decimal("2.5"), 4000,
                                                            Decimal("0.18"), "h")],
                                    account_id=home.account_id, discount_rate=Decimal("0.1")))
    view = load_quote(agent, saved.quote_id)
    assert len(view.lines) == 3 and view.party == "Mme KONÉ Hélène"
    with pytest.raises(BusinessError, match="brouillon"):
        approve_quote(agent, saved.quote_id, "Hélène Koné", ApprovalMethod.IN_PERSON)
    pdf = send_quote(agent, saved.quote_id)
    assert "DEVIS" in _text(pdf) and saved.number in _text(pdf)
    with pytest.raises(BusinessError, match="Faites une révision"):
        update_quote(agent, saved.quote_id, load_quote(agent, saved.quote_id).version, data)
    with pytest.raises(ValidationError, match="papier signé"):
        approve_quote(agent, saved.quote_id, "Hélène Koné", ApprovalMethod.SIGNED_PAPER)
    with pytest.raises(ValidationError, match="qui a signé"):
        approve_quote(agent, saved.quote_id, " ", ApprovalMethod.IN_PERSON)
    approve_quote(agent, saved.quote_id, "Hélène Koné", ApprovalMethod.SIGNED_PAPER,
                  scan=b"%PDF-1.4 scanned", scan_name="accord.pdf")
    view = load_quote(agent, saved.quote_id)
    assert view.status is QuoteStatus.APPROVED and not view.editable
    assert [s.what for s in view.steps] == ["Créé", "Envoyé", "Accepté"]
    assert all(s.who == "Awa Agent" for s in view.steps)
    assert "signé par Hélène Koné" in view.steps[2].detail
    with pytest.raises(BusinessError):
        refuse_quote(agent, saved.quote_id, "trop cher")
    reprint = quote_pdf(agent, saved.quote_id)
    assert reprint.duplicate and "DUPLICATA" in _text(reprint.pdf)

    calls: list[str] = []
    quotes_module.WORKS_ORDER_HOOKS.append(lambda _s, quote: calls.append(quote.number))
    try:
        ordered = order_works(agent, saved.quote_id)
    finally:
        quotes_module.WORKS_ORDER_HOOKS.clear()
    assert calls == [saved.number] and len(ordered.lines) == 3
    view = load_quote(agent, saved.quote_id)
    assert view.status is QuoteStatus.ORDERED and view.steps[-1].what == "Travaux commandés"


def test_refused_and_expired_quotes(ctx: ServiceContext) -> None:
    agent = _as(ctx, Role.AGENT)
    home = household(agent)
    today = agent.installation.today()
    lines = _lines(agent, ("REMISE", "1"))
    refused = create_quote(agent, QuoteInput(lines, account_id=home.account_id))
    send_quote(agent, refused.quote_id)
    with pytest.raises(ValidationError, match="motif"):
        refuse_quote(agent, refused.quote_id, "")
    refuse_quote(agent, refused.quote_id, "Le client trouve le devis trop cher")
    assert load_quote(agent, refused.quote_id).steps[-1].detail.endswith("trop cher")
    late = create_quote(agent, QuoteInput(lines, account_id=home.account_id,
                                          valid_until=today + timedelta(days=3)))
    send_quote(agent, late.quote_id)
    draft = create_quote(agent, QuoteInput(lines, account_id=home.account_id,
                                           valid_until=today + timedelta(days=3)))
    assert quotes_to_follow_up(agent) == "1 devis expire(nt) dans la semaine"
    assert expire_overdue(agent, today + timedelta(days=3)) == []
    assert expire_overdue(agent, today + timedelta(days=4)) == [late.number]
    assert load_quote(agent, late.quote_id).status is QuoteStatus.EXPIRED
    assert load_quote(agent, draft.quote_id).status is QuoteStatus.DRAFT
    listed = list_quotes(agent, QuoteFilter(status=QuoteStatus.EXPIRED))
    assert [row.number for row in listed.rows] == [late.number] and listed.count == 1


def test_revision_keeps_the_approved_quote(ctx: ServiceContext) -> None:
    agent = _as(ctx, Role.AGENT)
    home = household(agent)
    saved = create_quote(agent, QuoteInput(_lines(agent, ("COFFRET", "1")),
                                           account_id=home.account_id))
    send_quote(agent, saved.quote_id)
    approve_quote(agent, saved.quote_id, "H. Koné", ApprovalMethod.IN_PERSON)
    second = revise_quote(agent, saved.quote_id)
    assert second.number == f"{saved.number}-2"
    third_base = load_quote(agent, second.quote_id)
    assert third_base.status is QuoteStatus.DRAFT and third_base.previous_number == saved.number
    assert [line.label for line in third_base.lines] == \
        [line.label for line in load_quote(agent, saved.quote_id).lines]
    old = load_quote(agent, saved.quote_id)
    assert old.status is QuoteStatus.REVISED and old.next_number == second.number
    assert old.priced.total_minor == 28000 + 5040
    send_quote(agent, second.quote_id)
    assert revise_quote(agent, second.quote_id).number == f"{saved.number}-3"
    with pytest.raises(BusinessError):
        revise_quote(agent, saved.quote_id)


def test_deposit_then_balance_posted_to_the_account_and_credit_note(ctx: ServiceContext) -> None:
    agent = _as(ctx, Role.AGENT)
    home = household(agent)
    before = account_balance(agent, home.account_id).current_minor
    saved = create_quote(agent, QuoteInput(
        _lines(agent, ("PEHD-25", "12.5"), ("COFFRET", "1")), account_id=home.account_id))
    # 15 000 + 28 000 = 43 000 HT, VAT 2 700 + 5 040 = 7 740: 50 740 TTC.
    assert saved.total_minor == 50740
    with pytest.raises(BusinessError, match="accepté"):
        invoice_quote(agent, saved.quote_id, InvoiceChoice.FULL)
    send_quote(agent, saved.quote_id)
    approve_quote(agent, saved.quote_id, "H. Koné", ApprovalMethod.IN_PERSON)
    with pytest.raises(BusinessError, match="Aucun acompte"):
        invoice_quote(agent, saved.quote_id, InvoiceChoice.BALANCE)
    # 30 % of 43 000 = 12 900, VAT 2 322.
    deposit = invoice_quote(agent, saved.quote_id, InvoiceChoice.DEPOSIT, Decimal("0.3"))
    month = agent.installation.today()
    assert monthly_report(agent, month.year, month.month).deposits_outstanding_minor == 15222
    assert re.fullmatch(r"FT101-\d{4}-000001", deposit.number)
    assert deposit.total_minor == 12900 + 2322
    assert "FACTURE D'ACOMPTE" in _text(deposit.pdf)
    with pytest.raises(BusinessError, match="solde"):
        invoice_quote(agent, saved.quote_id, InvoiceChoice.FULL)
    assert account_balance(agent, home.account_id).current_minor == before + 15222
    order_works(agent, saved.quote_id)
    balance = invoice_quote(agent, saved.quote_id, InvoiceChoice.BALANCE)
    assert balance.total_minor == 50740 - 15222
    assert account_balance(agent, home.account_id).current_minor == before + 50740
    statement = account_statement(agent, home.account_id)
    assert {deposit.number, balance.number} <= {line.reference for line in statement.lines}
    assert statement.closing_minor == before + 50740
    view = load_quote(agent, saved.quote_id)
    assert view.status is QuoteStatus.INVOICED and view.steps[-1].what == "Facturé"

    with pytest.raises(PermissionDeniedError):
        credit_invoice(agent, balance.invoice_id, "erreur de quantité")
    supervisor = _as(ctx, Role.SUPERVISOR)
    with pytest.raises(BusinessError, match="solde"):
        credit_invoice(supervisor, deposit.invoice_id, "erreur de quantité")
    credit = credit_invoice(supervisor, balance.invoice_id, "erreur de quantité")
    assert credit.total_minor == -balance.total_minor and "AVOIR" in _text(credit.pdf)
    with pytest.raises(BusinessError, match="déjà annulée"):
        credit_invoice(supervisor, balance.invoice_id, "erreur de quantité")
    assert account_balance(agent, home.account_id).current_minor == before + 15222
    assert load_quote(agent, saved.quote_id).status is QuoteStatus.ORDERED
    again = invoice_quote(agent, saved.quote_id, InvoiceChoice.BALANCE)
    assert again.total_minor == balance.total_minor
    assert re.fullmatch(r"FT101-\d{4}-000004", again.number), "one gap-free works series"
    with ctx.reading() as session:
        kinds = sorted(i.kind for i in session.scalars(select(Invoice).where(
            Invoice.works_quote_id == saved.quote_id)))
    assert kinds.count(InvoiceKind.CREDIT_NOTE) == 1 and kinds.count(InvoiceKind.WORKS) == 3
    tab = customer_works(agent, home.customer_id)
    assert [q.number for q in tab.quotes] == [saved.number] and len(tab.invoices) == 4
    today = agent.installation.today()
    report = monthly_report(agent, today.year, today.month)
    assert (report.issued, report.approved, report.approval_rate) == (1, 1, 1.0)
    # 15 222 + 35 518 − 35 518 + 35 518: what is invoiced, credit note deducted.
    assert report.invoiced_minor == 50740 and report.deposits_outstanding_minor == 0


def _place(ctx: ServiceContext) -> tuple[uuid.UUID, uuid.UUID]:
    with ctx.reading() as session:
        commune = session.scalars(select(Commune).where(Commune.name == "Cocody")).one()
        street = session.scalars(select(Street).where(Street.commune_id == commune.id)).first()
        assert street is not None
        return commune.id, street.id


def test_prospect_becomes_the_customer_when_invoiced(ctx: ServiceContext) -> None:
    agent = _as(ctx, Role.AGENT)
    commune_id, street_id = _place(agent)
    with pytest.raises(ValidationError, match="téléphone"):
        create_quote(agent, QuoteInput(_lines(agent, ("COFFRET", "1")), prospect=Prospect(
            Civility.MR, "Traoré", "Ali", "", commune_id, street_id, "7")))
    saved = create_quote(agent, QuoteInput(_lines(agent, ("COFFRET", "1")), prospect=Prospect(
        Civility.MR, "Traoré", "Ali", "07 11 22 33 44", commune_id, street_id, "7"),
        subject="Nouveau branchement"))
    view = load_quote(agent, saved.quote_id)
    assert view.customer_id is None and view.party == "M. TRAORÉ Ali"
    assert list_quotes(agent, QuoteFilter(text="traoré")).rows[0].is_prospect
    send_quote(agent, saved.quote_id)
    approve_quote(agent, saved.quote_id, "Ali Traoré", ApprovalMethod.IN_PERSON)
    issued = invoice_quote(agent, saved.quote_id, InvoiceChoice.FULL)
    with agent.reading() as session:
        customer = session.get(Customer, issued.customer_id)
        assert customer is not None
        assert (customer.civility, customer.last_name, customer.first_name, customer.mobile) == \
            (Civility.MR, "Traoré", "Ali", "0711223344")
        quote = session.get(WorksQuote, saved.quote_id)
        assert quote is not None and quote.customer_id == customer.id
    assert account_balance(agent, issued.account_id).current_minor == 28000 + 5040
    assert load_quote(agent, saved.quote_id).party == "M. TRAORÉ Ali"


def test_three_page_quote_pdf_says_page_n_of_n(ctx: ServiceContext) -> None:
    agent = _as(ctx, Role.AGENT)
    home = household(agent)
    lines = [LineInput(f"Article n° {n} — fourniture et pose", Decimal(n % 7 + 1), 1000 + n,
                       Decimal("0.18") if n % 3 else Decimal("0.09")) for n in range(1, 71)]
    saved = create_quote(agent, QuoteInput(lines, account_id=home.account_id,
                                           discount_rate=Decimal("0.05")))
    printed = quote_pdf(agent, saved.quote_id)
    reader = PdfReader(io.BytesIO(printed.pdf))
    assert len(reader.pages) == 3
    assert "page 3 / 3" in reader.pages[2].extract_text()
    assert all("Désignation" in page.extract_text() for page in reader.pages), "header repeated"
    text = " ".join(_text(printed.pdf).replace("\u202f", " ").split())
    assert "Remise 5 % sur le total (TVA 9 %)" in text
    assert saved.total_minor == 316684 and "Total TTC 316 684 F CFA" in text
    assert "somme de : Trois cent seize mille six cent quatre-vingt-quatre francs CFA" in text


def test_lists_filter_and_export(ctx: ServiceContext) -> None:
    agent = _as(ctx, Role.AGENT)
    home = household(agent)
    small = create_quote(agent, QuoteInput(_lines(agent, ("COUPURE", "1")),
                                           account_id=home.account_id))
    big = create_quote(agent, QuoteInput(_lines(agent, ("COFFRET", "3")),
                                         account_id=home.account_id))
    listed = list_quotes(agent, QuoteFilter(min_total_minor=10_000))
    assert [r.number for r in listed.rows] == [big.number]
    assert listed.total_minor == big.total_minor
    everything = list_quotes(agent, QuoteFilter(agent="awa"))
    assert everything.count == 2 and everything.total_minor == small.total_minor + big.total_minor
    assert list_quotes(agent, QuoteFilter(text=small.number)).count == 1
    csv_text = quotes_csv(agent, QuoteFilter())
    assert csv_text.splitlines()[0].startswith("Numéro;Date;Client")
    assert len(csv_text.splitlines()) == 3
    report = monthly_report(agent, agent.installation.today().year,
                            agent.installation.today().month)
    assert report.issued == 2 and report.approval_rate is None


def test_names_search_reads_the_indexes_customers_and_prospects(ctx: ServiceContext) -> None:
    """A few letters of a name, accents ignored, any word of a customer's names, the prospect's
    last name's start then other words: served by the customer search index and
    ``prospect_key``; a renamed customer is found under the new name."""
    from app.services.customer_edit import IdentityInput, update_identity

    agent = _as(ctx, Role.AGENT)
    hélène = household(agent)  # Mme KONÉ Hélène
    other = household(agent, last_name="Bamba", first_name="Issa")
    mine = create_quote(agent, QuoteInput(_lines(agent, ("COUPURE", "1")),
                                          account_id=hélène.account_id))
    create_quote(agent, QuoteInput(_lines(agent, ("COUPURE", "1")),
                                   account_id=other.account_id))
    commune_id, street_id = _place(agent)
    prospect = create_quote(agent, QuoteInput(_lines(agent, ("COFFRET", "1")), prospect=Prospect(
        Civility.MR, "N'Guessan-Traoré", "Ali", "07 11 22 33 44", commune_id, street_id, "7")))

    def found(text: str) -> set[str]:
        return {r.number for r in list_quotes(agent, QuoteFilter(text=text)).rows}

    assert found("kon") == found("KONE") == found("helene") == found("hel kon") == {mine.number}
    assert found("nguess") == found("n guessan tra") == found("n'guessan ali") == {prospect.number}
    assert found("traor") == set()  # a prospect's key is searched from the last name's start
    assert found("zzz") == set()
    assert list_quotes(agent, QuoteFilter(text="kone")).total_minor == mine.total_minor
    with agent.reading() as session:
        key = session.get(WorksQuote, prospect.quote_id).prospect_key  # type: ignore[union-attr]
    assert key == "nguessan traore ali"
    with agent.reading() as session:
        customer = session.get(Customer, hélène.customer_id)
        assert customer is not None
        version, identity = customer.version, customer
    update_identity(agent, hélène.customer_id, version, IdentityInput(
        civility=identity.civility, last_name="Ouattara", first_name="Hélène",
        mobile="07 01 02 03 04"))
    assert found("ouatt") == {mine.number} and found("kone") == set()


def test_works_invoices_list_filters_by_agent_and_commune(ctx: ServiceContext) -> None:
    """The invoices list's agent (who prepared or invoiced the works) and commune (the works
    site's), as the quotes list's, with the count and total of what is filtered."""
    from app.services.works.lists import InvoiceFilter, invoices_csv, list_works_invoices

    agent = _as(ctx, Role.AGENT)
    supervisor = ctx.signed_in(SignedInUser(uuid.uuid4(), "bamba", "Issa Bamba", Role.SUPERVISOR))
    with agent.reading() as session:
        places = {}
        for name in ("Cocody", "Yopougon"):
            commune = session.scalars(select(Commune).where(Commune.name == name)).one()
            street = session.scalars(select(Street).where(Street.commune_id == commune.id)).first()
            assert street is not None
            places[name] = (commune.id, street.id)
    issued = {}
    for who, commune_name, last in ((agent, "Cocody", "Yao"), (supervisor, "Yopougon", "Koffi")):
        commune_id, street_id = places[commune_name]
        saved = create_quote(who, QuoteInput(_lines(who, ("COFFRET", "1")), prospect=Prospect(
            Civility.MR, last, "Ali", "0701020304", commune_id, street_id, "5")))
        send_quote(who, saved.quote_id)
        approve_quote(who, saved.quote_id, f"Ali {last}", ApprovalMethod.IN_PERSON)
        issued[commune_name] = invoice_quote(who, saved.quote_id, InvoiceChoice.FULL)

    def numbers(**given: object) -> set[str]:
        return {r.number for r in list_works_invoices(agent, InvoiceFilter(**given)).rows}  # type: ignore[arg-type]

    both = {i.number for i in issued.values()}
    assert numbers() == both
    assert numbers(agent="bamba") == {issued["Yopougon"].number}
    assert numbers(agent="awa") == {issued["Cocody"].number}
    assert numbers(commune_id=places["Cocody"][0]) == {issued["Cocody"].number}
    assert numbers(commune_id=places["Cocody"][0], agent="bamba") == set()
    yopougon = list_works_invoices(agent, InvoiceFilter(commune_id=places["Yopougon"][0]))
    assert yopougon.count == 1 and yopougon.total_minor == issued["Yopougon"].total_minor
    assert (yopougon.rows[0].commune, yopougon.rows[0].invoiced_by) == ("Yopougon", "Issa Bamba")
    exported = invoices_csv(agent, InvoiceFilter(agent="bamba")).splitlines()
    assert len(exported) == 2 and exported[1].split(";")[6] == "Yopougon"


@pytest.mark.postgres
def test_two_desks_number_quotes_without_gaps(pg_url: str, settings: object) -> None:
    from app.services.installation import load_installation
    from tests.conftest import make_demo

    first = Database(pg_url)
    make_demo(first)
    installation = load_installation(first, settings)  # type: ignore[arg-type]
    second = Database(pg_url)
    desks = [_as(ServiceContext(db, installation), Role.AGENT) for db in (first, second)]
    home = household(desks[0])
    lines = _lines(desks[0], ("COUPURE", "1"))
    numbers: list[str] = []
    errors: list[BaseException] = []

    def work(desk: ServiceContext) -> None:
        try:
            for _ in range(8):
                numbers.append(create_quote(desk, QuoteInput(lines,
                                                             account_id=home.account_id)).number)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=work, args=(desk,)) for desk in desks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first.dispose()
    second.dispose()
    assert not errors
    assert sorted(int(n[-6:]) for n in numbers) == list(range(1, 17))


def test_a_connection_quote_ends_in_a_connected_customer(ctx: ServiceContext) -> None:
    from app.models import Contract, Meter, MeterReading
    from app.models.enums import ContractStatus, Energy, ReadingKind
    from app.services.works.connection import connect_from_quote, connection_tariffs
    from kernel.identifiers import make_meter_serial

    agent = _as(ctx, Role.AGENT)
    commune_id, street_id = _place(agent)
    tariffs = dict((name, tariff_id) for tariff_id, name in connection_tariffs(agent))
    water = next(tariff_id for name, tariff_id in tariffs.items() if "au" in name.lower())
    saved = create_quote(agent, QuoteInput(_lines(agent, ("PEHD-25", "8")), prospect=Prospect(
        Civility.MRS, "Yao", "Adjoua", "0505050505", commune_id, street_id, "21"),
        tariff_id=water, subject="Branchement neuf"))
    send_quote(agent, saved.quote_id)
    approve_quote(agent, saved.quote_id, "Adjoua Yao", ApprovalMethod.IN_PERSON)
    serial = make_meter_serial(Energy.WATER, 4242)
    today = agent.installation.today()
    with pytest.raises(BusinessError, match="pas commandés"):
        connect_from_quote(agent, saved.quote_id, serial, 3, today)
    order_works(agent, saved.quote_id)
    with pytest.raises(ValidationError, match="contrôle"):
        connect_from_quote(agent, saved.quote_id, serial[:-1] + str((int(serial[-1]) + 1) % 10),
                           3, today)
    done = connect_from_quote(agent, saved.quote_id, serial, 3, today)
    with agent.reading() as session:
        contract = session.get(Contract, done.contract_id)
        assert contract is not None and contract.status is ContractStatus.ACTIVE
        assert contract.start_date == today and contract.tariff_id == water
        assert contract.account_id == done.account_id
        meter = session.get(Meter, done.meter_id)
        assert meter is not None and meter.serial == serial
        reading = session.get(MeterReading, contract.move_in_reading_id)
        assert reading is not None and (reading.index_value, reading.kind) == (3, ReadingKind.MOVE_IN)
    issued = invoice_quote(agent, saved.quote_id, InvoiceChoice.FULL)
    assert issued.account_id == done.account_id, "the same customer, nothing typed twice"
    with pytest.raises(BusinessError, match="déjà le branchement"):
        connect_from_quote(agent, saved.quote_id, make_meter_serial(Energy.WATER, 4243), 0, today)
