"""The sale writer's callers (``central/vending/sale_writer.py``) without a database: every
order answered once, batches formed while one is written, the writer handed from caller to
caller (each woken alone), an order tried again answered in a later batch."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from app.models.enums import VendChannel
from central.vending.operators import OperatorInfo
from central.vending.sale_writer import Order, SaleWriter, _answer

_OPERATOR = OperatorInfo(uuid.uuid4(), "moov", "Moov", 1, 10**9, 10**9, False)


class SlowWriter(SaleWriter):
    """Writes a batch in 5 ms; the order ``again`` loses its first batch (tried again)."""

    def __init__(self) -> None:
        super().__init__(lambda: None, None, None, None,  # type: ignore[arg-type, return-value]
                         lambda: None, max_batch=4)
        self.sizes: list[int] = []
        self.answered: list[str] = []
        self.writers: set[int] = set()

    def _write_batch(self, batch: list[Order]) -> None:
        self.sizes.append(len(batch))
        self.writers.add(threading.get_ident())
        time.sleep(0.005)
        for order in batch:
            if order.reference == "again" and order.attempts == 0:
                order.attempts += 1
                with self._free:
                    self._queue.appendleft(order)
                continue
            self.answered.append(order.reference)
            _answer(order, order.reference, False)  # type: ignore[arg-type]


def test_every_order_is_answered_once_and_the_writer_goes_from_caller_to_caller() -> None:
    writer = SlowWriter()
    answers: dict[str, Any] = {}

    def sell(reference: str) -> None:
        answers[reference] = writer.sell(Order(_OPERATOR, reference, "47", 2000, "0701",
                                               VendChannel.USSD, "", None))

    references = [f"r{n}" for n in range(30)] + ["again"]
    threads = [threading.Thread(target=sell, args=(r,)) for r in references]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads)
    assert sorted(writer.answered) == sorted(references)
    assert answers == {r: (r, False) for r in references}
    assert max(writer.sizes) > 1 and len(writer.writers) > 1
    assert not writer._busy and not writer._queue
