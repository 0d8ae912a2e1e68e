"""Throughput of the STS engine on one core: tokens issued and decoded per second.

For each combination (EA07/DKGA-02, EA07/DKGA-04, EA11/DKGA-04) it measures ``issue_credit``
(the public API: amount in kWh, TID from the moment, random RND):

* **derived per token**: ``DecoderKeyCache(maxsize=0)``, so every token derives its meter's
  decoder key from the vending key and sets the cipher up, as a platform with more meters
  than it can keep keys for does;
* **cached key**: the meters' ciphers are in a warmed cache, as a small platform's would be;
* **profile + derivation**: as "derived", with the meter's ``MeterKeyProfile`` also built
  from its record fields for every token (nothing about the meter kept between sales);
* decoding the tokens (derived per token and cached).

Each figure is the best of ``--repeat`` runs, in tokens per second of the process's CPU
time (one process, one core; other processes on the machine do not count against it) and
of wall-clock time, with the load average at that moment: the machine is shared, so read
the wall figure with the load beside it. Run:
``python bench/bench_sts.py [--count N] [--meters M] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import os
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

GOAL_DERIVED = 30_000
GOAL_CACHED = 100_000
COMBINATIONS = (("EA07 STA (real tables), DKGA-02", 7, 2), ("EA07 STA (real tables), DKGA-04", 7, 4),
                ("EA11 MISTY1, DKGA-04", 11, 4))


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


def timed(label: str, count: int, repeat: int, action: Callable[[int], object]) -> float:
    """Best of ``repeat`` runs; prints CPU and wall rates and the 1-minute load average."""
    best_cpu = best_wall = 0.0
    load = 0.0
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(count):
            action(i)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if count / cpu > best_cpu:
            best_cpu, load = count / cpu, os.getloadavg()[0]
        best_wall = max(best_wall, count / wall)
    print(f"  {label:<38} {count:>7} tokens: {best_cpu:>9,.0f} /s CPU "
          f"{best_wall:>9,.0f} /s wall  (load {load:4.1f})")
    return best_cpu


def run(name: str, profiles: list[MeterKeyProfile], keys: VendingKey, count: int,
        repeat: int) -> tuple[float, float]:
    from central.sts import DecoderKeyCache, MeterKeyProfile, decode_token, issue_credit

    derive = DecoderKeyCache(maxsize=0)
    cache = DecoderKeyCache(maxsize=len(profiles))
    for profile in profiles:
        cache.cipher(profile, keys)
    base = datetime(2025, 1, 1, 8, 0)
    moments = [base + timedelta(minutes=i) for i in range(1024)]
    amounts = ["0.1", "12.5", "50", "250.7", "1000"]
    meters_n = len(profiles)
    records = [(p.meter_pan.drn, p.sgc, p.ti, p.krn, p.kt, p.ken, int(p.ea), int(p.dkga),
                int(p.base_date)) for p in profiles]
    tokens = [issue_credit(profiles[i % meters_n], amounts[i % 5], moments[i % 1024],
                           keys=keys, cache=cache).digits for i in range(count)]

    def from_record(i: int) -> None:
        drn, sgc, ti, krn, kt, ken, ea, dkga, base_date = records[i % meters_n]
        profile = MeterKeyProfile(pan=drn, sgc=sgc, ti=ti, krn=krn, kt=kt, ken=ken, ea=ea,
                                  dkga=dkga, base_date=base_date)
        issue_credit(profile, amounts[i % 5], moments[i % 1024], keys=keys, cache=derive)

    print(f"-- {name}: {meters_n:,} meters, {count:,} tokens per run, best of {repeat}")
    derived = timed("issue, key derived per token", count, repeat,
                    lambda i: issue_credit(profiles[i % meters_n], amounts[i % 5],
                                           moments[i % 1024], keys=keys, cache=derive))
    cached = timed("issue, cached key", count, repeat,
                   lambda i: issue_credit(profiles[i % meters_n], amounts[i % 5],
                                          moments[i % 1024], keys=keys, cache=cache))
    timed("issue, profile from record + derived", count, repeat, from_record)
    timed("decode, key derived per token", count, repeat,
          lambda i: decode_token(profiles[i % meters_n], tokens[i], keys=keys, cache=derive))
    timed("decode, cached key", count, repeat,
          lambda i: decode_token(profiles[i % meters_n], tokens[i], keys=keys, cache=cache))
    assert cache.misses == meters_n, "every cached issue and decode must hit the warmed cache"
    return derived, cached


def run_issuer(profiles: list[MeterKeyProfile], keys: VendingKey, count: int, repeat: int) -> None:
    from central.sts import DecoderKeyCache, TokenIssuer

    issuer = TokenIssuer(cache=DecoderKeyCache(maxsize=0))
    cached = TokenIssuer(cache=DecoderKeyCache(maxsize=len(profiles)))
    meters_n = len(profiles)
    for i in range(2 * meters_n):  # each cipher built, then keeping its own round tables
        cached.credit(profiles[i % meters_n], keys, "12.5")
    print(f"-- TokenIssuer (TID allocator on the UTC clock), EA07/DKGA-02, {meters_n:,} meters")
    timed("TokenIssuer.credit, derived per token", count, repeat,
          lambda i: issuer.credit(profiles[i % meters_n], keys, "12.5"))
    timed("TokenIssuer.credit, cached key", count, repeat,
          lambda i: cached.credit(profiles[i % meters_n], keys, "12.5"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=50_000, help="tokens per run")
    parser.add_argument("--meters", type=int, default=10_000, help="distinct meters")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best kept)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from central.sts.vending_keys import TEST_VENDING_KEY_DKGA02, TEST_VENDING_KEY_DKGA04

    print(f"Python {platform.python_version()} on {platform.machine()}, one process/one core, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    verdicts = []
    for name, ea, dkga in COMBINATIONS:
        keys = TEST_VENDING_KEY_DKGA02 if dkga == 2 else TEST_VENDING_KEY_DKGA04
        profiles = meters(args.meters, ea=ea, dkga=dkga)
        derived, cached = run(name, profiles, keys, args.count, args.repeat)
        verdicts.append((name, derived, cached))
        if (ea, dkga) == (7, 2):
            run_issuer(profiles, keys, args.count, args.repeat)
    for name, derived, cached in verdicts:
        print(f"{name}: {derived:,.0f} tokens/s derived per token "
              f"({'meets' if derived >= GOAL_DERIVED else 'BELOW'} {GOAL_DERIVED:,}), "
              f"{cached:,.0f} cached ({'meets' if cached >= GOAL_CACHED else 'BELOW'} "
              f"{GOAL_CACHED:,})")


if __name__ == "__main__":
    main()
