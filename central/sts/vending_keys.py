"""Vending keys and decoder keys as secrets.

A vending key is the root secret of a key revision: whoever holds it can issue credit for
every meter of that SGC. So it is only ever read from a file that only its owner can read,
or from an environment variable, and its ``repr``/``str`` never show it. Key files hold the
key in hex on one line; blank lines and lines starting with ``#`` are ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import stat
import sys
from pathlib import Path

from .errors import VendingKeyError

DEFAULT_ENV_VAR = "GUICHET_STS_VENDING_KEY"
VENDING_KEY_LENGTHS = {8: "DKGA-02 (DES, 64 bits)", 20: "DKGA-04 (HMAC-SHA-256, 160 bits)"}


def _parse_hex(text: str, what: str, lengths: tuple[int, ...]) -> bytes:
    cleaned = "".join(text.split()).removeprefix("0x").removeprefix("0X")
    try:
        raw = bytes.fromhex(cleaned)
    except ValueError:
        raise VendingKeyError(
            f"{what} is not a hexadecimal string", f"{what} : chaîne hexadécimale attendue"
        ) from None
    if len(raw) not in lengths:
        sizes = " or ".join(f"{n * 2}" for n in lengths)
        tailles = " ou ".join(f"{n * 2}" for n in lengths)
        raise VendingKeyError(
            f"{what} has {len(raw) * 2} hex digits, expected {sizes}",
            f"{what} : {len(raw) * 2} chiffres hexadécimaux, {tailles} attendus",
        )
    return raw


class _Secret:
    __slots__ = ("_key", "fingerprint", "label")
    kind = "secret"
    #: A one-way identifier of the key, used as a cache key instead of the key (made with
    #: the key: a plain attribute is read on every token, a property would run each time).
    fingerprint: bytes

    def __init__(self, key: bytes, label: str = "") -> None:
        self._key = bytes(key)
        self.label = label
        tag = f"guichet-sts-{self.kind}:".encode()
        self.fingerprint = hashlib.sha256(tag + self._key).digest()

    def secret(self) -> bytes:
        """The key bytes; call only where the key is used, never to log or display."""
        return self._key

    @property
    def bits(self) -> int:
        return len(self._key) * 8

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"{type(self).__name__}(<{self.bits}-bit {self.kind}, masked>{label})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _Secret)
        return hmac.compare_digest(self._key, other._key)

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError(f"{type(self).__name__} must not be pickled")


class VendingKey(_Secret):
    """A 64-bit (DKGA-02) or 160-bit (DKGA-04) vending key."""

    __slots__ = ()
    kind = "vending key"

    def __init__(self, key: bytes, label: str = "") -> None:
        if len(key) not in VENDING_KEY_LENGTHS:
            raise VendingKeyError(
                f"a vending key has 8 (DKGA-02) or 20 (DKGA-04) bytes, got {len(key)}",
                f"une clé de vente a 8 (DKGA-02) ou 20 (DKGA-04) octets, reçu {len(key)}",
            )
        super().__init__(key, label)

    @property
    def is_test(self) -> bool:
        return self.label.startswith("TEST")

    @classmethod
    def from_hex(cls, text: str, label: str = "") -> VendingKey:
        return cls(_parse_hex(text, "vending key", tuple(VENDING_KEY_LENGTHS)), label)

    @classmethod
    def from_env(cls, name: str = DEFAULT_ENV_VAR) -> VendingKey:
        value = os.environ.get(name)
        if not value:
            raise VendingKeyError(
                f"environment variable {name} is not set",
                f"la variable d'environnement {name} n'est pas définie",
            )
        return cls.from_hex(value, label=f"env:{name}")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> VendingKey:
        """Read a key file, refusing one that its group or other users can read (POSIX)."""
        file = Path(path)
        try:
            mode = file.stat().st_mode
            text = file.read_text("ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise VendingKeyError(
                f"cannot read vending key file {file}: {getattr(exc, 'strerror', exc)}",
                f"lecture impossible du fichier de clé {file} : {getattr(exc, 'strerror', exc)}",
            ) from None
        if os.name == "posix" and sys.platform != "cygwin" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise VendingKeyError(
                f"vending key file {file} is accessible to group/others "
                f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {file}",
                f"le fichier de clé {file} est accessible au groupe/aux autres "
                f"(mode {stat.S_IMODE(mode):04o}) ; faire : chmod 600 {file}",
            )
        lines = [ln.strip() for ln in text.splitlines()]
        keys = [ln for ln in lines if ln and not ln.startswith("#")]
        if len(keys) != 1:
            raise VendingKeyError(
                f"vending key file {file} must hold exactly one key line, found {len(keys)}",
                f"le fichier de clé {file} doit contenir une seule ligne de clé, "
                f"trouvé {len(keys)}",
            )
        return cls.from_hex(keys[0], label=f"file:{file.name}")


class DecoderKey(_Secret):
    """A meter's decoder key: 8 bytes for EA07, 16 bytes for EA11."""

    __slots__ = ()
    kind = "decoder key"

    def __init__(self, key: bytes, label: str = "") -> None:
        if len(key) not in (8, 16):
            raise VendingKeyError(
                f"a decoder key has 8 (STA) or 16 (MISTY1) bytes, got {len(key)}",
                f"une clé de décodeur a 8 (STA) ou 16 (MISTY1) octets, reçu {len(key)}",
            )
        super().__init__(key, label)

    @classmethod
    def from_hex(cls, text: str, label: str = "") -> DecoderKey:
        return cls(_parse_hex(text, "decoder key", (8, 16)), label)


