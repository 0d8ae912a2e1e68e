"""The fleet's HTTP face on 127.0.0.1: the HES pushes tokens here and reads meter states.

* ``POST /meters/{drn}/tokens`` ``{"token": "...", "source": "hes"}`` -> the meter's answer
  (200 whether it accepted the token or not: the meter did answer; ``accepted`` and
  ``code`` say what it did, ``message`` in French);
* ``GET /meters/{drn}`` -> its state; ``GET /meters`` -> every meter's credit;
* ``PUT /meters/{drn}/consumption`` ``{"watts": 500}``;
* ``POST /fleet/reload`` -> meters added from central's records since the start;
* ``GET /health``.
An unknown meter is a 404 with ``{"error": "unknown_meter", "message": ...}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from .fleet import Fleet, ReloadReport
from .store import UnknownMeterError


class TokenIn(BaseModel):
    token: str = Field(min_length=1, max_length=40)
    source: str = Field(default="hes", max_length=20)


class ConsumptionIn(BaseModel):
    watts: int = Field(ge=0, le=1_000_000)


def create_app(fleet: Fleet, reload: Callable[[], ReloadReport] | None = None) -> FastAPI:
    app = FastAPI(title="Parc de compteurs virtuels", docs_url=None, redoc_url=None)

    @app.exception_handler(UnknownMeterError)
    async def unknown(_: Request, error: UnknownMeterError) -> JSONResponse:
        return JSONResponse({"error": "unknown_meter", "message": str(error)}, status_code=404)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/meters")
    def meters() -> list[dict[str, Any]]:
        return fleet.summary()

    @app.get("/meters/{drn}")
    def state(drn: str) -> dict[str, Any]:
        return fleet.state(drn)

    @app.post("/meters/{drn}/tokens")
    def push(drn: str, body: TokenIn) -> dict[str, Any]:
        return fleet.enter(drn, body.token, source=body.source).to_json()

    @app.put("/meters/{drn}/consumption")
    def consumption(drn: str, body: ConsumptionIn) -> dict[str, Any]:
        return fleet.set_consumption(drn, body.watts)

    @app.post("/fleet/reload")
    def reload_records() -> dict[str, Any]:
        if reload is None:
            return {"message": "Aucune base centrale configurée."}
        report = reload()
        return {"added": report.added, "key_changed": report.key_changed,
                "skipped": report.skipped, "message": report.summary()}

    return app
