"""Reference data owned by central, read-only on the desks: agencies, tariffs with their bands,
the works catalogue, communes with their streets. Any valid credential reads them."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.models import Agency, Commune, Tariff, WorksCatalogueItem
from central.api.deps import Caller, Reading
from central.api.schemas import AgencyOut, CatalogueItemOut, CommuneOut, TariffOut

router = APIRouter(prefix="/reference", tags=["référentiel"])


@router.get("/agencies", response_model=list[AgencyOut], summary="Agences")
def agencies(_caller: Caller, session: Reading) -> list[Agency]:
    return list(session.scalars(select(Agency).order_by(Agency.code)))


@router.get("/tariffs", response_model=list[TariffOut], summary="Tarifs et tranches")
def tariffs(_caller: Caller, session: Reading) -> list[Tariff]:
    query = select(Tariff).options(selectinload(Tariff.bands)).order_by(Tariff.code,
                                                                         Tariff.valid_from)
    return list(session.scalars(query))


@router.get("/works-catalogue", response_model=list[CatalogueItemOut],
            summary="Catalogue des travaux")
def works_catalogue(_caller: Caller, session: Reading) -> list[WorksCatalogueItem]:
    return list(session.scalars(select(WorksCatalogueItem).order_by(WorksCatalogueItem.code)))


@router.get("/communes", response_model=list[CommuneOut], summary="Communes et rues")
def communes(_caller: Caller, session: Reading) -> list[Commune]:
    query = select(Commune).options(selectinload(Commune.streets)).order_by(Commune.name)
    return list(session.scalars(query))
