"""Decoding a 20-digit token the way the meter would, for support and for tests.

Checks, in the meter's order: format (20 digits, at most 2^66-1), class, CRC after
decryption (the only authentication of class 0 and 2 tokens), subclass, key expiry
(TID >> 16 > KEN), then OLD/USED against the TIDs the meter remembers. Each failure is a
typed :class:`~central.sts.errors.TokenRejectedError` carrying the meter's result code.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from .amount import decode_amount
from .errors import (
    CrcError,
    FunctionError,
    MfrCodeError,
    OldTokenError,
    ProfileError,
    TokenRejectedError,
    UsedTokenError,
)
from .keys import DEFAULT_CACHE, DecoderKeyCache, KeySource
from .layout import (
    crc_matches,
    group_digits,
    parse_token,
    read_tid_block,
    token_digits,
    untranspose,
)
from .profile import MeterKeyProfile
from .tid import check_key_expiry, tid_to_datetime
from .token_types import (
    AMOUNT_UNITS,
    KEY_CHANGE_SUBCLASSES,
    MANAGEMENT_TID_SUBCLASSES,
    describe,
)
from .vending_keys import DecoderKey


@dataclass(frozen=True)
class DecodedToken:
    """What a valid token says. ``key_word`` (part of a new decoder key) is kept out of
    ``repr`` and of :meth:`fields`."""

    digits: str
    token_class: int
    subclass: int
    crc: int
    rnd: int | None = None
    tid: int | None = None
    tid_datetime: datetime | None = None
    value: int | None = None
    amount: Decimal | None = None
    unit: str | None = None
    key_section: int | None = None
    ken_nibble: int | None = None
    krn: int | None = None
    rollover: bool | None = None
    kt: int | None = None
    ti: int | None = None
    sgc_part: int | None = None
    mfr_code: int | None = None
    control: int | None = None
    key_word: int | None = field(default=None, repr=False)

    @property
    def description(self) -> str:
        return describe(self.token_class, self.subclass)

    def fields(self) -> list[tuple[str, str]]:
        """(name, value) pairs for display, one field a line."""
        rows = [
            ("token", group_digits(self.digits)),
            ("valid", "yes"),
            ("class", str(self.token_class)),
            ("subclass", str(self.subclass)),
            ("type", self.description),
        ]
        optional: list[tuple[str, object]] = [
            ("rnd", self.rnd),
            ("tid", self.tid),
            ("tid_date", self.tid_datetime and f"{self.tid_datetime:%Y-%m-%dT%H:%MZ}"),
            ("value", None if self.value is None else f"{self.value} (0x{self.value:04X})"),
            ("amount", None if self.amount is None else f"{self.amount} {self.unit}"),
            ("key_section", self.key_section),
            ("ken_nibble", None if self.ken_nibble is None else f"0x{self.ken_nibble:X}"),
            ("krn", self.krn),
            ("rollover", None if self.rollover is None else ("yes" if self.rollover else "no")),
            ("kt", self.kt),
            ("ti", self.ti),
            ("sgc_part", None if self.sgc_part is None else f"0x{self.sgc_part:03X}"),
            ("new_key_part", None if self.key_word is None else "<32 bits, masked>"),
            ("mfr_code", self.mfr_code),
            ("control", None if self.control is None else f"0x{self.control:X}"),
        ]
        rows += [(name, str(value)) for name, value in optional if value is not None]
        rows.append(("crc", f"0x{self.crc:04X} (ok)"))
        return rows


def _check_memory(
    tid: int, last_tids: Collection[int] | None, memory_size: int | None = None
) -> None:
    if not last_tids:
        return
    if tid in last_tids:
        raise UsedTokenError(
            f"TID {tid} was already used on this meter",
            f"le TID {tid} a déjà été utilisé sur ce compteur",
        )
    if memory_size is not None and len(last_tids) < memory_size:
        return  # the store is not full: its empty slots are the oldest entries
    oldest = min(last_tids)
    if tid < oldest:
        raise OldTokenError(
            f"TID {tid} is older than the oldest TID the meter remembers ({oldest})",
            f"le TID {tid} est plus ancien que le plus ancien TID mémorisé ({oldest})",
        )


def _function_error(token_class: int, subclass: int) -> FunctionError:
    return FunctionError(
        f"{describe(token_class, subclass)} (class {token_class} subclass {subclass}) "
        "is reserved or not supported",
        f"{describe(token_class, subclass)} (classe {token_class} sous-classe {subclass}) "
        "réservé ou non pris en charge",
    )


def _decode_class1(digits: str, block: int, profile: MeterKeyProfile | None) -> DecodedToken:
    subclass = block >> 60
    if subclass > 1:
        raise _function_error(1, subclass)
    if subclass == 0:
        control, mfr = (block >> 24) & ((1 << 36) - 1), (block >> 16) & 0xFF
    else:
        control, mfr = (block >> 32) & ((1 << 28) - 1), (block >> 16) & 0xFFFF
    if profile is not None and mfr != profile.meter_pan.mfr_code:
        raise MfrCodeError(
            f"test token for manufacturer {mfr}, meter is from manufacturer "
            f"{profile.meter_pan.mfr_code}",
            f"jeton de test du fabricant {mfr}, compteur du fabricant "
            f"{profile.meter_pan.mfr_code}",
        )
    return DecodedToken(digits, 1, subclass, block & 0xFFFF, mfr_code=mfr, control=control)


def _decode_key_change(digits: str, subclass: int, block: int) -> DecodedToken:
    base = DecodedToken(digits, 2, subclass, block & 0xFFFF,
                        key_word=(block >> 16) & 0xFFFFFFFF)
    if subclass == 3:
        return replace(
            base, key_section=1, ken_nibble=(block >> 56) & 0xF, krn=(block >> 52) & 0xF,
            rollover=bool((block >> 51) & 1), kt=(block >> 48) & 3,
        )
    if subclass == 4:
        return replace(base, key_section=2, ken_nibble=(block >> 56) & 0xF,
                       ti=(block >> 48) & 0xFF)
    return replace(base, key_section=3 if subclass == 8 else 4, sgc_part=(block >> 48) & 0xFFF)


def decode_token(
    profile: MeterKeyProfile | None,
    token: str,
    *,
    keys: KeySource | None = None,
    last_tids: Collection[int] | None = None,
    cache: DecoderKeyCache | None = None,
    memory_size: int | None = None,
) -> DecodedToken:
    """Decode ``token`` for a meter, or raise the error the meter would report.

    ``last_tids`` are the TIDs the meter remembers: a token whose TID is among them is
    USED, one older than all of them is OLD. With ``memory_size`` (the number of TIDs the
    meter's store holds), OLD applies only once the store is full, as on a meter whose
    store starts empty. ``profile`` and ``keys`` may be None only for class 1 tokens,
    which are not encrypted.
    """
    number = parse_token(token)
    digits = token_digits(number)
    token_class, block = untranspose(number)
    if token_class == 3:
        raise _function_error(3, block >> 60)
    if token_class != 1:
        if profile is None or keys is None:
            raise ProfileError(
                "decoding a class 0 or 2 token needs the meter profile and its key",
                "décoder un jeton de classe 0 ou 2 exige le profil du compteur et sa clé",
            )
        block = (DEFAULT_CACHE if cache is None else cache).cipher(profile, keys).decrypt(block)
    if not crc_matches(token_class, block):
        raise CrcError(
            f"token {group_digits(digits)} fails the CRC check (typing error or another "
            "meter's key)",
            f"le jeton {group_digits(digits)} échoue au contrôle CRC (erreur de saisie ou clé "
            "d'un autre compteur)",
        )
    if token_class == 1:
        return _decode_class1(digits, block, profile)
    assert profile is not None
    fields = read_tid_block(block)
    subclass = fields.subclass
    if token_class == 2 and subclass in KEY_CHANGE_SUBCLASSES:
        if subclass in (8, 9) and profile.key_bytes != 16:
            raise _function_error(2, subclass)
        return _decode_key_change(digits, subclass, block)
    if (token_class == 0 and subclass > 3) or (
        token_class == 2 and subclass not in MANAGEMENT_TID_SUBCLASSES
    ):
        raise _function_error(token_class, subclass)
    check_key_expiry(fields.tid, profile.ken, profile.base)
    _check_memory(fields.tid, last_tids, memory_size)
    unit = AMOUNT_UNITS.get((token_class, subclass))
    return DecodedToken(
        digits, token_class, subclass, fields.crc, rnd=fields.rnd, tid=fields.tid,
        tid_datetime=tid_to_datetime(fields.tid, profile.base), value=fields.value,
        amount=None if unit is None else decode_amount(fields.value, unit[1]),
        unit=None if unit is None else unit[0],
    )


@dataclass(frozen=True)
class TokenCheck:
    """Valid or not, without exceptions: for screens that show the meter's verdict."""

    valid: bool
    decoded: DecodedToken | None = None
    error: TokenRejectedError | None = None


def check_token(
    profile: MeterKeyProfile | None,
    token: str,
    *,
    keys: KeySource | None = None,
    last_tids: Collection[int] | None = None,
    cache: DecoderKeyCache | None = None,
    memory_size: int | None = None,
) -> TokenCheck:
    """Like :func:`decode_token`, but a rejected token is a result, not an exception."""
    try:
        decoded = decode_token(profile, token, keys=keys, last_tids=last_tids, cache=cache,
                               memory_size=memory_size)
    except TokenRejectedError as error:
        return TokenCheck(False, error=error)
    return TokenCheck(True, decoded=decoded)


@dataclass(frozen=True)
class KeyChange:
    """What a meter learns from a complete key change set."""

    decoder_key: DecoderKey
    ken: int
    krn: int
    kt: int
    ti: int
    rollover: bool
    sgc: int | None


def assemble_key_change(decoded: Sequence[DecodedToken]) -> KeyChange:
    """Combine a decoded set (any order, as a meter accepts it) into the new key."""
    sections = {t.key_section: t for t in decoded if t.key_section is not None}
    expected = {1, 2, 3, 4} if 3 in sections or 4 in sections else {1, 2}
    if set(sections) != expected or len(decoded) != len(expected):
        raise FunctionError(
            "incomplete or inconsistent key change set", "jeu de changement de clé incomplet"
        )
    first, second = sections[1], sections[2]
    words = [sections[n].key_word or 0 for n in sorted(expected, key=[1, 3, 4, 2].index)]
    key = 0
    for word in words:
        key = (key << 32) | word
    sgc = None
    if 3 in sections:
        sgc = ((sections[4].sgc_part or 0) << 12) | (sections[3].sgc_part or 0)
    return KeyChange(
        decoder_key=DecoderKey(key.to_bytes(len(words) * 4, "big")),
        ken=((first.ken_nibble or 0) << 4) | (second.ken_nibble or 0),
        krn=first.krn or 0, kt=first.kt or 0, ti=second.ti or 0,
        rollover=bool(first.rollover), sgc=sgc,
    )
