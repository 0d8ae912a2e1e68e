"""One agency's data: ``/agencies/{code}/…``, for that agency's credential or the
administrator. Rows are looked up within the agency (another agency's id answers 404)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Response
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from app.models import Account, Agency, Customer, Invoice, Meter, User, VendTransaction
from central.actors import ADMINISTRATION, agency_actor
from central.api.deps import Db, Reading, Scope
from central.api.errors import ApiError
from central.api.schemas import (
    AccountOut,
    CustomerOut,
    IntegratedOut,
    InvoiceDetail,
    InvoiceOut,
    Page,
    UserOut,
    VendTransactionOut,
)
from central.billing.works import WorksInvoiceIn, integrate_works_invoice
from kernel.context import UnitOfWork
from kernel.wire import scope as scope_of
from kernel.wire import table as wire_table

router = APIRouter(prefix="/agencies/{code}", tags=["données d'agence"])
M = TypeVar("M", Customer, Invoice, VendTransaction)
After = Annotated[uuid.UUID | None, Query(description="Dernier id de la page précédente")]
Limit = Annotated[int, Query(ge=1, le=1000)]


def _page(session: Session, query: Select[M], model: Any, after: uuid.UUID | None,
          limit: int) -> dict[str, Any]:
    query = query.order_by(model.id).limit(limit + 1)
    if after is not None:
        query = query.where(model.id > after)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_after": rows[-1].id if more else None}


def _missing(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} introuvable dans cette agence.")


@router.get("/customers", response_model=Page[CustomerOut], summary="Clients (par pages)")
def customers(scope: Scope, session: Reading, after: After = None,
              limit: Limit = 100) -> dict[str, Any]:
    query = select(Customer).where(Customer.agency_id == scope.id)
    return _page(session, query, Customer, after, limit)


@router.get("/customers/{customer_id}", response_model=CustomerOut, summary="Un client")
def customer(scope: Scope, session: Reading, customer_id: uuid.UUID) -> Customer:
    found = session.get(Customer, customer_id)
    if found is None or found.agency_id != scope.id:
        raise _missing("Client")
    return found


@router.get("/accounts/{number}", response_model=AccountOut, summary="Un compte et son solde")
def account(scope: Scope, session: Reading, number: str) -> Account:
    found = session.scalars(
        select(Account).where(Account.number == number, Account.agency_id == scope.id)
    ).one_or_none()
    if found is None:
        raise _missing("Compte")
    return found


@router.get("/invoices", response_model=Page[InvoiceOut], summary="Factures (par pages)")
def invoices(scope: Scope, session: Reading, after: After = None, limit: Limit = 100,
             period: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None
             ) -> dict[str, Any]:
    query = select(Invoice).where(Invoice.agency_id == scope.id)
    if period is not None:
        query = query.where(Invoice.period == period)
    return _page(session, query, Invoice, after, limit)


@router.get("/invoices/{number}", response_model=InvoiceDetail, summary="Une facture et ses lignes")
def invoice(scope: Scope, session: Reading, number: str) -> Invoice:
    found = session.scalars(
        select(Invoice).options(selectinload(Invoice.lines))
        .where(Invoice.number == number, Invoice.agency_id == scope.id)
    ).one_or_none()
    if found is None:
        raise _missing("Facture")
    return found


@router.get("/vend-transactions", response_model=Page[VendTransactionOut],
            summary="Recharges prépayées et leurs jetons (par pages)")
def vend_transactions(scope: Scope, session: Reading, after: After = None, limit: Limit = 100,
                      meter_serial: str | None = None) -> dict[str, Any]:
    query = select(VendTransaction).where(VendTransaction.agency_id == scope.id)
    if meter_serial:
        query = query.join(Meter, Meter.id == VendTransaction.meter_id).where(
            Meter.serial == meter_serial
        )
    return _page(session, query, VendTransaction, after, limit)


@router.get("/vend-transactions/{transaction_id}", response_model=VendTransactionOut,
            summary="Une recharge et son jeton")
def vend_transaction(scope: Scope, session: Reading, transaction_id: uuid.UUID) -> VendTransaction:
    found = session.get(VendTransaction, transaction_id)
    if found is None or found.agency_id != scope.id:
        raise _missing("Recharge")
    return found


@router.get("/users", response_model=list[UserOut],
            summary="Agents qui se connectent dans l'agence (les siens et ceux du siège "
                    "itinérants), avec leur empreinte de mot de passe")
def users(scope: Scope, session: Reading) -> list[User]:
    query = select(User).where(scope_of(wire_table("app_user"), scope.id))
    return list(session.scalars(query.order_by(User.username)))


@router.post("/works-invoices", response_model=IntegratedOut, status_code=201,
             responses={200: {"description": "Déjà intégrée (aucun changement)"}},
             summary="Intégrer une facture de travaux émise par l'agence")
def works_invoice(scope: Scope, db: Db, data: WorksInvoiceIn, response: Response
                  ) -> dict[str, Any]:
    actor = ADMINISTRATION if scope.caller.is_admin else agency_actor(scope.code)
    with UnitOfWork(db, actor) as uow:
        agency = uow.session.get(Agency, scope.id)
        assert agency is not None
        result = integrate_works_invoice(uow.session, agency, data)
        balance = uow.session.get(Account, data.account_id)
        assert balance is not None
        balance_minor = balance.balance_minor
        uow.commit()
    if not result.created:
        response.status_code = 200
    return {"invoice_id": result.invoice_id, "number": result.number, "created": result.created,
            "balance_minor": balance_minor}
