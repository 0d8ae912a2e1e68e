"""What the vending side stores about one meter's key: everything that is not secret."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum
from functools import cached_property
from typing import Any

from .errors import ProfileError
from .meter_number import MeterPan, parse_meter_number
from .sta import TABLE_SETS
from .tid import BaseDate, base_date


class Ea(IntEnum):
    """Encryption algorithm codes."""

    STA = 7
    MISTY1 = 11


class Dkga(IntEnum):
    """Decoder key generation algorithm codes."""

    DES = 2
    HMAC_SHA256 = 4


class KeyType(IntEnum):
    INITIALISATION = 0
    DEFAULT = 1
    UNIQUE = 2
    COMMON = 3


# Plain-int look-ups: calling an enum class runs Python code, a dict look-up does not.
_EAS = {int(member): member for member in Ea}
_DKGAS = {int(member): member for member in Dkga}
_KT_TYPES = (int, KeyType)


def _int_in(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProfileError(
            f"{name} {value!r} is outside {low}..{high}", f"{name} {value!r} hors de {low}..{high}"
        )
    return value


@dataclass(frozen=True)
class MeterKeyProfile:
    """The non-secret key data of one meter (STS §6.5.2).

    ``pan`` accepts an 18-digit MeterPAN or an 11/13-digit DRN and is normalised to the
    18 digits. ``ken`` is the key expiry number (0xFF: never expires); it is not part of
    the decoder key derivation. ``base_date`` is only an input of DKGA-04, but the vending
    side always needs it to compute TIDs.
    """

    pan: str
    sgc: int
    ti: int
    krn: int
    kt: int = KeyType.UNIQUE
    ken: int = 0xFF
    ea: int = Ea.STA
    dkga: int = Dkga.DES
    base_date: int = BaseDate.Y1993
    tables: str = "real"
    meter_pan: MeterPan = field(init=False, repr=False, compare=False)
    #: The base date as :class:`BaseDate`, and the derivation inputs and table set as one
    #: string (a cache key whose hash is computed once, where a tuple's is recomputed at
    #: every look-up). Both are set with the profile: plain attributes are the cheapest
    #: reads on the issuing hot path.
    base: BaseDate = field(init=False, repr=False, compare=False)
    cache_id: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pan = parse_meter_number(str(self.pan))
        object.__setattr__(self, "meter_pan", pan)
        object.__setattr__(self, "pan", pan.digits)
        sgc, ti, kt, ken = self.sgc, self.ti, self.kt, self.ken
        if not (type(sgc) is int and 0 <= sgc <= 999_999 and type(ti) is int and 0 <= ti <= 99
                and type(kt) in _KT_TYPES and 0 <= kt <= 3 and type(ken) is int and 0 <= ken <= 0xFF):
            _int_in("SGC", sgc, 0, 999_999)          # one of them raises its own message
            _int_in("TI", ti, 0, 99)
            _int_in("KT", kt, 0, 3)
            _int_in("KEN", ken, 0, 0xFF)
        try:
            object.__setattr__(self, "ea", _EAS[self.ea] if type(self.ea) is int else Ea(self.ea))
        except (KeyError, ValueError):
            raise ProfileError(
                f"EA {self.ea!r} is not supported (07 STA or 11 MISTY1)",
                f"EA {self.ea!r} non pris en charge (07 STA ou 11 MISTY1)",
            ) from None
        try:
            object.__setattr__(self, "dkga",
                               _DKGAS[self.dkga] if type(self.dkga) is int else Dkga(self.dkga))
        except (KeyError, ValueError):
            raise ProfileError(
                f"DKGA {self.dkga!r} is not supported (02 or 04)",
                f"DKGA {self.dkga!r} non pris en charge (02 ou 04)",
            ) from None
        base = base_date(self.base_date)
        object.__setattr__(self, "base_date", base)
        object.__setattr__(self, "base", base)
        _int_in("KRN", self.krn, 1, 9 if self.dkga == Dkga.DES else 15)
        if self.ea == Ea.MISTY1 and self.dkga != Dkga.HMAC_SHA256:
            raise ProfileError(
                "EA11 (MISTY1) needs a 128-bit decoder key, i.e. DKGA-04",
                "EA11 (MISTY1) exige une clé de 128 bits, donc DKGA-04",
            )
        if self.tables not in TABLE_SETS:
            raise ProfileError(
                f"STA table set {self.tables!r} is not one of {', '.join(TABLE_SETS)}",
                f"jeu de tables STA {self.tables!r} : {', '.join(TABLE_SETS)} attendu",
            )
        pan, sgc, ti, krn, kt, ea, dkga, key_base = self.derivation_inputs()
        tables = self.tables if self.ea == Ea.STA else ""
        object.__setattr__(self, "cache_id",
                           f"{pan}|{sgc}|{ti}|{krn}|{kt}|{ea}|{dkga}|{key_base}|{tables}")

    @property
    def key_bytes(self) -> int:
        """Decoder key length in bytes: 8 for STA, 16 for MISTY1."""
        return 16 if self.ea == Ea.MISTY1 else 8

    @property
    def key_change_tokens(self) -> int:
        """Tokens in a key change set: 2 for a 64-bit key, 4 for a 128-bit key."""
        return 4 if self.ea == Ea.MISTY1 else 2

    @cached_property
    def dkga02_block(self) -> int:
        """PANBlock XOR CONTROLBlock, the block DKGA-02 encrypts (computed once)."""
        from .keys import dkga02_block

        return dkga02_block(self)

    @cached_property
    def dkga04_message(self) -> bytes:
        """The HMAC-SHA-256 message of DKGA-04 (computed once)."""
        from .keys import dkga04_message

        return dkga04_message(self)

    def derivation_inputs(self) -> tuple[Any, ...]:
        """The fields the decoder key depends on (for caching)."""
        base = int(self.base_date) if self.dkga == Dkga.HMAC_SHA256 else 0
        return (self.pan, self.sgc, self.ti, self.krn, self.kt, int(self.ea), int(self.dkga), base)

    def with_changes(self, **changes: Any) -> MeterKeyProfile:
        return replace(self, **changes)
