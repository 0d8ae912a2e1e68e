"""The TID roll-over (base date 1993 runs out on 2024-11-24 20:15).

A meter still on base date 1993 - or on a key revision older than the current one - gets a
key change set with the roll-over (RO) flag: it clears its TID memory and takes a new
decoder key (new KRN, and for DKGA-04 a key that also depends on the new base date), so
tokens issued under the old key cannot be replayed. After that, every token is issued
under the new profile, with TIDs counted from 2014-01-01.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import RolloverNotNeededError, VendingKeyError
from .key_change import key_change_set
from .keys import DecoderKeyCache, KeySource
from .profile import MeterKeyProfile
from .tid import BaseDate
from .token_types import Token
from .vending_keys import VendingKey

DEFAULT_TARGET_BASE = BaseDate.Y2014
DEFAULT_MINIMUM_KRN = 2


@dataclass(frozen=True)
class RolloverPlan:
    """The key change set to enter on the meter, and the profile to use afterwards."""

    tokens: tuple[Token, ...]
    old_profile: MeterKeyProfile
    new_profile: MeterKeyProfile


def needs_rollover(profile: MeterKeyProfile, minimum_krn: int = DEFAULT_MINIMUM_KRN) -> bool:
    return profile.base == BaseDate.Y1993 or profile.krn < minimum_krn


def plan_rollover(
    profile: MeterKeyProfile,
    keys: KeySource,
    *,
    new_keys: KeySource | None = None,
    new_krn: int | None = None,
    new_ti: int | None = None,
    new_sgc: int | None = None,
    new_ken: int | None = None,
    new_base_date: BaseDate = DEFAULT_TARGET_BASE,
    minimum_krn: int = DEFAULT_MINIMUM_KRN,
    force: bool = False,
    cache: DecoderKeyCache | None = None,
) -> RolloverPlan:
    """Build the roll-over key change set for ``profile``.

    ``new_krn`` defaults to ``max(krn + 1, minimum_krn)``; ``new_keys`` (the vending key of
    the new revision) defaults to ``keys`` when that is a vending key. Refuses a meter that
    does not need the roll-over unless ``force`` is set.
    """
    if not force and not needs_rollover(profile, minimum_krn):
        raise RolloverNotNeededError(
            f"meter {profile.pan} is already on base date {int(profile.base)} with KRN "
            f"{profile.krn}; no roll-over needed",
            f"le compteur {profile.pan} est déjà sur la date de base {int(profile.base)} avec "
            f"le KRN {profile.krn} ; pas de roll-over nécessaire",
        )
    if new_keys is None:
        if not isinstance(keys, VendingKey):
            raise VendingKeyError(
                "a roll-over from a decoder key needs the new vending key (or new decoder key)",
                "un roll-over depuis une clé de décodeur exige la nouvelle clé de vente "
                "(ou la nouvelle clé de décodeur)",
            )
        new_keys = keys
    new_profile = profile.with_changes(
        krn=new_krn if new_krn is not None else max(profile.krn + 1, minimum_krn),
        ti=profile.ti if new_ti is None else new_ti,
        sgc=profile.sgc if new_sgc is None else new_sgc,
        ken=profile.ken if new_ken is None else new_ken,
        base_date=new_base_date,
    )
    tokens = key_change_set(
        profile, keys, new_profile, new_keys, rollover=True, cache=cache,
    )
    return RolloverPlan(tokens, profile, new_profile)
