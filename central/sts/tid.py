"""Token identifiers (TID): minutes since the meter's base date, 24 bits.

The standard does not fix a time zone; this engine counts in UTC and its clock never goes
backwards, so a DST change or a server clock step cannot make a meter reject tokens as
OLD. A meter also rejects a TID it has already seen (USED), so the allocator below gives
each meter strictly increasing TIDs, bumping to the next minute when two tokens for the
same meter are issued within one minute.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from enum import IntEnum

from .errors import (
    BaseDateExpiredError,
    KeyExpiredError,
    ProfileError,
    TidOutOfRangeError,
)

MAX_TID = 0xFFFFFF
KEN_NO_EXPIRY = 0xFF


class BaseDate(IntEnum):
    """The three TID base dates of IEC 62055-41:2014 (1 January, 00:00)."""

    Y1993 = 1993
    Y2014 = 2014
    Y2035 = 2035

    @property
    def start(self) -> datetime:
        return _STARTS[self._value_]

    @property
    def code(self) -> str:
        """Two-character form used by DKGA-04 ("93", "14", "35")."""
        return str(int(self))[-2:]

    @property
    def last_minute(self) -> datetime:
        """Start of the last minute that still has a TID (2024-11-24 20:15 for 1993)."""
        return self.start + timedelta(minutes=MAX_TID)


# Keyed by the members, which a plain year also finds (IntEnum hashes as its int); a member
# (what a profile holds) finds its own key without an equality test.
_STARTS: dict[int, datetime] = {base: datetime(int(base), 1, 1, tzinfo=UTC) for base in BaseDate}
_NAIVE_STARTS = {base: start.replace(tzinfo=None) for base, start in _STARTS.items()}
_BY_YEAR = {int(base): base for base in BaseDate}


def base_date(value: int | str | BaseDate) -> BaseDate:
    """Accept 1993/2014/2035 (int or str) or the short forms 93/14/35."""
    if type(value) is BaseDate:
        return value
    if type(value) is int and value in _BY_YEAR:
        return _BY_YEAR[value]
    text = str(int(value)) if isinstance(value, int) else str(value).strip()
    if len(text) == 2 and text.isdigit():
        text = ("19" if text == "93" else "20") + text
    try:
        return BaseDate(int(text))
    except ValueError:
        raise ProfileError(
            f"base date {value!r} is not one of 1993, 2014, 2035",
            f"date de base {value!r} : 1993, 2014 ou 2035 attendu",
        ) from None


def to_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken as already being UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def tid_from_datetime(moment: datetime, base: BaseDate) -> int:
    """Whole minutes (seconds truncated) from the base date to ``moment``."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    delta = moment - _NAIVE_STARTS[base]
    minutes = delta.days * 1440 + delta.seconds // 60
    if minutes < 0:
        raise TidOutOfRangeError(
            f"{moment:%Y-%m-%d %H:%M} is before the base date {int(base)}-01-01",
            f"{moment:%Y-%m-%d %H:%M} est antérieur à la date de base {int(base)}-01-01",
        )
    if minutes > MAX_TID:
        last = base.last_minute
        raise BaseDateExpiredError(
            f"{moment:%Y-%m-%d %H:%M} is past the last TID minute of base date {int(base)} "
            f"({last:%Y-%m-%d %H:%M} UTC): a key change to a later base date is needed",
            f"{moment:%Y-%m-%d %H:%M} dépasse la dernière minute TID de la date de base "
            f"{int(base)} ({last:%Y-%m-%d %H:%M} UTC) : un changement de clé vers une date "
            f"de base plus récente est nécessaire",
        )
    return minutes


def tid_to_datetime(tid: int, base: BaseDate) -> datetime:
    check_tid(tid)
    return base.start + timedelta(minutes=tid)


def check_tid(tid: int) -> int:
    if isinstance(tid, bool) or not isinstance(tid, int) or not 0 <= tid <= MAX_TID:
        raise TidOutOfRangeError(
            f"TID {tid!r} is outside 0..{MAX_TID}", f"TID {tid!r} hors de 0..{MAX_TID}"
        )
    return tid


def key_expired(tid: int, ken: int) -> bool:
    """The meter's rule: a token is refused when the top 8 bits of its TID exceed KEN."""
    return ken != KEN_NO_EXPIRY and (tid >> 16) > ken


