"""Fast time-ordered row ids for bulk writes."""

from __future__ import annotations

import os
import time
import uuid

_LOW_62 = (1 << 62) - 1


class IdMaker:
    """UUIDv7-shaped ids at a fraction of the cost of ``uuid6.uuid7()``: the millisecond clock in
    the top 48 bits, then a counter that starts at a random point (72 random bits), so ids are
    unique, time-ordered and compact in B-tree indexes. ``start_batch`` reads the clock again."""

    def __init__(self) -> None:
        self._ms = 0
        self._counter = 0
        self.start_batch()

    def start_batch(self) -> None:
        self._ms = max(self._ms + 1, time.time_ns() // 1_000_000)
        self._counter = int.from_bytes(os.urandom(9))

    def __call__(self) -> uuid.UUID:
        self._counter += 1
        value = self._counter
        return uuid.UUID(
            int=(self._ms << 80) | (0x7 << 76) | (((value >> 62) & 0xFFF) << 64)
            | (0b10 << 62) | (value & _LOW_62)
        )
