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


def dkga02_block(profile: MeterKeyProfile) -> int:
    """X = PANBlock XOR CONTROLBlock, the block DKGA-02 encrypts, as a 64-bit integer."""
    return int(pan_block(profile), 16) ^ int(control_block(profile), 16)


def dkga02(vending_key: bytes, profile: MeterKeyProfile) -> bytes:
    if len(vending_key) != 8:
        raise VendingKeyError(
            "DKGA-02 needs a 64-bit (16 hex digits) vending key",
            "DKGA-02 exige une clé de vente de 64 bits (16 chiffres hexadécimaux)",
        )
    block = profile.dkga02_block.to_bytes(8, "big")
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
    digest = hmac.new(vending_key, profile.dkga04_message, hashlib.sha256).digest()
    return digest[: profile.key_bytes]


KeySource = VendingKey | DecoderKey


class _Deriver:
    """Per vending key, what every derivation with it reuses: the DES cipher keyed with it
    (DKGA-02) or the HMAC-SHA-256 inner and outer states after the padded key (DKGA-04,
    RFC 2104's own precomputation). Held only by :data:`_DERIVERS`, keyed by fingerprint.
    """

    __slots__ = ("des_encrypt", "inner", "key_int", "outer")

    def __init__(self, raw: bytes) -> None:
        self.key_int = int.from_bytes(raw, "big")
        self.des_encrypt = DES.new(raw, DES.MODE_ECB).encrypt if len(raw) == 8 else None
        self.inner = self.outer = None
        if len(raw) == 20:
            padded = raw.ljust(64, b"\x00")
            self.inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
            self.outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))


_DERIVERS: dict[bytes, _Deriver] = {}
_DERIVERS_MAX = 64


def _deriver(vending_key: VendingKey) -> _Deriver:
    found = _DERIVERS.get(vending_key.fingerprint)
    if found is None:
        if len(_DERIVERS) >= _DERIVERS_MAX:
            _DERIVERS.clear()
        found = _DERIVERS[vending_key.fingerprint] = _Deriver(vending_key.secret())
    return found


def derive_key_int(profile: MeterKeyProfile, vending_key: VendingKey) -> int:
    """The decoder key as a big-endian integer (the per-token fast path).

    DKGA-02: DK = DES_VK(X) XOR X XOR VK. DKGA-04: the first 8 or 16 bytes of
    HMAC-SHA-256(VK, message)."""
    deriver = _DERIVERS.get(vending_key.fingerprint) or _deriver(vending_key)
    if profile.dkga == Dkga.DES:
        encrypt = deriver.des_encrypt
        if encrypt is None:
            return int.from_bytes(dkga02(vending_key.secret(), profile), "big")  # length error
        x = profile.dkga02_block
        return int.from_bytes(encrypt(x.to_bytes(8, "big")), "big") ^ x ^ deriver.key_int
    if deriver.inner is None or deriver.outer is None:
        return int.from_bytes(dkga04(vending_key.secret(), profile), "big")  # length error
    inner = deriver.inner.copy()
    inner.update(profile.dkga04_message)
    outer = deriver.outer.copy()
    outer.update(inner.digest())
    return int.from_bytes(outer.digest()[: profile.key_bytes], "big")


def derive_decoder_key(profile: MeterKeyProfile, vending_key: VendingKey) -> DecoderKey:
    return DecoderKey(derive_key_int(profile, vending_key).to_bytes(profile.key_bytes, "big"))


def _cipher_for(profile: MeterKeyProfile, key: int) -> BlockCipher:
    if profile.ea == Ea.MISTY1:
        return Misty1Cipher(key.to_bytes(16, "big"))
    return StaCipher(key, load_tables(profile.tables))


def make_cipher(profile: MeterKeyProfile, decoder_key: DecoderKey) -> BlockCipher:
    raw = decoder_key.secret()
    if len(raw) != profile.key_bytes:
        raise ProfileError(
            f"EA{int(profile.ea):02d} needs a {profile.key_bytes * 8}-bit decoder key, "
            f"got {len(raw) * 8} bits",
            f"EA{int(profile.ea):02d} exige une clé de décodeur de {profile.key_bytes * 8} bits, "
            f"reçu {len(raw) * 8} bits",
        )
    return _cipher_for(profile, int.from_bytes(raw, "big"))


def build_cipher(profile: MeterKeyProfile, keys: KeySource) -> BlockCipher:
    """A cipher for ``profile``: the decoder key derived from a vending key, or given."""
    if isinstance(keys, VendingKey):
        return _cipher_for(profile, derive_key_int(profile, keys))
    return make_cipher(profile, keys)



class DecoderKeyCache:
    """LRU cache of ready-to-use ciphers per meter key, keyed by the derivation inputs and
    the table set (``profile.cache_id``), each entry holding the one-way fingerprint of the
    vending/decoder key it was made with (never the key itself): a hit needs the same
    fingerprint, a meter asked for with another key is a miss that replaces its entry.

    ``maxsize=0`` caches nothing: every token derives its meter's key (what a platform with
    more meters than it can keep keys for does); ``misses`` still counts the derivations.
    """

    def __init__(self, maxsize: int = 10_000) -> None:
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[str, tuple[bytes, BlockCipher]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def cipher(self, profile: MeterKeyProfile, keys: KeySource) -> BlockCipher:
        if not self.maxsize:
            self.misses += 1
            return build_cipher(profile, keys)
        cache_id = profile.cache_id
        entries = self._entries
        found = entries.get(cache_id)
        # The string key's hash is kept by the string and found by identity, where a tuple
        # of (fingerprint, cache id) was hashed and compared item by item at every look-up.
        if found is not None and found[0] == keys.fingerprint:
            # No lock on a hit: each call is atomic; an entry evicted between the two by
            # another thread is simply not moved to the end. (try/except: a hit is the
            # hot path and contextlib.suppress costs a context manager per token.)
            try:  # noqa: SIM105
                entries.move_to_end(cache_id)
            except KeyError:
                pass
            self.hits += 1
            return found[1]
        built = build_cipher(profile, keys)
        with self._lock:
            self.misses += 1
            self._entries[cache_id] = (keys.fingerprint, built)
            self._entries.move_to_end(cache_id)
            if len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return built


DEFAULT_CACHE = DecoderKeyCache()
