from __future__ import annotations

import logging
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QProgressDialog, QPushButton
from pytestqt.qtbot import QtBot

from app.logs import configure_logging
from app.views.errors import install_excepthook, show_error
from app.views.tasks import Progress, TaskRunner
from kernel.errors import BusinessError, EnvironmentProblem
from tests.views.conftest import Answers


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """The program's log file, configured as at start-up; put away after the test."""
    path = tmp_path / "logs" / "guichet.log"
    configure_logging(path, to_stderr=False)
    yield path
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_guichet", False)]:
        root.removeHandler(handler)
        handler.close()


def test_results_come_back_on_the_gui_thread(qtbot: QtBot) -> None:
    runner = TaskRunner()
    seen: list[tuple[object, bool]] = []
    gui = threading.current_thread()

    def work() -> str:
        assert threading.current_thread() is not gui
        return "fait"

    runner.read(work, on_success=lambda r: seen.append((r, threading.current_thread() is gui)))
    qtbot.waitUntil(lambda: bool(seen))
    assert seen == [("fait", True)]
    runner.shutdown()


def test_what_crosses_from_a_worker_thread_carries_no_python_object() -> None:
    """A queued signal copies its arguments under a Qt lock of the receiver; a Python object
    copied there takes the GIL, and the GUI thread holding the GIL while it waits for that lock
    (a connect, a layout) froze the whole program (seen in the suite on a fresh machine)."""
    from PySide6.QtCore import QMetaMethod

    from app.views.sync.page import _Relay
    from app.views.tasks import _Signals

    for carrier in (_Signals, _Relay):
        meta = carrier.staticMetaObject
        signals = [
            meta.method(i) for i in range(meta.methodOffset(), meta.methodCount())
            if meta.method(i).methodType() == QMetaMethod.MethodType.Signal
        ]
        assert signals, carrier
        for signal in signals:
            types = [bytes(t).decode() for t in signal.parameterTypes()]
            assert set(types) <= {"int"}, (carrier.__name__, bytes(signal.methodSignature()))


def test_results_and_failures_arrive_while_the_gui_thread_connects_and_lays_out(
    qtbot: QtBot,
) -> None:
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    runner = TaskRunner()
    results: list[object] = []
    errors: list[BaseException] = []

    def fails() -> None:
        raise BusinessError("refusé")

    for n in range(200):
        runner.read(lambda n=n: {"n": n}, on_success=results.append)
        runner.read(fails, on_failure=errors.append)
    for _ in range(300):
        widget = QWidget()
        layout = QVBoxLayout(widget)
        button = QPushButton("ok")
        layout.addWidget(button)
        button.clicked.connect(widget.close)
        widget.deleteLater()
    qtbot.waitUntil(lambda: len(results) == 200 and len(errors) == 200, timeout=30_000)
    assert sorted(r["n"] for r in results) == list(range(200))  # type: ignore[index]
    assert all(str(e) == "refusé" for e in errors)
    runner.shutdown()


def test_cycles_holding_qt_objects_are_collected_on_the_gui_thread_only(qtbot: QtBot) -> None:
    """A worker thread that allocates never runs the collector: a cycle holding a Qt wrapper
    freed there destroyed its C++ object off its thread (a segmentation fault in the suite)."""
    import gc

    from app.views.collector import GuiThreadCollector

    enabled_before = gc.isenabled()
    collector = GuiThreadCollector(interval_ms=20)
    finalised_in: list[threading.Thread] = []
    kept: list[list[int]] = []
    try:
        assert not gc.isenabled()

        class Holder:  # stands for a page and the lambdas connected to it
            def __del__(self) -> None:
                finalised_in.append(threading.current_thread())

        holder = Holder()
        holder.me = holder  # type: ignore[attr-defined]
        del holder

        def allocate() -> None:  # kept alive: what is freed at once does not count
            kept.extend([n] for n in range(200_000))

        worker = threading.Thread(target=allocate)
        worker.start()
        worker.join()
        assert finalised_in == []
        qtbot.waitUntil(lambda: bool(finalised_in), timeout=5_000)
        assert finalised_in == [threading.current_thread()]
    finally:
        collector.stop()
        collector.deleteLater()
        kept.clear()
    assert gc.isenabled() == enabled_before


