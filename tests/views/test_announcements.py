"""Every write announces what it changed; the pages showing it reload themselves, the others
do not; a failed write announces nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTabWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from app.models.changes import Changes
from app.models.enums import PaymentMethod
from app.services.auth import sign_in
from app.services.customer_edit import IdentityInput, update_identity
from app.services.customer_file import load_customer_file
from app.services.payments import record_payment
from app.settings import Settings
from app.sync.client import CentralClient
from app.sync.endpoint import Endpoint
from app.sync.runner import SyncOutcome, run_sync
from app.views.customers.file_tabs import AccountsTab
from app.views.customers.file_view import CustomerFileView
from app.views.customers.page import ClientsPage
from app.views.customers.payment_dialog import PaymentDialog
from app.views.customers.results_model import BALANCE_COLUMN
from app.views.home_page import HomePage
from app.views.main_window import MainWindow
from app.views.shell import Shell
from app.views.tasks import TaskRunner
from kernel.context import ServiceContext
from tests.services.helpers import Household, household
from tests.views.conftest import type_text, wait_idle
from tests.views.test_clients import dialog_of
from tests.views.test_counter_day import _owes


def _plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


@pytest.fixture
def window(qtbot: QtBot, ctx: ServiceContext, settings: Settings) -> Iterator[MainWindow]:
    user = sign_in(ctx.db, "agent", "Guichet-Agent-2026")
    runner = TaskRunner()
    main = MainWindow(Shell(settings, ctx.signed_in(user), runner))
    qtbot.addWidget(main)
    main.show()
    main.activateWindow()
    qtbot.waitExposed(main)
    yield main
    runner.shutdown()


def _clients(window: MainWindow) -> ClientsPage:
    return window.show_page(ClientsPage)


def _search(qtbot: QtBot, page: ClientsPage, text: str) -> None:
    """Ctrl+F's way: the search tab, the box's text selected, replaced by what is typed."""
    page.focus_search()
    type_text(qtbot, page.search_tab.box, text)
    qtbot.waitUntil(
        lambda: page.search_tab.model.query == text and page.search_tab.model.rowCount() == 1,
        timeout=10000,
    )
    wait_idle(qtbot)


def _open_first(qtbot: QtBot, page: ClientsPage) -> CustomerFileView:
    qtbot.keyClick(page.search_tab.box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: isinstance(page.tabs.currentWidget(), CustomerFileView))
    view = page.tabs.currentWidget()
    assert isinstance(view, CustomerFileView)
    qtbot.waitUntil(lambda: view.file is not None, timeout=10000)
    wait_idle(qtbot)
    return view


def _click_tab(qtbot: QtBot, tabs: QTabWidget, index: int) -> None:
    bar = tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert tabs.currentIndex() == index


def _row_balance(page: ClientsPage) -> str:
    model = page.search_tab.table.model()
    return _plain(model.data(model.index(0, BALANCE_COLUMN)))


def _pay(qtbot: QtBot, view: CustomerFileView, amount: str) -> None:
    qtbot.mouseClick(view.action_buttons["pay"], Qt.MouseButton.LeftButton)
    dialog = dialog_of(PaymentDialog)
    wait_idle(qtbot)
    field = dialog.amount  # type: ignore[attr-defined]
    field.selectAll()
    type_text(qtbot, field, amount)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=15000)
    wait_idle(qtbot)


def test_after_a_payment_every_page_shows_the_same_new_balance(
    qtbot: QtBot, window: MainWindow, home: Household, ctx: ServiceContext,
    qtmodeltester: ModelTester,
) -> None:
    _owes(ctx, home, 4372)
    page = _clients(window)
    _search(qtbot, page, "kone helene")
    assert _row_balance(page) == "4 372 F CFA"
    view = _open_first(qtbot, page)
    _click_tab(qtbot, view.tabs, 1)
    accounts = view.tab(AccountsTab)
    wait_idle(qtbot)
    assert "reste dû : 4 372" in _plain(accounts.as_of.text())

    _pay(qtbot, view, "1 000")

    assert "solde à jour 3 372" in _plain(view.summary.text())
    item = accounts.accounts.currentItem()
    assert "solde à jour 3 372" in _plain(item.text())
    assert "reste dû : 3 372" in _plain(accounts.as_of.text())
    statement = accounts.statement_model
    last = statement.rowCount() - 1
    assert _plain(statement.data(statement.index(last, 4))) == "1 000 F CFA"
    assert _plain(statement.data(statement.index(last, 5))) == "3 372 F CFA"
    _click_tab(qtbot, page.tabs, 0)
    assert _row_balance(page) == "3 372 F CFA"
    assert page.search_tab.table.currentIndex().row() == 0, "the selection stays"
    qtmodeltester.check(page.search_tab.model)
    home_page = window.show_page(HomePage)
    qtbot.waitUntil(
        lambda: _plain(home_page.values["cashed_today"].text()) == "1 000 F CFA (1)",
        timeout=10000,
    )


def test_a_change_elsewhere_reloads_nothing_here(
    qtbot: QtBot, window: MainWindow, home: Household, ctx: ServiceContext
) -> None:
    other = household(ctx, last_name="Traoré", first_name="Moussa", mobile="05 55 66 77 88")
    _owes(ctx, other, 2000)
    page = _clients(window)
    _search(qtbot, page, "kone helene")
    kone = _open_first(qtbot, page)
    _search(qtbot, page, "traore moussa")
    traore = _open_first(qtbot, page)
    _search(qtbot, page, "kone helene")
    _click_tab(qtbot, page.tabs, page.tabs.indexOf(traore))
    reloads: list[str] = []
    kone.loaded.connect(lambda _file: reloads.append("Koné's file"))
    traore.loaded.connect(lambda _file: reloads.append("Traoré's file"))
    page.search_tab.model.refreshed.connect(lambda: reloads.append("search results"))

    _pay(qtbot, traore, "500")

    assert reloads == ["Traoré's file"]
    assert "solde à jour 1 500" in _plain(traore.summary.text())

    reloads.clear()
    _rename(window.shell.runner, window.shell.ctx, other, "Moussa Ali")
    qtbot.waitUntil(lambda: reloads == ["Traoré's file"], timeout=10000)
    wait_idle(qtbot)
    assert reloads == ["Traoré's file"]
    assert traore.name.text().endswith("Moussa Ali")


def _rename(
    runner: TaskRunner, ctx: ServiceContext, home: Household, first_name: str, *,
    then_fail: bool = False,
) -> None:
    """The identity edit's write, as the dialog runs it (optionally failing after its commit)."""

    def edit() -> None:
        identity = load_customer_file(ctx, home.customer_id).identity
        data = replace(IdentityInput.from_identity(identity), first_name=first_name)
        update_identity(ctx, home.customer_id, identity.version, data)
        if then_fail:
            raise RuntimeError("after the commit")

    runner.write(edit, on_failure=lambda error: None if then_fail else pytest.fail(str(error)))


