"""Qt test guards: no dialog may block a test, no background work may outlive it, and no crash
dialog ("Erreur inattendue") may pass unnoticed: a test that expects one says so with
``@pytest.mark.crash_expected``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt, QThreadPool
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from app.settings import Settings
from app.views import first_start, messages
from app.views.application import configure_application
from app.views.collector import GuiThreadCollector
from app.views.tasks import RUNNERS

CRASH_TITLE = "Erreur inattendue"


class Answers:
    """Records every message box the screens asked to show, answers confirmations."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, str, str]] = []
        #: The crash dialogs shown: their text and the traceback in their details.
        self.crashes: list[tuple[str, str]] = []
        self.confirm_answer = True
        self.opened: list[str] = []
        self.save_to = ""
        #: Files the agent picks in a file chooser.
        self.pick: list[str] = []
        #: Whether the machine has a program to open documents.
        self.can_open = True
        #: What the agent types when asked for a line of text (None: cancels).
        self.text: str | None = None
        #: Answers to the first start's question, in order (then: the demo agency).
        self.first_start: list[first_start.FirstStartChoice | None] = []
        #: The problem shown with each first-start question ("" the first time).
        self.first_start_asked: list[str] = []

    def _first_start(self, _parent: object, problem: str = "") -> first_start.FirstStartChoice | None:
        self.first_start_asked.append(problem)
        if self.first_start:
            return self.first_start.pop(0)
        return first_start.FirstStartChoice(demo=True)

    def _warn(self, _parent: object, title: str, text: str, details: str = "") -> None:
        self.shown.append(("warn", title, text))
        if title == CRASH_TITLE:
            self.crashes.append((text, details))

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(messages, "inform", lambda p, t, x: self.shown.append(("info", t, x)))
        monkeypatch.setattr(messages, "warn", self._warn)
        monkeypatch.setattr(messages, "confirm", self._confirm)
        monkeypatch.setattr(messages, "retry", self._retry)
        monkeypatch.setattr(messages, "open_document", self._open_document)
        monkeypatch.setattr(messages, "save_path", lambda p, t, s, f: self.save_to)
        monkeypatch.setattr(messages, "open_paths", lambda p, t, f: list(self.pick))
        monkeypatch.setattr(first_start, "ask_first_start", self._first_start)
        monkeypatch.setattr(messages, "ask_text", self._ask_text)

    def _confirm(self, _parent: object, title: str, text: str, *, default_yes: bool = False
                 ) -> bool:
        self.shown.append(("confirm", title, text))
        return self.confirm_answer

    def _retry(self, _parent: object, title: str, text: str) -> bool:
        self.shown.append(("retry", title, text))
        return False

    def _open_document(self, path: str) -> bool:
        self.opened.append(path)
        return self.can_open

    def _ask_text(self, _parent: object, title: str, text: str) -> str | None:
        self.shown.append(("ask", title, text))
        return self.text

    def texts(self) -> str:
        return "\n".join(f"{t}: {x}" for _, t, x in self.shown)


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Answers:
    recorder = Answers()
    recorder.install(monkeypatch)
    return recorder


@pytest.fixture(autouse=True)
def _no_work_outlives_the_test(
        qapp: QApplication, answers: Answers, request: pytest.FixtureRequest) -> Iterator[None]:
    configure_application(qapp)
    collector = GuiThreadCollector(qapp)  # as the program runs (app.views.collector)
    yield
    for runner in list(RUNNERS):
        # Results already computed are delivered by queued signals, and a result delivered may
        # start the next job (a write's announcement refreshes a page): wait, deliver, again.
        for _ in range(20):
            runner.shutdown()
            QApplication.processEvents()
            if not runner.busy:
                break
        assert not runner.busy, "a background task was still running at the end of the test"
    QThreadPool.globalInstance().waitForDone(5000)
    collector.stop()
    collector.deleteLater()
    assert QThreadPool.globalInstance().activeThreadCount() == 0
    if answers.crashes and request.node.get_closest_marker("crash_expected") is None:
        pytest.fail("a crash dialog was shown during the test:\n\n"
                    + "\n\n".join(details or text for text, details in answers.crashes),
                    pytrace=False)


@pytest.fixture
def gui_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", central_url="off", demo_customers=25)


def wait_idle(qtbot: QtBot) -> None:
    """Until every runner has delivered its results on the GUI thread."""
    qtbot.waitUntil(lambda: not any(r.busy for r in list(RUNNERS)), timeout=20000)


def type_text(qtbot: QtBot, widget: QWidget, text: str) -> None:
    """Type like a keyboard, accents included (QTest's keyClicks only knows ASCII)."""
    for char in text:
        if char.isascii():
            qtbot.keyClicks(widget, char)
            continue
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(widget, QKeyEvent(kind, 0, Qt.KeyboardModifier.NoModifier, char))
