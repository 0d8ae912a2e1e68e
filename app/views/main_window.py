"""The main window: navigation on the left, the global search on top, the status bar below."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSize, Qt, QTimer, Signal
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
from app.views.modules import Module, available_modules
from app.views.shell import Shell
from app.views.sync.connection import CentralState

CENTRAL_CHECK_MS = 60_000


class MainWindow(QMainWindow):
    """Signals: ``signed_out()`` when the agent signs out; ``search_requested(str)`` when the
    global search is validated (the customer module answers it)."""

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
        self.modules: list[Module] = [m for m in available_modules() if role in m.roles]
        self.pages: dict[str, QWidget] = {}

        self.navigation = QListWidget()
        self.navigation.setObjectName("navigation")
        self.navigation.setFixedWidth(200)
        self.stack = QStackedWidget()
        for module in self.modules:
            item = QListWidgetItem(module.title)
            item.setToolTip(f"{module.title} ({module.shortcut})")
            item.setData(Qt.ItemDataRole.UserRole, module.key)
            self.navigation.addItem(item)
            page = module.build(shell)
            page.setObjectName(f"page_{module.key}")
            self.pages[module.key] = page
            self.stack.addWidget(page)
            shortcut = QShortcut(QKeySequence(module.shortcut), self)
            shortcut.activated.connect(lambda key=module.key: self.activate_module(key))
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
        if "clients" in self.pages:
            self.search_requested.connect(self._search_customers)

        self.central_timer = QTimer(self)
        self.central_timer.timeout.connect(self.check_central)
        self.central_timer.start(CENTRAL_CHECK_MS)
        self._follows_central = shell.central is not None
        if shell.central is not None:
            shell.central.changed.connect(self.check_central)
        sync_page = self.pages.get("sync")
        if sync_page is not None:
            sync_page.warning_changed.connect(self._show_sync_warning)  # type: ignore[attr-defined]
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
        self.search_box.returnPressed.connect(self._search)
        toolbar.addWidget(self.search_box)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        focus = QShortcut(QKeySequence("Ctrl+K"), self)
        focus.setContext(Qt.ShortcutContext.ApplicationShortcut)
        focus.activated.connect(self.focus_search)
        if "clients" in self.pages:
            # Window-wide: they work after Ctrl+2, a click on the sidebar, a closed message box.
            for keys, method in (
                ("Ctrl+F", "focus_search"),
                ("Ctrl+N", "new_customer"),
                ("Ctrl+W", "close_current"),
            ):
                shortcut = QShortcut(QKeySequence(keys), self)
                shortcut.activated.connect(
                    lambda m=method: getattr(self.show_module("clients"), m)()
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
        self.agency_label = QLabel(
            f"Agence {ctx.installation.agency_code} — {ctx.installation.agency_name}"
        )
        user = ctx.user
        self.user_label = QLabel(f"{user.full_name} ({user.role_label})" if user else "")
        self.database_label = QLabel(ctx.db.describe())
        self.central_label = QLabel("Serveur central : vérification…")
        self.sync_warning_label = QLabel("")
        for label, name in (
            (self.sync_warning_label, "statusSyncWarning"),
            (self.agency_label, "statusAgency"),
            (self.user_label, "statusUser"),
            (self.database_label, "statusDatabase"),
            (self.central_label, "statusCentral"),
        ):
            label.setObjectName(name)
            label.setToolTip(label.text())
            bar.addPermanentWidget(label)
        self.database_label.setText(ctx.db.describe(short=True))
        self.sync_warning_label.setStyleSheet(
            "#statusSyncWarning { color: #9a4d00; font-weight: bold; }"
        )
        self.sync_warning_label.setTextFormat(Qt.TextFormat.RichText)
        self.sync_warning_label.linkActivated.connect(self.show_module)
        self.sync_warning_label.hide()

    # --- behaviour -----------------------------------------------------------------------
    def show_module(self, key: str) -> QWidget:
        for row, module in enumerate(self.modules):
            if module.key == key:
                self.navigation.setCurrentRow(row)
                return self.pages[key]
        raise KeyError(key)

    def activate_module(self, key: str) -> QWidget:
        """The module's shortcut: shows it and puts the cursor where work starts."""
        page = self.show_module(key)
        activated = getattr(page, "activated", None)
        if callable(activated):
            activated()
        return page

    def show_vacant_readings(self) -> None:
        from app.views.customers.vacant import VacantReadingsDialog

        VacantReadingsDialog(self.shell, self).open()

    def show_shortcuts(self) -> None:
        from app.views.shortcuts import ALL

        rows = "".join(
            f"<tr><td style='padding-right:16px'><b>{s.keys}</b></td><td>{s.what}</td>"
            f"<td style='color:#555; padding-left:16px'>{s.where}</td></tr>"
            for s in ALL
        )
        messages.inform(self, "Raccourcis clavier", f"<table>{rows}</table>")

    def current_page(self) -> QWidget | None:
        return self.stack.currentWidget()

    def focus_search(self) -> None:
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def _search(self) -> None:
        text = self.search_box.text().strip()
        if text:
            self.search_requested.emit(text)

    def _search_customers(self, text: str) -> None:
        page = self.show_module("clients")
        page.search(text)  # type: ignore[attr-defined]

    def refresh_current(self) -> None:
        refresh = getattr(self.current_page(), "refresh", None)
        if callable(refresh):
            refresh()

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

    def _show_sync_warning(self, text: str) -> None:
        """The night's run is late: a link to the Synchronisation page, the reason in its tip."""
        self.sync_warning_label.setText(
            '<a href="sync" style="color: #9a4d00; text-decoration: none;">'
            "⚠ Nuit non synchronisée</a>" if text else ""
        )
        self.sync_warning_label.setToolTip(f"{text}\n(cliquez pour ouvrir la page)" if text else "")
        self.sync_warning_label.setMinimumWidth(self.sync_warning_label.sizeHint().width())
        self.sync_warning_label.setVisible(bool(text))

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
        sync_page = self.pages.get("sync")
        if sync_page is not None:
            sync_page.stop_sync()  # type: ignore[attr-defined]
        super().closeEvent(event)
        if self._signing_out:
            self.signed_out.emit()


def _level(stored: object) -> int:
    from app.views import zoom

    return zoom.stored_level(stored)
