"""MISTY1 block cipher (RFC 2994), 8 rounds, used by STS as EA11.

64-bit block, 128-bit key. The STS data block is fed as 8 bytes, most significant first,
which is simply the block as a big-endian integer here.

Speed: FI is rewritten as ``w = _FI_IN[x] ^ rot7(k)`` then ``FI = _FI_OUT[w]``. ``_FI_IN``
is the S9/S7 half before the key addition (its 9- and 7-bit parts only mix by XOR, so it is
built from a 512- and a 128-entry table), ``rot7`` lays the subkey out the same way (its 9
low bits above its 7 high bits), and ``_FI_OUT`` is the S9 half after the key. Both are
65,536-entry ``array('H')`` of 128 KiB each: small enough to stay in the processor's cache,
where tuples of the same size (a pointer and an int object per entry) missed it on a loaded
machine and ran slower than four lookups in the split tables. One FI is two lookups and a
XOR instead of twelve operations, a quarter off the block. The data stays in four 16-bit
halves; the key schedule is 8 FI evaluations.
"""

from __future__ import annotations

import struct
from array import array

from .errors import ProfileError

S7 = (
    27, 50, 51, 90, 59, 16, 23, 84, 91, 26, 114, 115, 107, 44, 102, 73,
    31, 36, 19, 108, 55, 46, 63, 74, 93, 15, 64, 86, 37, 81, 28, 4,
    11, 70, 32, 13, 123, 53, 68, 66, 43, 30, 65, 20, 75, 121, 21, 111,
    14, 85, 9, 54, 116, 12, 103, 83, 40, 10, 126, 56, 2, 7, 96, 41,
    25, 18, 101, 47, 48, 57, 8, 104, 95, 120, 42, 76, 100, 69, 117, 61,
    89, 72, 3, 87, 124, 79, 98, 60, 29, 33, 94, 39, 106, 112, 77, 58,
    1, 109, 110, 99, 24, 119, 35, 5, 38, 118, 0, 49, 45, 122, 127, 97,
    80, 34, 17, 6, 71, 22, 82, 78, 113, 62, 105, 67, 52, 92, 88, 125,
)

