"""Look-ups and after-sale acts: an operator's own sales, an SMS sent again at the counter, a
meter blocked at the platform.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from app.models import (
    AuditEntry,
    Meter,
    VendTransaction,
)
from app.models.capture import Actor, set_reason
from app.models.enums import (
    JournalOperation,
    SmsStatus,
)
from app.models.ids import new_id
from central.models import (
    SmsMessage,
    VendingMeter,
)
from central.sms.text import sale_messages
from central.vending.errors import refused
from central.vending.operators import OperatorInfo
from central.vending.records import DeskSeller, Sale, check_phone, normalise_meter_number
from central.vending.selling import Selling
from kernel.context import UnitOfWork
from kernel.errors import NotFoundError


class LookUps(Selling):
    # --- look-ups -----------------------------------------------------------------------
    def find(self, operator: OperatorInfo, *, reference: str | None = None,
             receipt: str | None = None, meter: str | None = None, phone: str | None = None,
             day_from: date | None = None, day_to: date | None = None,
             limit: int = 100) -> list[Sale]:
        """The operator's own sales only (another operator's never answer)."""
        query = select(VendTransaction).where(VendTransaction.operator_code == operator.code)
        if reference:
            query = query.where(VendTransaction.operator_reference == reference)
        if receipt:
            query = query.where(VendTransaction.receipt_number == receipt)
        if phone:
            query = query.where(VendTransaction.phone == check_phone(phone))
        if day_from:
            query = query.where(VendTransaction.sold_at >= datetime.combine(day_from, time(0),
                                                                            self.zone))
        if day_to:
            query = query.where(VendTransaction.sold_at < datetime.combine(
                day_to + timedelta(days=1), time(0), self.zone))
        with self.db.reading() as session:
            if meter:
                number = normalise_meter_number(meter)
                ids = list(session.scalars(select(Meter.id).where(
                    (Meter.sts_drn == number) | (Meter.serial == number))))
                query = query.where(VendTransaction.meter_id.in_(ids))
            return self._sales(session, query.order_by(VendTransaction.sold_at).limit(limit))

    def resend_sms(self, desk: DeskSeller, *, receipt: str, phone: str, reason: str) -> Sale:
        """The sale's SMS queued again (to the same or another number), at an agency's
        counter for one of its own sales; audited with the agent and the reason."""
        phone = check_phone(phone)
        if not reason.strip():
            raise refused("reason_missing", "Indiquez pourquoi le SMS est renvoyé.", 422)
        if not self.sms_enabled:
            raise refused("sms_disabled", "L'envoi de SMS n'est pas configuré sur la "
                          "plateforme.", 503)
        with UnitOfWork(self.db, Actor(username=desk.agent, agency_id=desk.agency_id)) as uow:
            session = uow.session
            found = session.execute(
                select(VendTransaction, Meter).join(Meter, Meter.id == VendTransaction.meter_id)
                .where(VendTransaction.receipt_number == receipt.strip().upper())).first()
            if found is None or found[0].agency_id != desk.agency_id:
                raise refused("not_found", f"Aucune vente de reçu {receipt} pour cette "
                              "agence.", 404)
            sale, meter = found
            set_reason(session, f"SMS renvoyé au {phone} : {reason.strip()}")
            now = self.clock()
            # Audited even when the status does not change (the first SMS still queued).
            session.add(AuditEntry(
                agency_id=sale.agency_id, user_id=None, username=desk.agent,
                transaction_id=new_id(), table_name="vend_transaction", row_id=sale.id,
                operation=JournalOperation.UPDATE, changes={"sms_resent_to": [None, phone]},
                reason=f"SMS renvoyé au {phone} : {reason.strip()}"))
            sale.sms_status = SmsStatus.PENDING
            for text_ in sale_messages(sale, meter.sts_drn or meter.serial, self.currency):
                session.add(SmsMessage(vend_id=sale.id, phone=phone, text=text_, next_at=now))
            view = Sale.of(sale, meter.sts_drn or meter.serial, None)
            uow.commit()
        self.wake()
        return view

    def block(self, number: str, reason: str) -> None:
        """Blocks a meter's sales at the platform (fraud, tampering); empty reason unblocks."""
        with self.db.session() as session, session.begin():
            facts_meter = session.scalars(select(Meter).where(
                Meter.sts_drn == normalise_meter_number(number))).first()
            if facts_meter is None or not facts_meter.sts_drn:
                raise NotFoundError(f"Compteur {number} inconnu.")
            state = session.get(VendingMeter, facts_meter.id)
            if state is None:
                state = VendingMeter(
                    meter_id=facts_meter.id, drn=facts_meter.sts_drn,
                    sgc=facts_meter.sts_sgc or 0, ti=facts_meter.sts_tariff_index or 0,
                    krn=facts_meter.sts_key_revision or 1,
                    kt=2 if facts_meter.sts_key_type is None else facts_meter.sts_key_type,
                    ken=0xFF if facts_meter.sts_key_expiry is None else
                    facts_meter.sts_key_expiry,
                    base_date=facts_meter.sts_base_date or 1993, last_tid=None,
                    blocked_reason="")
                session.add(state)
            state.blocked_reason = reason
