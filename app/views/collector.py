"""Python's cyclic garbage collector, run on the GUI thread only.

A collection runs in whichever thread happens to allocate at that moment. When it frees a cycle
that holds a Qt wrapper (a closed dialog, a page and the lambdas connected to it) from a worker
thread, the C++ object is destroyed off its own thread and the program dies (seen: a
segmentation fault while a background read of the works page was building its query). So the
automatic collection is off while the program runs, and a timer on the GUI thread collects the
generations whose thresholds were passed, as Python itself would have. Reference counting, which
frees almost everything, is untouched."""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

#: How often the GUI thread looks at the collector's counts.
INTERVAL_MS = 500


class GuiThreadCollector(QObject):
    """Owns the collector from its creation to ``stop()`` (which gives it back to Python)."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self.was_enabled = gc.isenabled()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect_due)
        self.timer.start(interval_ms)

    def collect_due(self) -> int | None:
        """Collects the oldest generation whose threshold was passed; returns it (or None)."""
        counts = gc.get_count()
        due = None
        for generation in range(3):
            if self.thresholds[generation] and counts[generation] > self.thresholds[generation]:
                due = generation
            else:
                break
        if due is not None:
            gc.collect(due)
        return due

    def stop(self) -> None:
        self.timer.stop()
        gc.collect()
        if self.was_enabled:
            gc.enable()
