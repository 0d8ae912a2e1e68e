"""Download: an agency's changes in commit order, whole commits per page, in its scope, without
the echoes of its own uploads; anchors tell a desk whether its cursor still means something."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from sqlalchemy import Text, cast, select

from app.models import Account, Customer, LetterTemplate, SyncJournalEntry
from app.models.capture import SYSTEM
from central.sync.changes import changes_after
from kernel.context import UnitOfWork
from tests.central.sync.kit import Central, Desk


def _edit(central: Central, model: Any, row_id: uuid.UUID, **values: Any) -> None:
    with UnitOfWork(central.db, SYSTEM) as uow:
        row = uow.session.get(model, row_id)
        for name, value in values.items():
            setattr(row, name, value)
        uow.commit()


def _customer(central: Central, code: str) -> uuid.UUID:
    with central.db.reading() as session:
        account = session.get(Account, central.subs[code].account_id)
        assert account is not None
        return account.customer_id


def _all(desk: Desk, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    commits: list[dict[str, Any]] = []
    cursor = after
    while True:
        page = desk.get("changes", after=cursor, limit=limit)
        commits += page["commits"]
        assert page["next"] >= cursor
        cursor = page["next"]
        if not page["more"]:
            return commits, cursor


def test_changes_come_in_commit_order_in_scope_and_without_echoes(central: Central) -> None:
    desk, other = central.desks["101"], central.desks["102"]
    start = desk.get("state")["head"]
    customer_101, customer_102 = _customer(central, "101"), _customer(central, "102")
    _edit(central, Customer, customer_101, notes="premier")
    echoed = uuid.uuid4()
    desk.send([desk.insert("customer", {"last_name": "Écho"}, row=echoed)])
    _edit(central, Customer, customer_102, notes="autre agence")
    _edit(central, Account, central.subs["101"].account_id, payment_mode="transfer")
    page = desk.get("changes", after=start)
    numbers = [c["no"] for c in page["commits"]]
    assert numbers == sorted(numbers) and len(numbers) == 2
    rows = [[e["row"] for e in c["entries"]] for c in page["commits"]]
    assert rows == [[str(customer_101)], [str(central.subs["101"].account_id)]]
    first = page["commits"][0]["entries"][0]
    assert first["changes"]["notes"] == ["", "premier"]
    assert (first["op"], first["base"], first["new"], first["table"]) == (
        "update", 1, 2, "customer")
    assert page["head"] == desk.get("state")["head"] and page["next"] == page["head"]
    assert page["more"] is False
    theirs = other.get("changes", after=start)
    assert [[e["row"] for e in c["entries"]] for c in theirs["commits"]] == [[str(customer_102)]]
    assert all(str(echoed) != e["row"] for c in other.get("changes", after=0)["commits"]
               for e in c["entries"])


def test_pages_hold_whole_commits_and_add_up_to_the_whole(central: Central) -> None:
    desk = central.desks["101"]
    whole = desk.get("changes", after=0, limit=20000)
    assert whole["more"] is False and len(whole["commits"]) >= 3
    paged, cursor = _all(desk, 0, 1)
    assert paged == whole["commits"] and cursor == whole["head"]
    sizes = [len(c["entries"]) for c in whole["commits"]]
    assert max(sizes) > 1, "a commit bigger than the limit must still come whole"


def test_anchors_tell_whether_a_cursor_is_still_the_same_commit(central: Central) -> None:
    desk = central.desks["101"]
    snapshot = desk.get("snapshot")
    cursor, anchor = snapshot["cursor"], snapshot["anchor"]
    assert desk.get("state", cursor=cursor, anchor=anchor)["anchor_ok"] is True
    assert desk.get("state", cursor=cursor, anchor=str(uuid.uuid4()))["anchor_ok"] is False
    assert desk.get("state", cursor=cursor + 1000, anchor=anchor)["anchor_ok"] is False
    assert desk.get("changes", after=cursor, anchor=anchor)["anchor_ok"] is True


def test_the_answer_carries_the_stored_journal_text_and_reads_as_the_decoded_page(
        central: Central) -> None:
    """The download copies each entry's stored ``changes`` text into the answer: once parsed it
    is the page of Python values (``changes_after``), a binary field still travels as the
    row's content, and the text of the other entries is the stored one, byte for byte."""
    desk = central.desks["101"]
    start = desk.get("state")["head"]
    _edit(central, Customer, _customer(central, "101"), notes="Électricité « réglée » ✓ \"nuit\"")
    template = uuid.uuid4()
    with UnitOfWork(central.db, SYSTEM) as uow:
        uow.session.add(LetterTemplate(id=template, code="NUIT", name="Modèle",
                                       content=b"\x00docx\xff"))
        uow.commit()
    desk.send([desk.insert("customer", {"last_name": "Ñandú"})])
    response = desk.client.get(desk.url("changes"), params={"after": 0, "limit": 20000},
                               headers=desk.auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.content
    j = SyncJournalEntry.__table__.c
    with central.db.reading() as session:
        connection = session.connection()
        page = changes_after(connection, desk.agency_id, 0, 20000)
        stored = dict(connection.execute(select(j.seq, cast(j.changes, Text))).all())
    assert json.loads(body) == page
    entries = [e for c in page["commits"] for e in c["entries"]]
    binary = [e for e in entries if e["table"] == "letter_template"]
    assert [e["changes"]["content"][1] for e in binary] == [
        base64.b64encode(b"\x00docx\xff").decode()]
    others = [e for e in entries if e["table"] != "letter_template"]
    assert any(e["changes"].get("notes", [None, ""])[1].startswith("Électricité")
               for e in others)
    for entry in others:
        assert f'"changes":{stored[entry["seq"]]}}}'.encode() in body
    assert [c["no"] for c in json.loads(body)["commits"]] == [c["no"] for c in page["commits"]]
    assert page["commits"][-1]["no"] > start


def test_a_commit_names_its_one_agency_and_a_download_reads_it_only_there(
        central: Central) -> None:
    from central.models import SyncCommit

    desk, other = central.desks["101"], central.desks["102"]
    start = desk.get("state")["head"]
    customer_101, customer_102 = _customer(central, "101"), _customer(central, "102")
    _edit(central, Customer, customer_101, notes="seule")
    with UnitOfWork(central.db, SYSTEM) as uow:
        for row_id, note in ((customer_101, "ensemble 101"), (customer_102, "ensemble 102")):
            row = uow.session.get(Customer, row_id)
            assert row is not None
            row.notes = note
        uow.commit()
    with central.db.reading() as session:
        commits = session.execute(select(SyncCommit.no, SyncCommit.agency_id)
                                  .where(SyncCommit.no > start).order_by(SyncCommit.no)).all()
    assert [agency for _no, agency in commits] == [central.worlds["101"].agency_id, None]
    for who, customer, notes in ((desk, customer_101, ["seule", "ensemble 101"]),
                                 (other, customer_102, ["ensemble 102"])):
        got, _cursor = _all(who, start, 100)
        entries = [e for c in got for e in c["entries"]]
        assert {e["row"] for e in entries} == {str(customer)}
        assert [e["changes"]["notes"][1] for e in entries] == notes
