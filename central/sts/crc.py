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


def sts_crc_c(head: int) -> int:
    """CRC_C of Ed. 3 currency tokens: the same CRC with one extra 0x01 byte appended."""
    return _swap(crc16_modbus(head.to_bytes(7, "big") + b"\x01"))
