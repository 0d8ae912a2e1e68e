"""Every screen fits a 1366×768 screen: each page of the sidebar and each tab of the customer
file, in the window maximised (1366×768) and in its first-start size there (1280×728), shows
nothing cut sideways; the form dialogs open on their first field and Tab reaches OK, then
Annuler, last."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from app.models.enums import Role
from app.services.auth import sign_in
from app.settings import Settings
from app.views.customers.file_view import CustomerFileView
from app.views.customers.page import ClientsPage
from app.views.forms import FormDialog
from app.views.main_window import MainWindow
from app.views.modules import standard_registry
from app.views.shell import Shell
from app.views.tasks import TaskRunner
from app.views.works.page import QuotesPage
from kernel.context import ServiceContext
from tests.services.helpers import Household, household
from tests.views.conftest import wait_idle
from tests.views.screen_fit import clipped

#: The window maximised on a 1366×768 screen, and its first-start size there (fit_screen: at
#: most 1280 wide, the title bar and borders taken off the height).
SIZES = {"maximised": QSize(1366, 768), "first start": QSize(1280, 728)}

REGISTRY = standard_registry()
PAGES = [entry.title for entry in REGISTRY.pages]
TABS = [entry.title.replace("&", "") for entry in REGISTRY.file_tabs]


@pytest.fixture
def home(ctx: ServiceContext) -> Household:
    return household(ctx)


@pytest.fixture
def window(qtbot: QtBot, ctx: ServiceContext, settings: Settings) -> Iterator[MainWindow]:
    """The administrator's window: every page of the registry is in it."""
    user = sign_in(ctx.db, "admin", "Guichet-Admin-2026")
    assert user.role is Role.ADMINISTRATOR
    runner = TaskRunner()
    main = MainWindow(Shell(settings, ctx.signed_in(user), runner))
    qtbot.addWidget(main)
    main.show()
    wait_idle(qtbot)
    yield main
    runner.shutdown()


def _fits(qtbot: QtBot, window: MainWindow, show: Callable[[], object]) -> dict[str, list[str]]:
    """What is cut in each size, after ``show()`` put the screen in front."""
    found: dict[str, list[str]] = {}
    for name, size in SIZES.items():
        window.resize(size)
        show()
        wait_idle(qtbot)
        QApplication.processEvents()
        assert window.size() == size, f"the window cannot be made {size.width()}×{size.height()}"
        assert window.minimumSizeHint().width() <= size.width()
        cut = clipped(window)
        if cut:
            found[name] = cut
    return found


@pytest.mark.parametrize("title", PAGES)
def test_every_page_fits_1366_by_768(qtbot: QtBot, window: MainWindow, title: str) -> None:
    mounted = next(m for m in window.mounted if m.entry.title == title)
    assert _fits(qtbot, window, lambda: window.go_to(mounted.page)) == {}


def test_the_quote_editor_fits_1366_by_768(qtbot: QtBot, window: MainWindow) -> None:
    page = window.show_page(QuotesPage)
    assert _fits(qtbot, window, page.new_quote) == {}


def _file(qtbot: QtBot, window: MainWindow, home: Household) -> CustomerFileView:
    view = window.show_page(ClientsPage).open_file(home.customer_id)
    assert isinstance(view, CustomerFileView)
    qtbot.waitUntil(lambda: view.file is not None, timeout=10000)
    wait_idle(qtbot)
    return view


@pytest.mark.parametrize("title", TABS)
def test_every_customer_file_tab_fits_1366_by_768(
    qtbot: QtBot, window: MainWindow, home: Household, title: str
) -> None:
    view = _file(qtbot, window, home)
    index = next(i for i, e in enumerate(view.entries) if e.title.replace("&", "") == title)
    assert _fits(qtbot, window, lambda: view.tabs.setCurrentIndex(index)) == {}


def _tab_stops(dialog: QWidget) -> list[QWidget]:
    """The widgets Tab visits, in order, from the dialog's first."""
    stops: list[QWidget] = []
    widget = dialog.nextInFocusChain()
    while widget is not dialog:
        if (widget.isVisible() and widget.isEnabled() and widget.focusPolicy().value & 1
                and widget.focusProxy() is None):
            stops.append(widget)
        widget = widget.nextInFocusChain()
    return stops


@pytest.mark.parametrize("action", ["record_payment", "record_reading", "change_occupant",
                                    "replace_meter", "edit_identity"])
def test_a_form_dialog_opens_on_its_first_field_and_tab_ends_on_ok_then_cancel(
    qtbot: QtBot, window: MainWindow, home: Household, action: str
) -> None:
    view = _file(qtbot, window, home)
    before = set(QApplication.topLevelWidgets())
    getattr(view, action)()
    wait_idle(qtbot)
    dialog = next(w for w in QApplication.topLevelWidgets()
                  if isinstance(w, FormDialog) and w.isVisible() and w not in before)
    stops = _tab_stops(dialog)
    ok, cancel = dialog.buttons.buttons()
    assert stops[-2:] == [ok, cancel], [type(s).__name__ for s in stops]
    assert dialog.focusWidget() in stops[:-2], "the cursor is in a field, not on a button"
    size = dialog.size()
    assert size.width() <= 1366 and size.height() <= 728
    dialog.reject()


def test_the_status_bar_keeps_both_warnings_and_the_central_state_whole(
    qtbot: QtBot, window: MainWindow
) -> None:
    from app.views.interventions.page import InterventionsPage
    from app.views.sync.page import SyncPage

    window.page(InterventionsPage).overdue_changed.emit("3 demandes ouvertes ont dépassé leur "
                                                        "échéance")
    window.page(SyncPage).warning_changed.emit("La synchronisation de la nuit n'a pas abouti")
    for size in SIZES.values():
        window.resize(size)
        QApplication.processEvents()
        bar = window.statusBar()
        assert clipped(bar) == []
        for label in (*window.warning_labels, window.central_label):
            assert label.isVisible()
            assert label.width() >= label.sizeHint().width(), label.text()
            assert label.geometry().right() <= bar.width()
        assert window.agency_label.toolTip().startswith("Agence 101")


def test_the_quote_dialogs_show_everything_and_the_deposit_counts_only_for_a_deposit(
    qtbot: QtBot, window: MainWindow, home: Household, ctx: ServiceContext
) -> None:
    from decimal import Decimal

    from app.services.works.invoicing import InvoiceChoice
    from app.services.works.quotes import QuoteInput, create_quote, load_quote
    from app.services.works.totals import LineInput
    from app.views.works.quote_dialogs import ApprovalDialog, ConnectionDialog, InvoiceDialog

    agent = window.shell.ctx
    saved = create_quote(agent, QuoteInput([LineInput("Robinet d'arrêt", Decimal(1), 8500,
                                                      Decimal("0.18"))],
                                           account_id=home.account_id))
    quote = load_quote(ctx, saved.quote_id)
    for kind in (ApprovalDialog, InvoiceDialog, ConnectionDialog):
        dialog = kind(window.shell, quote, window)
        qtbot.addWidget(dialog)
        dialog.show()
        QApplication.processEvents()
        assert clipped(dialog) == [], kind.__name__
        assert dialog.focusWidget() not in dialog.buttons.buttons(), kind.__name__
        assert dialog.ok_button.isDefault(), "Enter validates, even beside « Parcourir… »"
        if isinstance(dialog, InvoiceDialog):
            assert not dialog.percent.isEnabled()
            dialog.choice.set_value(InvoiceChoice.DEPOSIT)
            assert dialog.percent.isEnabled()
        dialog.reject()
