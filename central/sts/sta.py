"""EA07, the Standard Transfer Algorithm (IEC 62055-41 §6.5.4).

Key alignment K0 = rotate_right(NOT DK, 12); then 16 rounds of: substitute every nibble n
with table 1 if key bit 4n+3 is 0 and table 2 otherwise, permute (output bit P[i] = input
bit i, bit 0 the least significant), rotate the key left by one.

The substitution and the permutation of one round are folded into 8 byte-indexed tables
(one per input byte, chosen by the two key bits that select that byte's tables), so a round
is one ``int.to_bytes`` and 8 lookups. Decryption regroups the inverse rounds the same way:
one inverse permutation, 15 folded "inverse-substitute then inverse-permute" rounds and a
last inverse substitution. The 8 entries of a round have disjoint bits (each is the image
of its own byte's bits), so they are added rather than OR-ed: CPython 3.11 has a fast path
for int addition and none for ``|``, which makes the rounds about a sixth faster.

Key set-up is cheap enough to do for every token: the 16 bits that pick a round's tables
(its "selector") come from the decoder key in 8 lookups for rounds 0..3, round r + 4 using
round r's selector rotated by one; a table of all 65,536 selectors' round tables, chained
by rotation, then gives the 16 rounds in 4 lookups (see :func:`selectors`).

The table set is configuration: ``real`` (production set, to be checked against the one
obtained from the STS Association) or ``sample`` (printed in the standard for testing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from itertools import chain, product

from .errors import ProfileError

MASK64 = (1 << 64) - 1
TABLE_SETS = ("real", "sample")

ByteTable = tuple[int, ...]
RoundTables = tuple[ByteTable, ByteTable, ByteTable, ByteTable,
                    ByteTable, ByteTable, ByteTable, ByteTable]


def _inverse(values: tuple[int, ...]) -> tuple[int, ...]:
    result = [0] * len(values)
    for index, value in enumerate(values):
        result[value] = index
    return tuple(result)


@dataclass(frozen=True)
class StaTables:
    name: str
    substitution_1: tuple[int, ...]
    substitution_2: tuple[int, ...]
    permutation: tuple[int, ...]

    def __post_init__(self) -> None:
        for label, table, size in (
            ("substitution_1", self.substitution_1, 16),
            ("substitution_2", self.substitution_2, 16),
            ("permutation", self.permutation, 64),
        ):
            if sorted(table) != list(range(size)):
                raise ProfileError(
                    f"STA table set {self.name!r}: {label} is not a permutation of 0..{size - 1}",
                    f"jeu de tables STA {self.name!r} : {label} n'est pas une permutation",
                )

    @cached_property
    def compiled(self) -> _Compiled:
        """The folded round tables of this set (built once per set)."""
        return _compile(self)


def _tuple_of_ints(data: dict[str, object], key: str) -> tuple[int, ...]:
    values = data[key]
    if not isinstance(values, list) or not all(isinstance(v, int) for v in values):
        raise ProfileError(f"STA table field {key} is malformed", f"table STA {key} malformée")
    return tuple(values)


@cache
def load_tables(name: str) -> StaTables:
    """Load a shipped table set (``real`` or ``sample``) and check its stored inverses."""
    if name not in TABLE_SETS:
        raise ProfileError(
            f"unknown STA table set {name!r} (expected real or sample)",
            f"jeu de tables STA inconnu {name!r} (real ou sample attendu)",
        )
    text = resources.files(__package__).joinpath("data", f"sta_{name}.json").read_text("utf-8")
    data = json.loads(text)
    tables = StaTables(
        name=name,
        substitution_1=_tuple_of_ints(data, "substitution_1"),
        substitution_2=_tuple_of_ints(data, "substitution_2"),
        permutation=_tuple_of_ints(data, "permutation"),
    )
    for key, table in (
        ("inverse_permutation", tables.permutation),
        ("inverse_substitution_1", tables.substitution_1),
        ("inverse_substitution_2", tables.substitution_2),
    ):
        if key in data and _tuple_of_ints(data, key) != _inverse(table):
            raise ProfileError(
                f"STA table set {name!r}: {key} does not invert its table",
                f"jeu de tables STA {name!r} : {key} n'est pas l'inverse de sa table",
            )
    return tables


def _permute_byte_tables(permutation: tuple[int, ...]) -> tuple[ByteTable, ...]:
    """For each byte position j: value v -> permuted contribution of (v << 8j)."""
    per_byte = []
    for j in range(8):
        table = []
        for value in range(256):
            out = 0
            for bit in range(8):
                if value >> bit & 1:
                    out |= 1 << permutation[8 * j + bit]
            table.append(out)
        per_byte.append(tuple(table))
    return tuple(per_byte)


def _substitute_byte(value: int, combo: int, tables: tuple[tuple[int, ...], ...]) -> int:
    """Substitute both nibbles of a byte; bit 0 of ``combo`` picks the low nibble's table."""
    low = tables[combo & 1][value & 0xF]
    high = tables[combo >> 1][value >> 4]
    return (high << 4) | low


