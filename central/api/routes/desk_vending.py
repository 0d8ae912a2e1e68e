"""Prepaid sales at an agency's counter, through central's platform: ``POST
/agencies/{code}/vend-sales`` with the agency's credential (its own meters only; the agent
is recorded on the sale). Same series of receipts, same tokens, same refusals as the
operators' API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from central.api.deps import Scope
from central.api.routes.operator import QuoteIn, Vending, quote_json, sale_json
from central.vending.diagnosis import TokenDoctor
from central.vending.errors import refused
from central.vending.platform import SEARCH_LIMIT, DeskSeller, parse_energy

router = APIRouter(prefix="/agencies/{code}", tags=["données d'agence"])


class DeskSaleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = Field(min_length=1, max_length=60)
    meter: str = Field(min_length=1, max_length=30)
    amount: int = Field(ge=1, le=10**12)
    phone: str = Field(min_length=1, max_length=20)
    agent: str = Field(min_length=1, max_length=40)


@router.post("/vend-sales", summary="Vente de crédit prépayé au guichet de l'agence")
def desk_sale(body: DeskSaleIn, scope: Scope, vending: Vending,
              response: Response) -> dict[str, Any]:
    sale, replayed = vending.sell_at_desk(
        DeskSeller(scope.id, scope.code, body.agent), reference=body.reference,
        meter=body.meter, amount_minor=body.amount, phone=body.phone)
    response.status_code = 200 if replayed else 201
    return {**sale_json(sale, vending, replayed=replayed), "agent": sale.sold_by}


@router.get("/vend-meters", summary="Chercher en direct les compteurs prépayés de l'agence "
            "(début du numéro ou du nom du titulaire), titulaires masqués")
def desk_search(scope: Scope, vending: Vending,
                q: str = Query(min_length=1, max_length=60)) -> dict[str, Any]:
    return {"items": vending.search_meters(q, scope.id), "limit": SEARCH_LIMIT}


@router.get("/vend-meters/{number}", summary="Vérifier un compteur prépayé avant une vente au guichet")
def desk_check(number: str, scope: Scope, vending: Vending) -> dict[str, Any]:
    return vending.check_meter(number, scope.id)


@router.post("/vend-quotes", summary="Devis d'une vente au guichet : énergie ↔ montant")
def desk_quote(body: QuoteIn, scope: Scope, vending: Vending) -> dict[str, Any]:
    energy: Decimal | None = None
    if body.energy_kwh is not None:
        energy = parse_energy(body.energy_kwh)
    return quote_json(vending.quote(body.meter, energy=energy, amount_minor=body.amount,
                                    agency_id=scope.id), vending)


class ResendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str = Field(min_length=1, max_length=20)
    agent: str = Field(min_length=1, max_length=40)
    reason: str = Field(min_length=1, max_length=160)


@router.post("/vend-sales/{receipt}/sms", summary="Renvoyer le SMS d'une vente de l'agence")
def desk_resend_sms(receipt: str, body: ResendIn, scope: Scope,
                    vending: Vending) -> dict[str, Any]:
    sale = vending.resend_sms(DeskSeller(scope.id, scope.code, body.agent), receipt=receipt,
                              phone=body.phone, reason=body.reason)
    return sale_json(sale, vending)


class DecodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meter: str = Field(min_length=1, max_length=30)
    token: str = Field(min_length=1, max_length=40)


@router.post("/vend-tokens/decode",
             summary="Pourquoi le compteur refuse ce code : le jeton décodé avec les clés du "
                     "compteur de l'agence, la raison et quoi faire")
def desk_decode(body: DecodeIn, scope: Scope, vending: Vending) -> dict[str, Any]:
    if vending.tokens is None:
        raise refused("token_unavailable", "Service de jetons indisponible : réessayez plus "
                      "tard.", 503)
    doctor = TokenDoctor(vending.db, vending.tokens, vending.zone)
    return doctor.diagnose(scope.id, body.meter, body.token).to_json()


class ManagementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = Field(min_length=1, max_length=60)
    meter: str = Field(min_length=1, max_length=30)
    kind: str = Field(min_length=1, max_length=20)
    reason: str = Field(min_length=1, max_length=160)
    agent: str = Field(min_length=1, max_length=40)
    watts: int | None = Field(default=None, ge=1, le=10**6)


@router.post("/vend-management",
             summary="Jeton de gestion (superviseur) : remise à zéro du crédit, effacement de "
                     "fraude, puissance maximale, changement de clé")
def desk_management(body: ManagementIn, scope: Scope, vending: Vending,
                    response: Response) -> dict[str, Any]:
    sale, replayed = vending.issue_management(
        DeskSeller(scope.id, scope.code, body.agent), reference=body.reference,
        meter=body.meter, kind=body.kind, reason=body.reason, watts=body.watts)
    response.status_code = 200 if replayed else 201
    return {**sale_json(sale, vending, replayed=replayed), "agent": sale.sold_by,
            "kind": body.kind}
