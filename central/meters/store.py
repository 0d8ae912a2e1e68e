"""The fleet's memory: one SQLite file of its own (not central's database, no schema change).

One row per meter holding its state as JSON, written in the same transaction that read it
(``BEGIN IMMEDIATE``), so the server and a keypad entry from the command line can work on
the same file at the same time without losing a TID. The file holds decoder keys: it is
created readable by its owner only.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TypeVar

from .meter import MeterState

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meter (
    drn   TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
"""


class UnknownMeterError(LookupError):
    """No meter with this number in the fleet."""

    def __init__(self, drn: str) -> None:
        super().__init__(f"Compteur inconnu dans le parc virtuel : {drn}")
        self.drn = drn


class MeterStore:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        with closing(self._connect()) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                     check_same_thread=False)
        connection.execute("PRAGMA busy_timeout=30000")
        return connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        connection = self._connect()
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            connection.close()

    def update(self, drn: str, change: Callable[[MeterState], T]) -> T:
        """Load one meter, apply ``change`` to it and save it, in one transaction."""
        with self._transaction() as connection:
            row = connection.execute("SELECT state FROM meter WHERE drn = ?", (drn,)).fetchone()
            if row is None:
                raise UnknownMeterError(drn)
            state = MeterState.from_json(json.loads(row[0]))
            result = change(state)
            connection.execute("UPDATE meter SET state = ? WHERE drn = ?",
                               (json.dumps(state.to_json()), drn))
            return result

    def upsert(self, states: list[MeterState]) -> None:
        with self._transaction() as connection:
            connection.executemany(
                "INSERT INTO meter (drn, state) VALUES (?, ?) "
                "ON CONFLICT (drn) DO UPDATE SET state = excluded.state",
                [(s.drn, json.dumps(s.to_json())) for s in states],
            )

    def get(self, drn: str) -> MeterState:
        with closing(self._connect()) as connection:
            row = connection.execute("SELECT state FROM meter WHERE drn = ?", (drn,)).fetchone()
        if row is None:
            raise UnknownMeterError(drn)
        return MeterState.from_json(json.loads(row[0]))

    def all(self) -> list[MeterState]:
        with closing(self._connect()) as connection:
            rows = connection.execute("SELECT state FROM meter ORDER BY drn").fetchall()
        return [MeterState.from_json(json.loads(text)) for (text,) in rows]

    def count(self) -> int:
        with closing(self._connect()) as connection:
            return int(connection.execute("SELECT count(*) FROM meter").fetchone()[0])

    def drns(self) -> set[str]:
        with closing(self._connect()) as connection:
            return {drn for (drn,) in connection.execute("SELECT drn FROM meter")}
