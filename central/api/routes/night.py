"""The night's control room for a monitoring system, the desks' end-of-night reports, and the
meters an agency has left unread (``docs/central.md``, "La nuit")."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from app.models.ids import utcnow
from central.api.deps import Admin, Db, Scope
from central.billing.unread import unread_meters
from central.night import record_report, status_for

router = APIRouter(tags=["nuit"])


class NightReportIn(BaseModel):
    """What a desk's nightly run ends with: its download and its reconciliation."""

    status: str = Field("done", pattern=r"^(done|warning|failed)$")
    commits: int = Field(0, ge=0)
    applied: int = Field(0, ge=0)
    parked: int = Field(0, ge=0)
    mismatches: list[str] = Field(default_factory=list, max_length=200)
    repaired_rows: int = Field(0, ge=0)
    message: str = Field("", max_length=2000)


@router.get("/admin/night", summary="La nuit de chaque agence (supervision)")
def night(request: Request, _admin: Admin, db: Db,
          day: Annotated[date | None, Query(alias="date")] = None) -> dict[str, Any]:
    """Batches received, billing run, download and reconciliation of every agency for the night
    of ``date`` (default: today); ``ok`` is false when an agency failed, or is not done once the
    deadline has passed. Late or failed agencies come first."""
    return status_for(db, request.app.state.settings, day).as_json()


@router.post("/agencies/{code}/sync/night-report", status_code=201,
             summary="Compte rendu de fin de nuit du poste")
def night_report(scope: Scope, db: Db, report: NightReportIn) -> dict[str, str]:
    record_report(db, scope.id, report.model_dump())
    return {"status": "recorded"}


@router.get("/agencies/{code}/unread-meters", summary="Compteurs sans relève réelle")
def unread(request: Request, scope: Scope, db: Db,
           periods: Annotated[int, Query(ge=1, le=120)] = 3) -> dict[str, Any]:
    settings = request.app.state.settings
    today = utcnow().astimezone(settings.zone).date()
    found = unread_meters(db, periods=periods, today=today, agency_code=scope.code)
    return {
        "periods": periods,
        "items": [
            {"meter_id": str(m.meter_id), "serial": m.serial,
             "connection": m.connection_reference, "account": m.account_number,
             "last_real_reading": m.last_real_reading.isoformat() if m.last_real_reading else None,
             "estimated_invoices": m.estimated_invoices}
            for m in found
        ],
    }
