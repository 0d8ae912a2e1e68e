"""Working time: the agency's opening hours and public holidays (central's reference data), and
the service-level deadline of a request counted on them.

A request for a four-hour deadline taken on Friday at 16:00 is due on Monday at 11:00 when the
agency works 07:30–12:00 and 13:00–16:30 on weekdays; a public holiday is skipped like a Sunday.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.models import InterventionDeadline, PublicHoliday, WorkingHours
from app.models.enums import InterventionPriority, InterventionType

#: When central has sent no opening hours: Monday to Friday, 07:30–12:00 and 13:00–16:30.
DEFAULT_RANGES: tuple[tuple[int, int], ...] = ((450, 720), (780, 990))
#: A calendar never looks further than this for working time (a year of holidays is absurd).
_HORIZON_DAYS = 366


@dataclass(frozen=True)
class WorkingCalendar:
    zone: ZoneInfo
    #: weekday (0 is Monday) → opening ranges in minutes after midnight, sorted.
    ranges: dict[int, tuple[tuple[int, int], ...]]
    holidays: frozenset[date] = field(default_factory=frozenset)

    def day_ranges(self, day: date) -> tuple[tuple[int, int], ...]:
        if day in self.holidays:
            return ()
        return self.ranges.get(day.weekday(), ())

    def is_working_day(self, day: date) -> bool:
        return bool(self.day_ranges(day))

    def add_working_minutes(self, start: datetime, minutes: int) -> datetime:
        """The moment ``minutes`` of working time after ``start`` (both aware; UTC returned)."""
        local = start.astimezone(self.zone)
        day = local.date()
        now_minute = local.hour * 60 + local.minute + local.second / 60
        remaining = float(minutes)
        for _ in range(_HORIZON_DAYS):
            for opens, closes in self.day_ranges(day):
                begin = max(opens, now_minute)
                if begin >= closes:
                    continue
                available = closes - begin
                if remaining <= available:
                    moment = datetime.combine(day, time(0), self.zone) + timedelta(
                        minutes=begin + remaining)
                    return moment.astimezone(UTC)
                remaining -= available
            day += timedelta(days=1)
            now_minute = 0
        raise ValueError("no working time within a year: check the opening hours")

    def working_minutes_between(self, start: datetime, end: datetime) -> int:
        """Working minutes from ``start`` to ``end`` (0 when ``end`` is not after ``start``)."""
        if end <= start:
            return 0
        first = start.astimezone(self.zone)
        last = end.astimezone(self.zone)
        total = 0.0
        day = first.date()
        while day <= last.date():
            low = first.hour * 60 + first.minute if day == first.date() else 0
            high = last.hour * 60 + last.minute if day == last.date() else 24 * 60
            for opens, closes in self.day_ranges(day):
                total += max(0, min(closes, high) - max(opens, low))
            day += timedelta(days=1)
        return int(total)


def load_calendar(session: Session, agency_id: uuid.UUID | None,
                  zone: ZoneInfo) -> WorkingCalendar:
    """The agency's calendar: its own opening hours where it has some for a weekday, everyone's
    otherwise; national holidays and the agency's own."""
    rows = session.execute(
        select(WorkingHours.agency_id, WorkingHours.weekday, WorkingHours.opens_minute,
               WorkingHours.closes_minute)
        .where(or_(WorkingHours.agency_id.is_(None), WorkingHours.agency_id == agency_id))
    ).all()
    everyone: dict[int, list[tuple[int, int]]] = {}
    own: dict[int, list[tuple[int, int]]] = {}
    for owner, weekday, opens, closes in rows:
        (own if owner is not None else everyone).setdefault(weekday, []).append((opens, closes))
    if not rows:
        everyone = {weekday: list(DEFAULT_RANGES) for weekday in range(5)}
    ranges = {weekday: tuple(sorted(own.get(weekday, everyone.get(weekday, []))))
              for weekday in range(7)}
    holidays = session.scalars(
        select(PublicHoliday.day)
        .where(or_(PublicHoliday.agency_id.is_(None), PublicHoliday.agency_id == agency_id))
    ).all()
    return WorkingCalendar(zone, ranges, frozenset(holidays))


def deadline_hours(session: Session, kind: InterventionType,
                   priority: InterventionPriority) -> int | None:
    """Working hours central allows for this kind at this priority (``None``: no deadline)."""
    return session.scalar(
        select(InterventionDeadline.working_hours).where(
            InterventionDeadline.type == kind,
            InterventionDeadline.priority == priority,
            InterventionDeadline.agency_id.is_(None),
        )
    )


def due_at(session: Session, calendar: WorkingCalendar, kind: InterventionType,
           priority: InterventionPriority, since: datetime) -> datetime | None:
    hours = deadline_hours(session, kind, priority)
    if hours is None:
        return None
    return calendar.add_working_minutes(since, hours * 60)
