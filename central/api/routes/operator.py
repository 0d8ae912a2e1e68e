"""The operator API of the vending platform: ``/operator/v1/…``, for mobile-money operators'
credentials only (``python -m central operator add NAME``; an agency's or administrator's
credential is refused here, and an operator's is refused everywhere else).

Refusals are ``{"error": code, "message": French text fit for a USSD screen}``. Amounts are in
the currency's minor units; energy in kWh as a decimal string.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from app.models.enums import VendChannel
from central.api.errors import ApiError
from central.api.operator_credentials import OperatorCredentials
from central.sms.text import grouped
from central.vending.errors import refused
from central.vending.operators import OperatorInfo
from central.vending.platform import Platform, Quote, Sale, parse_energy

T = TypeVar("T")
router = APIRouter(prefix="/operator/v1", tags=["opérateurs (vente de crédit)"])


# The dependencies are coroutines: FastAPI runs a plain function dependency in its thread pool,
# one hand-off (and GIL hand-over) per dependency and request (docs/vending.md, Speed).
async def platform(request: Request) -> Platform:
    found: Platform | None = getattr(request.app.state, "platform", None)
    if found is None:
        raise ApiError(503, "vending_disabled", "Plateforme de vente indisponible.")
    return found


class OperatorBearer(HTTPBearer):
    """The operator of the request's bearer credential (401 otherwise): the scheme the API's
    description shows for these routes, and the check, in one dependency (not the framework's
    parser then the look-up: each dependency costs its solving, every request)."""

    async def __call__(self, request: Request) -> OperatorInfo:  # type: ignore[override]
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret:
            raise ApiError(401, "unauthorized", "Identifiant d'opérateur manquant.",
                           headers={"WWW-Authenticate": "Bearer"})
        known: OperatorCredentials = request.app.state.operator_credentials
        found = await known.bearer(header)
        if found is None:
            raise ApiError(401, "unauthorized", "Identifiant d'opérateur inconnu ou révoqué.",
                           headers={"WWW-Authenticate": "Bearer"})
        request.state.operator = found.code
        return found


operator = OperatorBearer(auto_error=False, description="Identifiant d'opérateur "
                          "(python -m central operator add NOM)")


#: The threads purchases wait in while their sale writer commits their batch: their own pool,
#: so waiting sales never hold the threads of the other endpoints (and the other way round),
#: and a hand-off cheaper than the framework's thread pool (anyio's limiter and cancel scope).
_SALE_THREADS = ThreadPoolExecutor(max_workers=40, thread_name_prefix="sale")


async def _in_sale_thread(call: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """``call`` in a sale thread, with the request's context (its id in the log lines)."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(
        _SALE_THREADS, partial(context.run, call, *args, **kwargs))


Operator = Annotated[OperatorInfo, Depends(operator)]
Vending = Annotated[Platform, Depends(platform)]


class QuoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meter: str = Field(min_length=1, max_length=30)
    energy_kwh: str | None = Field(default=None, max_length=20)
    amount: int | None = Field(default=None, ge=1, le=10**12)


class PurchaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = Field(min_length=1, max_length=60)
    meter: str = Field(min_length=1, max_length=30)
    amount: int = Field(ge=1, le=10**12)
    phone: str = Field(min_length=1, max_length=20)
    channel: Literal["ussd", "api"] = "ussd"