def test_a_write_announces_the_entities_it_touched_and_a_failed_one_nothing(
    qtbot: QtBot, ctx: ServiceContext, home: Household
) -> None:
    runner = TaskRunner()
    agent = ctx.signed_in(sign_in(ctx.db, "agent", "Guichet-Agent-2026"))
    announced: list[Changes] = []
    runner.changed.connect(announced.append)

    with qtbot.waitSignal(runner.changed, timeout=10000):
        runner.write(
            lambda: record_payment(
                agent, home.account_id, Decimal(700), PaymentMethod.CASH, confirmed=True
            ),
            on_failure=lambda error: pytest.fail(repr(error)),
        )
    wait_idle(qtbot)
    (paid,) = announced
    assert paid.ids("account") == {home.account_id}
    assert paid.touches("payment") and not paid.touches("customer")
    assert not paid.touches("audit_entry") and not paid.touches("sync_journal")

    announced.clear()
    with qtbot.waitSignal(runner.changed, timeout=10000):
        _rename(runner, agent, home, "Hélène Awa")
    wait_idle(qtbot)
    (renamed,) = announced
    assert renamed.ids("customer") == {home.customer_id} and not renamed.touches("account")

    announced.clear()
    with qtbot.assertNotEmitted(runner.changed, wait=200):
        _rename(runner, agent, home, "Awa", then_fail=True)
        wait_idle(qtbot)
    assert announced == []
    assert load_customer_file(agent, home.customer_id).identity.first_name == "Awa"
    runner.shutdown()


@pytest.fixture
def home(ctx: ServiceContext) -> Household:
    return household(ctx)


def test_a_synchronisation_run_announces_that_everything_may_have_changed(
    qtbot: QtBot, ctx: ServiceContext, tmp_path: Path
) -> None:
    """Its pages are applied in bulk: every page reloads when a run ends, even a failed one
    (what it applied before failing stays)."""
    endpoint = Endpoint("http://central.invalid", "secret", ctx.installation.agency_code)
    client = CentralClient(
        endpoint, attempts=1, transport=httpx.MockTransport(lambda _request: httpx.Response(503))
    )
    runner = TaskRunner()
    outcomes: list[SyncOutcome] = []
    with qtbot.waitSignal(runner.changed, timeout=20000) as announced:
        runner.read(
            lambda: run_sync(ctx.db, ctx.installation, endpoint, data_dir=tmp_path, client=client),
            on_success=outcomes.append,
        )
    wait_idle(qtbot)
    assert outcomes[0].status == "failed"
    (changes,) = announced.args
    assert changes.everything and changes.touches("account", [uuid.uuid4()])
    runner.shutdown()
