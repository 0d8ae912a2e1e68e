"""One way to run anything slow off the GUI thread, and to say what a write changed.

``runner.read(fn, on_success=..., on_failure=...)`` runs ``fn`` in the shared pool;
``runner.write(fn, ...)`` runs it on the one writer thread, so that writes never compete with
each other. Both deliver the result or the exception back on the GUI thread. If ``fn`` takes a
``progress`` argument it gets a :class:`Progress` to report ``(done, total)`` and to read
``cancelled``. A progress dialog appears only when the work lasts more than half a second.

Every job runs inside a change collector (``app.models.changes``): when it succeeds and its
transactions wrote rows, ``runner.changed`` announces them (a :class:`Changes`, entity kind →
ids) on the GUI thread, just before the caller's ``on_success`` (which may hold a modal message),
and every page showing those entities reloads itself. A failed job announces nothing; a
succeeded one whose screen has closed still announces.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget
from shiboken6 import isValid

from app.models.changes import Changes, collecting

log = logging.getLogger(__name__)

SHOW_PROGRESS_AFTER_MS = 500


class Progress:
    """Handed to the background function: report progress, check for cancellation."""

    def __init__(self, report: Callable[[int, int], None]) -> None:
        self._report = report
        self._cancelled = threading.Event()

    def __call__(self, done: int, total: int) -> None:
        self._report(done, total)

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        self._cancelled.set()


class _Signals(QObject):
    """The one object workers emit on: it lives as long as its runner (whose ``shutdown``
    waits for the workers), so no worker ever emits on, or is last to release, an object of
    the GUI thread that is going away.

    Its signals carry numbers only, the task's and its progress; what a job returns or raises
    waits in ``outcomes``. A queued signal copies its arguments while Qt holds a lock of the
    receiver, and copying a Python object there takes the GIL: a worker doing so while the GUI
    thread, holding the GIL, waits for that same lock (a ``connect``, a layout being built)
    froze the program for good."""

    #: task number; its (result, Changes) or its exception waits in ``outcomes``
    succeeded = Signal(int)
    failed = Signal(int)
    progressed = Signal(int, int, int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._outcomes: dict[int, Any] = {}

    def deliver(self, signal: Any, key: int, outcome: Any) -> None:
        """From a worker thread: leaves ``outcome`` for the GUI thread, then says so."""
        with self._lock:
            self._outcomes[key] = outcome
        signal.emit(key)

    def collect(self, key: int) -> Any:
        with self._lock:
            return self._outcomes.pop(key)


class _Job(QRunnable):
    def __init__(self, fn: Callable[..., Any], signals: _Signals, key: int,
                 progress: Progress) -> None:
        super().__init__()
        self.fn = fn
        self.signals = signals
        self.key = key
        self.progress = progress
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            with collecting() as collector:
                if "progress" in inspect.signature(self.fn).parameters:
                    result = self.fn(progress=self.progress)
                else:
                    result = self.fn()
        except BaseException as error:  # noqa: BLE001 — delivered to the GUI thread as is
            self.signals.deliver(self.signals.failed, self.key, error)
        else:
            self.signals.deliver(self.signals.succeeded, self.key, (result, collector.changes()))


class _Task(QObject):
    """Lives on the GUI thread; receives the job's signals there (queued)."""

    def __init__(
        self,
        runner: TaskRunner,
        on_success: Callable[[Any], None] | None,
        on_failure: Callable[[BaseException], None] | None,
        label: str | None,
        parent_widget: QWidget | None,
        cancellable: bool,
    ) -> None:
        super().__init__(runner)
        self.runner = runner
        self.on_success = on_success
        self.on_failure = on_failure
        self.label = label
        self.parent_widget = parent_widget
        self.cancellable = cancellable
        self.dialog: QProgressDialog | None = None
        self.key = next(runner.keys)
        signals = runner.signals
        self.progress = Progress(lambda done, total: signals.progressed.emit(self.key, done, total))
        self.last: tuple[int, int] = (0, 0)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._show_dialog)
        if label:
            self.timer.start(SHOW_PROGRESS_AFTER_MS)

    @Slot()
    def _show_dialog(self) -> None:
        if self.label is None:
            return
        dialog = QProgressDialog(
            self.label, "Annuler" if self.cancellable else "", 0, 0, self.parent_widget
        )
        dialog.setWindowTitle("Veuillez patienter")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        if not self.cancellable:
            dialog.setCancelButton(None)
        else:
            dialog.canceled.connect(self.progress.cancel)
        self.dialog = dialog
        self._progressed(*self.last)
        dialog.show()

    @Slot(int, int)
    def _progressed(self, done: int, total: int) -> None:
        self.last = (done, total)
        if self.dialog is not None and total:
            self.dialog.setMaximum(total)
            self.dialog.setValue(min(done, total))

    def _finish(self) -> None:
        self.timer.stop()
        if self.dialog is not None:
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None
        self.runner._forget(self)

    def _orphaned(self) -> bool:
        """The screen that asked is gone: its callbacks must not run."""
        return self.parent_widget is not None and not isValid(self.parent_widget)

    def _succeeded(self, result: Any, changes: Changes) -> None:
        self._finish()
        if changes:
            self.runner.changed.emit(changes)
        if self._orphaned():
            return
        if self.on_success is not None:
            self.on_success(result)

    @Slot(object)
    def _failed(self, error: BaseException) -> None:
        self._finish()
        if self._orphaned():
            log.warning("failure after its screen closed: %r", error)
            return
        if self.on_failure is not None:
            self.on_failure(error)
        else:
            from app.views.errors import show_error

            show_error(self.parent_widget, error)


