"""One virtual prepaid meter: its state and what it does with a token.

The meter holds what a real STS meter holds: its decoder key (not the vending key), its
key data (SGC, TI, KRN, KT, KEN), a credit register, the store of the last TIDs it
accepted (a TID in the store is USED, one older than all of them once the store is full is
OLD), the sections of a key change set received so far, and a few management registers.
Tokens are decoded by :func:`central.sts.decode_token`, the engine's own decoder.

Credit is kept in milliwatt-hours (integers) and drawn down at the meter's consumption
rate between two looks at the meter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from central.sts import (
    DecodedToken,
    DecoderKey,
    DecoderKeyCache,
    MeterKeyProfile,
    TokenRejectedError,
    assemble_key_change,
    decode_token,
)
from central.sts.errors import CrcError, StsError
from central.sts.tid import BaseDate

MWH_PER_KWH = 1_000_000
DEFAULT_TID_MEMORY = 50
#: A meter's answers it keeps, newest first, for its state screen.
HISTORY = 20

#: The meter's ciphers, keyed by a fingerprint of the decoder key (never the key).
_CIPHERS = DecoderKeyCache(maxsize=50_000)

#: French reason of each refusal, as the meter's display and the HES show it.
REFUSALS = {
    "format": "Jeton refusé : un jeton compte 20 chiffres (erreur de saisie).",
    "range": "Jeton refusé : ce nombre n'est pas un jeton STS (erreur de saisie).",
    "crc": "Jeton refusé : erreur de contrôle (CRC) — jeton mal saisi ou clé inconnue du "
           "compteur.",
    "other_meter": "Jeton refusé : ce jeton n'est pas destiné à ce compteur (il est pour le "
                   "compteur {other}).",
    "used": "Jeton refusé : déjà utilisé sur ce compteur.",
    "old": "Jeton refusé : trop ancien (antérieur aux jetons mémorisés par le compteur).",
    "key_expired": "Jeton refusé : la clé du compteur a expiré, un changement de clé est "
                   "nécessaire.",
    "key_change_needed": "Jeton refusé : changement de clé nécessaire — entrer d'abord les "
                         "jetons de changement de clé.",
    "function": "Jeton refusé : ce type de jeton n'est pas pris en charge par ce compteur.",
    "mfr_code": "Jeton de test refusé : il est destiné à un autre fabricant.",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def kwh(mwh: int) -> Decimal:
    """Milliwatt-hours as kWh, to the watt-hour."""
    return (Decimal(mwh) / MWH_PER_KWH).quantize(Decimal("0.001"))


@dataclass
class MeterState:
    """Everything a meter remembers (persisted as one JSON document per meter)."""

    drn: str
    pan: str
    sgc: int
    ti: int
    krn: int
    kt: int
    ken: int
    ea: int
    dkga: int
    base_date: int
    tables: str
    decoder_key: str                       # hex; secret: never shown, never logged
    updated_at: str                        # ISO UTC: credit drawn down until then
    credit_mwh: int = 0
    consumption_w: int = 300
    tid_memory_size: int = DEFAULT_TID_MEMORY
    tids: list[int] = field(default_factory=list)        # sorted, at most tid_memory_size
    pending_key_change: dict[str, str] = field(default_factory=dict)  # section -> token
    power_limit_w: int | None = None
    phase_unbalance_limit_w: int | None = None
    tariff_rate: int | None = None
    tamper: bool = False
    #: Hex key the central record says this meter should have (None: unknown); a token
    #: that only this key opens means the platform changed the key and the meter has not.
    record_key: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)   # newest first

    @property
    def profile(self) -> MeterKeyProfile:
        return MeterKeyProfile(pan=self.pan, sgc=self.sgc, ti=self.ti, krn=self.krn,
                               kt=self.kt, ken=self.ken, ea=self.ea, dkga=self.dkga,
                               base_date=self.base_date, tables=self.tables)

    @property
    def key(self) -> DecoderKey:
        return DecoderKey(bytes.fromhex(self.decoder_key))

    @property
    def connected(self) -> bool:
        """The supply relay: closed while there is credit."""
        return self.credit_mwh > 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MeterState:
        return cls(**data)

    def __repr__(self) -> str:
        return f"MeterState(drn={self.drn!r}, credit={kwh(self.credit_mwh)} kWh, key=<masked>)"


@dataclass(frozen=True)
class MeterAnswer:
    """What the meter shows after a token: accepted or the reason it refused it."""

    drn: str
    token: str
    accepted: bool
    code: str
    message: str
    meter_code: int | None = None
    amount_kwh: Decimal | None = None
    credit_kwh: Decimal = Decimal(0)
    tid: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "drn": self.drn, "token": self.token, "accepted": self.accepted, "code": self.code,
            "message": self.message, "meter_code": self.meter_code,
            "amount_kwh": None if self.amount_kwh is None else str(self.amount_kwh),
            "credit_kwh": str(self.credit_kwh), "tid": self.tid,
        }


#: Other meters' (DRN, profile, decoder key) to tell "for another meter" from a typing error.
OtherMeters = Callable[[], Iterable[tuple[str, MeterKeyProfile, DecoderKey]]]


def settle(state: MeterState, now: datetime) -> None:
    """Draw the credit down for the energy used since the last look at the meter."""
    last = datetime.fromisoformat(state.updated_at)
    if now <= last:
        return
    elapsed_ms = (now - last) // _MILLISECOND
    used = state.consumption_w * elapsed_ms // 3600      # W x ms / 3600 = mWh
    state.credit_mwh = max(0, state.credit_mwh - used)
    state.updated_at = now.isoformat()


_MILLISECOND = datetime.resolution * 1000


def _decodes(profile: MeterKeyProfile, token: str, key: DecoderKey) -> bool:
    try:
        decode_token(profile, token, keys=key, cache=_CIPHERS)
    except StsError:
        return False
    return True


def _diagnose_crc(state: MeterState, token: str, others: OtherMeters | None) -> tuple[str, str]:
    """Why the CRC failed: the platform's newer key for this meter, another meter's key,
    or neither (a typing error)."""
    profile = state.profile
    newer = state.record_key
    if newer and newer != state.decoder_key and _decodes(profile, token,
                                                         DecoderKey(bytes.fromhex(newer))):
        return "key_change_needed", REFUSALS["key_change_needed"]
    if others is not None:
        for drn, other_profile, other_key in others():
            if drn != state.drn and _decodes(other_profile, token, other_key):
                return "other_meter", REFUSALS["other_meter"].format(other=drn)
    return "crc", REFUSALS["crc"]


def _remember_tid(state: MeterState, tid: int) -> None:
    tids = sorted({*state.tids, tid})
    state.tids = tids[-state.tid_memory_size:]


def _key_change(state: MeterState, decoded: DecodedToken, token: str) -> tuple[str, str]:
    sections_needed = 4 if len(state.decoder_key) == 32 else 2
    state.pending_key_change[str(decoded.key_section)] = token
    if len(state.pending_key_change) < sections_needed:
        return ("key_change_partial",
                f"Changement de clé : jeton {len(state.pending_key_change)}/{sections_needed} "
                "accepté, entrer le suivant.")
    profile, key = state.profile, state.key
    parts = [decode_token(profile, t, keys=key, cache=_CIPHERS)
             for t in state.pending_key_change.values()]
    state.pending_key_change = {}
    change = assemble_key_change(parts)      # an inconsistent set is refused and dropped
    state.decoder_key = change.decoder_key.secret().hex()
    state.krn, state.kt, state.ti, state.ken = change.krn, change.kt, change.ti, change.ken
    if change.sgc is not None:
        state.sgc = change.sgc
    if change.rollover:
        state.tids = []
        if state.base_date == BaseDate.Y1993:
            state.base_date = int(BaseDate.Y2014)
    return ("key_change_done",
            f"Changement de clé effectué (KRN {change.krn}, TI {change.ti:02d}"
            f"{', mémoire des jetons remise à zéro' if change.rollover else ''}).")


def _apply(state: MeterState, decoded: DecodedToken, token: str) -> tuple[str, str, Decimal | None]:
    """Act on a valid token; returns (code, French message, kWh credited)."""
    if decoded.token_class == 1:
        return "test", f"Test/affichage lancé (contrôle 0x{decoded.control or 0:X}).", None
    if decoded.key_section is not None:
        code, message = _key_change(state, decoded, token)
        return code, message, None
    assert decoded.tid is not None
    if decoded.token_class == 0:
        if decoded.subclass != 0 or decoded.amount is None:
            raise _FunctionRefused
        _remember_tid(state, decoded.tid)
        state.credit_mwh += int(decoded.amount * MWH_PER_KWH)
        return "credit", f"Crédit accepté : +{decoded.amount} kWh.", decoded.amount
    _remember_tid(state, decoded.tid)
    subclass, value = decoded.subclass, decoded.value or 0
    if subclass == 0:
        state.power_limit_w = int(decoded.amount or 0)
        return "management", f"Puissance maximale fixée à {state.power_limit_w} W.", None
    if subclass == 1:
        if value in (0, 0xFFFF):
            state.credit_mwh = 0
        return "management", "Crédit remis à zéro.", None
    if subclass == 5:
        state.tamper = False
        return "management", "Alarme de fraude effacée.", None
    if subclass == 6:
        state.phase_unbalance_limit_w = int(decoded.amount or 0)
        return ("management",
                f"Déséquilibre de phases maximal fixé à {state.phase_unbalance_limit_w} W.", None)
    state.tariff_rate = value
    return "management", f"Tarif {value} enregistré.", None


class _FunctionRefused(Exception):
    pass


def enter_token(
    state: MeterState, token: str, now: datetime, *, others: OtherMeters | None = None,
    source: str = "keypad",
) -> MeterAnswer:
    """The meter takes ``token`` (typed on its keypad or pushed by the HES) and answers.

    ``state`` is changed in place (credit, TID store, key); the caller persists it."""
    settle(state, now)
    digits = "".join(str(token).split()).replace("-", "")
    decoded: DecodedToken | None = None
    amount: Decimal | None = None
    meter_code: int | None = 1
    accepted = False
    try:
        decoded = decode_token(state.profile, digits, keys=state.key, cache=_CIPHERS,
                               last_tids=state.tids, memory_size=state.tid_memory_size)
        code, message, amount = _apply(state, decoded, digits)
        accepted = True
        if code == "key_change_partial":
            meter_code = 2 if decoded.key_section == 1 else 3
    except CrcError as error:
        code, message = _diagnose_crc(state, digits, others)
        meter_code = error.meter_code
    except TokenRejectedError as error:
        code, meter_code = error.code, error.meter_code
        message = REFUSALS.get(code, f"Jeton refusé : {error.message_fr}.")
    except _FunctionRefused:
        code, message, meter_code = "function", REFUSALS["function"], 8
    answer = MeterAnswer(
        drn=state.drn, token=digits, accepted=accepted, code=code, message=message,
        meter_code=meter_code, amount_kwh=amount, credit_kwh=kwh(state.credit_mwh),
        tid=decoded.tid if decoded is not None else None,
    )
    entry = answer.to_json()
    entry.update(at=now.isoformat(timespec="seconds"), source=source)
    state.history = [entry, *state.history][:HISTORY]
    return answer
