"""The platform's meters: a meter's facts, its tariff in force, its month so far and the
paying phone's day (one query each), the meter check, the live search and the quote.
"""

from __future__ import annotations

import re
import time as clock_time
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.orm import Session, selectinload

from app.models import (
    Account,
    Contract,
    Customer,
    Meter,
    Tariff,
    VendTransaction,
)
from app.models.enums import (
    ContractStatus,
    CustomerKind,
    MeterPayment,
    MeterStatus,
    VendStatus,
)
from central.models import (
    VendingMeter,
)
from central.vending.diagnosis import meter_record
from central.vending.errors import refused
from central.vending.operators import OperatorInfo
from central.vending.pricing import Band, PricingError, Terms, from_amount, from_energy
from central.vending.records import (
    SEARCH_LIMIT,
    SEARCH_MAX_TEXT,
    SEARCH_MIN_TEXT,
    MeterFacts,
    PlatformState,
    Quote,
    TariffTerms,
    _like_prefix,
    mask_name,
    normalise_meter_number,
)

TARIFF_CACHE_SECONDS = 30.0


def _contract(column: Any) -> Any:
    """``column`` of the meter's connection's latest active contract, read through the
    contract's (connection, start date) index (the subquery it replaces sorted every active
    contract of the installation for each sale)."""
    return (select(column).where(Contract.connection_id == Meter.connection_id,
                                 Contract.status == ContractStatus.ACTIVE)
            .order_by(Contract.start_date.desc()).limit(1).scalar_subquery())


#: A meter's columns the platform reads (its rules and its STS identity, not the whole row).
_METER = (Meter.id, Meter.agency_id, Meter.payment, Meter.status, Meter.serial, Meter.sts_drn,
          Meter.sts_iin, Meter.sts_sgc, Meter.sts_tariff_index, Meter.sts_key_revision,
          Meter.sts_key_type, Meter.sts_key_expiry, Meter.sts_algorithm, Meter.sts_dkga,
          Meter.sts_base_date, Meter.prepaid_tariff_id)

#: A meter, its block, and the owner, account and tariff of its active contract: one query.
_ALL_FACTS = (
    select(*_METER, VendingMeter.blocked_reason.label("blocked"),
           _contract(Contract.tariff_id).label("contract_tariff"),
           Account.id.label("account_id"), Account.balance_minor.label("balance"),
           Customer.kind, Customer.last_name, Customer.first_name,
           Customer.organisation_name)
    .outerjoin(VendingMeter, VendingMeter.meter_id == Meter.id)
    .outerjoin(Account, Account.id == _contract(Contract.account_id))
    .outerjoin(Customer, Customer.id == Account.customer_id)
)
_FACTS = _ALL_FACTS.limit(1)

_FACTS_BY_DRN = _FACTS.where(Meter.sts_drn == bindparam("number"))
_FACTS_BY_SERIAL = _FACTS.where(Meter.serial == bindparam("number"))


def _month_so_far(payer: bool) -> Select[Any]:
    """The meter's completed energy purchases since ``month`` (sum, count) and, with
    ``payer``, what the paying phone spent with the operator on the day: one query."""
    vt = VendTransaction
    meter = (vt.meter_id == bindparam("meter")) & (vt.sold_at >= bindparam("month"))
    wanted = meter
    columns: list[Any] = [func.coalesce(func.sum(vt.energy).filter(meter), 0),
                          func.count().filter(meter)]
    if payer:
        paid = ((vt.operator_code == bindparam("operator")) & (vt.phone == bindparam("phone"))
                & (vt.sold_at >= bindparam("day")) & (vt.sold_at < bindparam("next_day")))
        wanted = meter | paid
        columns.append(func.coalesce(func.sum(vt.amount_minor).filter(paid), 0))
    return select(*columns).where(vt.status == VendStatus.COMPLETED, vt.token_class == 0,
                                  wanted)


_MONTH = _month_so_far(payer=False)
_MONTH_AND_PAYER = _month_so_far(payer=True)