#: Every runner alive, so tests can check that no work outlives them.
RUNNERS: weakref.WeakSet[TaskRunner] = weakref.WeakSet()


class TaskRunner(QObject):
    """Owns the worker threads of the program; ``shutdown()`` waits for them.

    Signal ``changed(Changes)``: what a background job that succeeded wrote. There is one runner
    per program (the shell's), so this is the application-wide announcement pages listen to."""

    changed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        RUNNERS.add(self)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(4)
        self.writes = QThreadPool(self)
        self.writes.setMaxThreadCount(1)
        self._tasks: dict[int, _Task] = {}
        self.keys = itertools.count(1)
        self.signals = _Signals(self)
        queued = Qt.ConnectionType.QueuedConnection
        self.signals.succeeded.connect(self._succeeded, queued)
        self.signals.failed.connect(self._failed, queued)
        self.signals.progressed.connect(self._progressed, queued)

    @Slot(int)
    def _succeeded(self, key: int) -> None:
        result, changes = self.signals.collect(key)
        task = self._tasks.get(key)
        if task is not None:
            task._succeeded(result, changes)

    @Slot(int)
    def _failed(self, key: int) -> None:
        error = self.signals.collect(key)
        task = self._tasks.get(key)
        if task is not None:
            task._failed(error)

    @Slot(int, int, int)
    def _progressed(self, key: int, done: int, total: int) -> None:
        task = self._tasks.get(key)
        if task is not None:
            task._progressed(done, total)

    def read(
        self,
        fn: Callable[..., Any],
        *,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        label: str | None = None,
        parent: QWidget | None = None,
        cancellable: bool = False,
    ) -> Progress:
        """Runs ``fn`` in the shared pool: for work that commits nothing."""
        return self._start(self.pool, fn, on_success, on_failure, label, parent, cancellable)

    def write(
        self,
        fn: Callable[..., Any],
        *,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        label: str | None = None,
        parent: QWidget | None = None,
        cancellable: bool = False,
    ) -> Progress:
        """Runs ``fn`` on the one writer thread: for anything calling a service that commits."""
        return self._start(self.writes, fn, on_success, on_failure, label, parent, cancellable)

    def apart(
        self,
        fn: Callable[..., Any],
        *,
        on_success: Callable[[Any], None] | None = None,
        on_failure: Callable[[BaseException], None] | None = None,
        label: str | None = None,
        parent: QWidget | None = None,
        cancellable: bool = False,
    ) -> Progress:
        """Runs ``fn`` in the shared pool although it writes: only for a long job that commits
        in transactions of its own (the synchronisation run), so the counter's writes never wait
        behind it on the writer thread."""
        return self._start(self.pool, fn, on_success, on_failure, label, parent, cancellable)

    def _start(
        self,
        pool: QThreadPool,
        fn: Callable[..., Any],
        on_success: Callable[[Any], None] | None,
        on_failure: Callable[[BaseException], None] | None,
        label: str | None,
        parent: QWidget | None,
        cancellable: bool,
    ) -> Progress:
        task = _Task(self, on_success, on_failure, label, parent, cancellable)
        self._tasks[task.key] = task
        pool.start(_Job(fn, self.signals, task.key, task.progress))
        return task.progress

    def _forget(self, task: _Task) -> None:
        self._tasks.pop(task.key, None)
        task.deleteLater()

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def shutdown(self) -> None:
        for task in list(self._tasks.values()):
            task.progress.cancel()
        self.pool.waitForDone()
        self.writes.waitForDone()