S9 = (
    451, 203, 339, 415, 483, 233, 251, 53, 385, 185, 279, 491, 307, 9, 45, 211,
    199, 330, 55, 126, 235, 356, 403, 472, 163, 286, 85, 44, 29, 418, 355, 280,
    331, 338, 466, 15, 43, 48, 314, 229, 273, 312, 398, 99, 227, 200, 500, 27,
    1, 157, 248, 416, 365, 499, 28, 326, 125, 209, 130, 490, 387, 301, 244, 414,
    467, 221, 482, 296, 480, 236, 89, 145, 17, 303, 38, 220, 176, 396, 271, 503,
    231, 364, 182, 249, 216, 337, 257, 332, 259, 184, 340, 299, 430, 23, 113, 12,
    71, 88, 127, 420, 308, 297, 132, 349, 413, 434, 419, 72, 124, 81, 458, 35,
    317, 423, 357, 59, 66, 218, 402, 206, 193, 107, 159, 497, 300, 388, 250, 406,
    481, 361, 381, 49, 384, 266, 148, 474, 390, 318, 284, 96, 373, 463, 103, 281,
    101, 104, 153, 336, 8, 7, 380, 183, 36, 25, 222, 295, 219, 228, 425, 82,
    265, 144, 412, 449, 40, 435, 309, 362, 374, 223, 485, 392, 197, 366, 478, 433,
    195, 479, 54, 238, 494, 240, 147, 73, 154, 438, 105, 129, 293, 11, 94, 180,
    329, 455, 372, 62, 315, 439, 142, 454, 174, 16, 149, 495, 78, 242, 509, 133,
    253, 246, 160, 367, 131, 138, 342, 155, 316, 263, 359, 152, 464, 489, 3, 510,
    189, 290, 137, 210, 399, 18, 51, 106, 322, 237, 368, 283, 226, 335, 344, 305,
    327, 93, 275, 461, 121, 353, 421, 377, 158, 436, 204, 34, 306, 26, 232, 4,
    391, 493, 407, 57, 447, 471, 39, 395, 198, 156, 208, 334, 108, 52, 498, 110,
    202, 37, 186, 401, 254, 19, 262, 47, 429, 370, 475, 192, 267, 470, 245, 492,
    269, 118, 276, 427, 117, 268, 484, 345, 84, 287, 75, 196, 446, 247, 41, 164,
    14, 496, 119, 77, 378, 134, 139, 179, 369, 191, 270, 260, 151, 347, 352, 360,
    215, 187, 102, 462, 252, 146, 453, 111, 22, 74, 161, 313, 175, 241, 400, 10,
    426, 323, 379, 86, 397, 358, 212, 507, 333, 404, 410, 135, 504, 291, 167, 440,
    321, 60, 505, 320, 42, 341, 282, 417, 408, 213, 294, 431, 97, 302, 343, 476,
    114, 394, 170, 150, 277, 239, 69, 123, 141, 325, 83, 95, 376, 178, 46, 32,
    469, 63, 457, 487, 428, 68, 56, 20, 177, 363, 171, 181, 90, 386, 456, 468,
    24, 375, 100, 207, 109, 256, 409, 304, 346, 5, 288, 443, 445, 224, 79, 214,
    319, 452, 298, 21, 6, 255, 411, 166, 67, 136, 80, 351, 488, 289, 115, 382,
    188, 194, 201, 371, 393, 501, 116, 460, 486, 424, 405, 31, 65, 13, 442, 50,
    61, 465, 128, 168, 87, 441, 354, 328, 217, 261, 98, 122, 33, 511, 274, 264,
    448, 169, 285, 432, 422, 205, 243, 92, 258, 91, 473, 324, 502, 173, 165, 58,
    459, 310, 383, 70, 225, 30, 477, 230, 311, 506, 389, 140, 143, 64, 437, 190,
    120, 0, 172, 272, 350, 292, 2, 444, 162, 234, 112, 508, 278, 348, 76, 450,
)


def fi(value: int, subkey: int) -> int:
    """The 16-bit FI function: a 9-bit/7-bit unbalanced Feistel with S9 and S7."""
    left9 = value >> 7
    right7 = value & 0x7F
    left9 = S9[left9] ^ right7
    right7 = S7[right7] ^ (left9 & 0x7F)
    right7 ^= subkey >> 9
    left9 ^= subkey & 0x1FF
    left9 = S9[left9] ^ right7
    return (right7 << 9) | left9


_P = tuple((S9[high] << 7) | (S9[high] & 0x7F) for high in range(512))
_Q = tuple((low << 7) | (S7[low] ^ low) for low in range(128))
_U = tuple((low << 9) | low for low in range(128))
_FI_IN = array("H", [high ^ low for high in _P for low in _Q])
_FI_OUT = array("H", [S9[high] ^ low for high in range(512) for low in _U])


def _rot7(subkey: int) -> int:
    """The FI subkey laid out like ``_FI_IN``'s entries: 9 low bits on top, 7 high bits below."""
    return ((subkey & 0x1FF) << 7) | (subkey >> 9)


_UNPACK_KEY = struct.Struct(">8H").unpack


