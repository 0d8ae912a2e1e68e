"""The Synchronisation page: run a synchronisation by hand and watch its phases, read the
history of runs, and (supervisors) settle the conflicts and the rows awaiting a decision.

Signals: ``run_finished(SyncOutcome)`` when a run started here ends (also when it failed);
``warning_changed(str)`` when the night's warning appears, changes or goes (empty text).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.models.sync import ConflictChoice, ConflictStatus, ParkedStatus
from app.services import sync_admin
from app.services.sync_admin import (
    ConflictRecord,
    ParkedRecord,
    PhaseRecord,
    RunHistoryPage,
    RunRecord,
)
from app.views import format as fmt
from app.views import messages
from app.views.errors import show_error
from app.views.shell import Shell
from app.views.sync import dialogs
from app.views.sync.connection import CentralConnection, CentralState
from app.views.table_model import Column, ListTableModel
from app.views.tasks import Progress
from kernel import vocabulary
from kernel.errors import GuichetError

log = logging.getLogger(__name__)

HISTORY_PAGE = 50
WARNING_CHECK_MS = 5 * 60_000
LIVE_REFRESH_MS = 2_000
RECENT_RUN = timedelta(hours=2)
PHASE_STYLE = """
QProgressBar { border: 1px solid #b8c2cf; border-radius: 3px; background: white;
               text-align: center; min-height: 20px; }
