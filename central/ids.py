"""Fast time-ordered row ids for bulk writes."""

from __future__ import annotations

import os
import time
import uuid

_new = object.__new__
_set = object.__setattr__
_UNKNOWN = uuid.SafeUUID.unknown


class IdMaker:
    """UUIDv7-shaped ids at a fraction of the cost of ``uuid6.uuid7()``: the millisecond clock
    (48 bits), version 7, 12 random bits, the variant, then a 62-bit counter that starts at a
    random point below 2**61. Ids are unique, time-ordered, and fill B-tree indexes in order.
    ``start_batch`` reads the clock again (once per transaction)."""

    def __init__(self) -> None:
        self._ms = 0
        self._next = 0
        self.start_batch()

    def start_batch(self) -> None:
        self._ms = max(self._ms + 1, time.time_ns() // 1_000_000)
        rand_a = int.from_bytes(os.urandom(2)) & 0xFFF
        counter = int.from_bytes(os.urandom(8)) >> 3
        self._next = (self._ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | counter

    def __call__(self) -> uuid.UUID:
        self._next += 1
        made: uuid.UUID = _new(uuid.UUID)
        _set(made, "int", self._next)
        _set(made, "is_safe", _UNKNOWN)
        return made
