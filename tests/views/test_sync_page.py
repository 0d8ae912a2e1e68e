"""The Synchronisation page driven as a supervisor would, and the embedded central started with
the program."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from app.models import SyncConflict, SyncParked, SyncRun
from app.models.journal import SyncJournalEntry
from app.models.sync import ConflictStatus, ParkedStatus
from app.services.auth import sign_in
from app.settings import Settings
from app.views.home_page import HomePage
from app.views.main_window import MainWindow
from app.views.shell import Shell
from app.views.sync import dialogs
from app.views.sync.connection import CentralConnection, CentralState
from app.views.sync.page import SyncPage
from app.views.tasks import TaskRunner
from kernel.context import ServiceContext, UnitOfWork
from tests.views.conftest import Answers, wait_idle

USERS = {"agent": "Guichet-Agent-2026", "superviseur": "Guichet-Sup-2026",
         "admin": "Guichet-Admin-2026"}


@pytest.fixture
def open_window(qtbot: QtBot, ctx: ServiceContext, settings: Settings) -> Iterator[Callable[..., MainWindow]]:
    runners: list[TaskRunner] = []

    def open_as(username: str, central: CentralConnection | None = None,
                app_settings: Settings | None = None) -> MainWindow:
        user = sign_in(ctx.db, username, USERS[username])
        runner = TaskRunner()
        runners.append(runner)
        main = MainWindow(Shell(app_settings or settings, ctx.signed_in(user), runner, central))
        qtbot.addWidget(main)
        main.show()
        qtbot.waitExposed(main)
        wait_idle(qtbot)
        return main

    yield open_as
    for runner in runners:
        runner.shutdown()


def sync_page(window: MainWindow) -> SyncPage:
    return window.show_page(SyncPage)


def status_bar(window: MainWindow) -> dict[str, QLabel]:
    return {label.objectName(): label for label in window.statusBar().findChildren(QLabel)}


def configured(ctx: ServiceContext, settings: Settings,
               url: str = "http://127.0.0.1:9") -> CentralConnection:
    """A connection to a configured central (nothing listens there: for screens only)."""
    connection = CentralConnection(settings.model_copy(
        update={"central_url": url, "central_credential": "gc1.101.test"}))
    connection.start(ctx.installation, TaskRunner())
    assert connection.state is CentralState.READY
    return connection


def from_central(ctx: ServiceContext, *rows: object) -> None:
    with UnitOfWork(ctx.db, ctx.actor, from_server=True) as uow:
        uow.session.add_all(rows)
        uow.commit()


# --- the page and the roles ---------------------------------------------------------------
def test_offline_desk_says_so_and_cannot_synchronise(open_window: Callable[..., MainWindow]) -> None:
    window = open_window("superviseur")
    titles = [window.navigation.item(i).text() for i in range(window.navigation.count())]
    assert "Synchronisation" in titles
    page = sync_page(window)
    assert "sans serveur central" in page.central_label.text()
    assert not page.sync_button.isEnabled()
    tabs = [page.tabs.tabText(i).replace("&", "") for i in range(page.tabs.count())]
    assert tabs == ["Historique", "Conflits", "Lignes en attente"]
    assert page.history_tab.summary.text() == "Aucune synchronisation n'a encore été faite sur ce poste."


def test_offline_the_page_speaks_plainly_and_invites_to_no_disabled_button(
    open_window: Callable[..., MainWindow],
) -> None:
    """An installation without a central server: said in plain French with how an administrator
    connects one (the raw setting only in the tooltip); no night run to miss, so no warning that
    asks to click « Synchroniser maintenant », which is greyed."""
    window = open_window("agent")
    page = sync_page(window)
    assert not page.sync_button.isEnabled()
    text = page.central_label.text()
    assert text.startswith("Cette installation fonctionne sans serveur central")
    assert "administrateur" in text
    assert "GUICHET_CENTRAL_URL" not in text and "=off" not in text
    assert "GUICHET_CENTRAL_URL=off" in page.central_label.toolTip()
    assert "Synchroniser maintenant" not in page.banner.text()
    assert not page.banner.isVisible()
    assert not status_bar(window)["statusSyncWarning"].isVisible()


def test_an_agent_sees_the_history_but_not_the_queues(open_window: Callable[..., MainWindow]) -> None:
    page = sync_page(open_window("agent"))
    assert [page.tabs.tabText(i).replace("&", "") for i in range(page.tabs.count())] == ["Historique"]
    assert page.conflicts_tab is None and page.parked_tab is None


def test_the_night_warning_shows_on_the_page_and_the_status_bar(
    open_window: Callable[..., MainWindow], ctx: ServiceContext, settings: Settings
) -> None:
    window = open_window("agent", configured(ctx, settings))
    page = sync_page(window)
    assert page.banner.isVisible(), "no run ever succeeded on this desk"
    assert page.banner.text().startswith("La synchronisation de la nuit n'a pas abouti avant 07:30")
    assert page.sync_button.isEnabled()
    assert page.banner.text().endswith("Lancez « Synchroniser maintenant » ou prévenez le support.")
    warning = status_bar(window)["statusSyncWarning"]
    assert warning.isVisible() and "⚠ Nuit non synchronisée" in warning.text()
    assert warning.toolTip().startswith(page.banner.text())
    window.show_page(HomePage)
    warning.linkActivated.emit("sync")
    assert window.current_page() is page, "the status bar warning opens the page"


def test_history_lists_runs_and_selecting_one_shows_its_phases(
    qtbot: QtBot, open_window: Callable[..., MainWindow], ctx: ServiceContext, qtmodeltester: Any
) -> None:
    from datetime import UTC, datetime, timedelta
    with ctx.db.session() as session, session.begin():
        started = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
        session.add(SyncRun(started_at=started, finished_at=started + timedelta(seconds=75),
                            status="succeeded", trigger="scheduled", rows_up=1234, rows_down=56,
                            bytes_up=20480, bytes_down=2048, phases=[
                                {"name": "backup", "status": "done", "seconds": 2.5, "rows": 0,
                                 "bytes": 1048576, "retries": 0, "detail": "copie de la base"},
                                {"name": "upload", "status": "done", "seconds": 40, "rows": 1234,
                                 "bytes": 20480, "retries": 1, "detail": "lots 1 à 2"}]))
        later = started + timedelta(days=1)
        session.add(SyncRun(started_at=later, finished_at=later + timedelta(seconds=3),
                            status="failed", trigger="manual", error="Serveur central injoignable.",
                            phases=[{"name": "backup", "status": "done", "seconds": 1},
                                    {"name": "upload", "status": "failed", "seconds": 2,
                                     "retries": 3, "detail": "délai dépassé"}]))
    page = sync_page(open_window("superviseur"))
    model = page.history_tab.model
    assert model.rowCount() == 2
    cells = [[model.index(r, c).data() for c in range(model.columnCount())] for r in range(2)]
    assert cells[0][:4] == ["22/11/2026 02:00", "Échouée", "Manuelle", "3,0 s"]
    assert cells[1][:6] == ["21/11/2026 02:00", "Réussie", "Planifiée", "1 min 15 s", "1\u202f234", "56"]
    assert cells[1][6] == "20,0 Ko ↑ 2,0 Ko ↓"
    assert page.history_tab.run_error.text() == "Serveur central injoignable."
    page.history_tab.table.setFocus()
    qtbot.keyClick(page.history_tab.table, Qt.Key.Key_Down)
    phases = page.history_tab.phases_model
    assert [phases.index(r, 0).data() for r in range(phases.rowCount())] == ["Sauvegarde", "Envoi"]
    assert phases.index(0, 4).data() == "1,0 Mo" and phases.index(1, 5).data() == "1"
    assert page.history_tab.run_error.text() == ""
    qtmodeltester.check(model)
    qtmodeltester.check(phases)


# --- conflicts and parked rows ------------------------------------------------------------
def test_a_supervisor_resolves_a_conflict_and_it_is_journaled(
    qtbot: QtBot, open_window: Callable[..., MainWindow], ctx: ServiceContext, answers: Answers
) -> None:
    conflict = SyncConflict(agency_id=ctx.installation.agency_id, table_name="customer",
                            row_id=uuid.uuid4(), field="mobile", base_version=1, current_version=3,
                            old_value="0701", incoming_value="0505", current_value="0707")
    from_central(ctx, conflict)
    page = sync_page(open_window("superviseur"))
    page.tabs.setCurrentWidget(page.conflicts_tab)
    assert page.tabs.tabText(1) == "&Conflits (1)"
    row = [page.conflicts_tab.model.index(0, c).data() for c in range(1, 7)]
    assert row == ["Client — introuvable sur ce poste", "Téléphone mobile", "0701", "0505", "0707",
                   "À décider"]
    answers.confirm_answer = False
    page.conflicts_tab.take_incoming.click()
    wait_idle(qtbot)
    assert answers.shown[-1][2].startswith("Garder « 0505 » pour « Téléphone mobile » (Client) ?")
    assert page.conflicts_tab.model.rowCount() == 1, "not confirmed: nothing done"
    answers.confirm_answer = True
    page.conflicts_tab.take_incoming.click()
    qtbot.waitUntil(lambda: page.conflicts_tab.model.rowCount() == 0)
    assert page.tabs.tabText(1) == "&Conflits"
    with ctx.db.session() as session:
        saved = session.get(SyncConflict, conflict.id)
        assert saved is not None and saved.status is ConflictStatus.RESOLVED
        assert saved.chosen_value == "0505" and saved.resolved_by == "superviseur"
        entry = session.scalars(select(SyncJournalEntry)
                                .where(SyncJournalEntry.row_id == conflict.id)).one()
    assert entry.changes["status"] == ["open", "resolved"]
    page.conflicts_tab.show_resolved.setChecked(True)
    qtbot.waitUntil(lambda: page.conflicts_tab.model.rowCount() == 1)
    assert page.conflicts_tab.model.index(0, 6).data() == "Valeur reçue : 0505 (superviseur)"
    assert not page.conflicts_tab.keep_current.isEnabled()


def test_a_custom_value_is_asked_and_a_bad_one_explained(
    qtbot: QtBot, open_window: Callable[..., MainWindow], ctx: ServiceContext, answers: Answers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conflict = SyncConflict(agency_id=ctx.installation.agency_id, table_name="meter_reading",
                            row_id=uuid.uuid4(), field="index_value", base_version=1,
                            current_version=2, old_value=10, incoming_value=12, current_value=11)
    from_central(ctx, conflict)
    page = sync_page(open_window("admin"))
    typed = iter(["douze", "13"])
    monkeypatch.setattr(dialogs, "ask_value", lambda *args: next(typed))
    page.conflicts_tab.custom_value.click()
    qtbot.waitUntil(lambda: any(kind == "warn" for kind, _, _ in answers.shown))
    assert "Saisissez un nombre entier." in answers.texts()
    assert "Traceback" not in answers.texts()
    wait_idle(qtbot)
    page.conflicts_tab.custom_value.click()
    qtbot.waitUntil(lambda: page.conflicts_tab.model.rowCount() == 0)
    with ctx.db.session() as session:
        saved = session.get(SyncConflict, conflict.id)
        assert saved is not None and saved.chosen_value == 13


def parked_rows(ctx: ServiceContext) -> tuple[uuid.UUID, uuid.UUID]:
    tx = uuid.uuid4()
    failing = SyncParked(agency_id=ctx.installation.agency_id, side="central", batch_number=3,
                         transaction_id=tx, seq=10, table_name="meter_reading",
                         row_id=uuid.uuid4(), operation="insert", error="compteur inconnu",
                         entry={"changes": {"index_value": [None, 1234]}})
    from_central(ctx, failing)
    blocked = SyncParked(agency_id=ctx.installation.agency_id, side="central", batch_number=3,
                         transaction_id=tx, seq=11, table_name="payment", row_id=uuid.uuid4(),
                         operation="insert", blocked_by=failing.id, entry={"changes": {}})
    from_central(ctx, blocked)
    return failing.id, blocked.id


def test_parked_rows_are_retried_or_discarded_after_confirmation(
    qtbot: QtBot, open_window: Callable[..., MainWindow], ctx: ServiceContext, answers: Answers,
    qtmodeltester: Any,
) -> None:
    failing, blocked = parked_rows(ctx)
    page = sync_page(open_window("superviseur"))
    page.tabs.setCurrentWidget(page.parked_tab)
    assert page.tabs.tabText(2) == "&Lignes en attente (2)"
    model = page.parked_tab.model
    assert [model.index(0, c).data() for c in (1, 2, 4, 5, 6, 7)] == [
        "Site central", "3", "Création", "En attente", "compteur inconnu", "Index : 1234"]
    assert model.index(0, 3).data() == "Relève — introuvable sur ce poste"
    qtmodeltester.check(model)
    qtmodeltester.check(page.conflicts_tab.model)
    answers.confirm_answer = False
    page.parked_tab.discard_button.click()
    wait_idle(qtbot)
    assert "Abandonner définitivement la création de « Relève »" in answers.shown[-1][2]
    assert model.rowCount() == 2
    answers.confirm_answer = True
    page.parked_tab.retry_button.click()
    qtbot.waitUntil(lambda: model.rowCount() == 0)
    with ctx.db.session() as session:
        statuses = {r.id: r.status for r in session.scalars(select(SyncParked))}
    assert statuses == {failing: ParkedStatus.RETRY, blocked: ParkedStatus.RETRY}
    page.parked_tab.show_settled.setChecked(True)
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    assert not page.parked_tab.retry_button.isEnabled() and not page.parked_tab.discard_button.isEnabled()


# --- running (progress bars with a fake runner; a real run further down) -------------------
class FakeRunSyncForProgressBars:
    """Stands in for ``run_sync`` only to watch the bars and the button while a run waits."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.reached = threading.Event()
        self.calls: list[dict[str, Any]] = []

    def __call__(self, db: Any, installation: Any, endpoint: Any, **options: Any) -> Any:
        from types import SimpleNamespace

        self.calls.append(options)
        report = options["progress"]
        for phase, label, done, total, detail in (
            ("backup", "Sauvegarde", 1, 1, "copie faite"),
            ("adoption", "Adoption", 0, None, "lecture des tables"),
            ("upload", "Envoi", 2, 5, "lot 2 sur 5"),
        ):
            report(SimpleNamespace(phase=phase, label=label, done=done, total=total, detail=detail))
        self.reached.set()
        self.release.wait(20)
        return SimpleNamespace(run_id=uuid.uuid4(), status="failed", rows_up=0, rows_down=0,
                               conflicts=0, parked=0, mismatches=[],
                               message="Le serveur central ne répond pas : réessayez plus tard.")


