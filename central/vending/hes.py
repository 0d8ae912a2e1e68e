"""The HES's token making: the credit token of a sale under the meter's key, with the key
change set first whenever the key the meter holds is not the one to sell under (the record
moved to a new KRN/TI/SGC, or the meter is still on base date 1993, past its last minute:
the roll-over set, which also clears the meter's TID memory).

TIDs per meter strictly increase across processes: the last one is kept in the meter's
``vending_meter`` row, which the sale holds locked while it issues.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Protocol

from central.meters.fleet import MeterRecord
from central.sts import DecoderKeyCache, MeterKeyProfile, key_change_set
from central.sts.tid import BaseDate, tid_from_datetime
from central.sts.token_types import Token
from central.sts.tokens import encode_value, issue_tid_token
from central.sts.vending_keys import VendingKey, VendingKeyRing

_KEY_FIELDS = ("sgc", "ti", "krn", "kt", "ken", "base_date")
#: Meter key profiles kept (a few hundred bytes each).
_PROFILES = 50_000


class KeyState(Protocol):
    """The key a meter holds and its last TID: its ``vending_meter`` row, or that row as a
    batch of sales holds it (:class:`central.vending.batch.KeyHeld`)."""

    sgc: int
    ti: int
    krn: int
    kt: int
    ken: int
    base_date: int
    last_tid: int | None


@dataclass(frozen=True)
class IssuedTokens:
    key_change: tuple[Token, ...]
    credit: Token
    profile: MeterKeyProfile

    @property
    def in_order(self) -> tuple[Token, ...]:
        return (*self.key_change, self.credit)


def _key_of(profile: MeterKeyProfile) -> tuple[int, ...]:
    return tuple(int(getattr(profile, name)) for name in _KEY_FIELDS)


def target_profile(record: MeterRecord, now: datetime) -> MeterKeyProfile:
    """The profile to sell under: the record's, rolled over to base 2014 (next KRN, at least
    2) when the record is still on base date 1993 and that base date has run out."""
    return _target(record, now > BaseDate.Y1993.last_minute)


def held_profile(record: MeterRecord, state: KeyState) -> MeterKeyProfile:
    return _held(record, state.sgc, state.ti, state.krn, state.kt, state.ken, state.base_date)


# A profile is checked when it is made (the DRN's digits, its check digit, the key's fields):
# every sale of a meter asks the same few, kept here (records and profiles are immutable).
@lru_cache(maxsize=_PROFILES)
def _target(record: MeterRecord, base_1993_over: bool) -> MeterKeyProfile:
    profile = record.profile()
    if int(profile.base) == BaseDate.Y1993 and base_1993_over:
        profile = profile.with_changes(krn=max(profile.krn + 1, 2), base_date=BaseDate.Y2014)
    return profile


@lru_cache(maxsize=_PROFILES)
def _held(record: MeterRecord, sgc: int, ti: int, krn: int, kt: int, ken: int,
          base_date: int) -> MeterKeyProfile:
    return _target(record, False).with_changes(sgc=sgc, ti=ti, krn=krn, kt=kt, ken=ken,
                                               base_date=base_date)


class TokenMaker:
    def __init__(self, keys: VendingKeyRing, cache: DecoderKeyCache | None = None) -> None:
        self.keys = keys
        self.cache = DecoderKeyCache() if cache is None else cache

    def _vending_key(self, profile: MeterKeyProfile) -> VendingKey:
        return self.keys.key_for(profile.sgc, profile.krn, profile.dkga)

    def issue(self, record: MeterRecord, state: KeyState, energy: Decimal,
              now: datetime) -> IssuedTokens:
        """Tokens for ``energy`` kWh; updates ``state`` (key held, last TID) in place."""
        return self.issue_tid(record, state, 0, 0, encode_value(0, 0, energy, None), now)

    def key_change(self, record: MeterRecord, state: KeyState,
                   now: datetime) -> tuple[Token, ...]:
        """The key change set from the key the meter holds to the record's (empty when they
        are the same); updates ``state`` in place."""
        held = held_profile(record, state)
        target = target_profile(record, now)
        if _key_of(held) == _key_of(target):
            return ()
        rollover = int(held.base) != int(target.base)
        change = key_change_set(held, self._vending_key(held), target,
                                self._vending_key(target), rollover=rollover, cache=self.cache)
        for name in _KEY_FIELDS:
            setattr(state, name, int(getattr(target, name)))
        if rollover:
            state.last_tid = None
        return change

    def issue_tid(self, record: MeterRecord, state: KeyState, token_class: int,
                  subclass: int, value: int, now: datetime) -> IssuedTokens:
        """A TID-bearing token (credit, or a class 2 register token: power limit, clear
        credit, clear tamper), the key change set first when needed."""
        change = self.key_change(record, state, now)
        target = held_profile(record, state)
        tid = tid_from_datetime(now, target.base)
        if state.last_tid is not None and tid <= state.last_tid:
            tid = state.last_tid + 1
        credit = issue_tid_token(target, token_class, subclass, value, tid,
                                 keys=self._vending_key(target), cache=self.cache)
        state.last_tid = tid
        return IssuedTokens(change, credit, target)
