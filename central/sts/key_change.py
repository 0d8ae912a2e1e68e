"""Key change token sets (class 2 subclasses 3, 4, 8, 9).

A set carries the new decoder key and is encrypted under the meter's *current* key. A
64-bit key travels in 2 tokens (1st and 2nd sections), a 128-bit MISTY1 key in 4 (the
3rd and 4th sections also carry the new SGC). Key change tokens carry no TID. The meter
applies the new key once it has the whole set; with the roll-over flag (RO) it also clears
its TID memory, which is how a meter moves to a new base date.
"""

from __future__ import annotations

from .errors import ProfileError
from .keys import DEFAULT_CACHE, DecoderKeyCache, KeySource, derive_decoder_key
from .layout import kct1_block, kct2_block, kct_sgc_block, seal, transpose
from .profile import MeterKeyProfile
from .token_types import ManagementSubclass, Token
from .vending_keys import DecoderKey, VendingKey

MGMT = 2


def new_decoder_key(profile: MeterKeyProfile, keys: KeySource) -> DecoderKey:
    """The decoder key of ``profile``, derived from a vending key or given directly."""
    return derive_decoder_key(profile, keys) if isinstance(keys, VendingKey) else keys


def _check_transition(old: MeterKeyProfile, new: MeterKeyProfile) -> None:
    if old.pan != new.pan:
        raise ProfileError(
            f"key change for meter {old.pan} cannot target meter {new.pan}",
            f"changement de clé du compteur {old.pan} vers un autre compteur ({new.pan})",
        )
    if old.ea != new.ea:
        raise ProfileError(
            "a key change keeps the encryption algorithm (EA) of the meter",
            "un changement de clé conserve l'algorithme de chiffrement (EA) du compteur",
        )


def key_change_set(
    old_profile: MeterKeyProfile,
    old_keys: KeySource,
    new_profile: MeterKeyProfile,
    new_keys: KeySource,
    *,
    rollover: bool = False,
    cache: DecoderKeyCache | None = None,
) -> tuple[Token, ...]:
    """The tokens, in order (1st, 2nd[, 3rd, 4th] section), moving the meter to
    ``new_profile``: its KRN, KT, TI, KEN, SGC and the key derived from ``new_keys``."""
    _check_transition(old_profile, new_profile)
    cipher = (DEFAULT_CACHE if cache is None else cache).cipher(old_profile, old_keys)
    key = int.from_bytes(new_decoder_key(new_profile, new_keys).secret(), "big")
    ken = new_profile.ken
    bits = new_profile.key_bytes * 8
    # Words of the new key, most significant first: NKHO, (2nd, 3rd for 128 bits), NKLO.
    words = [(key >> shift) & 0xFFFFFFFF for shift in range(bits - 32, -1, -32)]
    blocks = [
        (ManagementSubclass.SET_1ST_SECTION_DECODER_KEY,
         kct1_block(ken >> 4, new_profile.krn, rollover, new_profile.kt, words[0])),
        (ManagementSubclass.SET_2ND_SECTION_DECODER_KEY,
         kct2_block(ken & 0xF, new_profile.ti, words[-1])),
    ]
    if new_profile.key_bytes == 16:
        sgc = new_profile.sgc
        blocks += [
            (ManagementSubclass.SET_3RD_SECTION_DECODER_KEY,
             kct_sgc_block(8, sgc & 0xFFF, words[1])),
            (ManagementSubclass.SET_4TH_SECTION_DECODER_KEY,
             kct_sgc_block(9, (sgc >> 12) & 0xFFF, words[2])),
        ]
    tokens = []
    for subclass, block in blocks:
        number = transpose(cipher.encrypt(seal(MGMT, block)), MGMT)
        tokens.append(Token(number, MGMT, int(subclass)))
    return tuple(tokens)