def test_progress_bars_follow_the_phases_and_the_button_waits(
    qtbot: QtBot, open_window: Callable[..., MainWindow], ctx: ServiceContext, settings: Settings,
    answers: Answers,
) -> None:
    window = open_window("agent", configured(ctx, settings))
    page = sync_page(window)
    assert page.sync_button.isEnabled()
    fake = FakeRunSyncForProgressBars()
    page.run_function = fake
    page.dry_run.setChecked(True)
    qtbot.keyClick(page, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: page.phases.rows.get("upload") is not None
                    and page.phases.rows["upload"].bar.value() == 2)
    assert fake.calls[0]["dry_run"] is True and fake.calls[0]["trigger"] == "manual"
    assert not page.sync_button.isEnabled() and page.stop_button.isEnabled()
    assert not page.dry_run.isEnabled()
    grid = page.phases.grid
    cells = [grid.itemAtPosition(0, c) for c in range(grid.columnCount())]
    titles = [cell.widget().text() for cell in cells if cell is not None]  # type: ignore[union-attr]
    assert titles == ["Sauvegarde", "Adoption", "Envoi", "Facturation centrale", "Réception",
                      "Rapprochement"]
    rows = page.phases.rows
    assert rows["backup"].bar.text() == "Terminé"
    assert rows["adoption"].state == "done"
    assert rows["upload"].bar.text() == "2 / 5" and rows["upload"].detail.text() == "lot 2 sur 5"
    assert rows["download"].bar.text() == "—"
    page.start_sync()  # a second start while running does nothing
    assert len(fake.calls) == 1
    assert not fake.calls[0]["cancel"].is_set()
    qtbot.keyClick(page, Qt.Key.Key_Escape)
    assert fake.calls[0]["cancel"].is_set(), "Arrêter (Esc) reaches the runner"
    assert not page.stop_button.isEnabled()
    assert page.result_label.text().startswith("Arrêt demandé")
    with qtbot.waitSignal(page.run_finished, timeout=20000):
        fake.release.set()
    assert page.sync_button.isEnabled()
    assert rows["upload"].bar.text() == "Échec"
    assert page.result_label.text() == "Le serveur central ne répond pas : réessayez plus tard."
    assert answers.shown == [], "a failed run is said on the page, not in a box"
    wait_idle(qtbot)


