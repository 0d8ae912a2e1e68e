"""The operator's service on 127.0.0.1: the USSD gateway (``POST /ussd``) and its wallets.

* ``POST /ussd`` ``{"session": id, "phone": …, "input": …}`` → ``{"text", "end", "sold"}``;
* ``GET /payers/{phone}`` → balance; ``GET /statement?day=2026-12-04`` → the day's CSV
  statement (``reference,amount,phone,at``) for the platform's reconciliation.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from central.ussd.dialogue import Dialogue


class UssdIn(BaseModel):
    session: str = Field(min_length=1, max_length=64)
    phone: str = Field(min_length=1, max_length=20)
    input: str = Field(default="", max_length=182)


def create_app(dialogue: Dialogue) -> FastAPI:
    app = FastAPI(title=f"{dialogue.title} (simulé)", docs_url=None, redoc_url=None)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/ussd")
    def ussd(body: UssdIn) -> dict[str, Any]:
        screen = dialogue.answer(body.session, body.phone, body.input)
        return {"text": screen.text, "end": screen.end, "sold": screen.sold}

    @app.get("/payers/{phone}")
    def payer(phone: str) -> dict[str, Any]:
        found = dialogue.wallets.payer(phone)
        if found is None:
            raise HTTPException(404, "payeur inconnu")
        return {"phone": found.phone, "name": found.name, "balance": found.balance}

    @app.get("/statement", response_class=PlainTextResponse)
    def statement(day: date) -> str:
        lines = ["reference,amount,phone,at"]
        lines += [f"{r},{a},{p},{t}" for r, a, p, t in dialogue.wallets.statement(day)]
        return "\n".join(lines) + "\n"

    return app
