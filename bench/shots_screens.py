"""A walk through every screen of the desk program, to look at (not a test): the sign-in, every
page of the sidebar and every customer-file tab, maximised at 1366×768 and in the window's
first-start size, then every dialog the counter opens. Each screenshot is a PNG in OUT_FOLDER;
what is cut horizontally (tests/views/screen_fit.py) is printed beside its name.

    xvfb-run -s "-screen 0 1366x768x24" python bench/shots_screens.py OUT_FOLDER [PREFIX]
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication, QDialog, QWidget
from sqlalchemy import select

from app.models import Account, InterventionRequest
from app.models.database import Database
from app.models.enums import InterventionStatus, InterventionType
from app.services.auth import sign_in
from app.services.demo import build_demo
from app.services.installation import load_installation
from app.services.interventions.requests import RequestInput, create_request
from app.services.works.quotes import QuoteInput, create_quote
from app.services.works.totals import LineInput
from app.settings import Settings
from app.views.application import configure_application
from app.views.customers.file_view import CustomerFileView
from app.views.customers.page import ClientsPage
from app.views.main_window import MainWindow
from app.views.shell import Shell
from app.views.sign_in import SignInDialog
from app.views.tasks import TaskRunner
from bench.bench_interventions import fill
from bench.shots_interventions import _settle
from kernel import migrate
from kernel.context import ServiceContext
from kernel.money import Currency
from tests.views.screen_fit import clipped

MAXIMISED = QSize(1366, 768)


class Walk:
    def __init__(self, app: QApplication, runner: TaskRunner, out: Path, prefix: str) -> None:
        self.app, self.runner, self.out, self.prefix = app, runner, out, prefix
        self.count = 0
        self.findings: dict[str, list[str]] = {}

    def settle(self) -> None:
        _settle(self.app, self.runner)

    def shoot(self, widget: QWidget, name: str) -> None:
        self.settle()
        self.count += 1
        path = self.out / f"{self.prefix}{self.count:02d}-{name}.png"
        widget.grab().save(str(path))
        found = clipped(widget)
        self.findings[path.name] = found
        print(path.name, "" if not found else "\n    " + "\n    ".join(found), flush=True)

    def dialog(self, opening: Callable[[], object], name: str) -> None:
        """Opens a dialog, shoots it, checks it fits the screen, cancels it."""
        before = {id(w) for w in QApplication.topLevelWidgets() if w.isVisible()}
        opening()
        self.settle()
        opened = [w for w in QApplication.topLevelWidgets()
                  if isinstance(w, QDialog) and w.isVisible() and id(w) not in before]
        if not opened:
            print(f"{name}: no dialog opened", flush=True)
            return
        dialog = opened[-1]
        focus = QApplication.focusWidget()
        size = dialog.size()
        self.shoot(dialog, name)
        where = type(focus).__name__ + (f"#{focus.objectName()}" if focus and
                                        focus.objectName() else "") if focus else "rien"
        fits = size.width() <= MAXIMISED.width() and size.height() <= MAXIMISED.height() - 40
        print(f"    {size.width()}×{size.height()}{'' if fits else ' TROP GRAND'}, "
              f"focus : {where}", flush=True)
        dialog.reject()
        self.settle()


def _data(folder: Path) -> tuple[Database, ServiceContext, Settings]:
    db = Database(f"sqlite:///{folder / 'desk.sqlite3'}")
    migrate.upgrade(db.engine)
    build_demo(db, agency_code="101", currency=Currency.of("XOF"), customers=150,
               as_of=date.today())
    settings = Settings(data_dir=folder / "data", central_url="off", demo_customers=0)
    ctx = ServiceContext(db, load_installation(db, settings))
    today = ctx.installation.today()
    fill(db, ctx, requests=60, technicians=6, jobs=30,
         first_day=today - timedelta(days=today.weekday()), seed=5)
    admin = ctx.signed_in(sign_in(db, "admin", "Guichet-Admin-2026"))
    with db.reading() as session:
        account_id = session.scalars(select(Account.id).order_by(Account.number)).first()
        commune = session.scalars(select(InterventionRequest.commune_id)).first()
    create_quote(admin, QuoteInput([
        LineInput("Tube PEHD 25 mm", Decimal("12.5"), 1200, Decimal("0.18"), "m"),
        LineInput("Robinet d'arrêt", Decimal(1), 8500, Decimal("0.18")),
        LineInput("Main-d'œuvre", Decimal(2), 4000, Decimal("0.18"), "h")],
        account_id=account_id, subject="Extension du branchement d'eau"))
    create_request(admin, RequestInput(type=InterventionType.LEAK, description="Fuite devant "
                                       "le marché", commune_id=commune, account_id=account_id,
                                       reporter_name="Le client"), confirmed_duplicate=True)
    return db, ctx, settings


def _customer_with_everything(db: Database) -> uuid.UUID:
    with db.reading() as session:
        account_id = session.scalars(select(Account.id).order_by(Account.number)).first()
        return session.scalars(select(Account.customer_id).where(Account.id == account_id)).one()


def _walk_window(walk: Walk, window: MainWindow, size: str, customer: uuid.UUID) -> None:
    for mounted in window.mounted:
        window.go_to(mounted.page)
        walk.shoot(window, f"{size}-page-{_slug(mounted.entry.title)}")
    clients = window.show_page(ClientsPage)
    view = clients.open_file(customer)
    walk.settle()
    assert isinstance(view, CustomerFileView)
    for index, entry in enumerate(view.entries):
        view.tabs.setCurrentIndex(index)
        walk.shoot(window, f"{size}-file-{_slug(entry.title)}")


def _slug(title: str) -> str:
    return (title.replace("&", "").lower().replace(" ", "-").replace("é", "e")
            .replace("è", "e").replace("ô", "o"))


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "shots")
    prefix = sys.argv[2] if len(sys.argv) > 2 else ""
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="shots_screens_"))
    db, ctx, settings = _data(folder)
    customer = _customer_with_everything(db)

    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    configure_application(app)
    runner = TaskRunner()
    walk = Walk(app, runner, out, prefix)

    dialog = SignInDialog(lambda u, p: sign_in(db, u, p), runner, "Agence 101 — démo")
    dialog.show()
    walk.shoot(dialog, "sign-in")
    dialog.close()

    user = sign_in(db, "admin", "Guichet-Admin-2026")
    window = MainWindow(Shell(settings, ctx.signed_in(user), runner))
    window.fit_screen()
    window.show()
    walk.settle()
    default = window.size()
    print(f"default window size: {default.width()}×{default.height()}")
    _walk_window(walk, window, "default", customer)
    window.setGeometry(0, 0, MAXIMISED.width(), MAXIMISED.height())
    walk.settle()
    _walk_window(walk, window, "max", customer)
    _walk_dialogs(walk, window, customer)
    runner.shutdown()
    window.close()
    print(f"{walk.count} shots in {out}; "
          f"{sum(1 for f in walk.findings.values() if f)} with something cut")


def _walk_dialogs(walk: Walk, window: MainWindow, customer: uuid.UUID) -> None:
    from app.views.interventions.page import InterventionsPage
    from app.views.interventions.planning_page import PlanningPage
    from app.views.letters.batch_page import BatchPage
    from app.views.prepaid.lookup import TokenLookupPage
    from app.views.prepaid.page import PrepaidPage
    from app.views.works.page import QuotesPage

    clients = window.show_page(ClientsPage)
    view = clients.open_file(customer)
    assert isinstance(view, CustomerFileView)
    walk.settle()
    walk.dialog(view.record_payment, "dialog-payment")
    walk.dialog(view.record_reading, "dialog-reading")
    walk.dialog(view.change_occupant, "dialog-move")
    walk.dialog(view.replace_meter, "dialog-meter")
    walk.dialog(view.edit_identity, "dialog-identity")
    walk.dialog(view.new_letter, "dialog-letter")
    walk.dialog(clients.new_customer, "dialog-new-customer")
    walk.dialog(clients.check_account, "dialog-account-check")
    walk.dialog(window.show_vacant_readings, "dialog-vacant-readings")

    quotes = window.show_page(QuotesPage)
    quotes.new_quote()
    walk.shoot(window, "max-quote-editor-new")
    quotes.editor.closed.emit()
    walk.settle()
    if quotes.quotes_model.rowCount():
        quotes.open_quote(quotes.quotes_model.row(0).quote_id)
        walk.shoot(window, "max-quote-editor-open")
        quotes.show_list()

    interventions = window.show_page(InterventionsPage)
    walk.dialog(interventions.new_request, "dialog-request-new")
    interventions.refresh()
    walk.settle()
    interventions.table.selectRow(0) if hasattr(interventions, "table") else None
    walk.settle()
    walk.dialog(interventions.edit, "dialog-request-edit")
    walk.dialog(interventions.schedule, "dialog-request-schedule")
    planning = window.show_page(PlanningPage)
    walk.dialog(planning.manage_technicians,
                "dialog-technicians")
    batch = window.show_page(BatchPage)
    walk.dialog(batch.manage_templates, "dialog-letter-templates")
    prepaid = window.show_page(PrepaidPage)
    walk.dialog(prepaid.cashup, "dialog-cashup")
    walk.dialog(prepaid.management_token, "dialog-management-token")
    lookup = window.show_page(TokenLookupPage)
    lookup.explain_refusal()
    walk.shoot(window, "max-jetons-refusal")
    _walk_built_dialogs(walk, window, view)


def _walk_built_dialogs(walk: Walk, window: MainWindow, view: CustomerFileView) -> None:
    """The dialogs a quote, a job or a reading in a given state opens, built for it."""
    from app.services.interventions import lists
    from app.services.interventions.planning import technicians
    from app.services.works.quotes import load_quote
    from app.views.customers.file_tabs import PremisesTab
    from app.views.customers.reading_dialogs import ReadingCorrectionDialog
    from app.views.interventions.report_dialog import ReportDialog
    from app.views.interventions.technicians import AbsenceDialog, TechnicianDialog
    from app.views.works.quote_dialogs import ApprovalDialog, ConnectionDialog, InvoiceDialog

    shell, ctx = window.shell, window.shell.ctx
    quote_id = lists_first_quote(ctx)
    quote = load_quote(ctx, quote_id)
    for kind, name in ((ApprovalDialog, "quote-approval"), (InvoiceDialog, "quote-invoice"),
                       (ConnectionDialog, "quote-connection")):
        walk.dialog(lambda kind=kind: kind(shell, quote, window).open(), f"dialog-{name}")
    rows = lists.list_requests(ctx, lists.RequestFilter(status=InterventionStatus.IN_PROGRESS))
    if rows:
        detail = lists.request_detail(ctx, rows[0].request_id)
        walk.dialog(lambda: ReportDialog(shell, detail, window).open(), "dialog-request-report")
    walk.dialog(lambda: TechnicianDialog(shell, window).open(), "dialog-technician-new")
    walk.dialog(lambda: AbsenceDialog(shell, technicians(ctx)[0], window).open(),
                "dialog-technician-absence")
    premises = view.tab(PremisesTab)
    if premises.meter is not None and premises.readings_model.rowCount():
        walk.dialog(lambda: ReadingCorrectionDialog(shell, premises.meter,
                                                    premises.readings_model.row(0),
                                                    window).open(), "dialog-reading-correction")


def lists_first_quote(ctx: ServiceContext) -> uuid.UUID:
    from app.services.works.lists import QuoteFilter, list_quotes

    return list_quotes(ctx, QuoteFilter()).rows[0].quote_id


if __name__ == "__main__":
    main()
