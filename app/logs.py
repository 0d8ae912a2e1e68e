"""Logging to a rotating file in the user data directory (and to stderr for the command line)."""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from app.private_files import create_private, private_dir, private_file

#: ``extra=`` of a record whose message the command line prints itself: the file keeps it, the
#: terminal does not show it twice.
ON_TERMINAL_ALREADY = {"on_terminal": True}


def _not_printed(record: logging.LogRecord) -> bool:
    return not getattr(record, "on_terminal", False)


def configure_logging(log_file: Path, level: str = "INFO", *, to_stderr: bool = True) -> None:
    private_dir(log_file.parent)
    if not log_file.exists():
        os.close(create_private(log_file))
    private_file(log_file)
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in list(root.handlers):
        if getattr(handler, "_guichet", False):
            root.removeHandler(handler)
            handler.close()  # configured again (tests, a second start): release its file
    file_handler = logging.handlers.RotatingFileHandler(
        log_file, maxBytes=5_000_000, backupCount=5, encoding="utf-8"
    )
    file_handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s")
    )
    handlers: list[logging.Handler] = [file_handler]
    if to_stderr:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        stream.setLevel(logging.WARNING)
        stream.addFilter(_not_printed)
        handlers.append(stream)
    for handler in handlers:
        handler._guichet = True  # type: ignore[attr-defined]
        root.addHandler(handler)
