"""EA07, the Standard Transfer Algorithm (IEC 62055-41 §6.5.4).

Key alignment K0 = rotate_right(NOT DK, 12); then 16 rounds of: substitute every nibble n
with table 1 if key bit 4n+3 is 0 and table 2 otherwise, permute (output bit P[i] = input
bit i, bit 0 the least significant), rotate the key left by one.

The substitution and the permutation of one round are folded into 8 byte-indexed tables
(one per input byte, chosen by the two key bits that select that byte's tables), so a round
is one ``int.to_bytes`` and 8 lookups. Decryption regroups the inverse rounds the same way:
one inverse permutation, 15 folded "inverse-substitute then inverse-permute" rounds and a
last inverse substitution.

The table set is configuration: ``real`` (production set, to be checked against the one
obtained from the STS Association) or ``sample`` (printed in the standard for testing).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

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


@dataclass(frozen=True)
class _Compiled:
    encrypt: tuple[tuple[ByteTable, ...], ...]          # [byte][combo] S then P
    first_decrypt: tuple[ByteTable, ...]               # [byte] P^-1 alone
    middle_decrypt: tuple[tuple[ByteTable, ...], ...]  # [byte][combo] S^-1 then P^-1
    last_decrypt: tuple[tuple[ByteTable, ...], ...]    # [byte][combo] S^-1 alone


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
    return _Compiled(encrypt, inverse_perm, middle, last)


def round_keys(decoder_key: int) -> tuple[int, ...]:
    """K_0..K_15: K_0 = rotate_right_64(NOT DK, 12), then one left rotation per round."""
    key = ~decoder_key & MASK64
    key = ((key >> 12) | (key << 52)) & MASK64
    keys = []
    for _ in range(16):
        keys.append(key)
        key = ((key << 1) | (key >> 63)) & MASK64
    return tuple(keys)


def _combos(key: int) -> list[int]:
    """Per byte j, the table choice: bit 0 = key bit 8j+3, bit 1 = key bit 8j+7."""
    return [((key >> (8 * j + 3)) & 1) | (((key >> (8 * j + 7)) & 1) << 1) for j in range(8)]


def _schedule(
    per_byte: tuple[tuple[ByteTable, ...], ...], keys: tuple[int, ...]
) -> tuple[RoundTables, ...]:
    rounds = []
    for key in keys:
        c = _combos(key)
        rounds.append(
            (per_byte[0][c[0]], per_byte[1][c[1]], per_byte[2][c[2]], per_byte[3][c[3]],
             per_byte[4][c[4]], per_byte[5][c[5]], per_byte[6][c[6]], per_byte[7][c[7]])
        )
    return tuple(rounds)


class StaCipher:
    """EA07 for one 64-bit decoder key; build once per key and reuse (it is cached)."""

    __slots__ = ("_decrypt_first", "_decrypt_last", "_decrypt_rounds", "_encrypt_rounds",
                 "tables_name")

    def __init__(self, decoder_key: int | bytes, tables: StaTables) -> None:
        if isinstance(decoder_key, bytes):
            if len(decoder_key) != 8:
                raise ProfileError("an STA decoder key has 8 bytes", "une clé STA a 8 octets")
            decoder_key = int.from_bytes(decoder_key, "big")
        compiled = _compile(tables)
        keys = round_keys(decoder_key)
        self.tables_name = tables.name
        self._encrypt_rounds = _schedule(compiled.encrypt, keys)
        self._decrypt_first = compiled.first_decrypt
        self._decrypt_rounds = _schedule(compiled.middle_decrypt, keys[:0:-1])
        self._decrypt_last = _schedule(compiled.last_decrypt, keys[:1])[0]

    def __repr__(self) -> str:
        return f"StaCipher(tables={self.tables_name!r}, key=<masked>)"

    def encrypt(self, block: int) -> int:
        x = block
        for t0, t1, t2, t3, t4, t5, t6, t7 in self._encrypt_rounds:
            b0, b1, b2, b3, b4, b5, b6, b7 = x.to_bytes(8, "little")
            x = t0[b0] | t1[b1] | t2[b2] | t3[b3] | t4[b4] | t5[b5] | t6[b6] | t7[b7]
        return x

    def decrypt(self, block: int) -> int:
        t0, t1, t2, t3, t4, t5, t6, t7 = self._decrypt_first
        b0, b1, b2, b3, b4, b5, b6, b7 = block.to_bytes(8, "little")
        x = t0[b0] | t1[b1] | t2[b2] | t3[b3] | t4[b4] | t5[b5] | t6[b6] | t7[b7]
        for t0, t1, t2, t3, t4, t5, t6, t7 in self._decrypt_rounds:
            b0, b1, b2, b3, b4, b5, b6, b7 = x.to_bytes(8, "little")
            x = t0[b0] | t1[b1] | t2[b2] | t3[b3] | t4[b4] | t5[b5] | t6[b6] | t7[b7]
        t0, t1, t2, t3, t4, t5, t6, t7 = self._decrypt_last
        b0, b1, b2, b3, b4, b5, b6, b7 = x.to_bytes(8, "little")
        return t0[b0] | t1[b1] | t2[b2] | t3[b3] | t4[b4] | t5[b5] | t6[b6] | t7[b7]
