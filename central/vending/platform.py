"""The vending platform's use cases for an operator: check a meter, quote both ways, purchase
(idempotent by the operator's reference), look sales up.

A sale goes through the write path (the capture: audit entry and sync journal entry under its
own transaction id, synchronised to the meter's agency): the reference row first (a second
request with the same reference waits on it, then answers the first one's sale), the meter's
vending row locked (its TIDs and key), the tokens, the receipt number last (the series row is
held only for the end of the transaction), the HES delivery and the SMS in the outbox. On
PostgreSQL the sales of a server process are written in batches, one transaction and one commit
a batch (:mod:`central.vending.sale_writer`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from app.models.database import Database
from app.models.ids import utcnow
from central.vending.batch import BatchSelling
from central.vending.hes import TokenMaker
from central.vending.lookups import LookUps
from central.vending.management import Management
from central.vending.records import (  # noqa: F401 (the platform's public names)
    SEARCH_LIMIT,
    SERIES_CODE,
    DeskSeller,
    Quote,
    Sale,
    TariffTerms,
    _digest,
    check_phone,
    mask_name,
    normalise_meter_number,
    parse_energy,
)
from central.vending.sale_writer import SaleWriter
from central.vending.selling import lock_payers, payer_lock_key  # noqa: F401
from kernel.money import Currency


class Platform(LookUps, Management, BatchSelling):
    """The platform's rules over one database; built once per server process."""

    def __init__(self, db: Database, currency: Currency, zone: ZoneInfo,
                 tokens: TokenMaker | None, *, hes_enabled: bool = False,
                 sms_enabled: bool = False,
                 clock: Callable[[], datetime] = utcnow,
                 wake: Callable[[], None] | None = None) -> None:
        self.db = db
        self.currency = currency
        self.zone = zone
        self.tokens = tokens
        self.hes_enabled = hes_enabled
        self.sms_enabled = sms_enabled
        self.clock = clock
        self.wake = wake or (lambda: None)
        self._tariffs: dict[tuple[uuid.UUID, date], tuple[float, TariffTerms | None]] = {}
        #: PostgreSQL: the process's sales written in groups, one commit a group.
        self.writer = SaleWriter(
            db.session, lambda *order: self._write_sale(*order),
            lambda *batch: self._number_and_commit(*batch), lambda: self.clock(),
            lambda: self.wake(), lock=lock_payers,
            write_many=lambda *batch: self._write_plain(*batch))

