"""Token CRC (IEC 62055-41 §6.3.7).

Polynomial x^16 + x^15 + x^2 + 1 over the 50 data bits left-padded to 56 bits, register
initialised to 0xFFFF. Fed as 7 bytes, most significant first, through the reflected
(right-shifting, 0xA001) form - the CRC-16/MODBUS parameters - the vectors only come out
when the 16-bit register is byte-swapped before it goes into the CRC field.
"""

from __future__ import annotations


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        reg = byte
        for _ in range(8):
            reg = (reg >> 1) ^ 0xA001 if reg & 1 else reg >> 1
        table.append(reg)
    return tuple(table)


_TABLE = _make_table()
#: The byte table of the reflected 0xA001 CRC, for callers that inline :func:`sts_crc`.
CRC_TABLE = _TABLE


def crc16_modbus(data: bytes) -> int:
    """Plain CRC-16/MODBUS register (no byte swap)."""
    reg = 0xFFFF
    for byte in data:
        reg = (reg >> 8) ^ _TABLE[(reg ^ byte) & 0xFF]
    return reg


def _swap(reg: int) -> int:
    return ((reg & 0xFF) << 8) | (reg >> 8)


def sts_crc(head: int) -> int:
    """CRC field for the 56-bit value ``head`` (class, subclass and the 44 payload bits)."""
    t = _TABLE
    reg = 0xFF ^ t[(0xFF ^ (head >> 48)) & 0xFF]
    reg = (reg >> 8) ^ t[(reg ^ (head >> 40)) & 0xFF]
    reg = (reg >> 8) ^ t[(reg ^ (head >> 32)) & 0xFF]
    reg = (reg >> 8) ^ t[(reg ^ (head >> 24)) & 0xFF]
    reg = (reg >> 8) ^ t[(reg ^ (head >> 16)) & 0xFF]
    reg = (reg >> 8) ^ t[(reg ^ (head >> 8)) & 0xFF]
    reg = (reg >> 8) ^ t[(reg ^ head) & 0xFF]
    return ((reg & 0xFF) << 8) | (reg >> 8)


def _linear_table(size: int, shift: int) -> list[int]:
    """CRC field contribution of ``index << shift`` alone, for every index below ``size``.

    The CRC is affine over GF(2) (and so is the final byte swap): the CRC of a value is
    the CRC of zero XOR the contributions of its parts. Built by linearity from the single
    bits: entry i = entry (i without its lowest bit) XOR the lowest bit's contribution."""
    zero = sts_crc(0)
    table = [0] * size
    for i in range(1, size):
        low = i & -i
        table[i] = table[i ^ low] ^ sts_crc(low << shift) ^ zero
    return table


class TidCrc:
    """The CRC field of a TID-family block from its fields, in five table lookups:
    ``crc = ZERO ^ HEAD[class|sub|rnd] ^ TID_HIGH[tid >> 12] ^ TID_LOW[tid & 0xFFF]
    ^ VALUE_HIGH[value >> 8] ^ VALUE_LOW[value & 0xFF]``; 9,728 entries, built on first use."""

    def __init__(self) -> None:
        self.zero = sts_crc(0)
        self.head = _linear_table(1 << 10, 40)       # class (2) | subclass (4) | RND (4)
        self.tid_high = _linear_table(1 << 12, 28)
        self.tid_low = _linear_table(1 << 12, 16)
        self.value_high = _linear_table(1 << 8, 8)
        self.value_low = _linear_table(1 << 8, 0)


_TID_CRC: TidCrc | None = None


def tid_crc_tables() -> TidCrc:
    global _TID_CRC
    if _TID_CRC is None:
        _TID_CRC = TidCrc()
    return _TID_CRC


def sts_crc_c(head: int) -> int:
    """CRC_C of Ed. 3 currency tokens: the same CRC with one extra 0x01 byte appended."""
    return _swap(crc16_modbus(head.to_bytes(7, "big") + b"\x01"))