def test_failures_reach_the_agent_as_french_messages(qtbot: QtBot, answers: Answers) -> None:
    runner = TaskRunner()

    def refuse() -> None:
        raise BusinessError("Le compte 10126 est clos.")

    runner.read(refuse)
    qtbot.waitUntil(lambda: bool(answers.shown))
    assert answers.shown == [("warn", "Opération impossible", "Le compte 10126 est clos.")]
    show_error(None, EnvironmentProblem("Serveur central injoignable."))
    assert answers.shown[-1] == ("warn", "Service momentanément indisponible", "Serveur central injoignable.")
    runner.shutdown()


def test_slow_work_shows_a_progress_dialog_that_can_cancel(qtbot: QtBot) -> None:
    runner = TaskRunner()
    finished: list[str] = []

    def slow(progress: Progress) -> str:
        for step in range(100):
            if progress.cancelled:
                return "annulé"
            progress(step, 100)
            time.sleep(0.02)
        return "fini"

    runner.read(slow, on_success=finished.append, label="Calcul…", cancellable=True)
    qtbot.waitUntil(
        lambda: any(isinstance(w, QProgressDialog) and w.isVisible() for w in QApplication.topLevelWidgets()),
        timeout=3000,
    )
    dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QProgressDialog) and w.isVisible())
    assert dialog.labelText() == "Calcul…"
    cancel = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Annuler")
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(finished))
    assert finished == ["annulé"]
    runner.shutdown()


@pytest.mark.crash_expected
def test_unexpected_errors_are_logged_with_their_traceback(log_file: Path, answers: Answers) -> None:
    previous = sys.excepthook
    install_excepthook(log_file)
    try:
        try:
            raise ZeroDivisionError("division par zéro dans un calcul")
        except ZeroDivisionError as error:
            sys.excepthook(type(error), error, error.__traceback__)
    finally:
        sys.excepthook = previous
    assert answers.shown[0][1] == "Erreur inattendue"
    assert str(log_file) in answers.shown[0][2] and "Traceback" not in answers.shown[0][2]
    logged = log_file.read_text(encoding="utf-8")
    assert "Traceback" in logged and "ZeroDivisionError: division par zéro" in logged


def test_every_error_shown_is_also_logged(
        log_file: Path, answers: Answers, caplog: pytest.LogCaptureFixture) -> None:
    show_error(None, BusinessError("Le compte 10126 est clos."))
    try:  # what UnitOfWork.commit raises when another program holds the write lock
        try:
            raise sqlite3.OperationalError("database is locked")
        except sqlite3.OperationalError as locked:
            raise EnvironmentProblem("La base de données est occupée.") from locked
    except EnvironmentProblem as problem:
        show_error(None, problem)
    assert [title for _, title, _ in answers.shown] == [
        "Opération impossible", "Service momentanément indisponible"]
    assert [(r.levelname, r.exc_info is not None) for r in caplog.records] == [
        ("INFO", False), ("WARNING", True)]
    logged = log_file.read_text(encoding="utf-8")
    assert "INFO app.views.errors [MainThread] refused: Le compte 10126 est clos." in logged
    assert ("WARNING app.views.errors [MainThread] environment problem: "
            "La base de données est occupée.") in logged
    assert "Traceback" in logged and "sqlite3.OperationalError: database is locked" in logged


def test_a_database_error_shown_as_is_is_read_by_its_cause(
        tmp_path: Path, answers: Answers, caplog: pytest.LogCaptureFixture) -> None:
    """A read that lost its connection is an environment problem; a read that names a column
    the database does not have is a bug: the crash dialog, its traceback in the log."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    engine = create_engine(f"sqlite:///{tmp_path / 'desk.sqlite3'}")
    with engine.connect() as connection:
        connection.execute(text("create table customer (id integer)"))
        with pytest.raises(OperationalError) as bug:
            connection.execute(text("select mobile from customer"))
    engine.dispose()
    lost = OperationalError("select 1", {}, sqlite3.OperationalError("unable to open database file"))
    lost.orig.sqlite_errorcode = 14  # type: ignore[union-attr]  # SQLITE_CANTOPEN
    show_error(None, lost)
    assert answers.shown[-1][1] == "Service momentanément indisponible"
    assert "ne répond pas" in answers.shown[-1][2]
    assert caplog.records[-1].levelname == "WARNING"
    assert caplog.records[-1].exc_info and caplog.records[-1].exc_info[1] is lost
    show_error(None, bug.value)
    assert answers.crashes and answers.shown[-1][1] == "Erreur inattendue"
    assert "no such column: mobile" in answers.crashes[-1][1]
    assert caplog.records[-1].levelname == "ERROR" and caplog.records[-1].exc_info
    answers.crashes.clear()  # seen: the crash dialog was what this test wanted
