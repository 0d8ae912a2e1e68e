"""« Pourquoi le compteur refuse-t-il ce code ? » — a token typed at an agency's counter,
decoded with that meter's keys, and the reason a meter would refuse it, in plain French, with
what to do.

Central does not see the meter's memory; it knows the key it believes the meter holds (the
``vending_meter`` row), the meter's record, and every token it issued to the meter. From
these, in the meter's own order (format, class, CRC, key expiry, TID memory):

* not 20 digits, or above 2^66-1, or a CRC that fails while one issued token differs by a
  digit or two: a **typing error** (the right code is shown);
* a class 1 token: a **test / display token** (it adds no credit);
* a CRC that fails under the meter's key but passes under another of the agency's meters'
  tokens: **another meter's code**; under a former key revision of this meter: issued **before
  the key change**, which the meter no longer accepts;
* valid under the key, issued in or after the last key-change sale: the meter may still be on
  its former key — **key change needed** (the key change codes first);
* TID above the meter's key expiry number: **key expired**;
* TID older than the last ``memory`` TIDs issued to the meter since its last key change:
  **too old**;
* otherwise the code is right for this meter as it stands: a meter refuses it only when it was
  **already used** (its credit is in the meter).

The agency check comes first: another agency's meter is refused before anything of it is read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Meter, VendTransaction
from app.models.database import Database
from central.meters.fleet import MeterRecord
from central.meters.meter import DEFAULT_TID_MEMORY
from central.models import VendingMeter
from central.sts import DecodedToken, MeterKeyProfile, decode_token
from central.sts.errors import (
    CrcError,
    FunctionError,
    KeyExpiredError,
    MfrCodeError,
    StsError,
    TokenFormatError,
    TokenRangeError,
)
from central.sts.layout import group_digits
from central.sts.tid import BaseDate
from central.vending.errors import refused
from central.vending.hes import TokenMaker, held_profile

#: Sales of one meter looked at (newest first): years of weekly recharges.
SALES_LOOKED_AT = 2000

_TYPES = {
    (0, 0): "Crédit électricité", (0, 1): "Crédit eau", (0, 2): "Crédit gaz",
    (0, 3): "Crédit temps", (1, 0): "Test / affichage", (1, 1): "Test / affichage",
    (2, 0): "Puissance maximale", (2, 1): "Remise à zéro du crédit", (2, 2): "Tarif",
    (2, 3): "Changement de clé (1re partie)", (2, 4): "Changement de clé (2e partie)",
    (2, 5): "Effacement de l'alarme de fraude", (2, 6): "Déséquilibre de phases maximal",
    (2, 8): "Changement de clé (3e partie)", (2, 9): "Changement de clé (4e partie)",
}

ACTIONS = {
    "retype": "Faites relire le code sur le reçu (ou réimprimez le duplicata) et retaper les "
              "20 chiffres.",
    "other_meter": "Vérifiez le numéro du compteur : tapez ce code sur le compteur auquel il "
                   "est destiné.",
    "resend_key_change": "Faites taper d'abord les codes de changement de clé (renvoyez-les "
                         "par SMS ou réimprimez le reçu), puis ce code.",
    "new_token": "Ce code ne sera plus accepté : faites valider un nouveau jeton par le "
                 "superviseur.",
    "key_change": "Un changement de clé est nécessaire : demandez au superviseur un jeu de "
                  "changement de clé pour ce compteur.",
    "check_credit": "Faites afficher le crédit du compteur : s'il n'a pas augmenté, envoyez un "
                    "technicien (demande d'intervention).",
    "find_sale": "Cherchez le bon code dans les ventes du compteur (onglet Jetons).",
    "technician": "Si le compteur refuse encore, envoyez un technicien (demande "
                  "d'intervention).",
}


@dataclass(frozen=True)
class IssuedToken:
    digits: str
    receipt: str
    sold_at: datetime
    tid: int | None
    key_change: bool          # one of the sale's key change codes
    sale_has_key_change: bool


@dataclass
class Diagnosis:
    verdict: str
    title: str
    explanation: str
    actions: list[str]
    fields: list[tuple[str, str]] = field(default_factory=list)
    receipt: str = ""
    suggestion: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "title": self.title, "explanation": self.explanation,
                "actions": [{"code": code, "text": ACTIONS[code]} for code in self.actions],
                "fields": [list(pair) for pair in self.fields], "receipt": self.receipt,
                "suggestion": self.suggestion}


def meter_record(meter: Meter) -> MeterRecord:
    """The STS identity central's meter row records (defaults as the platform sells)."""
    return MeterRecord(
        drn=meter.sts_drn or "", iin=meter.sts_iin, sgc=meter.sts_sgc or 0,
        ti=meter.sts_tariff_index or 0, krn=meter.sts_key_revision or 1,
        kt=2 if meter.sts_key_type is None else meter.sts_key_type,
        ken=0xFF if meter.sts_key_expiry is None else meter.sts_key_expiry,
        ea=int(meter.sts_algorithm or 7), dkga=int(meter.sts_dkga or 2),
        base_date=meter.sts_base_date or 1993)


