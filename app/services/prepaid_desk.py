"""Prepaid sales at the counter through central's vending platform (docs/vending.md): check the
meter, quote with the split, sell.

A sale's idempotency key is committed to the desk's database (``prepaid_pending_sale``)
*before* the request leaves: when the
answer is lost (connection cut, time-out), the sale stays pending and is asked again with the
same key, so central answers the sale it already made (same receipt, same token) instead of
making a second one. When central cannot be reached nothing is sold and the agent is told so.
"""

from __future__ import annotations

import json
import os
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.models import Account, Contract, Customer, Meter, PendingVendSale
from app.models.database import Database
from app.models.enums import ContractStatus
from app.models.ids import utcnow
from kernel.errors import EnvironmentProblem

UNREACHABLE = ("Le serveur central ne répond pas : aucune vente n'a été faite. Réessayez "
               "dans un instant ou orientez le client vers le paiement mobile.")
LOST = ("La réponse du serveur central s'est perdue : la vente est gardée en attente et sera "
        "redemandée avec la même référence (jamais deux jetons, jamais deux paiements).")


class CentralAddress(Protocol):
    """Where central is and the agency's credential (``app.sync.endpoint.Endpoint``)."""

    @property
    def url(self) -> str: ...
    @property
    def credential(self) -> str: ...
    @property
    def agency_code(self) -> str: ...
    @property
    def ca_file(self) -> Path | None: ...


class CentralUnreachable(EnvironmentProblem):
    """Central did not answer: nothing was sold (or, for a pending sale, nothing is known)."""


class VendRefused(Exception):
    """Central refused (unknown or blocked meter, amount too small…): its French reason."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class MeterCheck:
    meter: str
    owner: str
    tariff: str
    mobile: str = ""


@dataclass(frozen=True)
class MeterSearch:
    """Central's live search: the agency's meters found (owners masked); ``capped`` when
    central stopped at its limit (more may match: type more)."""

    meters: tuple[MeterCheck, ...]
    capped: bool


@dataclass(frozen=True)
class Split:
    energy: int
    fixed_charge: int
    arrears: int
    vat: int


@dataclass(frozen=True)
class VendQuote:
    meter: str
    energy_kwh: str
    amount: int
    split: Split


@dataclass(frozen=True)
class PendingSale:
    reference: str
    meter: str
    amount: int
    phone: str
    agent: str


@dataclass(frozen=True)
class DeskSale:
    reference: str
    receipt: str
    meter: str
    amount: int
    energy_kwh: str
    split: Split
    token: str
    key_change_tokens: tuple[str, ...]
    phone: str
    sms_status: str
    sold_at: str
    replayed: bool
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def tokens_in_order(self) -> list[str]:
        """Key change tokens first; a key change set alone has no last token."""
        return [*self.key_change_tokens, *([self.token] if self.token else [])]


@dataclass(frozen=True)
class TokenDiagnosis:
    """Central's explanation of a code a meter refuses (« pourquoi le compteur refuse »)."""

    #: typing_error, test_token, other_meter, old_key, not_this_meter, key_change_needed,
    #: key_change_token, key_expired, old, used, function, unknown
    verdict: str
    title: str
    explanation: str
    #: (code, French sentence) of what to do, most useful first
    actions: tuple[tuple[str, str], ...]
    fields: tuple[tuple[str, str], ...]
    receipt: str = ""
    suggestion: str = ""


def grouped(token: str) -> str:
    digits = "".join(ch for ch in token if ch.isdigit())
    return " ".join(digits[i:i + 4] for i in range(0, len(digits), 4))


def order_sentence(sale: DeskSale) -> str:
    count = len(sale.key_change_tokens)
    if not count:
        return "Tapez ce code sur le clavier du compteur puis validez."
    first = "le premier code" if count == 1 else f"les {count} premiers codes"
    return (f"Tapez d'abord {first} (changement de clé du compteur), dans l'ordre, puis le "
            "code de crédit en dernier.")