# --- the real runner against a real central ------------------------------------------------
def test_a_real_synchronisation_against_the_embedded_central(
    qtbot: QtBot, open_window: Callable[..., MainWindow], ctx: ServiceContext, tmp_path: Path,
    answers: Answers,
) -> None:
    pytest.importorskip("app.sync.runner", reason="app/sync/runner.py has not landed yet")
    app_settings = Settings(data_dir=tmp_path / "desk", central_url="", demo_customers=0,
                            database_url=ctx.db.url)  # the embedded central's reference data
    central = CentralConnection(app_settings)
    runner = TaskRunner()
    central.start(ctx.installation, runner)
    try:
        qtbot.waitUntil(lambda: central.state is not CentralState.STARTING, timeout=90000)
        assert central.state is CentralState.READY, central.message
        window = open_window("superviseur", central, app_settings)
        page = sync_page(window)
        assert "serveur central local (http://127.0.0.1:" in page.central_label.text()
        qtbot.waitUntil(lambda: status_bar(window)["statusCentral"].text()
                        == "Serveur central local connecté", timeout=10000)
        with qtbot.waitSignal(page.run_finished, timeout=300000) as finished:
            page.sync_button.click()
            assert not page.sync_button.isEnabled()
        outcome = finished.args[0]
        assert outcome is not None and outcome.status == "succeeded", outcome and outcome.message
        assert page.sync_button.isEnabled()
        assert page.phases.rows["backup"].bar.text() == "Terminé"
        assert page.phases.rows["upload"].state == "done"
        wait_idle(qtbot)
        assert page.history_tab.model.rowCount() == 1
        assert page.history_tab.model.index(0, 1).data() == "Réussie"
        assert page.history_tab.phases_model.rowCount() >= 4
        assert not page.banner.isVisible(), "the night's warning goes once a run succeeded"
        assert not status_bar(window)["statusSyncWarning"].isVisible()

        page.dry_run.setChecked(True)
        with qtbot.waitSignal(page.run_finished, timeout=300000) as simulated:
            page.sync_button.click()
        assert simulated.args[0].status == "succeeded", simulated.args[0].message
        assert page.result_label.text().startswith("Simulation terminée")
        assert page.phases.rows["backup"].bar.text() == "Sans objet", "a simulation backs nothing up"
        wait_idle(qtbot)
        assert page.history_tab.model.rowCount() == 2
        assert page.history_tab.table.currentIndex().row() == 0, "the run just made is selected"
        assert page.history_tab.model.index(0, 2).data() == "Manuelle · simulation"
        assert answers.shown == []
    finally:
        central.stop()
        runner.shutdown()
    assert central.state is CentralState.STOPPED


