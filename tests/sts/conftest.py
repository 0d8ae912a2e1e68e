"""Shared fixtures of the STS tests: the public compliance-vector meters and keys.

The repository root is put on ``sys.path`` so ``central.sts`` imports without installing
the project (tests/sts has no ``__init__.py`` on purpose).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from central.sts.keys import DecoderKeyCache  # noqa: E402
from central.sts.profile import MeterKeyProfile  # noqa: E402

PAN_1 = "600727000000000009"
PAN_2 = "000001000000000082"


@pytest.fixture
def profile_a1() -> MeterKeyProfile:
    """Vector A: DKGA-02, STA real tables, SGC 123456, TI 01, KRN 1, KT 2, base 1993."""
    return MeterKeyProfile(pan=PAN_1, sgc=123456, ti=1, krn=1, kt=2)


@pytest.fixture
def profile_b() -> MeterKeyProfile:
    """Vector B: DKGA-04 + STA, SGC 123457."""
    return MeterKeyProfile(pan=PAN_1, sgc=123457, ti=1, krn=1, kt=2, dkga=4, ea=7)


@pytest.fixture
def profile_c() -> MeterKeyProfile:
    """Vector C: DKGA-04 + MISTY1 (EA11)."""
    return MeterKeyProfile(pan=PAN_1, sgc=123457, ti=1, krn=1, kt=2, dkga=4, ea=11)


@pytest.fixture
def cache() -> DecoderKeyCache:
    return DecoderKeyCache()
