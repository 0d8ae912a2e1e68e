"""What a desk shows and does about synchronisation outside a run: the ledger of runs
(``history``), whether the night's run is late (``night``), the conflict queue (``conflicts``) and
the parked rows (``parked``), in the words of ``texts``.

Resolving a conflict and retrying or discarding a parked row are business writes: they go
through the unit of work, so the write path audits and journals them and they travel up to
central at the next synchronisation (docs/sync.md, "Resolution travelling up"). Only a supervisor
or an administrator may make them (``supervision``).
"""

from app.services.sync_admin.conflicts import (
    ConflictRecord,
    count_open_conflicts,
    list_conflicts,
    resolve_conflict,
)
from app.services.sync_admin.history import (
    PhaseRecord,
    RunHistoryPage,
    RunRecord,
    get_run,
    last_successful_run,
    run_history,
)
from app.services.sync_admin.night import last_deadline, night_run_warning, night_warning
from app.services.sync_admin.parked import (
    ParkedRecord,
    count_parked,
    discard_parked,
    list_parked,
    retry_parked,
)
from app.services.sync_admin.supervision import SUPERVISING_ROLES, may_supervise
from app.services.sync_admin.texts import EMPTY_VALUE, readable, row_caption

__all__ = [
    "EMPTY_VALUE",
    "SUPERVISING_ROLES",
    "ConflictRecord",
    "ParkedRecord",
    "PhaseRecord",
    "RunHistoryPage",
    "RunRecord",
    "count_open_conflicts",
    "count_parked",
    "discard_parked",
    "get_run",
    "last_deadline",
    "last_successful_run",
    "list_conflicts",
    "list_parked",
    "may_supervise",
    "night_run_warning",
    "night_warning",
    "readable",
    "resolve_conflict",
    "retry_parked",
    "row_caption",
    "run_history",
]
