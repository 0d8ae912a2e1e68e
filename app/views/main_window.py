"""The main window: navigation on the left, the global search on top, the status bar below."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QByteArray, QSize, Qt, QTimer, Signal, SignalInstance
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QToolBar,
    QWidget,
)

from app import __version__
from app.models.enums import Role
from app.services.central_link import OFFLINE, CentralStatus, check_central
from app.views import messages
from app.views.elided import ElidedLabel
from app.views.pages import MountedPage, Page, StatusWarning
from app.views.shell import Shell
from app.views.sync.connection import CentralState

CENTRAL_CHECK_MS = 60_000
P = TypeVar("P", bound=Page)


class MainWindow(QMainWindow):
    """Signals: ``signed_out()`` when the agent signs out; ``search_requested(str)`` when the
    global search is validated (the page declared with ``search`` answers it).

    The pages are those of ``shell.modules()`` the signed-in role may see."""

    signed_out = Signal()
    search_requested = Signal(str)

    def __init__(self, shell: Shell) -> None:
        super().__init__()
        self.shell = shell
        self.setObjectName("mainWindow")
        installation = shell.ctx.installation
        self.setWindowTitle(
            f"Guichet — Agence {installation.agency_code} {installation.agency_name}"
        )
        self._signing_out = False

        role = shell.ctx.user.role if shell.ctx.user else None
        self.registry = shell.modules()
        self.navigation = QListWidget()
        self.navigation.setObjectName("navigation")
        self.navigation.setFixedWidth(200)
        self.stack = QStackedWidget()
        self.mounted: list[MountedPage] = []
        for entry in self.registry.pages_for(role):
            mounted = entry.mount(shell)
            self.mounted.append(mounted)
            item = QListWidgetItem(entry.title)
            item.setToolTip(f"{entry.title} ({entry.keys})")
            self.navigation.addItem(item)
            self.stack.addWidget(mounted.widget)
            shortcut = QShortcut(QKeySequence(entry.keys), self)
            shortcut.activated.connect(lambda page=mounted.page: self.activate(page))
        self.navigation.currentRowChanged.connect(self.stack.setCurrentIndex)

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.navigation)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self._build_toolbar()
        self._build_menus()
        self._build_status_bar()
        self.navigation.setCurrentRow(0)
        self._restore_geometry()
        searching = next((m for m in self.mounted if m.search is not None), None)
        if searching is not None:
            self.search_requested.connect(lambda text: self._search(searching, text))

        self.central_timer = QTimer(self)
        self.central_timer.timeout.connect(self.check_central)
        self.central_timer.start(CENTRAL_CHECK_MS)
        self._follows_central = shell.central is not None
        if shell.central is not None:
            shell.central.changed.connect(self.check_central)
        QTimer.singleShot(0, self.check_central)

    # --- building ------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        toolbar = QToolBar("Recherche")
        toolbar.setObjectName("searchBar")
        toolbar.setMovable(False)
        title = QLabel("Guichet")
        title.setObjectName("toolbarTitle")
        toolbar.addWidget(title)
        self.search_box = QLineEdit()
        self.search_box.setObjectName("globalSearch")
        self.search_box.setPlaceholderText(
            "Rechercher un client : nom, n° de compte, compteur, téléphone, adresse…  (Ctrl+K)"
        )
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setMinimumWidth(360)
        self.search_box.returnPressed.connect(self._search_validated)
        toolbar.addWidget(self.search_box)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        focus = QShortcut(QKeySequence("Ctrl+K"), self)
        focus.setContext(Qt.ShortcutContext.ApplicationShortcut)
        focus.activated.connect(self.focus_search)
        # Window-wide: they work after the page's shortcut, a click on the sidebar, a closed
        # message box.
        for mounted in self.mounted:
            for action, run in mounted.actions:
                shortcut = QShortcut(QKeySequence(action.keys), self)
                shortcut.activated.connect(
                    lambda page=mounted.page, run=run: self._act(page, run)
                )

    def zoom(self, step: int) -> None:
        """Ctrl++ / Ctrl+- (step ±1), Ctrl+0 (step 0: back to the normal size)."""
        from app.views import zoom

        settings = self.shell.ui_settings()
        level = 0 if step == 0 else _level(settings.value("interface/zoom", 0)) + step
        settings.setValue("interface/zoom", zoom.apply(level))
        settings.sync()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&Fichier")
        sign_out = QAction("Se &déconnecter", self)
        sign_out.setShortcut(QKeySequence("Ctrl+Shift+D"))
        sign_out.triggered.connect(self.sign_out)
        file_menu.addAction(sign_out)
        file_menu.addSeparator()
        quit_action = QAction("&Quitter", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        view_menu = self.menuBar().addMenu("&Affichage")
        refresh = QAction("&Actualiser", self)
        refresh.setShortcut(QKeySequence.StandardKey.Refresh)
        refresh.triggered.connect(self.refresh_current)
        view_menu.addAction(refresh)
        view_menu.addSeparator()
        zooms: list[tuple[str, list[QKeySequence], int]] = [
            (
                "A&grandir le texte",
                [QKeySequence(QKeySequence.StandardKey.ZoomIn), QKeySequence("Ctrl+=")],
                1,
            ),
            ("&Réduire le texte", [QKeySequence(QKeySequence.StandardKey.ZoomOut)], -1),
            ("Taille &normale du texte", [QKeySequence("Ctrl+0")], 0),
        ]
        for text, keys, step in zooms:
            zoom_action = QAction(text, self)
            zoom_action.setShortcuts(keys)
            zoom_action.triggered.connect(lambda _checked=False, s=step: self.zoom(s))
            view_menu.addAction(zoom_action)
        user = self.shell.ctx.user
        if user is not None and user.role in (Role.SUPERVISOR, Role.ADMINISTRATOR):
            control = self.menuBar().addMenu("&Contrôle")
            vacant = QAction("Relèves sur locaux &vacants…", self)
            vacant.triggered.connect(self.show_vacant_readings)
            control.addAction(vacant)
        help_menu = self.menuBar().addMenu("A&ide")
        shortcuts = QAction("&Raccourcis clavier", self)
        shortcuts.triggered.connect(self.show_shortcuts)
        help_menu.addAction(shortcuts)
        about = QAction("À &propos de Guichet", self)
        about.triggered.connect(self._about)
        help_menu.addAction(about)

    def _build_status_bar(self) -> None:
        ctx = self.shell.ctx
        bar = self.statusBar()
        # The agency, the user and the database give way (…) to the warnings and the central's
        # state when the window is narrow; their tips say them whole.
        self.agency_label = ElidedLabel(
            f"Agence {ctx.installation.agency_code} — {ctx.installation.agency_name}"
        )
        user = ctx.user
        self.user_label = ElidedLabel(f"{user.full_name} ({user.role_label})" if user else "")
        self.database_label = ElidedLabel(ctx.db.describe())
        self.central_label = QLabel("Serveur central : vérification…")
        self.warning_labels = [
            self._warning_label(m.page, m.entry.warning, m.warning)
            for m in self.mounted
            if m.entry.warning is not None and m.warning is not None
        ]
        for label in self.warning_labels:
            bar.addPermanentWidget(label)
        for label, name in (
            (self.agency_label, "statusAgency"),
            (self.user_label, "statusUser"),
            (self.database_label, "statusDatabase"),
            (self.central_label, "statusCentral"),
        ):
            label.setObjectName(name)
            label.setToolTip(label.text())
            bar.addPermanentWidget(label)
        self.database_label.setText(ctx.db.describe(short=True))

    def _warning_label(
        self, page: Page, warning: StatusWarning[Page], signal: SignalInstance
    ) -> QLabel:
        """The page's warning: its title as a link that opens the page, the reason in the tip."""
        label = QLabel("")
        label.setObjectName(warning.object_name)
        label.setStyleSheet(f"#{warning.object_name} {{ color: #9a4d00; font-weight: bold; }}")
        label.setTextFormat(Qt.TextFormat.RichText)
        label.linkActivated.connect(lambda _link: self.go_to(page))
        label.hide()
        signal.connect(lambda text: self._show_warning(label, warning.title, text))
        return label

    # --- behaviour -----------------------------------------------------------------------
    def page(self, kind: type[P]) -> P:
        """The window's page of that class (KeyError: not shown to this person)."""
        for mounted in self.mounted:
            if isinstance(mounted.page, kind):
                return mounted.page
        raise KeyError(kind.__name__)

    def show_page(self, kind: type[P]) -> P:
        page = self.page(kind)
        self.go_to(page)
        return page

    def go_to(self, page: Page) -> None:
        self.stack.setCurrentWidget(page.as_widget())
        self.navigation.setCurrentRow(self.stack.currentIndex())

    def _act(self, page: Page, run: Callable[[], None]) -> None:
        self.go_to(page)
        run()

    def activate(self, page: Page) -> None:
        """The page's shortcut: shows it and puts the cursor where work starts."""
        self.go_to(page)
        page.activated()

    def show_vacant_readings(self) -> None:
        from app.views.customers.vacant import VacantReadingsDialog

        VacantReadingsDialog(self.shell, self).open()

    def show_shortcuts(self) -> None:
        user = self.shell.ctx.user
        rows = "".join(
            f"<tr><td style='padding-right:16px'><b>{s.keys}</b></td><td>{s.what}</td>"
            f"<td style='color:#555; padding-left:16px'>{s.where}</td></tr>"
            for s in self.registry.shortcuts(user.role if user else None)
        )
        messages.inform(self, "Raccourcis clavier", f"<table>{rows}</table>")

    def current_page(self) -> Page | None:
        widget = self.stack.currentWidget()
        return next((m.page for m in self.mounted if m.widget is widget), None)

    def focus_search(self) -> None:
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def _search_validated(self) -> None:
        text = self.search_box.text().strip()
        if text:
            self.search_requested.emit(text)

    def _search(self, mounted: MountedPage, text: str) -> None:
        self.go_to(mounted.page)
        if mounted.search is not None:
            mounted.search(text)

    def refresh_current(self) -> None:
        page = self.current_page()
        if page is not None:
            page.refresh()

    def check_central(self) -> None:
        """The central server this session uses (the embedded one when none is configured)."""
        connection = self.shell.central
        if connection is None:
            url = self.shell.settings.central_url
        elif connection.state is CentralState.READY:
            url = connection.url
        elif connection.state is CentralState.OFFLINE:
            self._show_central(OFFLINE)
            return
        else:
            self._show_central(CentralStatus(False, connection.status_text()), connection.message)
            return
        embedded = connection is not None and connection.embedded

        def check() -> CentralStatus:
            status = check_central(url, ca_file=self.shell.settings.central_ca_file)
            if embedded and status.online:
                return CentralStatus(True, "Serveur central local connecté")
            if embedded:
                return CentralStatus(False, "Serveur central local injoignable")
            return status

        self.shell.runner.read(check, on_success=self._show_central, parent=self)

    @staticmethod
    def _show_warning(label: QLabel, title: str, text: str) -> None:
        label.setText(
            '<a href="page" style="color: #9a4d00; text-decoration: none;">'
            f"⚠ {title}</a>" if text else ""
        )
        label.setToolTip(f"{text}\n(cliquez pour ouvrir la page)" if text else "")
        label.setMinimumWidth(label.sizeHint().width())
        label.setVisible(bool(text))

    def _show_central(self, status: CentralStatus, why: str = "") -> None:
        self.central_label.setText(status.label)
        # The status bar does not always widen a permanent label whose text grew.
        self.central_label.setMinimumWidth(self.central_label.sizeHint().width())
        self.central_label.setToolTip(why or status.label)
        self.central_label.setProperty("online", status.online)
        self.central_label.style().unpolish(self.central_label)
        self.central_label.style().polish(self.central_label)

    def _about(self) -> None:
        messages.inform(
            self,
            "À propos de Guichet",
            f"Guichet {__version__}\nBack-office des agences régionales.\n\n"
            f"Base : {self.shell.ctx.db.describe()}\nJournal : {self.shell.settings.log_file}",
        )

    def sign_out(self) -> None:
        self._signing_out = True
        self.close()

    # --- geometry ------------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        from app.views import zoom

        settings = self.shell.ui_settings()
        zoom.apply(_level(settings.value("interface/zoom", 0)))
        geometry = settings.value("main_window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.fit_screen()
        state = settings.value("main_window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def fit_screen(self) -> None:
        """First start: 1280×800 where the screen allows it, else the whole available screen
        (at 1366×768 the status bar and its warnings stay in view)."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            self.resize(1280, 800)
            return
        available = screen.availableGeometry()
        frame = self.frameGeometry().size() - self.geometry().size()
        if frame.isEmpty():  # not shown yet: leave room for a title bar and borders
            frame = QSize(16, 40)
        width = min(1280, available.width() - frame.width())
        height = min(800, available.height() - frame.height())
        self.resize(width, height)
        self.move(
            available.left() + (available.width() - width - frame.width()) // 2,
            available.top() + (available.height() - height - frame.height()) // 2,
        )

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        settings = self.shell.ui_settings()
        settings.setValue("main_window/geometry", self.saveGeometry())
        settings.setValue("main_window/state", self.saveState())
        settings.sync()
        self.central_timer.stop()
        if self.shell.central is not None and self._follows_central:
            self._follows_central = False
            self.shell.central.changed.disconnect(self.check_central)
        for mounted in self.mounted:
            mounted.page.closing()
        super().closeEvent(event)
        if self._signing_out:
            self.signed_out.emit()


def _level(stored: object) -> int:
    from app.views import zoom

    return zoom.stored_level(stored)