def test_a_central_that_does_not_answer_is_said_in_french(
    qtbot: QtBot, open_window: Callable[..., MainWindow], ctx: ServiceContext, settings: Settings,
    answers: Answers,
) -> None:
    """The real runner against a configured central where nothing listens."""
    from central.embedded import free_port

    window = open_window("agent", configured(ctx, settings, f"http://127.0.0.1:{free_port()}"))
    page = sync_page(window)
    with qtbot.waitSignal(page.run_finished, timeout=300000) as finished:
        page.sync_button.click()
    outcome = finished.args[0]
    assert outcome is not None and outcome.status == "failed"
    text = page.result_label.text()
    assert text == outcome.message and "Traceback" not in text
    assert "serveur central" in text
    assert page.sync_button.isEnabled()
    wait_idle(qtbot)
    assert page.history_tab.model.index(0, 1).data() == "Échouée"
    assert page.history_tab.run_error.text() == outcome.message
    assert page.banner.isVisible()
    assert answers.shown == [], "said on the page, no box to dismiss"


def test_a_conflict_met_in_a_real_run_is_resolved_here_and_travels_up(
    qtbot: QtBot, open_window: Callable[..., MainWindow], ctx: ServiceContext, tmp_path: Path,
    answers: Answers,
) -> None:
    """Desk and central change the same mobile number; the run queues a conflict, the supervisor
    takes the agency's value on this page, and the next runs carry it to central and back."""
    from dataclasses import replace

    from app.models import Customer
    from app.models.capture import Actor, set_actor
    from app.models.database import Database
    from app.services.customer_edit import update_identity
    from app.services.customer_file import load_customer_file
    from tests.services.helpers import household

    home = household(ctx)
    app_settings = Settings(data_dir=tmp_path / "desk", central_url="", demo_customers=0,
                            database_url=ctx.db.url)  # the embedded central's reference data
    central = CentralConnection(app_settings)
    runner = TaskRunner()
    central.start(ctx.installation, runner)
    central_db = Database(f"sqlite:///{(app_settings.data_dir / 'central.sqlite3').as_posix()}")
    try:
        qtbot.waitUntil(lambda: central.state is not CentralState.STARTING, timeout=90000)
        assert central.state is CentralState.READY, central.message
        page = sync_page(open_window("superviseur", central, app_settings))

        def run() -> Any:
            with qtbot.waitSignal(page.run_finished, timeout=300000) as finished:
                qtbot.keyClick(page, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
            wait_idle(qtbot)
            outcome = finished.args[0]
            assert outcome is not None and outcome.status == "succeeded", outcome.message
            return outcome

        run()
        file = load_customer_file(ctx, home.customer_id)
        identity = file.identity
        update_identity(ctx, home.customer_id, identity.version,
                        replace(_identity_input(identity), mobile="07 11 11 11 11"))
        with central_db.session() as session:
            set_actor(session, Actor(username="siège"))
            theirs = session.get(Customer, home.customer_id)
            assert theirs is not None
            theirs.mobile = "0522222222"
            session.commit()

        assert run().conflicts == 1
        assert page.tabs.tabText(1) == "&Conflits (1)"
        page.tabs.setCurrentWidget(page.conflicts_tab)
        model = page.conflicts_tab.model
        assert [model.index(0, c).data() for c in (1, 2, 5)] == [
            "Client KONÉ Hélène", "Téléphone mobile", "0522222222"]
        assert model.index(0, 4).data().replace(" ", "") == "0711111111"
        page.conflicts_tab.table.setFocus()
        page.conflicts_tab.take_incoming.click()
        qtbot.waitUntil(lambda: model.rowCount() == 0)

        run()  # the resolution goes up; central applies the agency's value
        with central_db.session() as session:
            theirs = session.get(Customer, home.customer_id)
            assert theirs is not None and theirs.mobile.replace(" ", "") == "0711111111"
            resolved = session.scalars(select(SyncConflict)).one()
            assert resolved.status is ConflictStatus.RESOLVED and resolved.resolved_by == "superviseur"
        run()  # and comes back down
        with ctx.db.session() as session:
            mine = session.get(Customer, home.customer_id)
            assert mine is not None and mine.mobile.replace(" ", "") == "0711111111"
        assert page.history_tab.model.rowCount() == 4
        assert [kind for kind, _, _ in answers.shown] == ["confirm"]
    finally:
        central_db.dispose()
        central.stop()
        runner.shutdown()


def _identity_input(identity: Any) -> Any:
    from app.services.customer_edit import IdentityInput

    return IdentityInput.from_identity(identity)


# --- the embedded central at program start ------------------------------------------------
def test_the_program_starts_and_stops_its_embedded_central(qtbot: QtBot, tmp_path: Path) -> None:
    from app.views.application import Startup
    from tests.views.test_sign_in_and_window import sign_in as sign_in_window

    settings = Settings(data_dir=tmp_path / "data", central_url="", demo_customers=0)
    startup = Startup(settings)
    startup.start()
    try:
        qtbot.waitUntil(lambda: startup.dialog is not None and startup.dialog.isVisible(),
                        timeout=60000)
        assert startup.central.state in (CentralState.STARTING, CentralState.READY)
        assert startup.dialog is not None and startup.dialog.isEnabled(), "the window never waits"
        qtbot.waitUntil(lambda: startup.central.state is not CentralState.STARTING, timeout=90000)
        assert startup.central.state is CentralState.READY, startup.central.message
        handle = startup.central.handle
        assert handle is not None and handle.is_running()
        window = sign_in_window(qtbot, startup, "superviseur", "Guichet-Sup-2026")
        qtbot.waitUntil(lambda: status_bar(window)["statusCentral"].text()
                        == "Serveur central local connecté", timeout=10000)
        page = sync_page(window)
        assert page.connection is startup.central and page.sync_button.isEnabled()
        window.close()
    finally:
        if startup.dialog is not None:
            startup.dialog.close()
        startup.shutdown()
    assert not handle.is_running(), "the embedded server stops with the program"
    assert startup.central.state is CentralState.STOPPED


def test_an_embedded_central_that_failed_is_said_and_started_again(
    qtbot: QtBot, open_window: Callable[..., MainWindow], ctx: ServiceContext, tmp_path: Path,
    answers: Answers,
) -> None:
    from central.embedded import credential_file

    app_settings = Settings(data_dir=tmp_path / "desk", central_url="", demo_customers=0,
                            database_url=ctx.db.url)  # the embedded central's reference data
    app_settings.data_dir.mkdir(parents=True)
    credential_file(app_settings.data_dir, "101").write_text("gc1.101.x\n")
    broken = app_settings.data_dir / "central.sqlite3"
    broken.write_bytes(b"this is not a database" * 100)
    central = CentralConnection(app_settings)
    runner = TaskRunner()
    central.start(ctx.installation, runner)
    try:
        qtbot.waitUntil(lambda: central.state is not CentralState.STARTING, timeout=90000)
        assert central.state is CentralState.FAILED
        window = open_window("superviseur", central, app_settings)
        page = sync_page(window)
        assert page.central_label.text().startswith(
            "Synchronisation impossible : Le serveur central local s'est arrêté au démarrage")
        assert "Traceback" not in page.central_label.text()
        assert status_bar(window)["statusCentral"].text() == "Serveur central indisponible"
        broken.unlink()
        credential_file(app_settings.data_dir, "101").unlink()
        assert page.sync_button.isEnabled()
        page.sync_button.click()
        assert not page.running, "the click starts the server again, not a run"
        qtbot.waitUntil(lambda: central.state is CentralState.READY, timeout=90000)
        qtbot.waitUntil(lambda: status_bar(window)["statusCentral"].text()
                        == "Serveur central local connecté", timeout=10000)
        assert page.central_label.text().startswith("Ce poste se synchronise avec le serveur central local")
        assert answers.shown == []
    finally:
        central.stop()
        runner.shutdown()
