"""The virtual meter fleet: meters built from central's meter records, kept in their own
SQLite file, taking tokens and answering their state."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from central.sts import DecoderKey, MeterKeyProfile, derive_decoder_key
from central.sts.errors import StsError
from central.sts.meter_number import pan_from_drn
from central.sts.vending_keys import VendingKeyRing

from .meter import (
    DEFAULT_TID_MEMORY,
    MeterAnswer,
    MeterState,
    enter_token,
    kwh,
    settle,
    utc_now,
)
from .store import MeterStore

log = logging.getLogger("central.meters")

DEFAULT_CONSUMPTION_W = 300
#: Above this many meters a CRC failure is not tried against every other meter's key (it
#: would cost a decryption per meter); the answer is then the plain CRC error.
OTHER_METER_SEARCH_LIMIT = 20_000


@dataclass(frozen=True)
class MeterRecord:
    """The STS identity of one prepaid meter, as central's database records it."""

    drn: str
    iin: str | None
    sgc: int
    ti: int
    krn: int
    kt: int = 2
    ken: int = 0xFF
    ea: int = 7
    dkga: int = 2
    base_date: int = 1993
    tables: str = "real"

    def profile(self) -> MeterKeyProfile:
        pan = pan_from_drn(self.drn, self.iin or None).digits
        return MeterKeyProfile(pan=pan, sgc=self.sgc, ti=self.ti, krn=self.krn, kt=self.kt,
                               ken=self.ken, ea=self.ea, dkga=self.dkga,
                               base_date=self.base_date, tables=self.tables)


@dataclass
class ReloadReport:
    added: list[str] = field(default_factory=list)
    key_changed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)     # drn -> French reason

    def summary(self) -> str:
        return (f"{len(self.added)} compteur(s) ajouté(s), {len(self.key_changed)} en attente "
                f"d'un changement de clé, {len(self.skipped)} ignoré(s)")


class Fleet:
    """The meters of one store. Every operation is one transaction on the store."""

    def __init__(
        self, store: MeterStore, *, clock: Callable[[], datetime] = utc_now,
        tid_memory: int = DEFAULT_TID_MEMORY, consumption_w: int = DEFAULT_CONSUMPTION_W,
    ) -> None:
        self.store = store
        self.clock = clock
        self.tid_memory = tid_memory
        self.consumption_w = consumption_w

    def load_records(self, records: Iterable[MeterRecord], keys: VendingKeyRing) -> ReloadReport:
        """Add a meter for every new record (its decoder key derived from the record and the
        vending key of its revision); for a known meter, note the key its record now calls
        for, which tells "key change needed" from a typing error."""
        report = ReloadReport()
        known = {state.drn: state for state in self.store.all()}
        now = self.clock().isoformat()
        changed: list[MeterState] = []
        for record in records:
            try:
                profile = record.profile()
                key = derive_decoder_key(profile, keys.key_for(record.sgc, record.krn,
                                                               record.dkga)).secret().hex()
            except StsError as error:
                report.skipped[record.drn] = error.message_fr
                continue
            state = known.get(record.drn)
            if state is None:
                state = MeterState(
                    drn=record.drn, pan=profile.pan, sgc=profile.sgc, ti=profile.ti,
                    krn=profile.krn, kt=profile.kt, ken=profile.ken, ea=int(profile.ea),
                    dkga=int(profile.dkga), base_date=int(profile.base_date),
                    tables=profile.tables, decoder_key=key, updated_at=now,
                    consumption_w=self.consumption_w, tid_memory_size=self.tid_memory,
                    record_key=key,
                )
                report.added.append(record.drn)
                changed.append(state)
            elif state.record_key != key:
                state.record_key = key
                changed.append(state)
                if key != state.decoder_key:
                    report.key_changed.append(record.drn)
        if changed:
            self.store.upsert(changed)
        return report

    def _others(self) -> Iterator[tuple[str, MeterKeyProfile, DecoderKey]]:
        if self.store.count() > OTHER_METER_SEARCH_LIMIT:
            return
        for state in self.store.all():
            yield state.drn, state.profile, state.key

    def enter(self, drn: str, token: str, source: str = "keypad") -> MeterAnswer:
        """Type ``token`` on meter ``drn``'s keypad (or push it from the HES)."""
        now = self.clock()
        answer = self.store.update(
            drn, lambda state: enter_token(state, token, now, others=self._others,
                                           source=source))
        log.info("meter %s token from %s: %s (%s)", drn, source, answer.code,
                 "accepted" if answer.accepted else "refused")
        return answer

    def set_consumption(self, drn: str, watts: int) -> dict[str, Any]:
        def change(state: MeterState) -> dict[str, Any]:
            settle(state, self.clock())
            state.consumption_w = watts
            return view(state)
        return self.store.update(drn, change)

    def state(self, drn: str) -> dict[str, Any]:
        """The meter's state now (credit drawn down to this moment, and saved so)."""
        def look(state: MeterState) -> dict[str, Any]:
            settle(state, self.clock())
            return view(state)
        return self.store.update(drn, look)

    def summary(self) -> list[dict[str, Any]]:
        now = self.clock()
        rows = []
        for state in self.store.all():
            settle(state, now)
            rows.append({"drn": state.drn, "credit_kwh": str(kwh(state.credit_mwh)),
                         "connected": state.connected, "krn": state.krn})
        return rows


def view(state: MeterState) -> dict[str, Any]:
    """What the meter shows and the HES may read; never the key."""
    refusals = [entry for entry in state.history if not entry["accepted"]]
    sections = 4 if len(state.decoder_key) == 32 else 2
    pending = len(state.pending_key_change)
    return {
        "drn": state.drn,
        "pan": state.pan,
        "credit_kwh": str(kwh(state.credit_mwh)),
        "connected": state.connected,
        "consumption_w": state.consumption_w,
        "updated_at": state.updated_at,
        "key": {"sgc": state.sgc, "ti": state.ti, "krn": state.krn, "kt": state.kt,
                "ken": state.ken, "ea": f"{state.ea:02d}", "dkga": f"{state.dkga:02d}",
                "base_date": state.base_date,
                "key_change_needed": bool(state.record_key
                                          and state.record_key != state.decoder_key)},
        "key_change": ({"received": pending, "expected": sections} if pending else None),
        "tid_memory": {"size": state.tid_memory_size, "used": len(state.tids),
                       "last_tid": state.tids[-1] if state.tids else None},
        "power_limit_w": state.power_limit_w,
        "phase_unbalance_limit_w": state.phase_unbalance_limit_w,
        "tamper": state.tamper,
        "last_tokens": state.history[:10],
        "refusals": refusals[:10],
    }


def credit_kwh(state_view: dict[str, Any]) -> Decimal:
    return Decimal(state_view["credit_kwh"])
