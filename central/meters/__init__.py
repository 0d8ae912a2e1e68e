"""A virtual fleet of STS prepaid meters on 127.0.0.1, standing in for real meters.

Each meter is built from central's meter record (DRN, SGC, TI, KRN, KT, KEN, EA, DKGA,
base date) and holds what a real meter holds: its decoder key, its credit register, its
TID memory (OLD and USED tokens are refused), its key change state. Tokens come by HTTP
(pushed by the HES) or from the keypad (``python -m central.meters enter DRN TOKEN``) and
are decoded by the engine's decoder (:mod:`central.sts`). See ``docs/meters.md``.
"""

from .fleet import Fleet, MeterRecord, ReloadReport
from .meter import MeterAnswer, MeterState
from .store import MeterStore, UnknownMeterError

__all__ = ["Fleet", "MeterAnswer", "MeterRecord", "MeterState", "MeterStore", "ReloadReport",
           "UnknownMeterError"]
