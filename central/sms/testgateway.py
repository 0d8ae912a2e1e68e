"""The local test SMS gateway: speaks the HTTP gateway's protocol on 127.0.0.1 and keeps the
messages in a SQLite file, where ``python -m central.sms inbox PHONE`` reads them (the
phone's screen, for demonstrations and end-to-end tests).

* ``POST /messages`` ``{"from": …, "to": …, "text": …}`` → 201 ``{"id": …}``; a text that is
  not 1..160 GSM-7 characters is refused (422), as a real gateway would;
* ``GET /messages?to=PHONE`` → the messages to that phone, oldest first; ``GET /health``.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.security import HTTPBasic
from pydantic import BaseModel, Field

from central.sms.text import GSM7, LIMIT


class MessageIn(BaseModel):
    to: str = Field(min_length=1, max_length=20)
    text: str = Field(min_length=1, max_length=1000)
    sender: str = Field(default="", alias="from", max_length=11)


class Inbox:
    """The messages kept, one SQLite file (safe to read while the gateway writes)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        with self._connect() as connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS message (id INTEGER PRIMARY KEY, at TEXT, "
                "sender TEXT, phone TEXT, text TEXT)")

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=10)
        connection.execute("PRAGMA journal_mode=WAL")
        return connection

    def add(self, sender: str, phone: str, text: str) -> int:
        with self._lock, self._connect() as connection:
            cursor = connection.execute(
                "INSERT INTO message (at, sender, phone, text) VALUES (?, ?, ?, ?)",
                (datetime.now(UTC).isoformat(timespec="seconds"), sender, phone, text))
            return int(cursor.lastrowid or 0)

    def to(self, phone: str) -> list[dict[str, Any]]:
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT id, at, sender, phone, text FROM message WHERE phone = ? ORDER BY id",
                (phone,)).fetchall()
        return [dict(zip(("id", "at", "from", "to", "text"), row, strict=True)) for row in rows]


def create_app(inbox: Inbox, *, user: str = "", password: str = "") -> FastAPI:
    app = FastAPI(title="Passerelle SMS de test", docs_url=None, redoc_url=None)
    basic = HTTPBasic(auto_error=False)

    def _check(request: Request, credentials: Any) -> None:
        if not user:
            return
        if credentials is None or not (secrets.compare_digest(credentials.username, user)
                                       and secrets.compare_digest(credentials.password,
                                                                  password)):
            raise HTTPException(401, "identifiants de la passerelle refusés")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/messages", status_code=201)
    async def send(body: MessageIn, request: Request) -> dict[str, Any]:
        _check(request, await basic(request))
        if len(body.text) > LIMIT or any(ch not in GSM7 for ch in body.text):
            raise HTTPException(422, "texte hors GSM-7 ou de plus de 160 caractères")
        return {"id": inbox.add(body.sender, body.to, body.text)}

    @app.get("/messages")
    def messages(to: str) -> list[dict[str, Any]]:
        return inbox.to(to)

    return app
