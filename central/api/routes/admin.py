"""Central operations, for the administrator credential only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from app.models import Agency
from app.models.ids import utcnow
from central.agencies import add_agency, new_agency_credential
from central.api.deps import Admin, Db, Reading
from central.api.errors import ApiError
from central.api.schemas import (
    AgencyCreated,
    AgencyIn,
    AgencyOut,
    BalanceRefreshOut,
    BillingRunOut,
    CorrectionIn,
    CorrectionOut,
    CredentialOut,
    UserIn,
    UserSummary,
)
from central.billing.balances import refresh_all_balances
from central.billing.corrections import correct_invoice
from central.billing.engine import recent_runs
from central.users import add_user, list_users, set_active

router = APIRouter(prefix="/admin", tags=["administration"])


@router.get("/agencies", response_model=list[AgencyOut], summary="Agences")
def agencies(_admin: Admin, session: Reading) -> list[Agency]:
    return list(session.scalars(select(Agency).order_by(Agency.code)))


@router.post("/agencies", response_model=AgencyCreated, status_code=201,
             summary="Créer une agence et son premier identifiant de connexion")
def create_agency(_admin: Admin, db: Db, session: Reading, data: AgencyIn) -> dict[str, Any]:
    info, credential = add_agency(db, data.code, data.name, data.id)
    agency = session.get(Agency, info.id)
    return {"agency": AgencyOut.model_validate(agency), "credential": credential}


@router.post("/agencies/{code}/credentials", response_model=CredentialOut, status_code=201,
             summary="Nouvel identifiant pour une agence")
def agency_credential(_admin: Admin, db: Db, code: str,
                      revoke_others: bool = False) -> dict[str, str]:
    return {"credential": new_agency_credential(db, code, revoke_others=revoke_others)}


@router.get("/users", response_model=list[UserSummary], summary="Agents (sans empreinte)")
def users(_admin: Admin, db: Db,
          agency: Annotated[str | None, Query(pattern=r"^\d{3}$")] = None) -> list[Any]:
    return list_users(db, agency)


@router.post("/users", response_model=UserSummary, status_code=201, summary="Créer un agent")
def create_user(_admin: Admin, db: Db, data: UserIn) -> Any:
    return add_user(db, data.username, data.full_name, data.role, data.password, data.agency_code)


@router.post("/users/{username}/disable", response_model=UserSummary, summary="Désactiver")
def disable_user(_admin: Admin, db: Db, username: str) -> Any:
    return set_active(db, username, False)


@router.post("/users/{username}/enable", response_model=UserSummary, summary="Réactiver")
def enable_user(_admin: Admin, db: Db, username: str) -> Any:
    return set_active(db, username, True)


@router.get("/billing-runs", response_model=list[BillingRunOut],
            summary="Journal des facturations")
def billing_runs(_admin: Admin, db: Db) -> list[Any]:
    return recent_runs(db)


@router.post("/invoices/{number}/correct", response_model=CorrectionOut,
             summary="Corriger une facture de consommation (avoir + nouvelle facture)")
def correct(_admin: Admin, request: Request, db: Db, number: str,
            data: CorrectionIn) -> Any:
    settings = request.app.state.settings
    issued_on = data.issued_on or utcnow().astimezone(settings.zone).date()
    return correct_invoice(db, request.app.state.currency, number, issued_on=issued_on,
                           reason=data.reason, payment_terms_days=settings.payment_terms_days)


@router.post("/balances/refresh", response_model=BalanceRefreshOut,
             summary="Recalculer les soldes des comptes")
def refresh_balances(_admin: Admin, session: Reading, db: Db,
                     agency: Annotated[str | None, Query(pattern=r"^\d{3}$")] = None) -> Any:
    agency_id = None
    if agency is not None:
        agency_id = session.scalars(select(Agency.id).where(Agency.code == agency)).one_or_none()
        if agency_id is None:
            raise ApiError(404, "not_found", f"L'agence {agency} n'existe pas.")
    return refresh_all_balances(db, agency_id)