def _rotl16(value: int, count: int) -> int:
    return ((value << count) | (value >> (16 - count))) & 0xFFFF if count else value


def _by_selector(per_byte: tuple[tuple[ByteTable, ...], ...]) -> list[RoundTables]:
    """All 65,536 table choices of one round, indexed by the round's 16-bit selector.

    Entry ``s`` holds the tables of bytes 0..7, byte j taking its combo from selector bits
    2j and 2j+1. ``itertools.product`` over bytes 7..0 enumerates them in index order.
    """
    return [t[::-1] for t in product(*(per_byte[j] for j in range(7, -1, -1)))]  # type: ignore[misc]


@dataclass(frozen=True)
class _Compiled:
    """Round tables of one table set, indexed by 16-bit round selectors (built lazily)."""

    encrypt: tuple[tuple[ByteTable, ...], ...]          # [byte][combo] S then P
    first_decrypt: RoundTables                         # [byte] P^-1 alone
    middle_decrypt: tuple[tuple[ByteTable, ...], ...]  # [byte][combo] S^-1 then P^-1
    last_decrypt: tuple[tuple[ByteTable, ...], ...]    # [byte][combo] S^-1 alone

    @cached_property
    def encrypt_chains(self) -> list[tuple[RoundTables, ...]]:
        """[s] -> round tables for selectors s, rotl(s, 1), rotl(s, 2), rotl(s, 3)."""
        full = _by_selector(self.encrypt)
        return [tuple(full[_rotl16(s, k)] for k in range(4)) for s in range(1 << 16)]

    @cached_property
    def decrypt_chains(self) -> list[tuple[RoundTables, ...]]:
        """[s] -> inverse round tables for selectors rotl(s, 3), rotl(s, 2), rotl(s, 1), s."""
        full = _by_selector(self.middle_decrypt)
        return [tuple(full[_rotl16(s, k)] for k in range(3, -1, -1)) for s in range(1 << 16)]

    @cached_property
    def decrypt_last(self) -> list[RoundTables]:
        return _by_selector(self.last_decrypt)


@cache
def _compile(tables: StaTables) -> _Compiled:
    forward = (tables.substitution_1, tables.substitution_2)
    backward = (_inverse(tables.substitution_1), _inverse(tables.substitution_2))
    perm = _permute_byte_tables(tables.permutation)
    inverse_perm = _permute_byte_tables(_inverse(tables.permutation))
    encrypt = tuple(
        tuple(tuple(perm[j][_substitute_byte(v, c, forward)] for v in range(256)) for c in range(4))
        for j in range(8)
    )
    middle = tuple(
        tuple(
            tuple(inverse_perm[j][_substitute_byte(v, c, backward)] for v in range(256))
            for c in range(4)
        )
        for j in range(8)
    )
    last = tuple(
        tuple(tuple(_substitute_byte(v, c, backward) << (8 * j) for v in range(256))
              for c in range(4))
        for j in range(8)
    )
    return _Compiled(encrypt, inverse_perm, middle, last)  # type: ignore[arg-type]


def round_keys(decoder_key: int) -> tuple[int, ...]:
    """K_0..K_15: K_0 = rotate_right_64(NOT DK, 12), then one left rotation per round."""
    key = ~decoder_key & MASK64
    key = ((key >> 12) | (key << 52)) & MASK64
    keys = []
    for _ in range(16):
        keys.append(key)
        key = ((key << 1) | (key >> 63)) & MASK64
    return tuple(keys)


