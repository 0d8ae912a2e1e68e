"""Issuing tokens: credit (class 0), test/display (class 1), management (class 2).

The module-level functions are stateless: the TID comes from ``issued_at`` exactly, which is
what reproducing a token needs. :class:`TokenIssuer` adds the per-meter TID allocator (never
twice the same TID for a meter, never backwards) for the vending platform.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from .amount import Number, encode_amount
from .crc import TidCrc, tid_crc_tables
from .errors import AmountError, FunctionError, UnsupportedTokenError
from .keys import DEFAULT_CACHE, DecoderKeyCache, KeySource
from .layout import class1_block, seal, transpose
from .profile import MeterKeyProfile
from .tid import (
    KEN_NO_EXPIRY,
    MAX_TID,
    TidAllocator,
    check_key_expiry,
    check_tid,
    tid_from_datetime,
)
from .token_types import (
    AMOUNT_UNITS,
    CLEAR_CREDIT_REGISTERS,
    MANAGEMENT_TID_SUBCLASSES,
    ManagementSubclass,
    TestSubclass,
    Token,
    TokenClass,
    describe,
)


def _check_field(name: str, value: object, bits: int) -> int:
    limit = (1 << bits) - 1
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise AmountError(
            f"{name} {value!r} does not fit in {bits} bits (0..{limit})",
            f"{name} {value!r} ne tient pas sur {bits} bits (0..{limit})",
        )
    return value


#: Fields of the amounts already encoded, by (amount, its type, class, subclass): a vending
#: platform sells the same few amounts over and over. The type keeps ``True`` apart from
#: ``1`` (refused) and ``Decimal("0.1")`` apart from ``0.1`` (read through ``str``).
_AMOUNT_FIELDS: dict[tuple[object, type, int, int], int] = {}
_AMOUNT_FIELDS_MAX = 4096


def encode_value(
    token_class: int, subclass: int, amount: Number | None = None, value: int | None = None
) -> int:
    """The 16-bit field from an amount in natural units or from a raw register value."""
    if value is None:
        try:
            return _AMOUNT_FIELDS[(amount, type(amount), token_class, subclass)]
        except (KeyError, TypeError):  # not seen yet, or unhashable (e.g. Decimal("sNaN"))
            pass
    if (amount is None) == (value is None):
        raise AmountError(
            "give either an amount in natural units or a raw 16-bit value",
            "indiquer soit un montant en unités naturelles, soit une valeur brute 16 bits",
        )
    if value is not None:
        _check_field("value", value, 16)
        is_clear_credit = (token_class, subclass) == (2, ManagementSubclass.CLEAR_CREDIT)
        if is_clear_credit and value not in CLEAR_CREDIT_REGISTERS:
            known = ", ".join(str(r) for r in CLEAR_CREDIT_REGISTERS)
            raise AmountError(
                f"ClearCredit register {value} is not one of {known} (65535 = all)",
                f"registre ClearCredit {value} inconnu ; valeurs : {known} (65535 = tous)",
            )
        return value
    unit = AMOUNT_UNITS.get((token_class, subclass))
    if unit is None:
        raise AmountError(
            f"{describe(token_class, subclass)} has no amount; give a raw --value",
            f"{describe(token_class, subclass)} ne porte pas de montant ; donner une valeur brute",
        )
    name, steps_per_unit = unit
    assert amount is not None
    field = encode_amount(amount, steps_per_unit, name)
    if len(_AMOUNT_FIELDS) >= _AMOUNT_FIELDS_MAX:
        _AMOUNT_FIELDS.clear()
    _AMOUNT_FIELDS[(amount, type(amount), token_class, subclass)] = field
    return field


def _implicit_zero(subclass: int, amount: Number | None, value: int | None) -> bool:
    """ClearTamperCondition carries a zero pad, so it needs neither amount nor value."""
    no_input = amount is None and value is None
    return subclass == ManagementSubclass.CLEAR_TAMPER_CONDITION and no_input


def _check_tid_subclass(token_class: int, subclass: int) -> None:
    if token_class == TokenClass.TRANSFER_CREDIT and 0 <= subclass <= 3:
        return
    if token_class == 2 and subclass in MANAGEMENT_TID_SUBCLASSES:
        return
    if token_class == TokenClass.TRANSFER_CREDIT and 4 <= subclass <= 7:
        raise UnsupportedTokenError(
            "currency credit tokens (class 0 subclasses 4-7) are not supported",
            "les jetons de crédit en monnaie (classe 0, sous-classes 4 à 7) ne sont pas pris "
            "en charge",
        )
    raise FunctionError(
        f"class {token_class} subclass {subclass} is not a TID-bearing token this engine issues",
        f"classe {token_class} sous-classe {subclass} : jeton à TID non émis par ce moteur",
    )


#: RND nibbles from the system's CSPRNG, drawn 4 KiB at a time (one system call per 4,096
#: tokens) and already masked to their low four bits. ``next()`` on a bytes iterator is
#: atomic, so threads may share it; two threads refilling at once each draw fresh bytes.
_NIBBLE_OF_BYTE = bytes(b & 0x0F for b in range(256))
_rnd_nibbles = iter(b"")


def _fresh_nibbles() -> int:
    global _rnd_nibbles
    _rnd_nibbles = iter(secrets.token_bytes(4096).translate(_NIBBLE_OF_BYTE))
    return next(_rnd_nibbles)


_TID_CRC: TidCrc | None = None
_new_object = object.__new__


def _tid_crc() -> TidCrc:
    global _TID_CRC
    _TID_CRC = tid_crc_tables()
    return _TID_CRC

_KEEP_BITS = ((1 << 64) - 1) & ~(3 << 27)     # the ciphertext bits that stay in place


def issue_tid_token(
    profile: MeterKeyProfile,
    token_class: int,
    subclass: int,
    value: int,
    tid: int,
    *,
    keys: KeySource,
    rnd: int | None = None,
    cache: DecoderKeyCache | None = None,
) -> Token:
    """Encrypt a class 0 or TID-bearing class 2 token for ``profile``."""
    return _issue(profile, token_class, subclass, value, tid, keys, rnd, cache)


def _issue(
    profile: MeterKeyProfile, token_class: int, subclass: int, value: int, tid: int,
    keys: KeySource, rnd: int | None, cache: DecoderKeyCache | None,
) -> Token:
    """The hot path of every issuing entry point, with positional parameters only: CPython
    3.11 runs such a call in the caller's loop (its specialised call), where keyword or
    keyword-only parameters cost a call through C with the names matched one by one.

    The checks are inlined and fall back to the functions that raise the typed errors; the
    CRC, the class-bit transposition and the ``Token`` are written out (``layout.seal`` /
    ``layout.transpose`` / ``Token()`` are the readable forms; fields with disjoint bits
    are added, CPython's fast path, rather than OR-ed)."""
    if not ((token_class == 0 and 0 <= subclass <= 3)
            or (token_class == 2 and subclass in MANAGEMENT_TID_SUBCLASSES)):
        _check_tid_subclass(token_class, subclass)
    if type(value) is not int or not 0 <= value <= 0xFFFF:
        _check_field("value", value, 16)
    if type(tid) is not int or not 0 <= tid <= MAX_TID:
        check_tid(tid)
    ken = profile.ken
    if ken != KEN_NO_EXPIRY and tid >> 16 > ken:
        check_key_expiry(tid, ken, profile.base)
    if rnd is None:
        rnd = next(_rnd_nibbles, None)
        if rnd is None:
            rnd = _fresh_nibbles()
    elif type(rnd) is not int or not 0 <= rnd <= 0x0F:
        _check_field("RND", rnd, 4)
    cipher = (DEFAULT_CACHE if cache is None else cache).cipher(profile, keys)
    # The CRC over class | subclass | RND | TID | value, by linearity (crc.TidCrc).
    c = _TID_CRC or _tid_crc()
    nibbles = (subclass << 4) + rnd
    crc = (c.zero ^ c.head[(token_class << 8) + nibbles] ^ c.tid_high[tid >> 12]
           ^ c.tid_low[tid & 0xFFF] ^ c.value_high[value >> 8] ^ c.value_low[value & 0xFF])
    ciphertext = cipher.encrypt((((nibbles << 24) + tid) << 32) + (value << 16) + crc)
    token = _new_object(Token)
    fields = token.__dict__
    fields["number"] = ((ciphertext >> 27 & 3) << 64) + (ciphertext & _KEEP_BITS) + (token_class << 27)
    fields["token_class"] = token_class
    fields["subclass"] = subclass
    fields["tid"] = tid
    fields["rnd"] = rnd
    fields["value"] = value
    return token


def issue_credit(
    profile: MeterKeyProfile,
    amount: Number | None,
    issued_at: datetime,
    *,
    keys: KeySource,
    value: int | None = None,
    subclass: int = 0,
    rnd: int | None = None,
    cache: DecoderKeyCache | None = None,
) -> Token:
    """Class 0 credit token; ``amount`` in kWh (electricity) is rounded up to the grid."""
    if value is None:
        try:
            field = _AMOUNT_FIELDS[(amount, type(amount), 0, subclass)]
        except (KeyError, TypeError):  # as in encode_value
            field = encode_value(0, subclass, amount, None)
    else:
        field = encode_value(0, subclass, amount, value)
    return _issue(profile, 0, subclass, field, tid_from_datetime(issued_at, profile.base),
                  keys, rnd, cache)


def issue_management(
    profile: MeterKeyProfile,
    subclass: int,
    issued_at: datetime,
    *,
    keys: KeySource,
    amount: Number | None = None,
    value: int | None = None,
    rnd: int | None = None,
    cache: DecoderKeyCache | None = None,
) -> Token:
    """Class 2 register-family token (subclasses 0, 1, 2, 5, 6)."""
    if _implicit_zero(subclass, amount, value):
        value = 0
    field = encode_value(TokenClass.METER_SPECIFIC_MANAGEMENT, subclass, amount, value)
    tid = tid_from_datetime(issued_at, profile.base)
    return issue_tid_token(profile, 2, subclass, field, tid, keys=keys, rnd=rnd, cache=cache)


def set_maximum_power_limit(
    profile: MeterKeyProfile, watts: Number, issued_at: datetime, *, keys: KeySource,
    rnd: int | None = None, cache: DecoderKeyCache | None = None,
) -> Token:
    return issue_management(profile, ManagementSubclass.SET_MAXIMUM_POWER_LIMIT, issued_at,
                            keys=keys, amount=watts, rnd=rnd, cache=cache)


def clear_credit(
    profile: MeterKeyProfile, issued_at: datetime, *, keys: KeySource, register: int = 0xFFFF,
    rnd: int | None = None, cache: DecoderKeyCache | None = None,
) -> Token:
    """ClearCredit for one register (0 electricity ... 6 gas currency) or 0xFFFF for all."""
    return issue_management(profile, ManagementSubclass.CLEAR_CREDIT, issued_at, keys=keys,
                            value=register, rnd=rnd, cache=cache)


def clear_tamper(
    profile: MeterKeyProfile, issued_at: datetime, *, keys: KeySource,
    rnd: int | None = None, cache: DecoderKeyCache | None = None,
) -> Token:
    return issue_management(profile, ManagementSubclass.CLEAR_TAMPER_CONDITION, issued_at,
                            keys=keys, value=0, rnd=rnd, cache=cache)


def set_maximum_phase_power_unbalance_limit(
    profile: MeterKeyProfile, watts: Number, issued_at: datetime, *, keys: KeySource,
    rnd: int | None = None, cache: DecoderKeyCache | None = None,
) -> Token:
    return issue_management(
        profile, ManagementSubclass.SET_MAXIMUM_PHASE_POWER_UNBALANCE_LIMIT, issued_at,
        keys=keys, amount=watts, rnd=rnd, cache=cache,
    )


def issue_test_token(subclass: int, control: int, mfr_code: int) -> Token:
    """Class 1 InitiateMeterTest/Display token: not encrypted, not meter-specific.

    Subclass 0 carries a 36-bit control field and an 8-bit MfrCode (2-digit codes),
    subclass 1 a 28-bit control field and a 16-bit MfrCode (4-digit codes).
    """
    try:
        kind = TestSubclass(subclass)
    except ValueError:
        raise FunctionError(
            f"class 1 subclass {subclass} is reserved", f"classe 1 sous-classe {subclass} réservée"
        ) from None
    control_bits, mfr_bits = (36, 8) if kind == TestSubclass.CONTROL_36_BIT else (28, 16)
    _check_field("control", control, control_bits)
    _check_field("MfrCode", mfr_code, mfr_bits)
    block = seal(1, class1_block(subclass, control, mfr_code))
    return Token(transpose(block, 1), 1, subclass, value=control)


class TokenIssuer:
    """Issues TID-bearing tokens with a per-meter TID allocator and a decoder key cache.

    Without ``issued_at`` the allocator's monotonic UTC clock is used; with it, the TID is
    the minute of ``issued_at`` unless that meter already had this or a later TID, in
    which case it moves to the next free minute.
    """

    def __init__(
        self, cache: DecoderKeyCache | None = None, allocator: TidAllocator | None = None
    ) -> None:
        self.cache = DecoderKeyCache() if cache is None else cache
        self.allocator = TidAllocator() if allocator is None else allocator

    def _tid(self, profile: MeterKeyProfile, issued_at: datetime | None) -> int:
        return self.allocator.allocate(profile.pan, profile.base, profile.ken, issued_at)

    def credit(
        self, profile: MeterKeyProfile, keys: KeySource, amount: Number | None = None, *,
        value: int | None = None, subclass: int = 0, issued_at: datetime | None = None,
        rnd: int | None = None,
    ) -> Token:
        # issue_credit's steps, the TID from the allocator: the amount field, then the
        # subclass check before a TID is spent, then the shared hot path.
        if value is None:
            try:
                field = _AMOUNT_FIELDS[(amount, type(amount), 0, subclass)]
            except (KeyError, TypeError):
                field = encode_value(0, subclass, amount, None)
        else:
            field = encode_value(0, subclass, amount, value)
        if not 0 <= subclass <= 3:
            _check_tid_subclass(0, subclass)
        tid = self.allocator.allocate(profile.pan, profile.base, profile.ken, issued_at)
        return _issue(profile, 0, subclass, field, tid, keys, rnd, self.cache)

    def management(
        self, profile: MeterKeyProfile, keys: KeySource, subclass: int, *,
        amount: Number | None = None, value: int | None = None,
        issued_at: datetime | None = None, rnd: int | None = None,
    ) -> Token:
        if _implicit_zero(subclass, amount, value):
            value = 0
        field = encode_value(TokenClass.METER_SPECIFIC_MANAGEMENT, subclass, amount, value)
        _check_tid_subclass(2, subclass)
        return _issue(profile, 2, subclass, field, self._tid(profile, issued_at), keys, rnd,
                      self.cache)
