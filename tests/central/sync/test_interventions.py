"""Central keeps every agency's intervention requests and sends an agency only its own; an
agency cannot hang its rows on another agency's request."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from tests.central.sync.kit import Central


def test_an_agency_is_sent_only_its_own_requests(central: Central) -> None:
    ours, theirs = central.desks["101"], central.desks["102"]
    row = uuid.uuid4()
    answer = ours.send([ours.insert("intervention_request", {
        "number": "DI101-2026-000001", "type": "leak", "priority": "high", "status": "new",
        "channel": "phone", "description": "Fuite", "landmark": "Marché",
        "requested_at": datetime(2026, 11, 20, 9, tzinfo=UTC)}, row=row)])
    assert answer["applied"] == 1
    sent_to = {code: {e["row"] for c in central.desks[code].get("changes", after=0)["commits"]
                      for e in c["entries"] if e["table"] == "intervention_request"}
               for code in ("101", "102")}
    assert str(row) not in sent_to["102"]
    event = theirs.post(theirs.payload([theirs.insert("intervention_event", {
        "request_id": row, "at": datetime(2026, 11, 20, 9, tzinfo=UTC), "actor": "intrus",
        "action": "cancelled", "note": ""})]))
    assert event.status_code == 200
    assert event.json()["applied"] == 0, "another agency's request is not the caller's to point at"
