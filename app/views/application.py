"""The program's start: Qt in French, the database prepared in the background, sign-in, then the
main window; signing out comes back to the sign-in."""

from __future__ import annotations

import gc
import logging
import sys

from PySide6.QtCore import QLibraryInfo, QLocale, QObject, QTranslator, Signal
from PySide6.QtWidgets import QApplication

from app.services import auth
from app.services.installation import Desk, first_start_question, open_desk
from app.settings import Settings
from app.sync.join import Joined
from app.views import first_start, messages, zoom
from app.views.collector import GuiThreadCollector
from app.views.errors import install_excepthook, show_error
from app.views.main_window import MainWindow
from app.views.shell import Shell, interface_settings
from app.views.sign_in import SignInDialog
from app.views.sync.connection import CentralConnection
from app.views.tasks import Progress, TaskRunner
from kernel.context import SignedInUser
from resources import RESOURCES

log = logging.getLogger(__name__)


def configure_application(app: QApplication) -> None:
    """French everywhere, including Qt's own dialogs and buttons; the house style."""
    app.setApplicationName("Guichet")
    app.setOrganizationName("Guichet")
    QLocale.setDefault(QLocale(QLocale.Language.French, QLocale.Country.France))
    translations = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    for catalogue in ("qtbase_fr",):
        translator = QTranslator(app)
        if translator.load(catalogue, translations):
            app.installTranslator(translator)
        else:
            log.warning("Qt translation %s not found in %s", catalogue, translations)
    # The few strings of Qt's own dialogs Qt's catalogue leaves in English (the file dialog's
    # "Look in", "Files of type"), installed last so that it is asked first.
    if app.property("guichet_fr") is None:
        supplement = QTranslator(app)
        if supplement.load("guichet_qt_fr", str(RESOURCES / "translations")):
            app.installTranslator(supplement)
            app.setProperty("guichet_fr", True)
        else:
            log.warning("translation guichet_qt_fr not found in %s", RESOURCES / "translations")
    app.setStyleSheet((RESOURCES / "style.qss").read_text(encoding="utf-8"))


class Startup(QObject):
    """Drives the session: prepare → sign in → main window → (sign out → sign in)…

    Signals: ``window_shown(MainWindow)`` each time a main window opens; ``finished(int)`` with
    the exit code when the program should stop.
    """

    window_shown = Signal(object)
    finished = Signal(int)

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.runner = TaskRunner(self)
        #: The central server of the whole program (embedded, configured or none), kept across
        #: sign-ins and stopped at the end.
        self.central = CentralConnection(settings, self)
        self.desk: Desk | None = None
        self.window: MainWindow | None = None
        self.dialog: SignInDialog | None = None

    def start(self) -> None:
        settings = self.settings
        self.runner.write(
            lambda: first_start_question(settings),
            on_success=self._first_start,
            on_failure=self._failed,
            label="Ouverture de la base de l'agence…",
        )

    def _first_start(self, ask: bool, problem: str = "") -> None:
        """A new desk: a demo agency, or the agency's central to join (then no demo)."""
        if not ask:
            self._open()
            return
        choice = first_start.ask_first_start(None, problem)
        if choice is None:
            self.finished.emit(0)
            return
        if choice.demo:
            self._open()
            return
        joining = self.settings.model_copy(update={"agency_code": choice.agency_code})

        def join(progress: Progress) -> Joined:
            from app.services.installation import open_database
            from app.sync.join import join_central

            db = open_database(joining)
            try:
                return join_central(db, joining, choice.url, choice.credential, progress)
            finally:
                db.dispose()

        def joined(done: Joined) -> None:
            log.info("desk joined %s as agency %s", choice.url, done.agency_code)
            self.settings = joining.model_copy(
                update={"central_url": choice.url.strip().rstrip("/"), "currency": done.currency})
            self.central.deleteLater()
            self.central = CentralConnection(self.settings, self)
            self._open()

        def failed(error: BaseException) -> None:
            log.warning("join failed: %s", error)
            message = getattr(error, "message", "") or f"Erreur inattendue ({type(error).__name__})"
            self._first_start(True, message)

        self.runner.write(join, on_success=joined, on_failure=failed,
                           label="Amorçage du poste depuis le serveur central…")

    def _open(self) -> None:
        settings = self.settings

        def open_and_prepare(progress: Progress) -> Desk:
            # The window's first start is the one place a demo agency is made on opening.
            return open_desk(settings, progress, demo_if_empty=True)

        self.runner.write(
            open_and_prepare,
            on_success=self._prepared,
            on_failure=self._failed,
            label="Préparation de la base de l'agence…",
        )

    def _prepared(self, desk: Desk) -> None:
        self.desk = desk
        self.central.start(desk.installation, self.runner)
        # The text size is set before any window: changing the style sheet later re-polishes
        # every widget, the closing sign-in window included.
        zoom.apply(zoom.stored_level(interface_settings(self.settings).value("interface/zoom", 0)))
        self.show_sign_in()

    def _failed(self, error: BaseException) -> None:
        show_error(None, error)
        self.finished.emit(1)

    def show_sign_in(self) -> None:
        assert self.desk is not None
        db, installation = self.desk.db, self.desk.installation
        self.dialog = SignInDialog(
            lambda username, password: auth.sign_in(db, username, password),
            self.runner,
            f"Agence {installation.agency_code} — {installation.agency_name}",
        )
        self.dialog.signed_in.connect(self._signed_in)
        self.dialog.rejected.connect(lambda: self.finished.emit(0))
        self.dialog.show()

    def _signed_in(self, user: SignedInUser) -> None:
        assert self.desk is not None
        ctx = self.desk.context().signed_in(user)
        self.window = MainWindow(Shell(self.settings, ctx, self.runner, self.central))
        self.window.signed_out.connect(self._signed_out)
        self.window.show()
        self.window_shown.emit(self.window)
        # What the program holds from here to the end (modules, mapped classes, Qt wrappers) is
        # left out of Python's full collections, which walk every object: one of them paused a
        # search keystroke for 70 ms at a million customers.
        gc.freeze()

    def _signed_out(self) -> None:
        window, self.window = self.window, None
        if window is not None:
            window.deleteLater()
        self.show_sign_in()

    def shutdown(self) -> None:
        self.central.closing()
        self.runner.shutdown()  # a synchronisation under way ends its step with the server up
        self.central.stop()
        if self.desk is not None:
            self.desk.close()


def show_refusal(message: str) -> None:
    """Why the program does not start, in a message box (a desktop icon has no terminal)."""
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    configure_application(app)
    messages.warn(None, "Guichet", message)


def run_gui(settings: Settings) -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    configure_application(app)
    install_excepthook(settings.log_file)
    collector = GuiThreadCollector(app)
    startup = Startup(settings)
    exit_code = 0

    def finish(code: int) -> None:
        nonlocal exit_code
        exit_code = code
        app.quit()

    startup.finished.connect(finish)
    app.setQuitOnLastWindowClosed(False)
    app.lastWindowClosed.connect(lambda: None if startup.window is None else finish(0))
    startup.start()
    app.exec()
    startup.shutdown()
    collector.stop()
    return exit_code