def _selector_tables() -> tuple[tuple[int, ...], ...]:
    """Per decoder key byte j: byte value -> its bits of the four packed round selectors.

    The selector of round r has bit n = bit 4n+3 of K_r (the bit that picks nibble n's
    substitution table). K_r = rotl(rotr(NOT DK, 12), r), so that is bit 4(n+3) + 3-r
    (mod 64) of NOT DK: selectors 0..3 gather every fourth bit of NOT DK, and selector
    r + 4 is selector r rotated left by one (16 bits). Selector r goes to bits 16r..16r+15.
    """
    tables = []
    for j in range(8):
        table = []
        for value in range(256):
            packed = 0
            for bit in range(8):
                if not value >> bit & 1:                     # NOT DK
                    r = 3 - bit % 4
                    n = (2 * j + bit // 4 - 3) % 16
                    packed |= 1 << (16 * r + n)
            table.append(packed)
        tables.append(tuple(table))
    return tuple(tables)


_G0, _G1, _G2, _G3, _G4, _G5, _G6, _G7 = _selector_tables()


def selectors(decoder_key: int) -> tuple[int, int, int, int]:
    """The 16-bit table selectors of rounds 0..3 (round 4k+r uses selector r rotated by k)."""
    b0, b1, b2, b3, b4, b5, b6, b7 = decoder_key.to_bytes(8, "little")
    packed = (_G0[b0] | _G1[b1] | _G2[b2] | _G3[b3] | _G4[b4] | _G5[b5] | _G6[b6]
              | _G7[b7])
    return (packed & 0xFFFF, (packed >> 16) & 0xFFFF, (packed >> 32) & 0xFFFF, packed >> 48)


class StaCipher:
    """EA07 for one 64-bit decoder key.

    The key set-up is 8 table lookups (the four round selectors); the 16 rounds' tables
    of each direction are picked on the first encryption or decryption, so a cipher built
    for one token costs little and a cached one runs at full speed.
    """

    __slots__ = ("_compiled", "_decrypt_rounds", "_encrypt_rounds", "_selectors", "_used",
                 "tables_name")

    def __init__(self, decoder_key: int | bytes, tables: StaTables) -> None:
        if isinstance(decoder_key, bytes):
            if len(decoder_key) != 8:
                raise ProfileError("an STA decoder key has 8 bytes", "une clé STA a 8 octets")
            decoder_key = int.from_bytes(decoder_key, "big")
        self._compiled = tables.compiled
        self._selectors = selectors(decoder_key)
        self._encrypt_rounds: tuple[RoundTables, ...] | None = None
        self._decrypt_rounds: tuple[RoundTables, ...] | None = None
        self._used = 0
        self.tables_name = tables.name

    def __repr__(self) -> str:
        return f"StaCipher(tables={self.tables_name!r}, key=<masked>)"

    def _keep(self, rounds: tuple[RoundTables, ...], used: int) -> tuple[RoundTables, ...] | None:
        """The schedule to store, from the second use of a direction on: the rounds' tables
        copied into this cipher's own tuples. The shared ones are scattered over the chain
        table, and with thousands of cached ciphers each round would miss the processor's
        cache; a cipher built for one token never pays for the copy."""
        if not self._used & used:
            self._used |= used
            return None
        return tuple(tuple(list(tables)) for tables in rounds)  # type: ignore[misc]

    def _encrypt_schedule(self) -> tuple[RoundTables, ...]:
        chains = self._compiled.encrypt_chains
        s0, s1, s2, s3 = self._selectors
        rounds = tuple(chain.from_iterable(
            zip(chains[s0], chains[s1], chains[s2], chains[s3], strict=True)))
        self._encrypt_rounds = self._keep(rounds, 1)
        return rounds

    def _decrypt_schedule(self) -> tuple[RoundTables, ...]:
        compiled = self._compiled
        chains = compiled.decrypt_chains
        s0, s1, s2, s3 = self._selectors
        # Rounds 15..1 with the inverse tables, then round 0's inverse substitution alone.
        rounds = list(chain.from_iterable(
            zip(chains[s3], chains[s2], chains[s1], chains[s0], strict=True)))
        rounds[-1] = compiled.decrypt_last[s0]
        schedule = tuple(rounds)
        self._decrypt_rounds = self._keep(schedule, 2)
        return schedule

    def encrypt(self, block: int) -> int:
        rounds = self._encrypt_rounds or self._encrypt_schedule()
        x = block
        for t0, t1, t2, t3, t4, t5, t6, t7 in rounds:
            b0, b1, b2, b3, b4, b5, b6, b7 = x.to_bytes(8, "little")
            x = t0[b0] + t1[b1] + t2[b2] + t3[b3] + t4[b4] + t5[b5] + t6[b6] + t7[b7]
        return x

    def decrypt(self, block: int) -> int:
        rounds = self._decrypt_rounds or self._decrypt_schedule()
        t0, t1, t2, t3, t4, t5, t6, t7 = self._compiled.first_decrypt
        b0, b1, b2, b3, b4, b5, b6, b7 = block.to_bytes(8, "little")
        x = t0[b0] + t1[b1] + t2[b2] + t3[b3] + t4[b4] + t5[b5] + t6[b6] + t7[b7]
        for t0, t1, t2, t3, t4, t5, t6, t7 in rounds:
            b0, b1, b2, b3, b4, b5, b6, b7 = x.to_bytes(8, "little")
            x = t0[b0] + t1[b1] + t2[b2] + t3[b3] + t4[b4] + t5[b5] + t6[b6] + t7[b7]
        return x