class PendingStore:
    """The counter sales this desk asked of central: rows of the desk's ``prepaid_pending_sale``
    table, each committed before its request leaves; on central's sale the row is kept, marked
    sold (the desk's ledger the cash-up counts before the nightly sync), on a refusal it is
    deleted. ``all()`` is the retry list: the rows still waiting for an answer. ``legacy`` is
    the JSON file earlier versions kept them in: its sales are taken into the table once
    (nothing lost on upgrade), then the file is renamed."""

    def __init__(self, db: Database, legacy: Path | None = None) -> None:
        self.db = db
        if legacy is not None:
            self._take_legacy(legacy)

    def all(self) -> list[PendingSale]:
        with self.db.reading() as session:
            rows = session.scalars(select(PendingVendSale)
                                   .where(PendingVendSale.sold_at.is_(None))
                                   .order_by(PendingVendSale.created_at)).all()
            return [PendingSale(r.reference, r.meter, r.amount_minor, r.phone, r.agent)
                    for r in rows]

    def add(self, sale: PendingSale) -> None:
        with self.db.session() as session, session.begin():
            session.merge(PendingVendSale(reference=sale.reference, meter=sale.meter,
                                          amount_minor=sale.amount, phone=sale.phone,
                                          agent=sale.agent))

    def sold(self, sale: DeskSale) -> None:
        """Central sold it: the row stays, with the receipt, the amount and when."""
        sold_at = _instant(sale.sold_at)
        with self.db.session() as session, session.begin():
            session.execute(update(PendingVendSale)
                            .where(PendingVendSale.reference == sale.reference)
                            .values(receipt=sale.receipt, sold_amount_minor=sale.amount,
                                    sold_at=sold_at))

    def remove(self, reference: str) -> None:
        """Central refused it: nothing was sold, nothing is kept."""
        with self.db.session() as session, session.begin():
            session.execute(delete(PendingVendSale)
                            .where(PendingVendSale.reference == reference))

    def _take_legacy(self, path: Path) -> None:
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except OSError:
            return
        except ValueError:
            rows = []
        for row in rows if isinstance(rows, list) else []:
            try:
                self.add(PendingSale(**row))
            except TypeError:
                continue
        os.replace(path, path.with_suffix(path.suffix + ".repris"))


