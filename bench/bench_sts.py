"""Throughput of the STS engine on one core: tokens issued and decoded per second.

Decoder keys are cached per meter (the cache is warmed first, as a running vending server's
would be); the issue loop goes through the public ``issue_credit`` API, amount in kWh, with
a random RND. Run: ``python bench/bench_sts.py [--count N] [--meters M]``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from central.sts import MeterKeyProfile
    from central.sts.vending_keys import VendingKey

GOAL_ISSUE_PER_SECOND = 20_000


def meters(count: int, **fields: object) -> list[MeterKeyProfile]:
    from central.sts import MeterKeyProfile
    from central.sts.meter_number import luhn_check_digit, pan_from_drn

    profiles = []
    for serial in range(count):
        body = f"47{serial:08d}"
        pan = pan_from_drn(body + str(luhn_check_digit(body))).digits
        profiles.append(MeterKeyProfile(pan=pan, sgc=123456, ti=1, krn=2, base_date=2014,
                                        **fields))  # type: ignore[arg-type]
    return profiles


def timed(label: str, count: int, action: Callable[[int], object]) -> float:
    start = time.perf_counter()
    for i in range(count):
        action(i)
    elapsed = time.perf_counter() - start
    rate = count / elapsed
    print(f"{label:<44} {count:>7} in {elapsed:6.2f} s = {rate:>9,.0f} /s")
    return rate


def run(name: str, profiles: list[MeterKeyProfile], keys: VendingKey, count: int) -> float:
    from central.sts import DecoderKeyCache, decode_token, issue_credit

    cache = DecoderKeyCache(maxsize=len(profiles))
    for profile in profiles:
        cache.cipher(profile, keys)
    base = datetime(2025, 1, 1, 8, 0)
    moments = [base + timedelta(minutes=i) for i in range(1024)]
    amounts = ["0.1", "12.5", "50", "250.7", "1000"]
    meters_n = len(profiles)
    tokens: list[str] = []

    def issue(i: int) -> None:
        token = issue_credit(profiles[i % meters_n], amounts[i % 5], moments[i % 1024],
                             keys=keys, cache=cache)
        tokens.append(token.digits)

    def decode(i: int) -> None:
        decode_token(profiles[i % meters_n], tokens[i], keys=keys, cache=cache)

    print(f"-- {name}, {meters_n} meters, decoder keys cached")
    rate = timed("issue_credit (tokens issued)", count, issue)
    timed("decode_token (tokens decoded)", count, decode)
    assert cache.misses == meters_n, "every issue and decode must hit the warmed cache"
    return rate


def run_issuer(profiles: list[MeterKeyProfile], keys: VendingKey, count: int) -> None:
    from central.sts import DecoderKeyCache, TokenIssuer

    issuer = TokenIssuer(cache=DecoderKeyCache(maxsize=len(profiles)))
    meters_n = len(profiles)
    for profile in profiles:
        issuer.cache.cipher(profile, keys)
    timed("TokenIssuer.credit (TID allocator, clock)", count,
          lambda i: issuer.credit(profiles[i % meters_n], keys, "12.5"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=50_000, help="tokens per measurement")
    parser.add_argument("--meters", type=int, default=1_000, help="distinct meters")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from central.sts.vending_keys import (
        TEST_VENDING_KEY_DKGA02,
        TEST_VENDING_KEY_DKGA04,
    )

    print(f"Python {platform.python_version()} on {platform.machine()}, one process/one core")
    sta = meters(args.meters)
    rate = run("EA07 STA (real tables), DKGA-02", sta, TEST_VENDING_KEY_DKGA02, args.count)
    run_issuer(sta, TEST_VENDING_KEY_DKGA02, args.count)
    misty = meters(args.meters, dkga=4, ea=11)
    run("EA11 MISTY1, DKGA-04", misty, TEST_VENDING_KEY_DKGA04, args.count // 5)
    verdict = "meets" if rate >= GOAL_ISSUE_PER_SECOND else "BELOW"
    print(f"EA07 issue rate {rate:,.0f} tokens/s {verdict} the goal of "
          f"{GOAL_ISSUE_PER_SECOND:,} tokens/s")


if __name__ == "__main__":
    main()
