"""The Synchronisation page: run a synchronisation by hand and watch its phases (``phases``),
read the history of runs (``history``), and (supervisors) settle the conflicts (``conflicts``)
and the rows awaiting a decision (``parked``).

Signals: ``run_finished(SyncOutcome)`` when a run started here ends (also when it failed);
``warning_changed(str)`` when the night's warning appears, changes or goes (empty text).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.services import sync_admin
from app.views import messages
from app.views.errors import show_error
from app.views.shell import Shell
from app.views.sync.conflicts import ConflictsTab
from app.views.sync.connection import CentralConnection, CentralState
from app.views.sync.history import HistoryTab
from app.views.sync.parked import ParkedTab
from app.views.sync.phases import PhasesBox
from app.views.tasks import Progress
from kernel.errors import GuichetError

log = logging.getLogger(__name__)

WARNING_CHECK_MS = 5 * 60_000
LIVE_REFRESH_MS = 2_000


class _CancelEvent(threading.Event):
    """The page's Arrêter button, or the program closing (the runner cancels its tasks)."""

    def __init__(self) -> None:
        super().__init__()
        self.progress: Progress | None = None

    def is_set(self) -> bool:
        return super().is_set() or (self.progress is not None and self.progress.cancelled)


class _Relay(QObject):
    """Carries the runner's progress from its worker thread to the page. The reports wait in a
    queue and the queued signal carries nothing: a Python object as a queued signal's argument
    can freeze the program (see ``app.views.tasks._Signals``)."""

    arrived = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._reports: list[Any] = []

    def report(self, progress: Any) -> None:
        """From the worker thread."""
        with self._lock:
            self._reports.append(progress)
        self.arrived.emit()

    def take(self) -> list[Any]:
        with self._lock:
            reports, self._reports = self._reports, []
        return reports


class _Content(QWidget):
    """The page inside its scroll area: it takes the height it is given (no taller because of a
    wrapped label), and scrolls only below its minimum."""

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt override)
        layout = self.layout()
        return layout.minimumHeightForWidth(width) if layout is not None else -1