class VendingDesk:
    def __init__(self, endpoint: CentralAddress, pending: PendingStore, *, timeout: float = 10.0,
                 attempts: int = 3, transport: httpx.BaseTransport | None = None) -> None:
        self.pending = pending
        self.attempts = attempts
        self._http = httpx.Client(
            base_url=f"{endpoint.url}/agencies/{endpoint.agency_code}",
            headers={"Authorization": f"Bearer {endpoint.credential}"},
            timeout=httpx.Timeout(timeout, connect=3.0), transport=transport,
            verify=_verification(endpoint.ca_file))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> VendingDesk:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise CentralUnreachable(UNREACHABLE) from error
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 500 and body.get("error") != "token_unavailable":
            raise CentralUnreachable(UNREACHABLE)
        if response.status_code >= 300:
            message = str(body.get("message") or body.get("detail") or
                          f"Refus du serveur central ({response.status_code}).")
            raise VendRefused(message, str(body.get("error", "")))
        return dict(body)

    def check(self, meter: str, session: Session | None = None) -> MeterCheck:
        body = self._call("GET", f"/vend-meters/{meter.strip()}")
        mobile = mobile_of(session, body["meter"], meter.strip()) if session else ""
        return MeterCheck(body["meter"], body["owner"], body["tariff"], mobile)

    def search(self, text: str) -> MeterSearch:
        """Central's own answer for a meter the desk does not know (installed today, not yet
        synced): the agency's meters whose number or holder's name starts with ``text``."""
        body = self._call("GET", "/vend-meters", params={"q": text.strip()})
        meters = tuple(MeterCheck(str(row["meter"]), str(row["owner"]), str(row["tariff"]))
                       for row in body.get("items") or ())
        return MeterSearch(meters, len(meters) >= int(body.get("limit") or 0) > 0)

    def quote(self, meter: str, *, amount: int | None = None,
              energy_kwh: str | None = None) -> VendQuote:
        payload: dict[str, Any] = {"meter": meter}
        if energy_kwh is not None:
            payload["energy_kwh"] = energy_kwh
        else:
            payload["amount"] = amount
        body = self._call("POST", "/vend-quotes", json=payload)
        return VendQuote(body["meter"], body["energy_kwh"], body["amount"], _split(body))

    def resend_sms(self, receipt: str, phone: str, agent: str, reason: str) -> str:
        """Central queues the sale's SMS again; its SMS status (``pending``)."""
        body = self._call("POST", f"/vend-sales/{receipt}/sms",
                          json={"phone": "".join(phone.split()), "agent": agent,
                                "reason": reason})
        return str(body.get("sms_status", ""))

    def diagnose(self, meter: str, token: str) -> TokenDiagnosis:
        """Central decodes ``token`` with ``meter``'s keys and says why a meter refuses it."""
        body = self._call("POST", "/vend-tokens/decode",
                          json={"meter": meter.strip(), "token": token.strip()})
        return TokenDiagnosis(
            str(body["verdict"]), str(body["title"]), str(body["explanation"]),
            tuple((str(a["code"]), str(a["text"])) for a in body.get("actions") or ()),
            tuple((str(k), str(v)) for k, v in body.get("fields") or ()),
            str(body.get("receipt") or ""), str(body.get("suggestion") or ""))

    def management(self, meter: str, kind: str, reason: str, agent: str,
                   watts: int | None = None) -> DeskSale:
        """A supervisor's management token; asked again with the same key when the answer is
        lost (central answers the token it made)."""
        body: dict[str, Any] = {"reference": f"GUICHET-M-{uuid.uuid4().hex[:18]}",
                                "meter": meter.strip(), "kind": kind, "reason": reason,
                                "agent": agent}
        if watts is not None:
            body["watts"] = watts
        for _attempt in range(self.attempts):
            try:
                return _sale(self._call("POST", "/vend-management", json=body))
            except CentralUnreachable:
                continue
        raise CentralUnreachable(UNREACHABLE.replace("aucune vente n'a été faite",
                                                     "aucun jeton n'a été fait"))

    def sell(self, meter: str, amount: int, phone: str, agent: str) -> DeskSale:
        """A new sale; its key is on disk before the request."""
        sale = PendingSale(f"GUICHET-{uuid.uuid4().hex[:20]}", meter, amount, phone, agent)
        self.pending.add(sale)
        return self.resume(sale)

    def resume(self, sale: PendingSale) -> DeskSale:
        """Asks central for ``sale`` with its own key; a sale marks the row sold, a refusal
        deletes it, a lost answer keeps it pending."""
        body = {"reference": sale.reference, "meter": sale.meter, "amount": sale.amount,
                "phone": sale.phone, "agent": sale.agent}
        for _attempt in range(self.attempts):
            try:
                answer = self._call("POST", "/vend-sales", json=body)
            except CentralUnreachable:
                continue
            except VendRefused:
                self.pending.remove(sale.reference)
                raise
            made = _sale(answer)
            self.pending.sold(made)
            return made
        raise CentralUnreachable(LOST)


def _verification(ca_file: Path | None) -> ssl.SSLContext | bool:
    if ca_file is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as error:
        raise CentralUnreachable(f"Autorité de certification {ca_file} illisible : "
                                 f"{error}.") from error


def _instant(text: str) -> datetime:
    """Central's ``sold_at`` (ISO 8601), or now when it is missing or unreadable."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return utcnow()
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _split(body: dict[str, Any]) -> Split:
    split = body["split"]
    return Split(split["energy"], split["fixed_charge"], split["arrears"], split["vat"])


def _sale(body: dict[str, Any]) -> DeskSale:
    return DeskSale(body["reference"], body["receipt"], body["meter"], body["amount"],
                    body["energy_kwh"], _split(body), body["token"],
                    tuple(body.get("key_change_tokens") or ()), body["phone"],
                    body.get("sms_status", ""), body.get("sold_at", ""),
                    bool(body.get("replayed")), body)


def mobile_of(session: Session, drn: str, typed: str) -> str:
    """The mobile of the account holding the meter's active contract (the SMS default)."""
    row = session.execute(
        select(Customer.mobile, Customer.phone)
        .join(Account, Account.customer_id == Customer.id)
        .join(Contract, Contract.account_id == Account.id)
        .join(Meter, Meter.connection_id == Contract.connection_id)
        .where((Meter.sts_drn == drn) | (Meter.serial == typed),
               Contract.status == ContractStatus.ACTIVE)
        .limit(1)).first()
    if row is None:
        return ""
    return str(row[0] or row[1] or "")
