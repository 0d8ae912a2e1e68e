"""Token classes and subclasses (IEC 62055-41 §6.2), their units and the Token value type."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from .layout import group_digits, token_digits


class TokenClass(IntEnum):
    TRANSFER_CREDIT = 0
    INITIATE_METER_TEST = 1
    METER_SPECIFIC_MANAGEMENT = 2


class CreditSubclass(IntEnum):
    ELECTRICITY = 0
    WATER = 1
    GAS = 2
    TIME = 3


class TestSubclass(IntEnum):
    """Class 1: 36-bit control with a 2-digit MfrCode, or 28-bit with a 4-digit one."""

    CONTROL_36_BIT = 0
    CONTROL_28_BIT = 1


class ManagementSubclass(IntEnum):
    SET_MAXIMUM_POWER_LIMIT = 0
    CLEAR_CREDIT = 1
    SET_TARIFF_RATE = 2
    SET_1ST_SECTION_DECODER_KEY = 3
    SET_2ND_SECTION_DECODER_KEY = 4
    CLEAR_TAMPER_CONDITION = 5
    SET_MAXIMUM_PHASE_POWER_UNBALANCE_LIMIT = 6
    SET_WATER_METER_FACTOR = 7
    SET_3RD_SECTION_DECODER_KEY = 8
    SET_4TH_SECTION_DECODER_KEY = 9


#: Natural unit and steps per unit of the amount-coded fields (resolution 0.1 for credit).
#: Only the electricity unit is confirmed by test vectors; the others follow the standard's
#: "0.1 of the main unit" rule.
AMOUNT_UNITS: dict[tuple[int, int], tuple[str, int]] = {
    (0, CreditSubclass.ELECTRICITY): ("kWh", 10),
    (0, CreditSubclass.WATER): ("m3", 10),
    (0, CreditSubclass.GAS): ("m3", 10),
    (0, CreditSubclass.TIME): ("time units", 10),
    (2, ManagementSubclass.SET_MAXIMUM_POWER_LIMIT): ("W", 1),
    (2, ManagementSubclass.SET_MAXIMUM_PHASE_POWER_UNBALANCE_LIMIT): ("W", 1),
}

#: Class 2 subclasses laid out like a credit token (they carry a TID and consume it).
MANAGEMENT_TID_SUBCLASSES = frozenset({0, 1, 2, 5, 6})
KEY_CHANGE_SUBCLASSES = frozenset({3, 4, 8, 9})

#: ClearCredit register numbers (standard Table 28).
CLEAR_CREDIT_REGISTERS = {
    0: "electricity", 1: "water", 2: "gas", 3: "time", 4: "electricity currency",
    5: "water currency", 6: "gas currency", 0xFFFF: "all registers",
}


def describe(token_class: int, subclass: int) -> str:
    """Human-readable name, e.g. ``TransferCredit/Electricity``."""
    names: dict[int, tuple[str, type[IntEnum]]] = {
        0: ("TransferCredit", CreditSubclass),
        1: ("InitiateMeterTest", TestSubclass),
        2: ("MeterSpecificManagement", ManagementSubclass),
    }
    if token_class not in names:
        return f"Reserved class {token_class}/{subclass}"
    class_name, kinds = names[token_class]
    try:
        words = kinds(subclass).name.split("_")
        sub_name = "".join(w[:1] + w[1:].lower() for w in words)
    except ValueError:
        sub_name = f"Reserved{subclass}"
    return f"{class_name}/{sub_name}"


@dataclass(frozen=True, init=False)
class Token:
    """An issued token. ``value`` is the raw 16-bit field where the layout has one."""

    number: int
    token_class: int
    subclass: int
    tid: int | None = None
    rnd: int | None = None
    value: int | None = None

    def __init__(
        self, number: int, token_class: int, subclass: int, tid: int | None = None,
        rnd: int | None = None, value: int | None = None,
    ) -> None:
        # Frozen: no attribute assignment; the instance dictionary is filled directly,
        # which costs a third of the generated __init__'s object.__setattr__ calls. (The
        # issuing hot path, tokens._issue, fills a new instance the same way inline.)
        _fill(self, number, token_class, subclass, tid, rnd, value)

    @property
    def digits(self) -> str:
        return token_digits(self.number)

    @property
    def grouped(self) -> str:
        return group_digits(self.digits)

    @property
    def description(self) -> str:
        return describe(self.token_class, self.subclass)

    def __str__(self) -> str:
        return self.digits


def _fill(token: Token, number: int, token_class: int, subclass: int, tid: int | None,
          rnd: int | None, value: int | None) -> None:
    fields = token.__dict__
    fields["number"] = number
    fields["token_class"] = token_class
    fields["subclass"] = subclass
    fields["tid"] = tid
    fields["rnd"] = rnd
    fields["value"] = value