def _near(typed: str, issued: str) -> bool:
    """One or two wrong digits (two neighbours swapped are two)."""
    if len(typed) != len(issued) or typed == issued:
        return False
    return sum(a != b for a, b in zip(typed, issued, strict=True)) <= 2


def _one_digit_off(typed: str, issued: str) -> bool:
    """A digit missing or one too many."""
    if abs(len(typed) - len(issued)) != 1:
        return False
    short, long_ = sorted((typed, issued), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


class TokenDoctor:
    """Explains refusals for one platform's database and keys."""

    def __init__(self, db: Database, tokens: TokenMaker, zone: ZoneInfo, *,
                 memory: int = DEFAULT_TID_MEMORY) -> None:
        self.db = db
        self.tokens = tokens
        self.zone = zone
        self.memory = memory

    def _when(self, moment: datetime) -> str:
        return f"{moment.astimezone(self.zone):%d/%m/%Y à %H:%M}"

    def _decode(self, profile: MeterKeyProfile, digits: str,
                ken: int | None = None) -> DecodedToken | StsError:
        try:
            keys = self.tokens.keys.key_for(profile.sgc, profile.krn, profile.dkga)
            if ken is not None:
                profile = profile.with_changes(ken=ken)
            return decode_token(profile, digits, keys=keys, cache=self.tokens.cache)
        except StsError as error:
            return error

    def diagnose(self, agency_id: uuid.UUID, number: str, typed: str) -> Diagnosis:
        number = "".join(ch for ch in number if ch.isalnum())
        digits = "".join(ch for ch in typed if ch.isdigit())
        with self.db.reading() as session:
            meter = session.scalars(select(Meter).where(Meter.sts_drn == number)).first() or \
                session.scalars(select(Meter).where(Meter.serial == number)).first()
            if meter is None or not number:
                raise refused("meter_unknown", f"Compteur {number} inconnu.", 404)
            if meter.agency_id != agency_id:
                raise refused("meter_other_agency", f"Le compteur {number} dépend d'une "
                              "autre agence.", 403)
            if not meter.sts_drn:
                raise refused("meter_not_sts", f"Le compteur {number} n'a pas d'identité STS.",
                              422)
            record = meter_record(meter)
            state = session.get(VendingMeter, meter.id)
            issued = self._issued(session, meter.id)
            drn = meter.sts_drn
            current = held_profile(record, state) if state else record.profile()
            return self._explain(session, agency_id, meter.id, drn, record, current, issued,
                                 digits)

    @staticmethod
    def _issued(session: Session, meter_id: uuid.UUID) -> list[IssuedToken]:
        rows = session.execute(
            select(VendTransaction.token, VendTransaction.key_change_tokens,
                   VendTransaction.receipt_number, VendTransaction.sold_at,
                   VendTransaction.token_tid)
            .where(VendTransaction.meter_id == meter_id)
            .order_by(VendTransaction.sold_at.desc()).limit(SALES_LOOKED_AT)).all()
        found: list[IssuedToken] = []
        for token, key_change, receipt, sold_at, tid in rows:
            changes = key_change.split()
            found.append(IssuedToken(token, receipt, sold_at, tid, False, bool(changes)))
            found += [IssuedToken(t, receipt, sold_at, None, True, True) for t in changes]
        return found

    def _explain(self, session: Session, agency_id: uuid.UUID, meter_id: uuid.UUID, drn: str,
                 record: MeterRecord, current: MeterKeyProfile, issued: list[IssuedToken],
                 digits: str) -> Diagnosis:
        key_fields = [("Compteur", drn), ("Clé du compteur", f"révision {current.krn}, date de "
                                                            f"base {int(current.base)}")]
        close = [t for t in issued if _near(digits, t.digits) or _one_digit_off(digits, t.digits)]
        outcome = self._decode(current, digits)
        if isinstance(outcome, (TokenFormatError, TokenRangeError)):
            what = (f"{len(digits)} chiffres au lieu de 20" if len(digits) != 20
                    else "un nombre trop grand pour un code STS")
            return self._typing(f"Le code tapé compte {what} : c'est une erreur de saisie.",
                                close, key_fields)
        misread = isinstance(outcome, (FunctionError, MfrCodeError)) or (
            isinstance(outcome, DecodedToken) and outcome.token_class == 1)
        if close and misread:
            # One digit off a code this meter was sold: the slip moved the class bits (a reserved
            # class, or a test code) instead of breaking the CRC.
            return self._typing("Le code tapé ne se lit pas comme un code de crédit : c'est une "
                                "erreur de saisie.", close, key_fields)
        if isinstance(outcome, MfrCodeError) or (isinstance(outcome, DecodedToken)
                                                 and outcome.token_class == 1):
            return Diagnosis(
                "test_token", "Code de test, pas de crédit",
                "Ce code est un code de test ou d'affichage du compteur (classe 1) : il ne "
                "transporte aucun crédit et n'est lié à aucune vente.",
                ["find_sale"], [*key_fields, ("Classe", "1 (test / affichage)")])
        if isinstance(outcome, FunctionError):
            return Diagnosis(
                "function", "Type de code non pris en charge",
                "Ce code est d'un type que le compteur ne connaît pas (classe ou sous-classe "
                "réservée) : ce n'est pas un code émis par la plateforme.",
                ["retype", "find_sale"], key_fields)
        if isinstance(outcome, KeyExpiredError):
            decoded = self._decode(current, digits, ken=0xFF)
            fields = key_fields + (self._fields(decoded, current)
                                   if isinstance(decoded, DecodedToken) else [])
            return Diagnosis(
                "key_expired", "Clé du compteur expirée",
                f"Ce code est bien pour ce compteur, mais sa date dépasse la date d'expiration "
                f"de la clé du compteur (KEN {current.ken}) : le compteur le refuse comme "
                "« clé expirée ».", ["key_change", "technician"], fields)
        if isinstance(outcome, CrcError):
            return self._crc(session, agency_id, meter_id, record, current, issued, digits,
                             close, key_fields)
        if isinstance(outcome, StsError):
            return Diagnosis("unknown", "Code illisible", outcome.message_fr, ["retype"],
                             key_fields)
        return self._valid(outcome, current, issued, key_fields)

    def _typing(self, sentence: str, close: list[IssuedToken],
                fields: list[tuple[str, str]]) -> Diagnosis:
        suggestion = ""
        if close:
            best = close[0]
            suggestion = group_digits(best.digits)
            sentence += (f" Le code émis le {self._when(best.sold_at)} (reçu {best.receipt}) "
                         f"est {suggestion}.")
        return Diagnosis("typing_error", "Erreur de saisie", sentence, ["retype"], fields,
                         close[0].receipt if close else "", suggestion)

    def _crc(self, session: Session, agency_id: uuid.UUID, meter_id: uuid.UUID,
             record: MeterRecord, current: MeterKeyProfile, issued: list[IssuedToken],
             digits: str, close: list[IssuedToken],
             key_fields: list[tuple[str, str]]) -> Diagnosis:
        other = session.execute(
            select(Meter.sts_drn, Meter.serial, VendTransaction.receipt_number,
                   VendTransaction.sold_at)
            .join(Meter, Meter.id == VendTransaction.meter_id)
            .where(VendTransaction.agency_id == agency_id, VendTransaction.meter_id != meter_id,
                   (VendTransaction.token == digits)
                   | VendTransaction.key_change_tokens.contains(digits))
            .limit(1)).first()
        if other is not None:
            other_drn = other[0] or other[1]
            return Diagnosis(
                "other_meter", "Code d'un autre compteur",
                f"Ce code a été émis pour le compteur {other_drn} (reçu {other[2]}, le "
                f"{self._when(other[3])}), pas pour celui-ci : chaque code ne marche que sur "
                "son compteur.", ["other_meter"],
                [*key_fields, ("Compteur du code", other_drn), ("Reçu", other[2])], other[2])
        if close:
            return self._typing("Le code échoue au contrôle du compteur (CRC) : un ou deux "
                                "chiffres sont faux.", close, key_fields)
        former = self._former_key(record, current, digits)
        if former is not None:
            profile, decoded = former
            sale = next((t for t in issued if t.digits == digits), None)
            if decoded.key_section is not None:  # made under the key it replaces, as it must
                return self._key_change_token(key_fields + self._fields(decoded, profile),
                                              sale.receipt if sale else "")
            when = f" (reçu {sale.receipt}, le {self._when(sale.sold_at)})" if sale else ""
            return Diagnosis(
                "old_key", "Code fait avec l'ancienne clé du compteur",
                f"Ce code{when} a été fait avec une ancienne clé du compteur (révision "
                f"{profile.krn}, date de base {int(profile.base)}). Le compteur a changé de "
                f"clé depuis (révision {current.krn}) et ne l'accepte plus.",
                ["new_token"], key_fields + self._fields(decoded, profile),
                sale.receipt if sale else "")
        return Diagnosis(
            "not_this_meter", "Code inconnu pour ce compteur",
            "Ce code ne passe pas le contrôle du compteur (CRC) avec sa clé, et il ne "
            "ressemble à aucun code émis pour lui : soit il a été mal recopié, soit il est "
            "destiné à un autre compteur.", ["retype", "find_sale", "technician"], key_fields)

    def _former_key(self, record: MeterRecord, current: MeterKeyProfile,
                    digits: str) -> tuple[MeterKeyProfile, DecodedToken] | None:
        """The first former key revision of this meter under which ``digits`` decode."""
        tried = {(current.krn, current.ti, int(current.base))}
        for krn in range(current.krn, 0, -1):
            for ti in dict.fromkeys((current.ti, record.ti)):
                for base in (BaseDate.Y2014, BaseDate.Y1993):
                    if (krn, ti, int(base)) in tried:
                        continue
                    tried.add((krn, ti, int(base)))
                    try:
                        profile = current.with_changes(krn=krn, ti=ti, base_date=base, ken=0xFF)
                    except StsError:
                        continue
                    decoded = self._decode(profile, digits)
                    if isinstance(decoded, DecodedToken):
                        return profile, decoded
        return None

    def _fields(self, decoded: DecodedToken, profile: MeterKeyProfile) -> list[tuple[str, str]]:
        rows = [("Type", _TYPES.get((decoded.token_class, decoded.subclass),
                                    decoded.description)),
                ("Classe / sous-classe", f"{decoded.token_class} / {decoded.subclass}")]
        if decoded.tid is not None:
            rows.append(("TID", str(decoded.tid)))
        if decoded.tid_datetime is not None:
            rows.append(("Fait le (date du TID)", self._when(decoded.tid_datetime)))
        if decoded.amount is not None:
            unit = decoded.unit or ""
            rows.append(("Quantité", f"{decoded.amount} {unit}".replace(".", ",").strip()))
        if decoded.krn is not None:
            rows.append(("Nouvelle révision de clé", str(decoded.krn)))
        rows.append(("Clé utilisée", f"révision {profile.krn}, date de base "
                                     f"{int(profile.base)}"))
        return rows

    @staticmethod
    def _key_change_token(fields: list[tuple[str, str]], receipt: str) -> Diagnosis:
        return Diagnosis(
            "key_change_token", "Code de changement de clé",
            "Ce code est un des codes de changement de clé de ce compteur. Ils se tapent tous, "
            "dans l'ordre du reçu, avant le code de crédit ; si le compteur le refuse, c'est "
            "que le changement de clé est déjà fait.", ["check_credit"], fields, receipt)

    def _valid(self, decoded: DecodedToken, current: MeterKeyProfile,
               issued: list[IssuedToken], key_fields: list[tuple[str, str]]) -> Diagnosis:
        fields = key_fields + self._fields(decoded, current)
        sale = next((t for t in issued if t.digits == decoded.digits), None)
        if sale is not None:
            fields.append(("Reçu", f"{sale.receipt} du {self._when(sale.sold_at)}"))
        receipt = sale.receipt if sale else ""
        if decoded.key_section is not None:
            return self._key_change_token(fields, receipt)
        # Key changes since the start (newest first): the meter may not have entered the last.
        last_change = next((t for t in issued if t.sale_has_key_change and not t.key_change),
                           None)
        since = [t for t in issued if not t.key_change and t.tid is not None
                 and (last_change is None or t.sold_at >= last_change.sold_at)]
        newer = sum(1 for t in since if decoded.tid is not None and t.tid is not None
                    and t.tid > decoded.tid)
        fields.append(("Codes plus récents pour ce compteur", str(newer)))
        origin = "" if sale else (" Il ne figure dans aucune vente de ce compteur (code de "
                                  "gestion ou d'un autre système).")
        if newer >= self.memory:
            return Diagnosis(
                "old", "Code trop ancien",
                f"Ce code est bien pour ce compteur, mais {newer} codes plus récents ont été "
                f"émis depuis ; le compteur ne garde en mémoire que les {self.memory} derniers "
                "et refuse un code plus ancien qu'eux (« trop ancien »)." + origin,
                ["new_token"], fields, receipt)
        if last_change is not None and (sale is None or sale.sold_at >= last_change.sold_at):
            return Diagnosis(
                "key_change_needed", "Changement de clé à faire d'abord",
                f"Ce code a été fait avec la nouvelle clé du compteur (changement de clé du "
                f"{self._when(last_change.sold_at)}, reçu {last_change.receipt}). Si le "
                "compteur n'a pas encore reçu les codes de changement de clé, il refuse ce "
                "code : tapez-les d'abord. S'il les a déjà reçus, ce code a déjà été utilisé."
                + origin, ["resend_key_change", "check_credit"], fields, last_change.receipt)
        return Diagnosis(
            "used", "Code déjà utilisé",
            "Ce code est bon pour ce compteur et sa clé actuelle, et il est assez récent : un "
            "compteur ne le refuse que s'il a déjà été tapé (« déjà utilisé »). Son crédit est "
            "déjà dans le compteur." + origin, ["check_credit"], fields, receipt)
