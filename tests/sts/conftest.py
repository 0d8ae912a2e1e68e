"""Shared fixtures of the STS tests: the public compliance-vector meters."""

from __future__ import annotations

import pytest

from central.sts.profile import MeterKeyProfile


@pytest.fixture
def profile_a1() -> MeterKeyProfile:
    """Vector A: DKGA-02, STA real tables, SGC 123456, TI 01, KRN 1, KT 2, base 1993."""
    return MeterKeyProfile(pan="600727000000000009", sgc=123456, ti=1, krn=1, kt=2)


@pytest.fixture
def profile_b() -> MeterKeyProfile:
    """Vector B: DKGA-04 + STA, SGC 123457."""
    return MeterKeyProfile(pan="600727000000000009", sgc=123457, ti=1, krn=1, kt=2, dkga=4, ea=7)


@pytest.fixture
def profile_c() -> MeterKeyProfile:
    """Vector C: DKGA-04 + MISTY1 (EA11)."""
    return MeterKeyProfile(pan="600727000000000009", sgc=123457, ti=1, krn=1, kt=2, dkga=4, ea=11)
