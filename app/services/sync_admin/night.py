"""Whether the night's run is late: the deadline (07:30 by default) and the warning."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.models.ids import utcnow
from app.services.sync_admin.history import last_successful_run
from kernel.context import ServiceContext


def _deadline_time(deadline: str | time) -> time:
    return deadline if isinstance(deadline, time) else time.fromisoformat(deadline)


def last_deadline(now: datetime, zone: ZoneInfo, deadline: str | time) -> datetime:
    """The latest deadline (local time of day in ``zone``) at or before ``now``, in UTC."""
    at = _deadline_time(deadline)
    local = now.astimezone(zone)
    today = datetime.combine(local.date(), at, tzinfo=zone)
    if today > local:
        today = datetime.combine(local.date() - timedelta(days=1), at, tzinfo=zone)
    return today.astimezone(ZoneInfo("UTC"))


def night_warning(
    last_success: datetime | None, now: datetime, zone: ZoneInfo, deadline: str | time
) -> str | None:
    """The warning to show when the night's run has not succeeded by the deadline, else None.
    What to do about it is the screen's to say (it knows whether a run can be started there).

    The night's run is the one due by the latest deadline passed: it counts when it succeeded
    after the deadline before (a late run that finally succeeded clears the warning)."""
    due = last_deadline(now, zone, deadline)
    local_due = due.astimezone(zone)
    previous = datetime.combine(
        local_due.date() - timedelta(days=1), local_due.timetz().replace(tzinfo=None), tzinfo=zone
    )
    if last_success is not None and last_success > previous:
        return None
    at = _deadline_time(deadline)
    message = (
        f"La synchronisation de la nuit n'a pas abouti avant {at:%H:%M} "
        f"le {local_due:%d/%m/%Y} : les données de l'agence et du site central ne sont pas à jour. "
    )
    if last_success is None:
        message += "Aucune synchronisation réussie n'est enregistrée sur ce poste."
    else:
        message += (
            f"Dernière synchronisation réussie : {last_success.astimezone(zone):%d/%m/%Y à %H:%M}."
        )
    return message


def night_run_warning(
    ctx: ServiceContext,
    now: datetime | None = None,
    zone: ZoneInfo | None = None,
    deadline: str | time = "07:30",
) -> str | None:
    """``night_warning`` for this desk's ledger."""
    last = last_successful_run(ctx)
    return night_warning(
        last.finished_at if last is not None else None,
        now or utcnow(),
        zone or ctx.installation.zone,
        deadline,
    )
