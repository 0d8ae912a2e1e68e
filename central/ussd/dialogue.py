"""The operator's USSD dialogue, as the seed tells it: code → meter serial → the platform
confirms (or the failure message) → energy (or amount) → the platform's tariff and figures
shown → validation with the wallet PIN → balance check (insufficient: message, nothing sold)
→ debit → purchase → the SMS comes from the platform.

A debit is never left without a sale: the purchase is retried with the same reference
(idempotent on the platform) when its answer is lost; a refusal, or a platform that never
answers and has no sale under the reference, gives the debit back.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from central.ussd.wallet import WalletError, Wallets

log = logging.getLogger("central.ussd")
PIN_TRIES = 3
INPUT_TRIES = 3


def money(amount: int) -> str:
    return f"{amount:,}".replace(",", " ") + " F"


class PlatformDown(Exception):
    """No answer from the platform (connection refused, time-out, 5xx)."""


class PlatformClient:
    def __init__(self, url: str, credential: str, *, timeout: float = 5.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.http = httpx.Client(base_url=url.rstrip("/") + "/operator/v1", timeout=timeout,
                                 headers={"Authorization": f"Bearer {credential}"},
                                 transport=transport)

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            raise PlatformDown(type(error).__name__) from error
        if response.status_code >= 500:
            raise PlatformDown(f"HTTP {response.status_code}")
        return response.status_code, response.json()


@dataclass
class Screen:
    text: str
    end: bool = False
    #: The purchase went through: the payer's phone is about to get the SMS.
    sold: bool = False


@dataclass
class Session:
    phone: str
    step: str = "dial"
    meter: str = ""
    owner: str = ""
    quote: dict[str, Any] = field(default_factory=dict)
    tries: int = 0
    at: float = field(default_factory=time.monotonic)


class Dialogue:
    def __init__(self, operator: str, wallets: Wallets, platform: PlatformClient, *,
                 purchase_tries: int = 3, retry_wait: float = 0.5,
                 reference: Callable[[], str] | None = None, code: str = "*155#") -> None:
        self.code = code
        self.operator = operator
        self.wallets = wallets
        self.platform = platform
        self.purchase_tries = purchase_tries
        self.retry_wait = retry_wait
        self.reference = reference or (lambda: f"{operator.upper()}-{uuid.uuid4().hex[:16]}")
        self.sessions: dict[str, Session] = {}
        self.title = f"{operator.title()} Money"

    def answer(self, session_id: str, phone: str, text: str) -> Screen:
        self._expire()
        session = self.sessions.setdefault(session_id, Session(phone))
        try:
            screen = getattr(self, f"_{session.step}")(session, text.strip())
        except PlatformDown as error:
            log.warning("platform unreachable: %s", error)
            screen = Screen("Service momentanément indisponible. Réessayez plus tard.", True)
        if screen.end:
            self.sessions.pop(session_id, None)
        return screen

    def _expire(self) -> None:
        old = [k for k, s in self.sessions.items() if time.monotonic() - s.at > 180]
        for key in old:
            del self.sessions[key]

    # --- steps --------------------------------------------------------------------------
    def _dial(self, session: Session, text: str) -> Screen:
        if text.replace(" ", "") != self.code:
            return Screen(f"Code USSD inconnu. Composez {self.code}.", True)
        session.step = "meter"
        return Screen(f"{self.title} - Électricité prépayée\nEntrez le numéro de série de "
                      "votre compteur (sur votre carte ou sur le compteur) :")

    def _meter(self, session: Session, text: str) -> Screen:
        status, body = self.platform.call("GET", f"/meters/{re.sub(r'[^0-9A-Za-z]', '', text)}")
        if status != 200:
            return Screen(f"Échec : {body.get('message', 'compteur refusé')}", True)
        session.meter, session.owner = body["meter"], body["owner"]
        session.step = "energy"
        return Screen(f"Compteur {session.meter} confirmé\nTitulaire : {session.owner}\n"
                      f"Tarif : {body['tariff']}\nEntrez l'énergie souhaitée en kWh "
                      "(ou un montant suivi de F, ex. 5000F) :")

    def _energy(self, session: Session, text: str) -> Screen:
        wanted = text.replace(" ", "").upper()
        payload: dict[str, Any] = {"meter": session.meter}
        try:
            if wanted.endswith("F"):
                payload["amount"] = int(wanted[:-1])
            else:
                payload["energy_kwh"] = str(Decimal(wanted.replace(",", ".")))
        except (ValueError, InvalidOperation):
            return self._again(session, "Saisie invalide.")
        status, body = self.platform.call("POST", "/quotes", json=payload)
        if status != 200:
            return self._again(session, body.get("message", "Saisie refusée."))
        session.quote, session.step, session.tries = body, "pin", 0
        split = body["split"]
        return Screen(
            f"Achat de {body['energy_kwh']} kWh\nCompteur {session.meter} ({session.owner})\n"
            f"Énergie : {money(split['energy'])}\nPrime fixe : {money(split['fixed_charge'])}\n"
            f"Arriérés : {money(split['arrears'])}\nTVA : {money(split['vat'])}\n"
            f"Total : {money(body['amount'])}\n"
            "Entrez votre code secret pour valider (0 pour annuler) :")

    def _again(self, session: Session, problem: str) -> Screen:
        session.tries += 1
        if session.tries >= INPUT_TRIES:
            return Screen(f"{problem} Opération abandonnée.", True)
        return Screen(f"{problem}\nEntrez l'énergie en kWh (ex. 25) ou un montant (ex. 5000F) :")

    def _pin(self, session: Session, text: str) -> Screen:
        if text == "0":
            return Screen("Opération annulée. Aucun débit.", True)
        if not self.wallets.check_pin(session.phone, text):
            session.tries += 1
            left = PIN_TRIES - session.tries
            if left <= 0:
                return Screen("Code secret incorrect. Opération annulée, aucun débit.", True)
            return Screen(f"Code secret incorrect ({left} essai(s) restant(s)) :")
        amount = int(session.quote["amount"])
        payer = self.wallets.payer(session.phone)
        balance = payer.balance if payer else 0
        reference = self.reference()
        try:
            left_after = self.wallets.debit(session.phone, amount, reference)
        except WalletError:
            return Screen(f"Solde insuffisant : votre solde est de {money(balance)}, l'achat "
                          f"coûte {money(amount)}. Aucun débit, rien n'est acheté.", True)
        return self._purchase(session, reference, amount, left_after)

    def _purchase(self, session: Session, reference: str, amount: int,
                  balance: int) -> Screen:
        body = {"reference": reference, "meter": session.meter, "amount": amount,
                "phone": session.phone, "channel": "ussd"}
        sale: dict[str, Any] | None = None
        for attempt in range(self.purchase_tries):
            try:
                status, answer = self.platform.call("POST", "/purchases", json=body)
            except PlatformDown:
                if attempt + 1 < self.purchase_tries:
                    time.sleep(self.retry_wait * (attempt + 1))
                continue
            if status in (200, 201):
                sale = answer
                break
            self.wallets.reverse(reference, str(answer.get("error", status)))
            return Screen(f"Achat refusé : {answer.get('message', 'refus')} Votre débit "
                          f"de {money(amount)} est annulé.", True)
        if sale is None:
            sale = self._lost(reference)
        if sale is None:
            self.wallets.reverse(reference, "plateforme sans réponse")
            return Screen("Service momentanément indisponible : achat non effectué, votre "
                          f"débit de {money(amount)} est annulé.", True)
        self.wallets.complete(reference, sale["receipt"])
        return Screen(f"Paiement de {money(amount)} effectué. {sale['energy_kwh']} kWh, reçu "
                      f"{sale['receipt']}. Votre jeton arrive par SMS au {session.phone}. "
                      f"Nouveau solde : {money(balance)}.", True, sold=True)

    def _lost(self, reference: str) -> dict[str, Any] | None:
        """After answers were lost: the platform's sale under the reference, if any."""
        try:
            status, answer = self.platform.call("GET", f"/purchases/{reference}")
        except PlatformDown:
            return None
        return answer if status == 200 else None
