"""``python -m app sync``: unattended from the operating system's scheduler.

Exit codes: 0 succeeded, 1 failed and the next run resumes (message on stderr), 2
configuration, 3 succeeded but conflicts or parked rows await a supervisor, 4 disk full, 5 the
desk's database is damaged (rebuild it from central), 6 data the desk cannot settle by itself,
130 interrupted (``app.sync.failures``).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from contextlib import ExitStack
from typing import Any

from sqlalchemy import func, select

from app.models import SyncConflict, SyncParked
from app.models.sync import ConflictStatus, ParkedStatus
from app.services.installation import open_database, prepare
from app.settings import Settings
from app.sync.embedded_central import start_embedded_endpoint
from app.sync.endpoint import NoCentral, configured_endpoint
from app.sync.failures import classify, join_command
from app.sync.runner import SyncProgress, run_sync

log = logging.getLogger("app.sync")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_ATTENTION, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _awaiting(db: Any) -> int:
    with db.session() as session:
        conflicts = session.scalar(select(func.count()).select_from(SyncConflict)
                                   .where(SyncConflict.status == ConflictStatus.OPEN)) or 0
        parked = session.scalar(select(func.count()).select_from(SyncParked)
                                .where(SyncParked.status == ParkedStatus.PARKED)) or 0
    return conflicts + parked


#: Seconds between two progress lines of one phase when the output is not a terminal.
QUIET_SECONDS = 5.0


def progress_printer(stream: Any, every: float = QUIET_SECONDS,
                     clock: Any = time.monotonic) -> Any:
    """Progress lines: every tick on a terminal; in a file (cron, Task Scheduler) the start
    and end of each phase and a line every ``every`` seconds at most in between."""
    interactive = stream.isatty()
    last: dict[str, Any] = {"phase": None, "at": 0.0}

    def show(progress: SyncProgress) -> None:
        now = clock()
        finished = progress.total is not None and progress.done >= progress.total
        new_phase = progress.phase != last["phase"]
        if not interactive and not (new_phase or finished or now - last["at"] >= every):
            return
        last["phase"], last["at"] = progress.phase, now
        total = f"/{progress.total}" if progress.total else ""
        print(f"[{progress.label}] {progress.done}{total} {progress.detail}".rstrip(),
              file=stream, flush=True)

    return show


def _open(settings: Settings) -> tuple[Any, Any] | int:
    """The desk's database and installation, or the exit code of a database that cannot be
    opened (full disk, damaged file: one line on stderr, no traceback)."""
    try:
        db = open_database(settings)
    except Exception as error:
        return _refused(error, settings)
    try:
        return db, prepare(db, settings)
    except Exception as error:
        db.dispose()
        return _refused(error, settings)


def _refused(error: Exception, settings: Settings) -> int:
    failure = classify(error, settings.resolved_database_url,
                       join=join_command(settings.agency_code, settings.central_url))
    if failure is None:
        raise error
    log.info("desk database unusable", exc_info=True)
    print(failure.message, file=sys.stderr)
    return failure.code


def sync_command(settings: Settings, args: argparse.Namespace) -> int:
    if args.sync_command == "install-schedule":
        from app.sync.schedule import install_schedule

        return install_schedule(settings, args)
    # A log file that cannot be written (a full disk) must not print its own traceback over
    # the run's one-line message.
    logging.raiseExceptions = False
    opened = _open(settings)
    if isinstance(opened, int):
        return opened
    db, installation = opened
    if args.sync_command in ("export-bundle", "import-bundle"):
        from app.sync import bundle
        from app.sync.endpoint import agency_credential

        try:
            credential = agency_credential(settings)
        except NoCentral as error:
            print(error.message, file=sys.stderr)
            return EXIT_CONFIG
        if args.sync_command == "export-bundle":
            print(bundle.export_bundle(db, installation, args.file, credential))
        else:
            print(bundle.import_bundle(db, installation, args.file, credential,
                                       settings.bundle_max_member_mib << 20))
        return EXIT_OK
    cancel = threading.Event()
    with ExitStack() as stack:
        try:
            endpoint = configured_endpoint(settings)
        except NoCentral as error:
            print(error.message, file=sys.stderr)
            return EXIT_CONFIG
        if endpoint is None:
            endpoint, handle = start_embedded_endpoint(settings, installation)
            stack.callback(handle.stop)
        previous = signal.signal(signal.SIGTERM, lambda *_: cancel.set())

        show = progress_printer(sys.stdout)

        try:
            outcome = run_sync(db, installation, endpoint, data_dir=settings.data_dir,
                               dry_run=args.dry_run, trigger="scheduler" if not sys.stdin.isatty()
                               else "command", progress=show, cancel=cancel)
        except KeyboardInterrupt:
            cancel.set()
            return EXIT_INTERRUPTED
        finally:
            signal.signal(signal.SIGTERM, previous)
    if args.dry_run:
        print(json.dumps(outcome.report, ensure_ascii=False, indent=2, default=str))
    stream = sys.stdout if outcome.status == "succeeded" else sys.stderr
    print(outcome.message, file=stream)
    log.info("sync %s: %s", outcome.status, outcome.message)
    if outcome.status == "interrupted":
        return EXIT_INTERRUPTED
    if outcome.status != "succeeded":
        return outcome.exit_code or EXIT_FAILED
    if not args.dry_run and _awaiting(db):
        return EXIT_ATTENTION
    return EXIT_OK