class MeterRules(PlatformState):
    # --- meters -------------------------------------------------------------------------
    def _meter(self, session: Session, number: str, today: date,
               agency_id: uuid.UUID | None = None) -> MeterFacts:
        """The meter's facts; with ``agency_id`` (a desk), another agency's meter is refused
        before anything of it (block, owner, tariff, arrears) is read."""
        number = normalise_meter_number(number)
        if not re.fullmatch(r"[A-Za-z0-9]{4,20}", number):
            raise refused("meter_unknown", "Numéro de compteur invalide : vérifiez le numéro "
                          "sur votre carte ou sur le compteur.", 404)
        row = session.execute(_FACTS_BY_DRN, {"number": number}).first() or \
            session.execute(_FACTS_BY_SERIAL, {"number": number}).first()
        if row is None:
            raise refused("meter_unknown", f"Compteur {number} inconnu : vérifiez le numéro "
                          "sur votre carte ou sur le compteur.", 404)
        return self._judge(session, row, number, today, agency_id)

    def _judge(self, session: Session, meter: Any, number: str, today: date,
               agency_id: uuid.UUID | None) -> MeterFacts:
        """The facts of a meter read by ``_ALL_FACTS``, or its refusal (the rules a sale
        checks before anything is written)."""
        if agency_id is not None and meter.agency_id != agency_id:
            raise refused("meter_other_agency", f"Le compteur {number} dépend d'une autre "
                          "agence : la vente se fait dans son agence ou par paiement mobile.",
                          403)
        if meter.payment is not MeterPayment.PREPAID:
            raise refused("meter_postpaid", f"Le compteur {number} n'est pas un compteur à "
                          "prépaiement : payez vos factures en agence.")
        if meter.status is MeterStatus.REMOVED:
            raise refused("meter_retired", f"Le compteur {number} n'est plus en service.")
        if meter.status is not MeterStatus.INSTALLED:
            raise refused("meter_not_installed", f"Le compteur {number} n'est pas encore "
                          "installé.")
        if not meter.sts_drn:
            raise refused("meter_not_sts", f"Le compteur {number} n'a pas d'identité STS : "
                          "adressez-vous à votre agence.")
        if meter.blocked:
            raise refused("meter_blocked", f"Le compteur {number} est bloqué : "
                          "adressez-vous à votre agence.")
        owner = "***"
        if meter.kind is not None:
            owner = (mask_name(meter.organisation_name, "")
                     if meter.kind is CustomerKind.ORGANISATION
                     else mask_name(meter.last_name, meter.first_name))
        tariff = self._tariff(session, meter.prepaid_tariff_id or meter.contract_tariff, today)
        if tariff is None or tariff.payment is not MeterPayment.PREPAID:
            raise refused("no_tariff", f"Aucun tarif prépayé en vigueur pour le compteur "
                          f"{number} : adressez-vous à votre agence.")
        record = meter_record(cast(Meter, meter))
        return MeterFacts(meter.id, meter.agency_id, meter.sts_drn, record, owner,
                          meter.account_id, max(0, meter.balance or 0), tariff,
                          tariff.arrears_recovery_share or Decimal(0))

    def _tariff(self, session: Session, tariff_id: uuid.UUID | None,
                today: date) -> TariffTerms | None:
        """The version in force today of the meter's tariff (kept a short while: tariffs
        change a few times a year, every sale reads them)."""
        if tariff_id is None:
            return None
        key = (tariff_id, today)
        cached = self._tariffs.get(key)
        if cached is not None and clock_time.monotonic() - cached[0] < TARIFF_CACHE_SECONDS:
            return cached[1]
        given = session.get(Tariff, tariff_id)
        if given is None:
            return None
        in_force = session.scalars(
            select(Tariff).options(selectinload(Tariff.bands))
            .where(Tariff.code == given.code, Tariff.agency_id.is_(given.agency_id)
                   if given.agency_id is None else Tariff.agency_id == given.agency_id,
                   Tariff.valid_from <= today,
                   (Tariff.valid_to.is_(None)) | (Tariff.valid_to >= today))
            .order_by(Tariff.valid_from.desc())).first()
        terms = None
        if in_force is not None:
            terms = TariffTerms(
                in_force.id, in_force.code, in_force.name, in_force.payment,
                in_force.fixed_charge_minor, in_force.vat_rate, in_force.arrears_recovery_share,
                tuple(Band(b.lower_bound, b.upper_bound, b.unit_price, b.is_social)
                      for b in sorted(in_force.bands, key=lambda b: b.lower_bound)))
        self._tariffs[key] = (clock_time.monotonic(), terms)
        return terms

    def today(self) -> date:
        return self.clock().astimezone(self.zone).date()

    def _month_start(self, day: date) -> datetime:
        return datetime.combine(day.replace(day=1), time(0), self.zone)

    def _terms(self, session: Session, facts: MeterFacts, today: date,
               payer: tuple[str, str] | None = None) -> tuple[Terms, int]:
        """The meter's month so far, and what ``payer`` (operator, phone) spent today: one
        query."""
        params: dict[str, Any] = {"meter": facts.meter_id, "month": self._month_start(today)}
        if payer is not None:
            start = datetime.combine(today, time(0), self.zone)
            params.update(operator=payer[0], phone=payer[1], day=start,
                          next_day=start + timedelta(days=1))
        row = session.execute(_MONTH if payer is None else _MONTH_AND_PAYER, params).one()
        spent = int(row[2]) if payer is not None else 0
        return self._terms_of(facts, Decimal(row[0]), int(row[1])), spent

    def _terms_of(self, facts: MeterFacts, month_energy: Decimal, month_sales: int) -> Terms:
        """The pricing terms of the meter's next sale, given its month so far."""
        return Terms(bands=facts.tariff.bands, fixed_charge_minor=facts.tariff.fixed_charge_minor,
                     vat_rate=facts.tariff.vat_rate, arrears_share=facts.arrears_share,
                     exponent=self.currency.exponent, month_energy=month_energy,
                     first_of_month=month_sales == 0,
                     arrears_owed_minor=facts.arrears_owed_minor)

    def check_meter(self, number: str, agency_id: uuid.UUID | None = None) -> dict[str, Any]:
        """The meter as a payer may see it; ``agency_id`` (a desk): its own meters only."""
        with self.db.reading() as session:
            facts = self._meter(session, number, self.today(), agency_id)
        return {"meter": facts.drn, "owner": facts.owner, "tariff": facts.tariff.name,
                "tariff_code": facts.tariff.code, "unit": "kWh",
                "message": f"Compteur {facts.drn} — {facts.owner}"}

    def search_meters(self, text: str, agency_id: uuid.UUID,
                      limit: int = SEARCH_LIMIT) -> list[dict[str, Any]]:
        """The agency's own installed prepaid meters whose DRN or serial starts with ``text``
        or whose holder's name starts with it (a meter installed today, not yet on the desk):
        at most ``limit``, owners masked. Another agency's meters are never read."""
        text = " ".join(text.split())[:SEARCH_MAX_TEXT]
        number = normalise_meter_number(text)
        if len(number) < SEARCH_MIN_TEXT:
            raise refused("search_too_short", f"Tapez au moins {SEARCH_MIN_TEXT} caractères "
                          "du numéro ou du nom.", 422)
        prefix = _like_prefix(number)
        name = _like_prefix(text.lower())
        query = (
            select(Meter, _contract(Contract.tariff_id), Customer.kind, Customer.last_name,
                   Customer.first_name, Customer.organisation_name)
            .select_from(Meter)
            .outerjoin(Account, Account.id == _contract(Contract.account_id))
            .outerjoin(Customer, Customer.id == Account.customer_id)
            .where(Meter.agency_id == agency_id, Meter.payment == MeterPayment.PREPAID,
                   Meter.status == MeterStatus.INSTALLED, Meter.sts_drn.is_not(None),
                   Meter.sts_drn != "",
                   or_(Meter.sts_drn.like(prefix, escape="\\"),
                       Meter.serial.like(prefix, escape="\\"),
                       func.lower(Customer.last_name).like(name, escape="\\"),
                       func.lower(Customer.organisation_name).like(name, escape="\\")))
            .order_by(Meter.sts_drn).limit(max(1, min(limit, SEARCH_LIMIT))))
        today = self.today()
        found: list[dict[str, Any]] = []
        with self.db.reading() as session:
            for meter, tariff_id, kind, last, first, organisation in session.execute(query):
                owner = "***"
                if kind is not None:
                    owner = (mask_name(organisation or "", "")
                             if kind is CustomerKind.ORGANISATION
                             else mask_name(last or "", first or ""))
                tariff = self._tariff(session, meter.prepaid_tariff_id or tariff_id, today)
                found.append({"meter": meter.sts_drn, "serial": meter.serial, "owner": owner,
                              "tariff": tariff.name if tariff is not None else ""})
        return found

    def quote(self, number: str, *, energy: Decimal | None = None,
              amount_minor: int | None = None, agency_id: uuid.UUID | None = None) -> Quote:
        if (energy is None) == (amount_minor is None):
            raise refused("quote_invalid", "Indiquez soit l'énergie (kWh), soit le montant.",
                          422)
        today = self.today()
        with self.db.reading() as session:
            facts = self._meter(session, number, today, agency_id)
            terms, _spent = self._terms(session, facts, today)
        try:
            split = (from_energy(terms, energy) if energy is not None
                     else from_amount(terms, int(amount_minor or 0)))
        except PricingError as error:
            raise refused(error.code, error.message, 422) from None
        return Quote(facts.drn, facts.owner, facts.tariff.code, facts.tariff.name, split,
                     terms.first_of_month, terms.month_energy)

    def _check_limits(self, operator: OperatorInfo, amount_minor: int) -> None:
        fmt = self.currency.format_minor
        if amount_minor < operator.min_amount_minor:
            raise refused("amount_below_minimum", "Montant trop faible : minimum "
                          f"{fmt(operator.min_amount_minor)} par achat.", 422)
        if amount_minor > operator.max_amount_minor:
            raise refused("amount_above_maximum", "Montant trop élevé : maximum "
                          f"{fmt(operator.max_amount_minor)} par achat.", 422)

    def _check_daily(self, operator: OperatorInfo, amount_minor: int, spent: int) -> None:
        if spent + amount_minor > operator.max_payer_day_minor:
            left = max(0, operator.max_payer_day_minor - spent)
            raise refused("daily_limit_exceeded", "Plafond journalier atteint pour ce numéro : "
                          f"reste {self.currency.format_minor(left)} aujourd'hui.", 422)