QProgressBar::chunk { background: #4a7fc1; }
QProgressBar[phaseState="done"]::chunk { background: #2e7d32; }
QProgressBar[phaseState="done"] { color: white; }
QProgressBar[phaseState="failed"]::chunk { background: #c62828; }
QProgressBar[phaseState="failed"] { border: 1px solid #c62828; color: white; font-weight: bold; }
QProgressBar[phaseState="interrupted"]::chunk { background: #d9822b; }
QProgressBar[phaseState="interrupted"] { color: white; font-weight: bold; }
QProgressBar[phaseState="skipped"] { color: #8a96a3; background: #f0f2f5; }
QLabel[phaseTitle="true"] { font-weight: bold; color: #1f3a5f; }
QLabel[phaseDetail="true"] { color: #4a5868; font-size: 9pt; }
"""
#: The phases always shown, in order; the others appear when a run goes through them.
STANDARD_PHASES = ("backup", "upload", "close", "download", "reconcile")
PHASE_ORDER = ("bootstrap", "backup", "adoption", "upload", "close", "download", "reconcile")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.1f} s".replace(".", ",")
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def plural(n: int, one: str, many: str) -> str:
    return f"{fmt.count(n)} {one if n <= 1 else many}"


def size(octets: int) -> str:
    if octets < 1024:
        return f"{octets} o"
    value = float(octets)
    for unit in ("Ko", "Mo", "Go"):
        value /= 1024
        if value < 1024 or unit == "Go":
            return f"{value:.1f} {unit}".replace(".", ",")
    return f"{octets} o"  # pragma: no cover


def _table(name: str) -> QTableView:
    table = QTableView()
    table.setObjectName(name)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(24)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    return table


def _fit_columns(table: QTableView, widest: int = 260) -> None:
    """Columns as wide as their contents, none wider than ``widest`` (the tooltip shows all)."""
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    table.resizeColumnsToContents()
    for column in range(header.count() - 1):
        header.resizeSection(column, min(header.sectionSize(column), widest))


class _CancelEvent(threading.Event):
    """The page's Arrêter button, or the program closing (the runner cancels its tasks)."""

    def __init__(self) -> None:
        super().__init__()
        self.progress: Progress | None = None

    def is_set(self) -> bool:
        return super().is_set() or (self.progress is not None and self.progress.cancelled)


class _Relay(QObject):
    """Carries the runner's progress from its worker thread to the page (queued signal)."""

    progressed = Signal(object)


class _Content(QWidget):
    """The page inside its scroll area: it takes the height it is given (no taller because of a
    wrapped label), and scrolls only below its minimum."""

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt override)
        layout = self.layout()
        return layout.minimumHeightForWidth(width) if layout is not None else -1


class PhaseRow:
    def __init__(self, name: str, label: str) -> None:
        self.name = name
        self.title = QLabel(label)
        self.title.setObjectName(f"phase_{name}_title")
        self.title.setProperty("phaseTitle", True)
        self.bar = QProgressBar()
        self.bar.setObjectName(f"phase_{name}")
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setTextVisible(True)
        self.bar.setFormat("—")
        self.bar.setMinimumWidth(70)
        self.detail = QLabel("")
        self.detail.setObjectName(f"phase_{name}_detail")
        self.detail.setProperty("phaseDetail", True)
        self.detail.setWordWrap(True)
        self.detail.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.state = "waiting"

    def reset(self) -> None:
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setFormat("—")
        self.set_detail("")
        self._mark("waiting")

    def show(self, done: int, total: int | None, detail: str) -> None:
        self._mark("running")
        if total is None or total <= 0:
            self.bar.setRange(0, 0)  # busy: the length is not known
            self.bar.setFormat(fmt.count(done) if done else "")
        else:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))
            self.bar.setFormat(f"{fmt.count(min(done, total))} / {fmt.count(total)}")
        self.set_detail(detail)

    def set_detail(self, detail: str) -> None:
        # File names and identifiers may break after - _ . / so that no detail is cut.
        breakable = detail
        for mark in ("-", "_", "/", "."):
            breakable = breakable.replace(mark, mark + "\u200b")
        self.detail.setText(breakable)
        self.detail.setToolTip(detail)

    def finish(self, state: str) -> None:
        if state == "done":
            self.bar.setRange(0, 1)
            self.bar.setValue(1)
            self.bar.setFormat("Terminé")
        elif state == "skipped":
            self.bar.setRange(0, 1)
            self.bar.setValue(0)
            self.bar.setFormat("Sans objet")
        elif state in ("failed", "interrupted"):
            self.bar.setRange(0, 1)
            self.bar.setValue(1)
            self.bar.setFormat("Échec" if state == "failed" else "Arrêté")
        self._mark(state)

    def _mark(self, state: str) -> None:
        self.state = state
        self.bar.setProperty("phaseState", state)
        self.bar.style().unpolish(self.bar)
        self.bar.style().polish(self.bar)


class SyncPage(QWidget):
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
        #: The run to select when the history comes back (the one just made here).
        self._select_run_id: Any = None
        self.warning = ""
        # Owned by the runner, which outlives the page and waits for its workers: a run still
        # reporting when the page closes never emits on a deleted object.
        self.relay = _Relay(self.shell.runner)
        self.relay.progressed.connect(self._progressed)

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

        self.phase_box = QGroupBox("Déroulement")
        self.phase_box.setObjectName("syncPhasesBox")
        self.phase_box.setStyleSheet(PHASE_STYLE)
        self.phase_grid = QGridLayout(self.phase_box)
        self.phase_grid.setHorizontalSpacing(14)
        self.phase_grid.setVerticalSpacing(4)
        self.phase_rows: dict[str, PhaseRow] = {}
        for name in STANDARD_PHASES:
            self._phase_row(name)
        self.result_label = QLabel("")
        self.result_label.setObjectName("syncResult")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("syncTabs")
        self.tabs.addTab(self._build_history(), "&Historique")
        self.conflicts_tab: QWidget | None = None
        self.parked_tab: QWidget | None = None
        if self.supervising:
            self.conflicts_tab = self._build_conflicts()
            self.tabs.addTab(self.conflicts_tab, "&Conflits")
            self.parked_tab = self._build_parked()
            self.tabs.addTab(self.parked_tab, "&Lignes en attente")

        top = QVBoxLayout()
        top.setSpacing(6)
        top.addWidget(title)
        top.addWidget(self.central_label)
        top.addWidget(self.banner)
        top.addLayout(controls)
        top.addWidget(self.phase_box)
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
        self.live_timer.timeout.connect(self.load_history)
        self.warning_timer = QTimer(self)
        self.warning_timer.setInterval(WARNING_CHECK_MS)
        self.warning_timer.timeout.connect(self.check_warning)
        self.warning_timer.start()

        self.connection.changed.connect(self._show_connection)
        self._show_connection()
        self.refresh()

    # --- building ------------------------------------------------------------------------
    def _phase_row(self, name: str) -> PhaseRow:
        row = self.phase_rows.get(name)
        if row is not None:
            return row
        row = PhaseRow(name, vocabulary.phase_label(name))
        self.phase_rows[name] = row
        self._layout_phases()
        return row

    def _layout_phases(self) -> None:
        """The phases side by side in the order a run goes through them."""
        ordered = sorted(
            self.phase_rows.values(),
            key=lambda r: PHASE_ORDER.index(r.name) if r.name in PHASE_ORDER else len(PHASE_ORDER),
        )
        for each in ordered:
            for widget in (each.title, each.bar, each.detail):
                self.phase_grid.removeWidget(widget)
        for column in range(len(PHASE_ORDER) + 1):
            self.phase_grid.setColumnStretch(column, 0)
        for column, each in enumerate(ordered):
            self.phase_grid.addWidget(each.title, 0, column)
            self.phase_grid.addWidget(each.bar, 1, column)
            self.phase_grid.addWidget(each.detail, 2, column, Qt.AlignmentFlag.AlignTop)
            self.phase_grid.setColumnStretch(column, 1)

    def _build_history(self) -> QWidget:
        local = self.shell.ctx.installation.local
        self.history_model: ListTableModel[RunRecord] = ListTableModel([
            Column("Date", lambda r: fmt.moment(local(r.started_at))),
            Column("Statut", self._status_text),
            Column("Type", lambda r: r.trigger_label + (" · simulation" if r.dry_run else "")),
            Column("Durée", lambda r: duration(r.seconds), align_right=True),
            Column("Envoyées", lambda r: fmt.count(r.rows_up), align_right=True),
            Column("Reçues", lambda r: fmt.count(r.rows_down), align_right=True),
            Column("Volume", lambda r: f"{size(r.bytes_up)} ↑ {size(r.bytes_down)} ↓",
                   align_right=True),
            Column("Reprises", lambda r: fmt.count(r.retries), align_right=True),
            Column("Conflits", lambda r: fmt.count(r.conflicts), align_right=True),
            Column("En attente", lambda r: fmt.count(r.parked), align_right=True),
            Column("Écarts", lambda r: ", ".join(map(vocabulary.table_label, r.mismatches))
                   or ("aucun" if r.status == "succeeded" else "")),
        ])
        self.history_table = _table("syncHistory")
        self.history_table.setModel(self.history_model)
        self.history_table.selectionModel().currentRowChanged.connect(
            lambda current, _previous: self._show_run(current.row())
        )
        self.more_button = QPushButton("Synchronisations &plus anciennes")
        self.more_button.setEnabled(False)
        self.more_button.clicked.connect(lambda: self.load_history(more=True))
        self.history_summary = QLabel("")
        self.history_summary.setObjectName("hint")

        self.phases_model: ListTableModel[PhaseRecord] = ListTableModel([
            Column("Étape", lambda p: p.label),
            Column("Statut", lambda p: p.status_label),
            Column("Durée", lambda p: duration(p.seconds), align_right=True),
            Column("Lignes", lambda p: fmt.count(p.rows), align_right=True),
            Column("Volume", lambda p: size(p.bytes), align_right=True),
            Column("Reprises", lambda p: fmt.count(p.retries), align_right=True),
            Column("Détail", lambda p: p.detail),
        ])
        self.phases_table = _table("syncPhases")
        self.phases_table.setModel(self.phases_model)
        self.run_error = QLabel("")
        self.run_error.setObjectName("syncRunError")
        self.run_error.setWordWrap(True)
        self.run_error.setStyleSheet("#syncRunError { color: #b00020; }")
        self.run_error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        below = QWidget()
        below_layout = QVBoxLayout(below)
        below_layout.setContentsMargins(0, 0, 0, 0)
        phases_caption = QLabel("Étapes de la synchronisation choisie")
        phases_caption.setObjectName("hint")
        below_layout.addWidget(phases_caption)
        below_layout.addWidget(self.phases_table, 1)
        below_layout.addWidget(self.run_error)
        above = QWidget()
        above_layout = QVBoxLayout(above)
        above_layout.setContentsMargins(0, 0, 0, 0)
        above_layout.addWidget(self.history_table, 1)
        footer = QHBoxLayout()
        footer.addWidget(self.history_summary, 1)
        footer.addWidget(self.more_button)
        above_layout.addLayout(footer)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(above)
        splitter.addWidget(below)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        tab = QWidget()
        tab_layout = QVBoxLayout(tab)
        tab_layout.setContentsMargins(8, 8, 8, 8)
        tab_layout.addWidget(splitter)
        return tab

    def _build_conflicts(self) -> QWidget:
        local = self.shell.ctx.installation.local
        self.conflicts_model: ListTableModel[ConflictRecord] = ListTableModel([
            Column("Date", lambda c: fmt.moment(local(c.detected_at))),
            Column("Élément", lambda c: f"{c.table_label} {c.row_caption}".strip()),
            Column("Champ", lambda c: c.field_label),
            Column("Origine", lambda c: c.old_text),
            Column("Reçue (agence)", lambda c: c.incoming_text),
            Column("En place (central)", lambda c: c.current_text),
            Column("Décision", lambda c: self._decision_text(c)),
        ])
        self.conflicts_table = _table("syncConflicts")
        self.conflicts_table.setModel(self.conflicts_model)
        self.conflicts_table.selectionModel().currentRowChanged.connect(
            lambda *_: self._enable_conflict_actions()
        )
        self.show_resolved = QCheckBox("Afficher aussi les conflits résol&us")
        self.show_resolved.toggled.connect(lambda _on: self.load_conflicts())
        self.keep_current = QPushButton("Garder la valeur &en place")
        self.take_incoming = QPushButton("Prendre la valeur &reçue")
        self.custom_value = QPushButton("Autre &valeur…")
        self.keep_current.clicked.connect(lambda: self.resolve(ConflictChoice.CURRENT))
        self.take_incoming.clicked.connect(lambda: self.resolve(ConflictChoice.INCOMING))
        self.custom_value.clicked.connect(lambda: self.resolve(ConflictChoice.CUSTOM))
        self.conflicts_summary = QLabel("")
        self.conflicts_summary.setObjectName("hint")
        self.conflicts_summary.setWordWrap(True)
        self.conflict_detail = QLabel("")
        self.conflict_detail.setObjectName("conflictDetail")
        self.conflict_detail.setWordWrap(True)
        self.conflict_detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        for button in (self.keep_current, self.take_incoming, self.custom_value):
            buttons.addWidget(button)
        buttons.addStretch(1)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(8, 8, 8, 8)
        heading = QHBoxLayout()
        heading.addWidget(self.conflicts_summary, 1)
        heading.addWidget(self.show_resolved, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(heading)
        layout.addWidget(self.conflicts_table, 1)
        layout.addWidget(self.conflict_detail)
        layout.addLayout(buttons)
        self._enable_conflict_actions()
        return tab

    def _build_parked(self) -> QWidget:
        local = self.shell.ctx.installation.local
        self.parked_model: ListTableModel[ParkedRecord] = ListTableModel([
            Column("Date", lambda p: fmt.moment(local(p.parked_at))),
            Column("Où", lambda p: p.side_label),
            Column("Lot", lambda p: str(p.batch_number or ""), align_right=True),
            Column("Élément", lambda p: f"{p.table_label} {p.row_caption}".strip()),
            Column("Opération", lambda p: p.operation_label),
            Column("Statut", lambda p: p.status_label),
            Column("Erreur", lambda p: p.error),
            Column("Contenu", lambda p: p.changes_text),
        ])
        self.parked_table = _table("syncParked")
        self.parked_table.setModel(self.parked_model)
        self.parked_table.selectionModel().currentRowChanged.connect(
            lambda *_: self._enable_parked_actions()
        )
        self.show_settled = QCheckBox("Afficher aussi les lignes &traitées")
        self.show_settled.toggled.connect(lambda _on: self.load_parked())
        self.retry_button = QPushButton("&Réessayer")
        self.retry_button.setToolTip(
            "Appliquer de nouveau la ligne (et celles qu'elle bloque) à la prochaine synchronisation"
        )
        self.discard_button = QPushButton("A&bandonner")
        self.discard_button.setToolTip("Ne jamais appliquer la ligne ni celles qu'elle bloque")
        self.retry_button.clicked.connect(lambda: self.settle_parked(retry=True))
        self.discard_button.clicked.connect(lambda: self.settle_parked(retry=False))
        self.parked_summary = QLabel("")
        self.parked_summary.setObjectName("hint")
        self.parked_summary.setWordWrap(True)
        self.parked_detail = QLabel("")
        self.parked_detail.setObjectName("parkedDetail")
        self.parked_detail.setWordWrap(True)
        self.parked_detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.discard_button)
        buttons.addStretch(1)
        tab = QWidget()
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(8, 8, 8, 8)
        heading = QHBoxLayout()
        heading.addWidget(self.parked_summary, 1)
        heading.addWidget(self.show_settled, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(heading)
        layout.addWidget(self.parked_table, 1)
        layout.addWidget(self.parked_detail)
        layout.addLayout(buttons)
        self._enable_parked_actions()
        return tab

    # --- texts ---------------------------------------------------------------------------
    def _status_text(self, run: RunRecord) -> str:
        """A run still ``running`` that is not this page's: one of another desk or of the
        scheduler when recent, else a run that was killed."""
        if run.status != "running" or self.running:
            return run.status_label
        if datetime.now(UTC) - run.started_at < RECENT_RUN:
            return "En cours ailleurs"
        return "Interrompue"

    @staticmethod
    def _conflict_text(c: ConflictRecord) -> str:
        """The whole conflict in one sentence, values in full."""
        text = (
            f"{c.table_label} {c.row_caption} — {c.field_label} : valeur d'origine « {c.old_text} », "
            f"reçue de l'agence « {c.incoming_text} », en place au site central "
            f"« {c.current_text} »."
        )
        if c.status is not ConflictStatus.OPEN:
            text += f" Décision : {c.choice_label.lower()} « {c.chosen_text} » ({c.resolved_by})."
        return text

    @staticmethod
    def _decision_text(conflict: ConflictRecord) -> str:
        if conflict.status is ConflictStatus.OPEN:
            return "À décider"
        return f"{conflict.choice_label} : {conflict.chosen_text} ({conflict.resolved_by})"

    def _show_connection(self) -> None:
        connection = self.connection
        state = connection.state
        if state is CentralState.READY:
            where = (
                f"le serveur central local ({connection.url})"
                if connection.embedded
                else f"le serveur central {connection.url}"
            )
            text = f"Ce poste se synchronise avec {where}."
        elif state is CentralState.STARTING:
            text = "Démarrage du serveur central local… La synchronisation sera possible dans un instant."
        elif state is CentralState.OFFLINE:
            text = (
                "Ce poste travaille hors ligne (GUICHET_CENTRAL_URL=off) : la synchronisation est "
                "désactivée. L'historique reste consultable."
            )
        elif state is CentralState.FAILED:
            text = f"Synchronisation impossible : {connection.message}"
            if connection.embedded:
                text += " « Synchroniser maintenant » essaie de le démarrer de nouveau."
        else:
            text = "Le serveur central n'est pas disponible."
        self.central_label.setText(text)
        self._enable_sync()

    def _enable_sync(self) -> None:
        connection = self.connection
        ready = connection.state is CentralState.READY or (
            connection.state is CentralState.FAILED and connection.embedded
        )
        self.sync_button.setEnabled(ready and not self.running)
        self.dry_run.setEnabled(not self.running)
        self.stop_button.setEnabled(self.running)

    # --- the Page protocol ----------------------------------------------------------------
    def as_widget(self) -> QWidget:
        return self

    def activated(self) -> None:
        pass

    def refresh(self) -> None:
        """F5: history, queues and the night's warning read again."""
        self.load_history()
        self.check_warning()
        if self.supervising:
            self.load_conflicts()
            self.load_parked()

    def _submit(self, fn: Callable[[], Any], on_success: Callable[[Any], None]) -> None:
        self.shell.runner.submit(fn, on_success=on_success, on_failure=self._failed, parent=self)

    def _failed(self, error: BaseException) -> None:
        show_error(self, error)

    def load_history(self, more: bool = False) -> None:
        ctx = self.shell.ctx
        offset = len(self.history_model.rows) if more else 0
        limit = HISTORY_PAGE if more else max(HISTORY_PAGE, len(self.history_model.rows))
        self._submit(
            lambda: sync_admin.run_history(ctx, offset=offset, limit=limit),
            lambda page: self._show_history(page, more),
        )

    def _show_history(self, page: RunHistoryPage, more: bool) -> None:
        selected = self._selected_run()
        wanted = self._select_run_id or (selected.id if selected else None)
        rows = list(self.history_model.rows) + list(page.runs) if more else list(page.runs)
        self.history_model.set_rows(rows)
        self.more_button.setEnabled(len(rows) < page.total)
        if page.total == 0:
            self.history_summary.setText("Aucune synchronisation n'a encore été faite sur ce poste.")
        else:
            self.history_summary.setText(
                f"{plural(len(rows), 'synchronisation affichée', 'synchronisations affichées')} "
                f"sur {fmt.count(page.total)}"
            )
        position = next((i for i, r in enumerate(rows) if r.id == wanted), 0)
        if any(r.id == self._select_run_id for r in rows):
            self._select_run_id = None
        if rows:
            self.history_table.selectRow(position)
            self._show_run(position)
        else:
            self._show_run(-1)

    def _selected_run(self) -> RunRecord | None:
        index = self.history_table.currentIndex()
        if not index.isValid() or index.row() >= len(self.history_model.rows):
            return None
        return self.history_model.row(index.row())

    def _show_run(self, row: int) -> None:
        if not 0 <= row < len(self.history_model.rows):
            self.phases_model.set_rows([])
            self.run_error.setText("")
            return
        run = self.history_model.row(row)
        self.phases_model.set_rows(run.phases)
        self.run_error.setText(run.error)

    def check_warning(self) -> None:
        ctx = self.shell.ctx
        deadline = self.shell.settings.sync_deadline
        self._submit(
            lambda: sync_admin.night_run_warning(ctx, deadline=deadline) or "",
            self._show_warning,
        )

    def _show_warning(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))
        if text != self.warning:
            self.warning = text
            self.warning_changed.emit(text)

    def load_conflicts(self) -> None:
        ctx = self.shell.ctx
        status = None if self.show_resolved.isChecked() else ConflictStatus.OPEN

        def load() -> tuple[list[ConflictRecord], int]:
            return sync_admin.list_conflicts(ctx, status), sync_admin.count_open_conflicts(ctx)

        self._submit(load, self._show_conflicts)

    def _show_conflicts(self, loaded: tuple[list[ConflictRecord], int]) -> None:
        conflicts, open_count = loaded
        self.conflicts_model.set_rows(conflicts)
        _fit_columns(self.conflicts_table, 190)
        assert self.conflicts_tab is not None
        self.tabs.setTabText(
            self.tabs.indexOf(self.conflicts_tab),
            f"&Conflits ({open_count})" if open_count else "&Conflits",
        )
        if open_count:
            self.conflicts_summary.setText(
                f"{plural(open_count, 'conflit', 'conflits')} à décider. Tant qu'un conflit n'est "
                "pas décidé, la valeur en place au site central reste. Votre décision part au "
                "site central à la prochaine synchronisation."
            )
        else:
            self.conflicts_summary.setText("Aucun conflit à décider.")
        if conflicts:
            self.conflicts_table.selectRow(0)
        self._enable_conflict_actions()

    def load_parked(self) -> None:
        ctx = self.shell.ctx
        statuses = None if self.show_settled.isChecked() else (ParkedStatus.PARKED,)

        def load() -> tuple[list[ParkedRecord], int]:
            return sync_admin.list_parked(ctx, statuses), sync_admin.count_parked(ctx)

        self._submit(load, self._show_parked)

    def _show_parked(self, loaded: tuple[list[ParkedRecord], int]) -> None:
        parked, waiting = loaded
        self.parked_model.set_rows(parked)
        _fit_columns(self.parked_table, 240)
        assert self.parked_tab is not None
        self.tabs.setTabText(
            self.tabs.indexOf(self.parked_tab),
            f"&Lignes en attente ({waiting})" if waiting else "&Lignes en attente",
        )
        if waiting:
            self.parked_summary.setText(
                ("1 ligne n'a pas pu être appliquée. Elle ne bloque" if waiting == 1 else
                 f"{fmt.count(waiting)} lignes n'ont pas pu être appliquées. Elles ne bloquent")
                + " rien d'autre. Corrigez la cause (par exemple la fiche manquante) puis "
                "« Réessayer », ou « Abandonner »."
            )
        else:
            self.parked_summary.setText("Aucune ligne en attente.")
        if parked:
            self.parked_table.selectRow(0)
        self._enable_parked_actions()

    # --- conflicts and parked rows -------------------------------------------------------
    def _current_conflict(self) -> ConflictRecord | None:
        index = self.conflicts_table.currentIndex()
        if not index.isValid() or index.row() >= len(self.conflicts_model.rows):
            return None
        return self.conflicts_model.row(index.row())

    def _enable_conflict_actions(self) -> None:
        conflict = self._current_conflict()
        self.conflict_detail.setText(self._conflict_text(conflict) if conflict else "")
        open_ = conflict is not None and conflict.status is ConflictStatus.OPEN
        for button in (self.keep_current, self.take_incoming):
            button.setEnabled(open_)
        self.custom_value.setEnabled(open_ and conflict is not None and conflict.field != "*")

    def resolve(self, choice: ConflictChoice) -> None:
        conflict = self._current_conflict()
        if conflict is None or conflict.status is not ConflictStatus.OPEN:
            return
        custom = ""
        what = f"« {conflict.field_label} » ({conflict.table_label})"
        if choice is ConflictChoice.CUSTOM:
            value = dialogs.ask_value(
                self, "Autre valeur", f"Valeur à garder pour {what} :", conflict.current_text
                if conflict.current_value is not None else "",
            )
            if value is None:
                return
            custom = value
            kept = value.strip()
        elif choice is ConflictChoice.INCOMING:
            kept = conflict.incoming_text
        else:
            kept = conflict.current_text
        if not messages.confirm(
            self,
            "Résoudre le conflit",
            f"Garder « {kept} » pour {what} ?\n\nLa décision sera envoyée au site central à la "
            "prochaine synchronisation.",
            default_yes=True,
        ):
            return
        ctx = self.shell.ctx
        self.shell.runner.submit(
            lambda: sync_admin.resolve_conflict(
                ctx, conflict.id, conflict.version, choice, custom
            ),
            on_success=lambda _done: self.load_conflicts(),
            on_failure=self._action_failed,
            parent=self,
            write=True,
        )

    def _current_parked(self) -> ParkedRecord | None:
        index = self.parked_table.currentIndex()
        if not index.isValid() or index.row() >= len(self.parked_model.rows):
            return None
        return self.parked_model.row(index.row())

    def _enable_parked_actions(self) -> None:
        parked = self._current_parked()
        self.parked_detail.setText(
            f"{parked.operation_label} de « {parked.table_label} {parked.row_caption} » "
            f"(lot {parked.batch_number or '—'}) : {parked.error or 'sans erreur enregistrée'}. "
            f"{parked.changes_text}".strip()
            if parked else ""
        )
        waiting = parked is not None and parked.status is ParkedStatus.PARKED
        self.retry_button.setEnabled(waiting)
        self.discard_button.setEnabled(waiting)

    def settle_parked(self, retry: bool) -> None:
        parked = self._current_parked()
        if parked is None or parked.status is not ParkedStatus.PARKED:
            return
        what = f"{parked.operation_label.lower()} de « {parked.table_label} »"
        if retry:
            question = (
                f"Réessayer la {what} (et les lignes qu'elle bloque) à la prochaine "
                "synchronisation ?"
            )
        else:
            question = (
                f"Abandonner définitivement la {what} et les lignes qu'elle bloque ?\n\n"
                "Ces modifications ne seront jamais appliquées."
            )
        if not messages.confirm(
            self, "Réessayer" if retry else "Abandonner", question, default_yes=retry
        ):
            return
        ctx = self.shell.ctx
        settle = sync_admin.retry_parked if retry else sync_admin.discard_parked
        self.shell.runner.submit(
            lambda: settle(ctx, parked.id, parked.version),
            on_success=lambda _count: self.load_parked(),
            on_failure=self._action_failed,
            parent=self,
            write=True,
        )

    def _action_failed(self, error: BaseException) -> None:
        show_error(self, error)
        if self.supervising:
            self.load_conflicts()
            self.load_parked()

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
                trigger="manual", progress=relay.progressed.emit, cancel=cancel,
            )

        self.running = True
        self.cancel_event = cancel
        self.last_outcome = None
        for name in [n for n in self.phase_rows if n not in STANDARD_PHASES]:
            self._remove_phase(name)
        for row in self.phase_rows.values():
            row.reset()
        self.result_label.setStyleSheet("")
        self.result_label.setText(
            "Simulation en cours : rien ne sera enregistré…" if dry_run
            else "Synchronisation en cours…"
        )
        self._enable_sync()
        self.live_timer.start()
        QTimer.singleShot(LIVE_REFRESH_MS // 4, self._refresh_if_running)
        self.shell.runner.submit(
            work, on_success=self._finished, on_failure=self._crashed, parent=self
        )

    def _refresh_if_running(self) -> None:
        if self.running:
            self.load_history()

    def _remove_phase(self, name: str) -> None:
        row = self.phase_rows.pop(name)
        for widget in (row.title, row.bar, row.detail):
            self.phase_grid.removeWidget(widget)
            widget.hide()
            widget.deleteLater()
        self._layout_phases()

    def closing(self) -> None:
        self.stop_sync()

    def stop_sync(self) -> None:
        if self.cancel_event is not None and self.running:
            self.cancel_event.set()
            self.stop_button.setEnabled(False)
            self.result_label.setText("Arrêt demandé : la synchronisation s'arrête après l'étape en cours…")

    def _progressed(self, progress: Any) -> None:
        if not self.running:
            return
        row = self._phase_row(progress.phase)
        for other in self.phase_rows.values():
            if other is not row and other.state == "running":
                other.finish("done")
        if progress.total == 1 and progress.done == 1:  # the runner's "phase done"
            row.finish("done")
            row.set_detail(progress.detail)
            return
        row.show(progress.done, progress.total, progress.detail)

    def _end_run(self) -> None:
        self.running = False
        self.cancel_event = None
        self.live_timer.stop()
        self._enable_sync()

    def _finished(self, outcome: Any) -> None:
        self._end_run()
        self.last_outcome = outcome
        final = {"succeeded": "done", "failed": "failed", "interrupted": "interrupted"}.get(
            outcome.status, "failed"
        )
        for row in self.phase_rows.values():
            if row.state == "running":
                row.finish(final)
            elif row.state == "waiting" and outcome.status == "succeeded":
                row.finish("skipped")  # not part of this run (a simulation makes no backup)
        self._select_run_id = outcome.run_id
        ok = outcome.status == "succeeded"
        text = outcome.message
        color = "#1b6e20" if ok and not (outcome.conflicts or outcome.parked) else (
            "#9a4d00" if ok or outcome.status == "interrupted" else "#b00020"
        )
        self.result_label.setStyleSheet(f"#syncResult {{ color: {color}; font-weight: bold; }}")
        self.result_label.setText(text)
        self.refresh()
        if "bootstrap" in (getattr(outcome, "report", None) or {}):
            # The agency's database was replaced by central's copy: this session still holds
            # the old one.
            messages.inform(self, "Redémarrer Guichet", outcome.message)
        self.run_finished.emit(outcome)

    def _crashed(self, error: BaseException) -> None:
        self._end_run()
        for row in self.phase_rows.values():
            if row.state == "running":
                row.finish("failed")
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