class Misty1Cipher:
    """MISTY1 with a 16-byte key, on 64-bit blocks given as integers."""

    __slots__ = ("_fl", "_rounds")

    def __init__(self, key: bytes) -> None:
        if len(key) != 16:
            raise ProfileError("a MISTY1 key has 16 bytes", "une clé MISTY1 a 16 octets")
        k = _UNPACK_KEY(key)
        k0, k1, k2, k3, k4, k5, k6, k7 = k
        # K'[i] = FI(K[i], K[i+1]); the FL functions use it as is, FI rotated (``d``).
        kp = [_FI_OUT[_FI_IN[k[i]] ^ _rot7(k[(i + 1) % 8])] for i in range(8)]
        d = [_rot7(x) for x in kp]
        # Per pair of rounds: FL keys of d0 and d1 (AND, OR), then the two FO rounds
        # (KO1..KO4, rotated KI1..KI3).
        self._rounds = (
            (k0, kp[6], kp[2], k4,
             k0, k2, k7, k4, d[5], d[1], d[3],
             k1, k3, k0, k5, d[6], d[2], d[4]),
            (k1, kp[7], kp[3], k5,
             k2, k4, k1, k6, d[7], d[3], d[5],
             k3, k5, k2, k7, d[0], d[4], d[6]),
            (k2, kp[0], kp[4], k6,
             k4, k6, k3, k0, d[1], d[5], d[7],
             k5, k7, k4, k1, d[2], d[6], d[0]),
            (k3, kp[1], kp[5], k7,
             k6, k0, k5, k2, d[3], d[7], d[1],
             k7, k1, k6, k3, d[4], d[0], d[2]),
        )
        self._fl = (k4, kp[2], kp[6], k0)

    def __repr__(self) -> str:
        return "Misty1Cipher(key=<masked>)"

    def encrypt(self, block: int) -> int:
        fi_in, fi_out = _FI_IN, _FI_OUT
        a, b = (block >> 48) & 0xFFFF, (block >> 32) & 0xFFFF       # D0
        c, d = (block >> 16) & 0xFFFF, block & 0xFFFF                # D1
        for (and0, or0, and1, or1, o1, o2, o3, o4, i1, i2, i3,
             p1, p2, p3, p4, j1, j2, j3) in self._rounds:
            b ^= a & and0                                           # FL(D0)
            a ^= b | or0
            d ^= c & and1                                           # FL(D1)
            c ^= d | or1
            left = fi_out[fi_in[a ^ o1] ^ i1] ^ b                       # D1 ^= FO(D0)
            right = fi_out[fi_in[b ^ o2] ^ i2] ^ left
            left = fi_out[fi_in[left ^ o3] ^ i3] ^ right
            c ^= right ^ o4
            d ^= left
            left = fi_out[fi_in[c ^ p1] ^ j1] ^ d                       # D0 ^= FO(D1)
            right = fi_out[fi_in[d ^ p2] ^ j2] ^ left
            left = fi_out[fi_in[left ^ p3] ^ j3] ^ right
            a ^= right ^ p4
            b ^= left
        and0, or0, and1, or1 = self._fl
        b ^= a & and0
        a ^= b | or0
        d ^= c & and1
        c ^= d | or1
        return (c << 48) | (d << 32) | (a << 16) | b

    def decrypt(self, block: int) -> int:
        fi_in, fi_out = _FI_IN, _FI_OUT
        c, d = (block >> 48) & 0xFFFF, (block >> 32) & 0xFFFF       # D1
        a, b = (block >> 16) & 0xFFFF, block & 0xFFFF                # D0
        and0, or0, and1, or1 = self._fl
        a ^= b | or0                                                # FL^-1(D0)
        b ^= a & and0
        c ^= d | or1                                                # FL^-1(D1)
        d ^= c & and1
        for (and0, or0, and1, or1, o1, o2, o3, o4, i1, i2, i3,
             p1, p2, p3, p4, j1, j2, j3) in reversed(self._rounds):
            left = fi_out[fi_in[c ^ p1] ^ j1] ^ d                       # D0 ^= FO(D1)
            right = fi_out[fi_in[d ^ p2] ^ j2] ^ left
            left = fi_out[fi_in[left ^ p3] ^ j3] ^ right
            a ^= right ^ p4
            b ^= left
            left = fi_out[fi_in[a ^ o1] ^ i1] ^ b                       # D1 ^= FO(D0)
            right = fi_out[fi_in[b ^ o2] ^ i2] ^ left
            left = fi_out[fi_in[left ^ o3] ^ i3] ^ right
            c ^= right ^ o4
            d ^= left
            a ^= b | or0                                            # FL^-1(D0)
            b ^= a & and0
            c ^= d | or1                                            # FL^-1(D1)
            d ^= c & and1
        return (a << 48) | (b << 32) | (c << 16) | d
