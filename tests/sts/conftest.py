"""Shared fixtures of the STS tests: the public compliance-vector meters.

The repository root is put on ``sys.path`` so ``central.sts`` imports without installing
the project (tests/sts has no ``__init__.py`` on purpose); the fixtures import lazily for
the same reason.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from central.sts.profile import MeterKeyProfile


def _profile(**fields: object) -> MeterKeyProfile:
    from central.sts.profile import MeterKeyProfile

    return MeterKeyProfile(**fields)  # type: ignore[arg-type]


@pytest.fixture
def profile_a1() -> MeterKeyProfile:
    """Vector A: DKGA-02, STA real tables, SGC 123456, TI 01, KRN 1, KT 2, base 1993."""
    return _profile(pan="600727000000000009", sgc=123456, ti=1, krn=1, kt=2)


@pytest.fixture
def profile_b() -> MeterKeyProfile:
    """Vector B: DKGA-04 + STA, SGC 123457."""
    return _profile(pan="600727000000000009", sgc=123457, ti=1, krn=1, kt=2, dkga=4, ea=7)


@pytest.fixture
def profile_c() -> MeterKeyProfile:
    """Vector C: DKGA-04 + MISTY1 (EA11)."""
    return _profile(pan="600727000000000009", sgc=123457, ti=1, krn=1, kt=2, dkga=4, ea=11)
