"""The desk's prepaid sales (SQLite and PostgreSQL): receipts stored as issued in both paper
profiles, the look-up over every channel, the DUPLICATA audited with the agent and the reason,
the account's mobile as the SMS default."""

from __future__ import annotations

import io
import uuid
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.models import (
    AuditEntry,
    Customer,
    Document,
    Meter,
)
from app.services.auth import sign_in
from app.services.prepaid_desk import DeskSale, Split, mobile_of
from app.services.prepaid_sales import find_sales, issue_receipt, reprint_receipt
from kernel.context import ServiceContext
from kernel.errors import ValidationError
from tests.prepaid_desk.desk_rows import KEY1, KEY2, TOKEN, add_prepaid_sales


def _pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def agent(ctx: ServiceContext) -> ServiceContext:
    return ctx.signed_in(sign_in(ctx.db, "agent", "Guichet-Agent-2026"))


@pytest.fixture
def meter(ctx: ServiceContext) -> Meter:
    return add_prepaid_sales(ctx)


def _sale(receipt: str = "RP000-2026-000009") -> DeskSale:
    return DeskSale("GUICHET-1", receipt, "47100000018", 2353, "25.0",
                    Split(1495, 500, 0, 358), TOKEN, (KEY1, KEY2), "0701020304", "pending",
                    "2026-12-05T10:00:00+00:00", False)


@pytest.mark.parametrize("paper", ["a4", "thermal80"])
def test_receipts_in_both_papers_are_stored_as_issued(agent: ServiceContext, paper: str) -> None:
    issued = issue_receipt(agent, _sale(), "K*** A.", paper)  # type: ignore[arg-type]
    text = _pdf_text(issued.pdf)
    assert "RP000-2026-000009" in text and "5950 7744 7134 7068 7251" in text
    assert text.index("1111 2222") < text.index("5950 7744"), "key change tokens first"
    width = float(PdfReader(io.BytesIO(issued.pdf)).pages[0].mediabox.width)
    assert round(width / 72 * 25.4) == (80 if paper == "thermal80" else 210)
    with agent.reading() as session:
        stored = session.scalars(select(Document).where(
            Document.filename == issued.filename)).one()
        assert stored.content == issued.pdf


def test_find_sales_over_every_channel(agent: ServiceContext, meter: Meter) -> None:
    assert [r.receipt for r in find_sales(agent, meter="SN-4710")] == [
        "RP000-2026-000002", "RP000-2026-000001"]
    by_digits = find_sales(agent, digits="7134 7068")
    assert [(r.channel, r.sms_status) for r in by_digits] == [("USSD", "envoyé")]
    assert [r.receipt for r in find_sales(agent, digits="88889999")] == ["RP000-2026-000002"]
    assert [r.receipt for r in find_sales(agent, phone="07 05 06 07 08")] == ["RP000-2026-000002"]
    assert [r.receipt for r in find_sales(agent, receipt="rp000-2026-000001")] == [
        "RP000-2026-000001"]
    assert [r.receipt for r in find_sales(agent, day_from=date(2026, 12, 4),
                                          day_to=date(2026, 12, 4))] == ["RP000-2026-000002"]
    assert len(find_sales(agent, customer_id=_customer(agent))) == 2


def _customer(ctx: ServiceContext) -> uuid.UUID:
    with ctx.reading() as session:
        return session.scalars(select(Customer.id).where(Customer.mobile == "0705060708")).one()


def test_duplicata_of_a_ussd_sale_is_audited_with_the_reason(agent: ServiceContext,
                                                             meter: Meter) -> None:
    with pytest.raises(ValidationError):
        reprint_receipt(agent, "RP000-2026-000001", " ")
    copy = reprint_receipt(agent, "RP000-2026-000001", "client n'a pas reçu le SMS")
    text = _pdf_text(copy.pdf)
    assert "DUPLICATA" in text and "5950 7744 7134 7068 7251" in text and "USSD" in text
    again = reprint_receipt(agent, "RP000-2026-000001", "perdu")
    assert "Duplicata n° 2" in _pdf_text(again.pdf)
    with agent.reading() as session:
        reasons = session.scalars(select(AuditEntry.reason).where(
            AuditEntry.username == "agent")).all()
    assert any("client n'a pas reçu le SMS" in (r or "") for r in reasons)


def test_the_accounts_mobile_is_the_sms_default(agent: ServiceContext, meter: Meter) -> None:
    with agent.reading() as session:
        assert mobile_of(session, "47100000018", "47100000018") == "0705060708"
        assert mobile_of(session, "nothing", "nothing") == ""