def check_key_expiry(tid: int, ken: int, base: BaseDate) -> None:
    if key_expired(tid, ken):
        expiry = base.start + timedelta(minutes=((ken + 1) << 16) - 1)
        raise KeyExpiredError(
            f"TID {tid} is past the key expiry (KEN {ken}, last minute "
            f"{expiry:%Y-%m-%d %H:%M} UTC): the meter needs a key change",
            f"TID {tid} au-delà de l'expiration de la clé (KEN {ken}, dernière minute "
            f"{expiry:%Y-%m-%d %H:%M} UTC) : le compteur doit changer de clé",
        )


def _system_utc() -> datetime:
    return datetime.now(UTC)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Whole minutes from the POSIX epoch to each base date (all start on a minute).
_BASE_MINUTES = {base: (start - _EPOCH) // timedelta(minutes=1) for base, start in _STARTS.items()}
_NS_PER_MINUTE = 60_000_000_000


class MonotonicUtcClock:
    """UTC wall clock that never returns an earlier time than it already returned.

    With the system clock (the default ``source``) the time is kept as POSIX nanoseconds
    (``time.time_ns``), so :meth:`minutes_since` gives a TID in integer arithmetic, without
    building and subtracting datetimes; another ``source`` is read as datetimes."""

    def __init__(self, source: Callable[[], datetime] = _system_utc) -> None:
        self._source = source
        self._system = source is _system_utc
        self._last: datetime | None = None
        self._last_ns = 0
        self._lock = threading.Lock()

    def _now_ns(self) -> int:
        current = time.time_ns()
        with self._lock:
            if current < self._last_ns:
                current = self._last_ns
            self._last_ns = current
        return current

    def now(self) -> datetime:
        if self._system:
            return _EPOCH + timedelta(microseconds=self._now_ns() // 1000)
        current = to_utc(self._source())
        with self._lock:
            if self._last is not None and current < self._last:
                current = self._last
            self._last = current
            return current

    def minutes_since(self, base: BaseDate) -> int:
        """The TID of this minute under ``base``: ``tid_from_datetime(self.now(), base)``."""
        if not self._system:
            return tid_from_datetime(self.now(), base)
        ns = self._now_ns()
        minutes = ns // _NS_PER_MINUTE - _BASE_MINUTES[base]
        if not 0 <= minutes <= MAX_TID:
            tid_from_datetime(_EPOCH + timedelta(microseconds=ns // 1000), base)  # raises
        return minutes


class TidAllocator:
    """Strictly increasing TIDs per (meter, base date).

    ``last_tids`` seeds the state from storage (e.g. the vending database), keyed by
    ``(pan, base_year)``. After a roll-over the meter's TID memory is cleared and it moves
    to a new base date, so TIDs under the new base date start afresh.
    """

    def __init__(
        self,
        clock: MonotonicUtcClock | None = None,
        last_tids: Mapping[tuple[str, int], int] | None = None,
    ) -> None:
        self.clock = MonotonicUtcClock() if clock is None else clock
        self._last: dict[tuple[str, int], int] = dict(last_tids or {})
        self._lock = threading.Lock()

    def last(self, pan: str, base: BaseDate) -> int | None:
        return self._last.get((pan, int(base)))

    def allocate(
        self, pan: str, base: BaseDate, ken: int = KEN_NO_EXPIRY, at: datetime | None = None
    ) -> int:
        """Next TID for the meter: the minute of ``at`` (default: now), or one more than the
        last TID given to this meter. Refuses past the base date and the key expiry."""
        wanted = self.clock.minutes_since(base) if at is None else tid_from_datetime(at, base)
        # Keyed by the BaseDate member, which finds a key seeded with the plain year
        # (same hash, equal) without an int() call per token.
        key = (pan, base)
        with self._lock:
            previous = self._last.get(key)
            tid = wanted if previous is None or wanted > previous else previous + 1
            if tid > MAX_TID:
                raise BaseDateExpiredError(
                    f"no TID left for meter {pan} under base date {int(base)}",
                    f"plus aucun TID pour le compteur {pan} sous la date de base {int(base)}",
                )
            if ken != KEN_NO_EXPIRY and tid >> 16 > ken:
                check_key_expiry(tid, ken, base)
            self._last[key] = tid
            return tid
