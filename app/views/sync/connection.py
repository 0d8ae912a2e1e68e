"""Which central server this session talks to, kept for the whole program.

With no ``central_url`` the desk starts its embedded central server in a worker (a few seconds:
the window never waits), keeps it while the program runs and stops it on exit. A configured URL
is used as is; ``off`` means the desk works offline.

Signals: ``changed()`` each time the state moves (starting → ready, failed, stopped).
"""

from __future__ import annotations

import logging
import threading
from enum import StrEnum

from PySide6.QtCore import QObject, Signal

from app.settings import Settings
from app.sync.embedded_central import EmbeddedHandle, start_embedded_endpoint
from app.sync.endpoint import Endpoint, NoCentral, configured_endpoint
from app.views.tasks import TaskRunner
from kernel.context import Installation
from kernel.errors import GuichetError

log = logging.getLogger(__name__)


class CentralState(StrEnum):
    IDLE = "idle"
    STARTING = "starting"
    READY = "ready"
    OFFLINE = "offline"
    FAILED = "failed"
    STOPPED = "stopped"


class CentralConnection(QObject):
    changed = Signal()

    def __init__(self, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.state = CentralState.IDLE
        self.endpoint: Endpoint | None = None
        self.handle: EmbeddedHandle | None = None
        #: Why there is no endpoint (offline, failed), in French.
        self.message = ""
        #: Set when the program closes: a server still starting is stopped by its worker.
        self._closing = threading.Event()

    @property
    def embedded(self) -> bool:
        return not self.settings.central_url.strip()

    @property
    def url(self) -> str:
        return self.endpoint.url if self.endpoint is not None else ""

    def status_text(self) -> str:
        """One line for the status bar and the page."""
        if self.state is CentralState.STARTING:
            return "Serveur central local : démarrage…"
        if self.state is CentralState.OFFLINE:
            return "Hors ligne : aucun serveur central configuré"
        if self.state is CentralState.FAILED:
            return "Serveur central indisponible"
        if self.state is CentralState.READY:
            where = "local" if self.embedded else self.url
            return f"Serveur central {where}"
        return "Serveur central : arrêté"

    def start(self, installation: Installation, runner: TaskRunner) -> None:
        """The configured endpoint at once; the embedded one in a worker."""
        if self.state in (CentralState.STARTING, CentralState.READY):
            return
        if not self.embedded:
            try:
                endpoint = configured_endpoint(self.settings)
            except NoCentral as error:
                offline = self.settings.central_url.strip() == "off"
                self._set(CentralState.OFFLINE if offline else CentralState.FAILED, error.message)
                return
            assert endpoint is not None
            self.endpoint = endpoint
            self._set(CentralState.READY)
            return
        settings = self.settings
        closing = self._closing
        self._set(CentralState.STARTING)

        def start() -> tuple[Endpoint, EmbeddedHandle]:
            endpoint, handle = start_embedded_endpoint(settings, installation)
            if closing.is_set():  # the program ended while it started: nobody will stop it
                handle.stop()
            return endpoint, handle

        runner.read(start, on_success=self._started, on_failure=self._failed)

    def _started(self, started: tuple[Endpoint, EmbeddedHandle]) -> None:
        endpoint, handle = started
        if self._closing.is_set():  # the program closed while it was starting
            handle.stop()
            return
        self.endpoint, self.handle = endpoint, handle
        log.info("embedded central ready on %s", endpoint.url)
        self._set(CentralState.READY)

    def _failed(self, error: BaseException) -> None:
        if self._closing.is_set():
            return
        if isinstance(error, GuichetError):
            log.warning("embedded central did not start: %s", error.message)
            message = self._readable(error.message)
        else:
            log.error("embedded central did not start", exc_info=error)
            message = "Le serveur central local n'a pas pu démarrer (voir le journal)."
        self._set(CentralState.FAILED, message)

    def _readable(self, message: str) -> str:
        """The server's own log lines (a traceback) stay in its log, not on screen."""
        if len(message) <= 240 and "Traceback" not in message:
            return message
        head = message.split(" : ", 1)[0].rstrip(".")
        where = self.settings.data_dir / "logs" / "central-embedded.log"
        return f"{head}. Détail dans le journal : {where}."

    def closing(self) -> None:
        """The program is ending: a server still starting will be stopped as soon as it is up.
        Call before waiting for the workers, then ``stop()``."""
        self._closing.set()

    def stop(self) -> None:
        """Stops the embedded server (waits for it a few seconds)."""
        self._closing.set()
        handle, self.handle = self.handle, None
        self.endpoint = None if self.embedded else self.endpoint
        self._set(CentralState.STOPPED)
        if handle is not None:
            handle.stop()

    def _set(self, state: CentralState, message: str = "") -> None:
        self.state = state
        self.message = message
        self.changed.emit()
