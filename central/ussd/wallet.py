"""The operator's wallets, in a SQLite file of its own: payers with a balance and a PIN
(PBKDF2), and a ledger of debits, each either completed (a sale answered) or reversed."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

_ROUNDS = 60_000


def _pin_hash(pin: str, salt: bytes) -> str:
    return hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, _ROUNDS).hex()


@dataclass(frozen=True)
class Payer:
    phone: str
    name: str
    balance: int


class WalletError(Exception):
    pass


class Wallets:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        with self._connect() as c:
            c.execute("CREATE TABLE IF NOT EXISTS payer (phone TEXT PRIMARY KEY, name TEXT, "
                      "salt BLOB, pin TEXT, balance INTEGER NOT NULL)")
            c.execute("CREATE TABLE IF NOT EXISTS ledger (reference TEXT PRIMARY KEY, "
                      "phone TEXT, amount INTEGER, at TEXT, status TEXT, receipt TEXT, "
                      "detail TEXT)")

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        return connection

    def add_payer(self, phone: str, name: str, pin: str, balance: int) -> Payer:
        if not (pin.isdigit() and 4 <= len(pin) <= 6):
            raise WalletError("Code secret : 4 à 6 chiffres.")
        salt = secrets.token_bytes(16)
        with self._lock, self._connect() as c:
            c.execute("INSERT OR REPLACE INTO payer VALUES (?, ?, ?, ?, ?)",
                      (phone, name, salt, _pin_hash(pin, salt), balance))
        return Payer(phone, name, balance)

    def payer(self, phone: str) -> Payer | None:
        with self._connect() as c:
            row = c.execute("SELECT phone, name, balance FROM payer WHERE phone = ?",
                            (phone,)).fetchone()
        return Payer(*row) if row else None

    def check_pin(self, phone: str, pin: str) -> bool:
        with self._connect() as c:
            row = c.execute("SELECT salt, pin FROM payer WHERE phone = ?", (phone,)).fetchone()
        return bool(row) and secrets.compare_digest(_pin_hash(pin, row[0]), row[1])

    def debit(self, phone: str, amount: int, reference: str) -> int:
        """Takes ``amount``; returns the new balance, or raises WalletError (insufficient)."""
        with self._lock, self._connect() as c:
            c.execute("BEGIN IMMEDIATE")
            row = c.execute("SELECT balance FROM payer WHERE phone = ?", (phone,)).fetchone()
            if row is None or row[0] < amount:
                c.execute("ROLLBACK")
                raise WalletError("insufficient")
            c.execute("UPDATE payer SET balance = balance - ? WHERE phone = ?", (amount, phone))
            c.execute("INSERT INTO ledger VALUES (?, ?, ?, ?, 'debited', '', '')",
                      (reference, phone, amount, datetime.now(UTC).isoformat()))
            c.execute("COMMIT")
            return int(row[0]) - amount

    def complete(self, reference: str, receipt: str) -> None:
        with self._lock, self._connect() as c:
            c.execute("UPDATE ledger SET status = 'completed', receipt = ? WHERE reference = ?",
                      (receipt, reference))

    def reverse(self, reference: str, detail: str) -> None:
        """Gives a debit back (once)."""
        with self._lock, self._connect() as c:
            c.execute("BEGIN IMMEDIATE")
            row = c.execute("SELECT phone, amount, status FROM ledger WHERE reference = ?",
                            (reference,)).fetchone()
            if row is None or row[2] != "debited":
                c.execute("ROLLBACK")
                return
            c.execute("UPDATE payer SET balance = balance + ? WHERE phone = ?", (row[1], row[0]))
            c.execute("UPDATE ledger SET status = 'reversed', detail = ? WHERE reference = ?",
                      (detail[:200], reference))
            c.execute("COMMIT")

    def entry(self, reference: str) -> dict[str, object] | None:
        with self._connect() as c:
            row = c.execute("SELECT reference, phone, amount, at, status, receipt, detail "
                            "FROM ledger WHERE reference = ?", (reference,)).fetchone()
        keys = ("reference", "phone", "amount", "at", "status", "receipt", "detail")
        return dict(zip(keys, row, strict=True)) if row else None

    def statement(self, day: date) -> list[tuple[str, int, str, str]]:
        """The day's completed purchases (UTC day): reference, amount, phone, time."""
        start = datetime.combine(day, datetime.min.time(), UTC)
        with self._connect() as c:
            rows = c.execute(
                "SELECT reference, amount, phone, at FROM ledger WHERE status = 'completed' "
                "AND at >= ? AND at < ? ORDER BY at",
                (start.isoformat(), (start + timedelta(days=1)).isoformat())).fetchall()
        return [(r[0], int(r[1]), r[2], r[3]) for r in rows]
