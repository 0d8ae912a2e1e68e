"""Bit layouts of the 64-bit data block, the class-bit transposition and the 20 digits.

The 66-bit TokenData is Class (2) followed by a 64-bit block whose last 16 bits are the
CRC of everything before them. Only the 64-bit block is encrypted; afterwards bits 28 and
27 of the ciphertext move to bits 65 and 64 and the class takes their place (§6.4.2).

Block layouts (bit 63 first):

* TID family (class 0, class 2 subclasses 0, 1, 2, 5, 6):
  subclass 4 | RND 4 | TID 24 | value 16 | CRC 16
* key change 1st section (class 2 sub 3): 3 | KENHO 4 | KRN 4 | RO 1 | res 1 | KT 2 | NKHO 32 | CRC
* key change 2nd section (class 2 sub 4): 4 | KENLO 4 | TI 8 (binary) | NKLO 32 | CRC
* key change 3rd/4th section (class 2 sub 8/9): sub | SGC half 12 | key word 32 | CRC
* class 1 subclass 0: 0 | control 36 | MfrCode 8 | CRC
* class 1 subclass 1: 1 | control 28 | MfrCode 16 | CRC
"""

from __future__ import annotations

from dataclasses import dataclass

from .crc import sts_crc
from .errors import TokenFormatError, TokenRangeError

MASK64 = (1 << 64) - 1
MAX_TOKEN = (1 << 66) - 1
TOKEN_DIGITS = 20
_CLASS_BITS = 3 << 27


def seal(token_class: int, block: int) -> int:
    """Fill the CRC field (bits 15..0) of ``block`` for ``token_class``."""
    body = block & ~0xFFFF & MASK64
    return body | sts_crc((token_class << 48) | (body >> 16))


def crc_matches(token_class: int, block: int) -> bool:
    return sts_crc((token_class << 48) | (block >> 16)) == block & 0xFFFF


def transpose(ciphertext: int, token_class: int) -> int:
    """66-bit token number from the encrypted block and the (clear) class."""
    moved = (ciphertext >> 27) & 3
    return (moved << 64) | (ciphertext & ~_CLASS_BITS & MASK64) | (token_class << 27)


def untranspose(number: int) -> tuple[int, int]:
    """(class, encrypted block) from a 66-bit token number."""
    token_class = (number >> 27) & 3
    block = (number & ~_CLASS_BITS & MASK64) | ((number >> 64) << 27)
    return token_class, block


def tid_block(subclass: int, rnd: int, tid: int, value: int) -> int:
    return (subclass << 60) | (rnd << 56) | (tid << 32) | (value << 16)


@dataclass(frozen=True)
class TidFields:
    subclass: int
    rnd: int
    tid: int
    value: int
    crc: int


def read_tid_block(block: int) -> TidFields:
    return TidFields(
        block >> 60, (block >> 56) & 0xF, (block >> 32) & 0xFFFFFF, (block >> 16) & 0xFFFF,
        block & 0xFFFF,
    )


def kct1_block(ken_high: int, krn: int, rollover: bool, kt: int, key_word: int) -> int:
    return ((3 << 60) | (ken_high << 56) | (krn << 52) | (int(rollover) << 51) | (kt << 48)
            | (key_word << 16))


def kct2_block(ken_low: int, ti: int, key_word: int) -> int:
    return (4 << 60) | (ken_low << 56) | (ti << 48) | (key_word << 16)


def kct_sgc_block(subclass: int, sgc_half: int, key_word: int) -> int:
    return (subclass << 60) | (sgc_half << 48) | (key_word << 16)


def class1_block(subclass: int, control: int, mfr_code: int) -> int:
    if subclass == 0:
        return (control << 24) | (mfr_code << 16)
    return (1 << 60) | (control << 32) | (mfr_code << 16)


def token_digits(number: int) -> str:
    return f"{number:0{TOKEN_DIGITS}d}"


def group_digits(digits: str) -> str:
    """``12345678901234567890`` -> ``1234 5678 9012 3456 7890``."""
    return " ".join(digits[i:i + 4] for i in range(0, len(digits), 4))


def parse_token(text: str) -> int:
    """The 66-bit number of a typed token; spaces and hyphens between groups are allowed."""
    digits = "".join(str(text).split()).replace("-", "")
    if not (digits.isascii() and digits.isdigit()) or len(digits) != TOKEN_DIGITS:
        shown = digits if len(digits) <= 40 else digits[:40] + "..."
        raise TokenFormatError(
            f"a token has exactly 20 digits; got {len(digits)} characters ({shown!r})",
            f"un jeton compte exactement 20 chiffres ; reçu {len(digits)} caractères "
            f"({shown!r})",
        )
    number = int(digits)
    if number > MAX_TOKEN:
        raise TokenRangeError(
            f"token {digits} is above 2^66-1 = {MAX_TOKEN}, so it cannot be an STS token",
            f"le jeton {digits} dépasse 2^66-1 = {MAX_TOKEN} : ce n'est pas un jeton STS",
        )
    return number
