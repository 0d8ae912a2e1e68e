"""Screenshots of the letters made from a quote and from an intervention request at 1366×768,
to look at (not a test): the quote editor with its "Courrier…" button, the letter dialog opened
from the quote with its preview, the interventions page, the Courriers page counting tomorrow's
appointments, and the first page of the two letters issued (PDF → PNG).

    xvfb-run -s "-screen 0 1366x768x24" python bench/shots_letters.py OUT_FOLDER
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from app.models import Account, InterventionRequest
from app.models.database import Database
from app.models.enums import InterventionStatus, InterventionType, Skill
from app.services.auth import sign_in
from app.services.demo import build_demo
from app.services.installation import load_installation
from app.services.interventions import planning
from app.services.interventions.planning import TechnicianInput
from app.services.interventions.requests import RequestInput, create_request
from app.services.letters import engine
from app.services.letters.sources import (
    create_letter_for_intervention,
    create_letter_for_quote,
    target_for_quote,
)
from app.services.works.quotes import QuoteInput, create_quote
from app.services.works.totals import LineInput
from app.settings import Settings
from app.views.application import configure_application
from app.views.letters.letter_dialog import LetterDialog
from app.views.main_window import MainWindow
from app.views.shell import Shell
from app.views.tasks import TaskRunner
from bench.shots_interventions import _settle
from kernel import migrate
from kernel.context import ServiceContext
from kernel.money import Currency


def _png(pdf: bytes, path: Path) -> None:
    path.with_suffix(".pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile",
                    str(path.with_suffix(".pdf")), str(path)], check=False)


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "shots")
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="shots_letters_"))
    db = Database(f"sqlite:///{folder / 'desk.sqlite3'}")
    migrate.upgrade(db.engine)
    build_demo(db, agency_code="101", currency=Currency.of("XOF"), customers=40,
               as_of=date.today())
    settings = Settings(data_dir=folder / "data", central_url="off", demo_customers=0)
    ctx = ServiceContext(db, load_installation(db, settings))
    user = sign_in(db, "superviseur", "Guichet-Sup-2026")
    ctx = ctx.signed_in(user)
    with db.reading() as session:
        accounts = session.execute(select(Account.id, Account.customer_id)
                                   .order_by(Account.number).limit(3)).all()
    quote = create_quote(ctx, QuoteInput([
        LineInput("Tube PEHD 25 mm", Decimal("12.5"), 1200, Decimal("0.18"), "m"),
        LineInput("Robinet d'arrêt", Decimal(1), 8500, Decimal("0.18")),
        LineInput("Main-d'œuvre", Decimal(2), 4000, Decimal("0.18"), "h")],
        account_id=accounts[0][0], subject="Extension du branchement d'eau"))
    technician = planning.save_technician(ctx, TechnicianInput(
        name="Koffi Yao", skills=frozenset({Skill.METERS, Skill.WATER})))
    tomorrow = ctx.installation.today() + timedelta(days=1)
    requests = []
    for n, (account_id, customer_id) in enumerate(accounts):
        saved = create_request(ctx, RequestInput(
            type=InterventionType.BREAKDOWN, description="Plus d'eau au robinet",
            customer_id=customer_id, account_id=account_id), confirmed_duplicate=True)
        with ctx.unit_of_work() as uow:
            request = uow.session.get(InterventionRequest, saved.request_id)
            assert request is not None
            request.scheduled_for = datetime.combine(tomorrow, time(8 + 2 * n),
                                                     tzinfo=ctx.installation.zone)
            request.technician_id, request.status = technician, InterventionStatus.SCHEDULED
            request.duration_minutes = 90
            uow.commit()
        requests.append(saved.request_id)

    app = QApplication.instance() or QApplication(sys.argv)
    configure_application(app)  # type: ignore[arg-type]
    runner = TaskRunner()
    window = MainWindow(Shell(settings, ctx, runner))
    window.resize(1366, 768)
    window.show()
    _settle(app, runner)

    from app.views.interventions.page import InterventionsPage
    from app.views.letters.batch_page import DUE_TOMORROW, BatchPage
    from app.views.works.page import QuotesPage

    quotes = window.show_page(QuotesPage)
    quotes.open_quote(quote.quote_id)  # type: ignore[attr-defined]
    _settle(app, runner)
    window.grab().save(str(out / "1-quote-editor.png"))

    dialog = LetterDialog(window.shell, target_for_quote(ctx, quote.quote_id), window)
    dialog.show()
    _settle(app, runner)
    dialog.show_preview()
    _settle(app, runner)
    dialog.grab().save(str(out / "2-letter-from-quote.png"))
    dialog.close()

    page = window.show_page(InterventionsPage)
    page.refresh()  # type: ignore[attr-defined]
    _settle(app, runner)
    window.grab().save(str(out / "3-interventions.png"))

    batch = window.show_page(BatchPage)
    _settle(app, runner)
    batch.kind.setCurrentIndex(DUE_TOMORROW)  # type: ignore[attr-defined]
    batch.count_button.click()  # type: ignore[attr-defined]
    _settle(app, runner)
    window.grab().save(str(out / "4-batch-due-tomorrow.png"))

    if engine.office_program():
        _png(engine.to_pdf(create_letter_for_quote(ctx, quote.quote_id).docx),
             out / "5-envoi-de-devis")
        _png(engine.to_pdf(create_letter_for_intervention(ctx, requests[0]).docx),
             out / "6-avis-de-passage")
    runner.shutdown()
    window.close()
    print(f"shots in {out}")


if __name__ == "__main__":
    main()
