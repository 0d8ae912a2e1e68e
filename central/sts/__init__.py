"""STS token engine (IEC 62055-41): decoder keys, STA/MISTY1, token issuing and decoding.

Public API for the vending platform; the command line is ``python -m central.sts``.
"""

from .decoder import (
    DecodedToken,
    KeyChange,
    TokenCheck,
    assemble_key_change,
    check_token,
    decode_token,
)
from .errors import StsError, TokenRejectedError
from .key_change import key_change_set
from .keys import DecoderKeyCache, derive_decoder_key
from .meter_number import MeterPan, pan_from_drn, parse_meter_number, parse_pan
from .profile import Dkga, Ea, KeyType, MeterKeyProfile
from .rollover import RolloverPlan, needs_rollover, plan_rollover
from .tid import BaseDate, MonotonicUtcClock, TidAllocator
from .token_types import CreditSubclass, ManagementSubclass, Token, TokenClass
from .tokens import (
    TokenIssuer,
    clear_credit,
    clear_tamper,
    issue_credit,
    issue_management,
    issue_test_token,
    set_maximum_phase_power_unbalance_limit,
    set_maximum_power_limit,
)
from .vending_keys import DecoderKey, VendingKey

__all__ = [
    "BaseDate", "CreditSubclass", "DecodedToken", "DecoderKey", "DecoderKeyCache", "Dkga", "Ea",
    "KeyChange", "KeyType", "ManagementSubclass", "MeterKeyProfile", "MeterPan",
    "MonotonicUtcClock", "RolloverPlan", "StsError", "TidAllocator", "Token", "TokenCheck",
    "TokenClass", "TokenIssuer", "TokenRejectedError", "VendingKey", "assemble_key_change",
    "check_token", "clear_credit", "clear_tamper", "decode_token", "derive_decoder_key",
    "issue_credit", "issue_management", "issue_test_token", "key_change_set", "needs_rollover",
    "pan_from_drn", "parse_meter_number", "parse_pan", "plan_rollover",
    "set_maximum_phase_power_unbalance_limit", "set_maximum_power_limit",
]
