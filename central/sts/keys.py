"""Decoder key generation (DKGA-02, DKGA-04) and the per-meter decoder key cache.

DKGA-02: X = PANBlock XOR CONTROLBlock (16 BCD/hex nibbles each);
DK = DES_ECB(VK, X) XOR X XOR VK, a big-endian 64-bit key.

DKGA-04: DK = the first 8 (EA07) or 16 (EA11) bytes of HMAC-SHA-256(VK, M), where M is a
length-prefixed label (DKGA, base date, EA, TI), a zero byte, a length-prefixed context
(SGC, KT, KRN, PAN) and the key length in bits as 32 bits.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from typing import Protocol

from Crypto.Cipher import DES

from .errors import ProfileError, VendingKeyError
from .misty1 import Misty1Cipher
from .profile import Dkga, Ea, KeyType, MeterKeyProfile
from .sta import StaCipher, load_tables
from .vending_keys import DecoderKey, VendingKey


class BlockCipher(Protocol):
    def encrypt(self, block: int) -> int: ...

    def decrypt(self, block: int) -> int: ...


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def pan_block(profile: MeterKeyProfile) -> str:
    """The 16-digit PANBlock; for common keys (KT 3) the DRN digits are zeros.

    The KT 3 rule follows the public reference implementation and is not confirmed by the
    standard text available to us.
    """
    pan = profile.meter_pan
    if profile.kt == KeyType.COMMON:
        return (pan.iin + "0" * len(pan.drn))[-16:]
    return pan.pan_block


def control_block(profile: MeterKeyProfile) -> str:
    """KT | SGC (6) | TI (2, BCD) | KRN | FFFFFF, e.g. ``2123456011FFFFFF``."""
    return f"{profile.kt:01d}{profile.sgc:06d}{profile.ti:02d}{profile.krn:01d}FFFFFF"


def dkga02(vending_key: bytes, profile: MeterKeyProfile) -> bytes:
    if len(vending_key) != 8:
        raise VendingKeyError(
            "DKGA-02 needs a 64-bit (16 hex digits) vending key",
            "DKGA-02 exige une clé de vente de 64 bits (16 chiffres hexadécimaux)",
        )
    block = _xor(bytes.fromhex(pan_block(profile)), bytes.fromhex(control_block(profile)))
    encrypted = DES.new(vending_key, DES.MODE_ECB).encrypt(block)
    return _xor(_xor(encrypted, block), vending_key)


def _field(text: str) -> bytes:
    data = text.encode("ascii")
    return bytes([len(data)]) + data


def dkga04_message(profile: MeterKeyProfile) -> bytes:
    label = (
        _field(f"{int(Dkga.HMAC_SHA256):02d}")
        + _field(profile.base.code)
        + _field(f"{int(profile.ea):02d}")
        + _field(f"{profile.ti:02d}")
    )
    context = (
        _field(f"{profile.sgc:06d}")
        + _field(f"{profile.kt:X}")
        + _field(f"{profile.krn:X}")
        + _field(profile.pan)
    )
    bits = profile.key_bytes * 8
    return b"\x04" + label + b"\x00" + b"\x04" + context + bits.to_bytes(4, "big")


def dkga04(vending_key: bytes, profile: MeterKeyProfile) -> bytes:
    if len(vending_key) != 20:
        raise VendingKeyError(
            "DKGA-04 needs a 160-bit (40 hex digits) vending key",
            "DKGA-04 exige une clé de vente de 160 bits (40 chiffres hexadécimaux)",
        )
    digest = hmac.new(vending_key, dkga04_message(profile), hashlib.sha256).digest()
    return digest[: profile.key_bytes]


def derive_decoder_key(profile: MeterKeyProfile, vending_key: VendingKey) -> DecoderKey:
    raw = vending_key.secret()
    key = dkga02(raw, profile) if profile.dkga == Dkga.DES else dkga04(raw, profile)
    return DecoderKey(key)


def make_cipher(profile: MeterKeyProfile, decoder_key: DecoderKey) -> BlockCipher:
    raw = decoder_key.secret()
    if len(raw) != profile.key_bytes:
        raise ProfileError(
            f"EA{int(profile.ea):02d} needs a {profile.key_bytes * 8}-bit decoder key, "
            f"got {len(raw) * 8} bits",
            f"EA{int(profile.ea):02d} exige une clé de décodeur de {profile.key_bytes * 8} bits, "
            f"reçu {len(raw) * 8} bits",
        )
    if profile.ea == Ea.MISTY1:
        return Misty1Cipher(raw)
    return StaCipher(raw, load_tables(profile.tables))


KeySource = VendingKey | DecoderKey


class DecoderKeyCache:
    """LRU cache of ready-to-use ciphers per meter key, keyed by the derivation inputs, the
    table set and a one-way fingerprint of the vending/decoder key (never the key itself).
    """

    def __init__(self, maxsize: int = 10_000) -> None:
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple[object, ...], BlockCipher] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def cipher(self, profile: MeterKeyProfile, keys: KeySource) -> BlockCipher:
        cache_key = (keys.fingerprint, profile.cache_id)
        with self._lock:
            found = self._entries.get(cache_key)
            if found is not None:
                self._entries.move_to_end(cache_key)
                self.hits += 1
                return found
        decoder_key = derive_decoder_key(profile, keys) if isinstance(keys, VendingKey) else keys
        built = make_cipher(profile, decoder_key)
        with self._lock:
            self.misses += 1
            self._entries[cache_key] = built
            if len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return built


DEFAULT_CACHE = DecoderKeyCache()
