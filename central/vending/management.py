"""Management tokens a supervisor asks at an agency's counter (clear credit, clear tamper,
power limit, key change), each with its own receipt and its reason on the audit entry.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from app.models import (
    Meter,
    User,
    VendTransaction,
)
from app.models.capture import Actor, set_reason
from app.models.enums import (
    MeterPayment,
    Role,
    SmsStatus,
    VendChannel,
    VendStatus,
)
from app.models.ids import new_id
from central.meters.fleet import MeterRecord
from central.models import (
    VendingMeter,
)
from central.sts.errors import StsError
from central.sts.token_types import Token
from central.sts.tokens import encode_value
from central.vending.diagnosis import meter_record
from central.vending.errors import refused
from central.vending.operators import OperatorInfo
from central.vending.records import (
    REFERENCE_FORMAT,
    DeskSeller,
    Sale,
    _digest,
    normalise_meter_number,
)
from central.vending.sale_writer import Written
from central.vending.selling import Selling
from kernel.context import UnitOfWork

#: Management tokens a supervisor may ask at the counter (code → French name).
MANAGEMENT_KINDS = {
    "clear_credit": "remise à zéro du crédit",
    "clear_tamper": "effacement de l'alarme de fraude",
    "power_limit": "puissance maximale",
    "key_change": "changement de clé",
}


class Management(Selling):
    # --- management tokens (supervisors at an agency's counter) -------------------------
    def issue_management(self, desk: DeskSeller, *, reference: str, meter: str, kind: str,
                         reason: str, watts: int | None = None) -> tuple[Sale, bool]:
        """A management token (``clear_credit``, ``clear_tamper``, ``power_limit``,
        ``key_change``) for one of the agency's meters, asked by a supervisor or an
        administrator of the agency (checked here against central's users, not only on the
        desk), with a reason (on the audit entry); stored as a ``vend_transaction`` of amount 0
        with its own receipt, idempotent by ``reference``: ``(sale, replayed)``."""
        if kind not in MANAGEMENT_KINDS:
            raise refused("kind_invalid", "Type de jeton de gestion inconnu.", 422)
        reason = " ".join(reason.split())
        if len(reason) < 5:
            raise refused("reason_missing", "Indiquez le motif du jeton de gestion "
                          "(5 caractères au moins).", 422)
        if kind == "power_limit" and not (watts and 100 <= watts <= 100_000):
            raise refused("power_invalid", "Puissance maximale invalide (100 à 100 000 W).",
                          422)
        if not REFERENCE_FORMAT.fullmatch(reference or ""):
            raise refused("reference_invalid", "Référence d'opération invalide.", 422)
        number = normalise_meter_number(meter)
        digest = _digest(number, watts or 0, kind, "management")
        operator = OperatorInfo(desk.agency_id, "", f"agence {desk.agency_code}", 1, 10**15,
                                10**15, False)
        with UnitOfWork(self.db, Actor(username=desk.agent, agency_id=desk.agency_id)) as uow:
            session = uow.session
            user = session.execute(select(User.role, User.agency_id, User.is_active).where(
                User.username == desk.agent)).first()
            if user is None or not user[2] or user[1] not in (desk.agency_id, None) \
                    or user[0] not in (Role.SUPERVISOR, Role.ADMINISTRATOR):
                raise refused("role_forbidden", "Jetons de gestion réservés aux superviseurs et "
                              "administrateurs de l'agence.", 403)
            now = self.clock()
            vend_id = new_id()
            if not self._take_reference(session, operator, reference, digest, vend_id, now):
                return self._existing(session, operator, reference, digest), True
            found = session.scalars(select(Meter).where(Meter.sts_drn == number)).first() or \
                session.scalars(select(Meter).where(Meter.serial == number)).first()
            if found is None:
                raise refused("meter_unknown", f"Compteur {number} inconnu.", 404)
            if found.agency_id != desk.agency_id:
                raise refused("meter_other_agency", f"Le compteur {number} dépend d'une autre "
                              "agence.", 403)
            if not found.sts_drn or found.payment is not MeterPayment.PREPAID:
                raise refused("meter_not_sts", f"Le compteur {number} n'est pas un compteur "
                              "prépayé STS.", 422)
            if self.tokens is None:
                raise refused("token_unavailable", "Service de jetons indisponible : réessayez "
                              "plus tard.", 503)
            record = meter_record(found)
            state = self._lock(session, found.id, found.sts_drn, record)
            subclass, credit, changes = self._management_tokens(kind, record, state, now,
                                                                watts)
            state.updated_at = now
            set_reason(session, f"Jeton de gestion ({MANAGEMENT_KINDS[kind]}) : {reason}")
            postgres = session.get_bind().dialect.name == "postgresql"
            placeholder = f"#{vend_id.hex[-17:]}"
            row = VendTransaction(
                id=vend_id, agency_id=found.agency_id,
                receipt_number=placeholder if postgres else self._receipt(session, now),
                meter_id=found.id, account_id=None, tariff_id=None,
                channel=VendChannel.COUNTER, status=VendStatus.COMPLETED, amount_minor=0,
                energy=Decimal(0), energy_minor=0, fixed_charge_minor=0, arrears_minor=0,
                vat_minor=0, token=credit.digits if credit else "", token_class=2,
                token_subclass=subclass, token_tid=credit.tid if credit else None,
                key_change_tokens=" ".join(t.digits for t in changes), phone="",
                operator_reference=reference, operator_code="",
                sms_status=SmsStatus.NOT_REQUESTED, sold_at=now, sold_by=desk.agent)
            session.add(row)
            view = Sale.of(row, found.sts_drn, None)
            if postgres:
                session.flush()
                written = Written(vend_id, session.info["transaction_id"], placeholder, [], "",
                                  view)
                view = replace(view, receipt=self._number_and_commit(session, [written],
                                                                     now)[0])
            uow.commit()  # PostgreSQL: committed above; this ends the session's transaction
        return view, False

    def _management_tokens(self, kind: str, record: MeterRecord, state: VendingMeter,
                           now: datetime, watts: int | None
                           ) -> tuple[int, Token | None, tuple[Token, ...]]:
        assert self.tokens is not None
        try:
            if kind == "key_change":
                changes = self.tokens.key_change(record, state, now)
                if not changes:
                    raise refused("key_current", "La clé du compteur est déjà celle de sa fiche : "
                                  "pour redonner les codes du dernier changement de clé, "
                                  "réimprimez son reçu ou renvoyez son SMS.", 409)
                return 3, None, changes
            subclass = {"clear_credit": 1, "clear_tamper": 5, "power_limit": 0}[kind]
            value = (encode_value(2, 0, watts, None) if kind == "power_limit"
                     else 0xFFFF if kind == "clear_credit" else 0)
            issued = self.tokens.issue_tid(record, state, 2, subclass, value, now)
        except StsError as error:
            raise refused("token_unavailable", "Jeton impossible à produire pour ce compteur : "
                          f"{error.message_fr}", 503) from None
        return subclass, issued.credit, issued.key_change

