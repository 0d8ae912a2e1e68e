"""What ``./guichet sync`` prints: every step on a terminal, a few lines in a log file."""

from __future__ import annotations

import io

from app.sync.command import progress_printer
from app.sync.runner import SyncProgress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _night(show: object, clock: Clock) -> None:
    """An adoption of 25 tables in 27 ticks over 20 s, then an upload of 3 batches."""
    for tick in range(27):
        clock.now = tick * 0.75
        show(SyncProgress("adoption", "Adoption", min(tick, 24), 25))  # type: ignore[operator]
    show(SyncProgress("adoption", "Adoption", 1, 1, "fini"))  # type: ignore[operator]
    for batch in range(1, 4):
        clock.now += 0.1
        show(SyncProgress("upload", "Envoi", batch, 3))  # type: ignore[operator]


def test_not_a_terminal_prints_phases_and_a_line_every_few_seconds() -> None:
    clock, log = Clock(), io.StringIO()
    _night(progress_printer(log, every=5.0, clock=clock), clock)
    lines = log.getvalue().splitlines()
    adoption = [line for line in lines if line.startswith("[Adoption]")]
    assert adoption[0] == "[Adoption] 0/25"
    assert adoption[-1] == "[Adoption] 1/1 fini"
    assert 3 <= len(adoption) <= 7, adoption  # 20 s at one line per 5 s, plus first and last
    assert [line for line in lines if line.startswith("[Envoi]")] == [
        "[Envoi] 1/3", "[Envoi] 3/3"]


def test_a_terminal_sees_every_step() -> None:
    clock, terminal = Clock(), Terminal()
    _night(progress_printer(terminal, every=5.0, clock=clock), clock)
    assert len(terminal.getvalue().splitlines()) == 27 + 1 + 3
