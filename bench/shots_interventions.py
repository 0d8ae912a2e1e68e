"""Screenshots of the interventions screens at 1366×768, to look at (not a test): the list, the
planning board of a week (12 technicians, 150 jobs), the request editor, the report, the
customer file's tab, and the first page of a work order.

    xvfb-run -s "-screen 0 1366x768x24" python bench/shots_interventions.py OUT_FOLDER
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from app.models import InterventionRequest
from app.models.database import Database
from app.models.enums import InterventionStatus, InterventionType
from app.services.auth import sign_in
from app.services.demo import build_demo
from app.services.installation import load_installation
from app.services.interventions import lists
from app.services.interventions.requests import RequestInput, create_request
from app.services.interventions.work_order import work_order_pdf
from app.settings import Settings
from app.views.application import configure_application
from app.views.interventions.page import InterventionsPage
from app.views.interventions.planning_page import PlanningPage
from app.views.main_window import MainWindow
from app.views.shell import Shell
from app.views.tasks import TaskRunner
from bench.bench_interventions import fill
from kernel import migrate
from kernel.context import ServiceContext
from kernel.money import Currency


def _settle(app: QApplication, runner: TaskRunner) -> None:
    for _ in range(400):
        app.processEvents()
        if not runner.busy:
            break
        runner.pool.waitForDone(20)
    for _ in range(20):
        app.processEvents()


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "shots")
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="shots_interventions_"))
    db = Database(f"sqlite:///{folder / 'desk.sqlite3'}")
    migrate.upgrade(db.engine)
    build_demo(db, agency_code="101", currency=Currency.of("XOF"), customers=120,
               as_of=date.today())
    settings = Settings(data_dir=folder / "data", central_url="off", demo_customers=0)
    ctx = ServiceContext(db, load_installation(db, settings))
    today = ctx.installation.today()
    monday = today - timedelta(days=today.weekday())
    fill(db, ctx, requests=400, technicians=12, jobs=150, first_day=monday, seed=5)
    with db.reading() as session:
        commune = session.scalars(select(InterventionRequest.commune_id)).first()
    create_request(ctx, RequestInput(type=InterventionType.LEAK, description="Fuite sur la "
                                     "chaussée devant le marché", commune_id=commune,
                                     landmark="Devant le grand marché",
                                     reporter_name="Un commerçant"), confirmed_duplicate=True)

    app = QApplication.instance() or QApplication(sys.argv)
    configure_application(app)  # type: ignore[arg-type]
    user = sign_in(db, "superviseur", "Guichet-Sup-2026")
    runner = TaskRunner()
    window = MainWindow(Shell(settings, ctx.signed_in(user), runner))
    window.resize(1366, 768)
    window.show()
    _settle(app, runner)

    page = window.show_page(InterventionsPage)
    page.refresh()  # type: ignore[attr-defined]
    _settle(app, runner)
    window.grab().save(str(out / "1-interventions-list.png"))

    planning = window.show_page(PlanningPage)
    planning.show_day(monday, 7)  # type: ignore[attr-defined]
    _settle(app, runner)
    window.grab().save(str(out / "2-planning-week.png"))
    planning.show_day(monday + timedelta(days=1), 1)  # type: ignore[attr-defined]
    _settle(app, runner)
    window.grab().save(str(out / "3-planning-day.png"))

    from app.views.interventions.editor import RequestEditor
    from app.views.interventions.report_dialog import ReportDialog

    editor = RequestEditor(window.shell, window)
    editor.show()
    _settle(app, runner)
    editor.grab().save(str(out / "4-request-editor.png"))
    editor.close()
    rows = lists.list_requests(ctx, lists.RequestFilter(status=InterventionStatus.IN_PROGRESS))
    detail = lists.request_detail(ctx, rows[0].request_id)
    report = ReportDialog(window.shell, detail, window)
    report.show()
    _settle(app, runner)
    report.grab().save(str(out / "5-report.png"))
    report.close()

    _name, pdf = work_order_pdf(ctx, detail.request_id)
    (out / "6-work-order.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1",
                    str(out / "6-work-order.pdf"), str(out / "6-work-order")], check=False)
    runner.shutdown()
    window.close()
    print(f"shots in {out} ({datetime.now(UTC):%H:%M:%S})")


if __name__ == "__main__":
    main()
