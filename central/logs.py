"""Structured logs: one JSON object per line (time, level, logger, message, and the request's
id, agency or operator, method, path, status and duration when there is one).

The server logs to stderr (the service manager keeps it) and to a rotating file in the data
directory; commands log to the file only, so a terminal shows one clear line per error.
Credentials, passwords and password hashes are never logged.
"""

from __future__ import annotations

import contextvars
import json
import logging
import logging.handlers
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: The id of the request being served (set by the request middleware).
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_FIELDS = ("request_id", "agency", "operator", "method", "path", "status", "duration_ms", "client")


def stamp_request_ids() -> None:
    """Records made while a request is served carry its id, wherever they are formatted."""
    current = logging.getLogRecordFactory()
    if getattr(current, "_stamps_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return record

    factory._stamps_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(
    level: str = "INFO", *, log_file: Path | None = None, to_stderr: bool = True
) -> None:
    stamp_request_ids()
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in list(root.handlers):
        if getattr(handler, "_guichet_central", False):
            root.removeHandler(handler)
            handler.close()
    handlers: list[logging.Handler] = []
    if to_stderr:
        terminal = logging.StreamHandler()
        # The command line printed those itself in one French line: no traceback on the terminal.
        terminal.addFilter(lambda record: not getattr(record, "printed", False))
        handlers.append(terminal)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_file, maxBytes=10_000_000, backupCount=5, encoding="utf-8"
            )
        )
    for handler in handlers:
        handler.setFormatter(JsonFormatter())
        handler._guichet_central = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    # uvicorn's own access log would duplicate ours (and has no request id).
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("alembic").setLevel(logging.WARNING)
