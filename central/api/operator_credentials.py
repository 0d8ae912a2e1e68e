"""Operator credentials recognised a moment ago, per server process: a request does not pay for
a database look-up of its credential, and a revoked or replaced credential stops being
recognised within ``seconds`` (a purchase is refused at once anyway: the sale's first statement
checks the credential it came with, ``Platform._take_reference``).

Kept by the credential's SHA-256 (what the database holds), never by the secret itself; a
malformed secret is refused without a look-up and is never kept, and the whole memory is
forgotten past ``max_entries`` (so a flood of unknown credentials costs memory for at most
that many).

One look-up at a time per credential: the requests that find it expired while its look-up is
on its way wait for that one (at 500 purchases/s, every request of the look-up's few
milliseconds made its own, each on a pooled connection of its own: the pool grew to 30 and
more connections, made in the middle of the load)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from app.models.database import Database
from central.credentials import hash_secret
from central.vending.operators import PREFIX, OperatorInfo, operator_by_digest

#: A revocation (or a new credential) takes effect within this many seconds everywhere.
SECONDS = 2.0
MAX_ENTRIES = 10_000
_MAX_LENGTH = 200


class OperatorCredentials:
    def __init__(self, db: Database, *, seconds: float = SECONDS,
                 max_entries: int = MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.seconds = seconds
        self.max_entries = max_entries
        self.clock = clock
        self._known: dict[str, tuple[float, OperatorInfo | None]] = {}
        #: The look-ups on their way, by digest (the event loop's own: no lock needed).
        self._pending: dict[str, asyncio.Future[OperatorInfo | None]] = {}

    @staticmethod
    def well_formed(secret: str) -> bool:
        return secret.startswith(PREFIX + ".") and len(secret) <= _MAX_LENGTH

    def digest(self, secret: str) -> str | None:
        """The key of a well-formed secret (None: refused without a look-up)."""
        return hash_secret(secret) if self.well_formed(secret) else None

    def recent(self, digest: str) -> tuple[bool, OperatorInfo | None]:
        """``(known, operator)``: whether the credential was looked up less than ``seconds``
        ago, and what it was then (None: unknown or revoked)."""
        found = self._known.get(digest)
        if found is None or self.clock() - found[0] >= self.seconds:
            return False, None
        return True, found[1]

    def look_up(self, digest: str) -> OperatorInfo | None:
        """The database's answer now (blocking: called off the event loop), kept."""
        started = self.clock()
        found = operator_by_digest(self.db, digest)
        if len(self._known) >= self.max_entries:
            self._known.clear()
        self._known[digest] = (started, found)
        return found

    async def bearer(self, authorization: str) -> OperatorInfo | None:
        """The operator of an ``Authorization: Bearer …`` header (None: none, unknown or
        revoked), looked up off the event loop when not recognised a moment ago."""
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret:
            return None
        digest = self.digest(secret)
        if digest is None:
            return None
        fresh, found = self.recent(digest)
        if fresh:
            return found
        pending = self._pending.get(digest)
        if pending is None:
            pending = asyncio.ensure_future(run_in_threadpool(self.look_up, digest))
            self._pending[digest] = pending
            pending.add_done_callback(lambda _done: self._pending.pop(digest, None))
        return await asyncio.shield(pending)