class SyncPage(QWidget):
    """Implements ``Page``."""

    run_finished = Signal(object)
    warning_changed = Signal(str)

    def __init__(self, shell: Shell) -> None:
        super().__init__()
        self.shell = shell
        ctx = shell.ctx
        self.connection: CentralConnection = shell.central or CentralConnection(
            shell.settings, self
        )
        if shell.central is None:
            self.connection.start(ctx.installation, shell.runner)
        self.supervising = sync_admin.may_supervise(ctx)
        #: The function that runs a synchronisation (``app.sync.runner.run_sync``; a test may put
        #: another in its place).
        self.run_function: Callable[..., Any] | None = None
        self.running = False
        self.cancel_event: _CancelEvent | None = None
        self.last_outcome: Any = None
        self.warning = ""
        #: The night's warning as the ledger states it, before what to do about it.
        self.night_fact = ""
        # Owned by the runner, which outlives the page and waits for its workers: a run still
        # reporting when the page closes never emits on a deleted object.
        self.relay = _Relay(self.shell.runner)
        self.relay.arrived.connect(self._progressed)

        title = QLabel("Synchronisation")
        title.setObjectName("pageTitle")
        self.central_label = QLabel()
        self.central_label.setObjectName("syncCentral")
        self.central_label.setWordWrap(True)

        self.banner = QLabel()
        self.banner.setObjectName("syncWarning")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            "#syncWarning { background: #fff4e0; color: #7a3b00; border: 1px solid #e0a040;"
            " border-left: 6px solid #d9822b; border-radius: 4px; padding: 8px 12px;"
            " font-weight: bold; }"
        )
        self.banner.hide()

        self.sync_button = QPushButton("&Synchroniser maintenant")
        self.sync_button.setObjectName("syncNow")
        self.sync_button.setToolTip("Envoyer, recevoir et rapprocher les données (Ctrl+R)")
        self.sync_button.setDefault(True)
        self.sync_button.clicked.connect(self.start_sync)
        self.stop_button = QPushButton("Arrêter")
        self.stop_button.setObjectName("syncStop")
        self.stop_button.setToolTip(
            "Arrêter après l'étape en cours : ce qui est enregistré le reste (Échap)"
        )
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop_sync)
        self.dry_run = QCheckBox("Si&mulation (rien n'est enregistré)")
        self.dry_run.setObjectName("syncDryRun")
        self.dry_run.setToolTip(
            "Tout est envoyé et vérifié par le site central, rien n'est enregistré"
        )
        shortcut = QShortcut(QKeySequence("Ctrl+R"), self)
        shortcut.activated.connect(self.start_sync)
        stop = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        stop.activated.connect(self.stop_sync)

        controls = QHBoxLayout()
        controls.addWidget(self.sync_button)
        controls.addWidget(self.stop_button)
        controls.addSpacing(16)
        controls.addWidget(self.dry_run)
        controls.addStretch(1)

        self.phases = PhasesBox()
        self.result_label = QLabel("")
        self.result_label.setObjectName("syncResult")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("syncTabs")
        self.history_tab = HistoryTab(shell, lambda: self.running)
        self.tabs.addTab(self.history_tab, "&Historique")
        self.conflicts_tab: ConflictsTab | None = None
        self.parked_tab: ParkedTab | None = None
        if self.supervising:
            conflicts = self.conflicts_tab = ConflictsTab(shell)
            self.tabs.addTab(conflicts, "&Conflits")
            conflicts.count_changed.connect(
                lambda n: self._count_in_title(conflicts, "&Conflits", n)
            )
            conflicts.failed.connect(self._action_failed)
            parked = self.parked_tab = ParkedTab(shell)
            self.tabs.addTab(parked, "&Lignes en attente")
            parked.count_changed.connect(
                lambda n: self._count_in_title(parked, "&Lignes en attente", n)
            )
            parked.failed.connect(self._action_failed)

        top = QVBoxLayout()
        top.setSpacing(6)
        top.addWidget(title)
        top.addWidget(self.central_label)
        top.addWidget(self.banner)
        top.addLayout(controls)
        top.addWidget(self.phases)
        top.addWidget(self.result_label)
        content = _Content()
        content.setObjectName("syncContent")
        layout = QVBoxLayout(content)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)
        # In a window smaller than the page, the page scrolls instead of growing the window.
        scroll = QScrollArea()
        scroll.setObjectName("syncScroll")
        scroll.setStyleSheet("#syncScroll, #syncContent { background: #f5f7fa; }")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        self.live_timer = QTimer(self)
        self.live_timer.setInterval(LIVE_REFRESH_MS)
        self.live_timer.timeout.connect(self.history_tab.load)
        self.warning_timer = QTimer(self)
        self.warning_timer.setInterval(WARNING_CHECK_MS)
        self.warning_timer.timeout.connect(self.check_warning)
        self.warning_timer.start()

        self.connection.changed.connect(self._show_connection)
        self._show_connection()
        self.refresh()

    # --- the Page protocol ----------------------------------------------------------------
    def as_widget(self) -> QWidget:
        return self

    def activated(self) -> None:
        pass

    def refresh(self) -> None:
        """F5: history, queues and the night's warning read again."""
        self.history_tab.load()
        self.check_warning()
        self.load_queues()

    def closing(self) -> None:
        self.stop_sync()

    # --- the warning, the connection, the queues -------------------------------------------
    def check_warning(self) -> None:
        ctx = self.shell.ctx
        deadline = self.shell.settings.sync_deadline
        self.shell.runner.read(
            lambda: sync_admin.night_run_warning(ctx, deadline=deadline) or "",
            on_success=self._show_warning,
            on_failure=lambda error: show_error(self, error),
            parent=self,
        )

    def _show_warning(self, fact: str) -> None:
        self.night_fact = fact
        self._render_warning()

    def _render_warning(self) -> None:
        """The night's warning and what to do about it, from what this desk can do now. A desk
        that works without a central server has no night run to miss: no warning."""
        fact = self.night_fact
        if not fact or self.connection.state is CentralState.OFFLINE:
            text = ""
        elif self._can_run():
            text = f"{fact} Lancez « Synchroniser maintenant » ou prévenez le support."
        else:
            text = f"{fact} Prévenez le support."
        self.banner.setText(text)
        self.banner.setVisible(bool(text))
        if text != self.warning:
            self.warning = text
            self.warning_changed.emit(text)

    def _show_connection(self) -> None:
        self.central_label.setText(connection_text(self.connection))
        self.central_label.setToolTip(connection_detail(self.connection))
        self._enable_sync()
        self._render_warning()

    def _can_run(self) -> bool:
        """Whether « Synchroniser maintenant » can start a run here (when none is running)."""
        connection = self.connection
        return connection.state is CentralState.READY or (
            connection.state is CentralState.FAILED and connection.embedded
        )

    def _enable_sync(self) -> None:
        self.sync_button.setEnabled(self._can_run() and not self.running)
        self.dry_run.setEnabled(not self.running)
        self.stop_button.setEnabled(self.running)

    def load_queues(self) -> None:
        if self.conflicts_tab is not None:
            self.conflicts_tab.load()
        if self.parked_tab is not None:
            self.parked_tab.load()

    def _count_in_title(self, tab: QWidget, title: str, count: int) -> None:
        self.tabs.setTabText(self.tabs.indexOf(tab), f"{title} ({count})" if count else title)

    def _action_failed(self, error: BaseException) -> None:
        show_error(self, error)
        self.load_queues()

    # --- running -------------------------------------------------------------------------
    def start_sync(self) -> None:
        if self.running:
            return
        endpoint = self.connection.endpoint
        if self.connection.state is CentralState.FAILED and self.connection.embedded:
            self.connection.start(self.shell.ctx.installation, self.shell.runner)
            return
        if self.connection.state is not CentralState.READY or endpoint is None:
            messages.warn(self, "Synchronisation impossible", self.central_label.text())
            return
        run = self.run_function
        if run is None:
            from app.sync.runner import run_sync

            run = run_sync
        ctx = self.shell.ctx
        data_dir = self.shell.settings.data_dir
        dry_run = self.dry_run.isChecked()
        cancel = _CancelEvent()
        relay = self.relay

        def work(progress: Progress) -> Any:
            cancel.progress = progress
            return run(
                ctx.db, ctx.installation, endpoint, data_dir=data_dir, dry_run=dry_run,
                trigger="manual", progress=relay.report, cancel=cancel,
            )

        self.running = True
        self.cancel_event = cancel
        self.last_outcome = None
        self.phases.reset()
        self.result_label.setStyleSheet("")
        self.result_label.setText(
            "Simulation en cours : rien ne sera enregistré…" if dry_run
            else "Synchronisation en cours…"
        )
        self._enable_sync()
        self.live_timer.start()
        QTimer.singleShot(LIVE_REFRESH_MS // 4, self._refresh_if_running)
        self.shell.runner.apart(
            work, on_success=self._finished, on_failure=self._crashed, parent=self
        )

    def _refresh_if_running(self) -> None:
        if self.running:
            self.history_tab.load()

    def stop_sync(self) -> None:
        if self.cancel_event is not None and self.running:
            self.cancel_event.set()
            self.stop_button.setEnabled(False)
            self.result_label.setText("Arrêt demandé : la synchronisation s'arrête après l'étape en cours…")

    def _progressed(self) -> None:
        for progress in self.relay.take():
            if self.running:
                self.phases.progressed(progress)

    def _end_run(self) -> None:
        self.running = False
        self.cancel_event = None
        self.live_timer.stop()
        self._enable_sync()

    def _finished(self, outcome: Any) -> None:
        self._end_run()
        self.last_outcome = outcome
        self.phases.finished(outcome.status)
        self.history_tab.select_run_id = outcome.run_id
        ok = outcome.status == "succeeded"
        color = "#1b6e20" if ok and not (outcome.conflicts or outcome.parked) else (
            "#9a4d00" if ok or outcome.status == "interrupted" else "#b00020"
        )
        self.result_label.setStyleSheet(f"#syncResult {{ color: {color}; font-weight: bold; }}")
        self.result_label.setText(outcome.message)
        self.refresh()
        if "bootstrap" in (getattr(outcome, "report", None) or {}):
            # The agency's database was replaced by central's copy: this session still holds
            # the old one.
            messages.inform(self, "Redémarrer Guichet", outcome.message)
        self.run_finished.emit(outcome)

    def _crashed(self, error: BaseException) -> None:
        self._end_run()
        self.phases.crashed()
        self.result_label.setStyleSheet("#syncResult { color: #b00020; font-weight: bold; }")
        if isinstance(error, GuichetError):
            self.result_label.setText(error.message)
        else:
            self.result_label.setText(
                "La synchronisation s'est arrêtée sur une erreur inattendue (voir le journal)."
            )
        show_error(self, error)
        self.refresh()
        self.run_finished.emit(None)


def connection_text(connection: CentralConnection) -> str:
    """Which central this desk synchronises with, or why it cannot."""
    state = connection.state
    if state is CentralState.READY:
        where = (
            f"le serveur central local ({connection.url})"
            if connection.embedded
            else f"le serveur central {connection.url}"
        )
        return f"Ce poste se synchronise avec {where}."
    if state is CentralState.STARTING:
        return "Démarrage du serveur central local… La synchronisation sera possible dans un instant."
    if state is CentralState.OFFLINE:
        return (
            "Cette installation fonctionne sans serveur central : ses données restent sur ce "
            "poste, rien n'est envoyé ni reçu et il n'y a pas de synchronisation de la nuit. "
            "L'historique reste consultable. Pour relier ce poste au serveur central de "
            "l'agence, un administrateur lui fait rejoindre ce serveur (voir le guide "
            "d'installation)."
        )
    if state is CentralState.FAILED:
        text = f"Synchronisation impossible : {connection.message}"
        if connection.embedded:
            text += " « Synchroniser maintenant » essaie de le démarrer de nouveau."
        return text
    return "Le serveur central n'est pas disponible."


def connection_detail(connection: CentralConnection) -> str:
    """The technical detail behind ``connection_text``, for the administrator (a tooltip)."""
    if connection.state is CentralState.OFFLINE:
        return (
            "Réglage du poste : GUICHET_CENTRAL_URL=off (ou --central-url off). Pour le relier : "
            "./guichet --agency CODE join ADRESSE, ou GUICHET_CENTRAL_URL=ADRESSE avec "
            "GUICHET_AGENCY_CODE et la clé d'accès de l'agence (docs/deploy.md)."
        )
    if connection.state is CentralState.READY:
        return connection.url
    return connection.message