def quote_json(quote: Quote, vending: Platform) -> dict[str, Any]:
    split = quote.split
    fmt = vending.currency.format_minor
    return {
        "meter": quote.meter, "owner": quote.owner, "tariff": quote.tariff_name,
        "tariff_code": quote.tariff_code, "currency": vending.currency.code,
        "energy_kwh": str(split.energy), "amount": split.amount_minor,
        "split": {"energy": split.energy_minor, "fixed_charge": split.fixed_charge_minor,
                  "arrears": split.arrears_minor, "vat": split.vat_minor},
        "bands": [{"from": b.lower, "to": b.upper, "social": b.social,
                   "energy_kwh": str(b.energy), "price": str(b.price)} for b in split.bands],
        "first_purchase_of_month": quote.first_of_month,
        "month_energy_kwh": str(quote.month_energy),
        "message": (f"{split.energy} kWh pour {fmt(split.amount_minor)} (énergie "
                    f"{fmt(split.energy_minor)}, prime fixe {fmt(split.fixed_charge_minor)}, "
                    f"arriérés {fmt(split.arrears_minor)}, TVA {fmt(split.vat_minor)})"),
    }


def sale_json(sale: Sale, vending: Platform, *, replayed: bool = False) -> dict[str, Any]:
    return {
        "reference": sale.reference, "receipt": sale.receipt, "meter": sale.meter,
        "status": sale.status, "channel": sale.channel, "phone": sale.phone,
        "currency": vending.currency.code, "amount": sale.amount_minor,
        "energy_kwh": str(sale.energy),
        "split": {"energy": sale.energy_minor, "fixed_charge": sale.fixed_charge_minor,
                  "arrears": sale.arrears_minor, "vat": sale.vat_minor},
        "token": sale.token, "token_grouped": grouped(sale.token),
        "key_change_tokens": list(sale.key_change_tokens),
        "tokens": [grouped(t) for t in [*sale.key_change_tokens, sale.token]],
        "sold_at": sale.sold_at.isoformat(), "sms_status": sale.sms_status,
        "hes_status": sale.hes_status, "replayed": replayed,
    }


@router.get("/meters/{number}", summary="Vérifier un compteur")
def check_meter(number: str, caller: Operator, vending: Vending) -> dict[str, Any]:
    return vending.check_meter(number)


@router.post("/quotes", summary="Devis : énergie → montant ou montant → énergie")
def quote(body: QuoteIn, caller: Operator, vending: Vending) -> dict[str, Any]:
    energy: Decimal | None = None
    if body.energy_kwh is not None:
        energy = parse_energy(body.energy_kwh)
    if body.amount is not None and energy is None and body.amount <= 0:
        raise refused("amount_invalid", "Montant invalide.", 422)
    return quote_json(vending.quote(body.meter, energy=energy, amount_minor=body.amount),
                       vending)


@router.post("/purchases", summary="Achat (idempotent par référence de l'opérateur)",
             status_code=201)
async def purchase(body: PurchaseIn, caller: Operator, request: Request) -> JSONResponse:
    vending = await platform(request)  # not a dependency: one fewer to solve, every sale
    sale, replayed = await _in_sale_thread(
        vending.purchase, caller, reference=body.reference, meter=body.meter,
        amount_minor=body.amount, phone=body.phone, channel=VendChannel(body.channel))
    # Plain JSON values already: answered as they are (no second encoding pass).
    return JSONResponse(sale_json(sale, vending, replayed=replayed),
                        status_code=200 if replayed else 201)


@router.get("/purchases/{reference}", summary="Un achat, par la référence de l'opérateur")
def by_reference(reference: str, caller: Operator, vending: Vending) -> dict[str, Any]:
    found = vending.find(caller, reference=reference, limit=1)
    if not found:
        raise ApiError(404, "not_found", f"Aucun achat de référence {reference}.")
    return sale_json(found[0], vending)


@router.get("/purchases", summary="Achats : par reçu, compteur, téléphone, dates")
def purchases(
    caller: Operator, vending: Vending,
    receipt: str | None = None, meter: str | None = None, phone: str | None = None,
    day_from: Annotated[date | None, Query(alias="from")] = None,
    day_to: Annotated[date | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    found = vending.find(caller, receipt=receipt, meter=meter, phone=phone, day_from=day_from,
                         day_to=day_to, limit=limit)
    return {"items": [sale_json(sale, vending) for sale in found]}