#: Keys of the public STS compliance vectors (IEC 62055-41 / STS 531-1). TEST ONLY.
TEST_VENDING_KEY_DKGA02 = VendingKey(
    bytes.fromhex("abababababababab"), label="TEST KEY - public compliance vector, not secret"
)
TEST_VENDING_KEY_DKGA04 = VendingKey(
    bytes.fromhex("abababababababab949494949494949401234567"),
    label="TEST KEY - public compliance vector, not secret",
)


class VendingKeyRing:
    """The vending keys of an installation, one per key revision: SGC, KRN and DKGA.

    ``from_directory`` reads files named ``sgc<SGC>-krn<KRN>-dkga<02|04>.key`` (each one
    key, owner-only, as :meth:`VendingKey.from_file` demands). ``test_keys`` answers the
    public compliance-vector keys for every meter: for demonstrations and tests only.
    """

    def __init__(self, keys: dict[tuple[int, int, int], VendingKey] | None = None,
                 *, test_keys: bool = False) -> None:
        self._keys = dict(keys or {})
        self.test_keys = test_keys

    @classmethod
    def from_directory(cls, path: str | os.PathLike[str]) -> VendingKeyRing:
        folder = Path(path)
        if not folder.is_dir():
            raise VendingKeyError(
                f"vending key directory {folder} does not exist",
                f"le dossier des clés de vente {folder} n'existe pas",
            )
        keys: dict[tuple[int, int, int], VendingKey] = {}
        for file in sorted(folder.glob("*.key")):
            match = _KEY_FILE_NAME.fullmatch(file.name)
            if match is None:
                raise VendingKeyError(
                    f"vending key file name {file.name} is not sgc<SGC>-krn<KRN>-dkga<NN>.key",
                    f"nom de fichier de clé {file.name} : sgc<SGC>-krn<KRN>-dkga<NN>.key attendu",
                )
            sgc, krn, dkga = (int(group) for group in match.groups())
            keys[(sgc, krn, dkga)] = VendingKey.from_file(file)
        return cls(keys)

    def __len__(self) -> int:
        return len(self._keys)

    def key_for(self, sgc: int, krn: int, dkga: int) -> VendingKey:
        """The vending key of one key revision, or a :class:`VendingKeyError`."""
        if self.test_keys:
            return TEST_VENDING_KEY_DKGA02 if int(dkga) == 2 else TEST_VENDING_KEY_DKGA04
        found = self._keys.get((int(sgc), int(krn), int(dkga)))
        if found is None:
            raise VendingKeyError(
                f"no vending key for SGC {sgc:06d}, KRN {krn}, DKGA-{int(dkga):02d}",
                f"aucune clé de vente pour le SGC {sgc:06d}, KRN {krn}, DKGA-{int(dkga):02d}",
            )
        return found

    def __repr__(self) -> str:
        kind = "TEST KEYS" if self.test_keys else f"{len(self._keys)} keys"
        return f"VendingKeyRing(<{kind}, masked>)"


_KEY_FILE_NAME = re.compile(r"sgc(\d{1,6})-krn(\d{1,2})-dkga(02|04)\.key")
