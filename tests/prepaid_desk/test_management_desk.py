"""A supervisor's management token from the desk through a real central process: the role is
checked by the desk's service (and again by central), a reason is required, the receipt is kept
as issued with the reason on the desk's audit entry."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import AuditEntry, Document, User, VendTransaction
from app.models.capture import SYSTEM
from app.models.database import Database
from app.models.enums import Role
from app.services.prepaid_desk import VendingDesk
from app.services.prepaid_sales import issue_management_token
from kernel.context import ServiceContext, SignedInUser, UnitOfWork
from kernel.errors import PermissionDeniedError, ValidationError
from tests.central.conftest import central_sqlite_template  # noqa: F401
from tests.vending.world import DRN_A

from .conftest import Central, central, key_change_meter, pending_store  # noqa: F401


def as_role(ctx: ServiceContext, role: Role) -> ServiceContext:
    return ctx.signed_in(SignedInUser(uuid.uuid4(), role.value, role.value.title(), role))


def central_users(central: Central, supervisor: str = "supervisor") -> None:  # noqa: F811
    """Central knows the desk's supervisor (as the night's synchronisation brings users)."""
    db = Database(central.database_url)
    try:
        with db.reading() as session:
            if session.scalars(select(User).where(User.username == supervisor)).first():
                return
            from app.models import Agency
            agency = session.scalars(select(Agency.id).where(Agency.code == "101")).one()
        with UnitOfWork(db, SYSTEM) as uow:
            for name, role in ((supervisor, Role.SUPERVISOR), ("agent", Role.AGENT)):
                if not uow.session.scalars(select(User).where(User.username == name)).first():
                    uow.session.add(User(agency_id=agency, username=name, full_name=name,
                                         role=role, password_hash="x"))
            uow.commit()
    finally:
        db.dispose()


def _rows(central: Central) -> int:  # noqa: F811
    db = Database(central.database_url)
    try:
        with db.reading() as session:
            return int(session.scalar(select(func.count()).select_from(VendTransaction)) or 0)
    finally:
        db.dispose()


def test_an_agent_gets_no_management_token(ctx: ServiceContext, central: Central,  # noqa: F811
                                           tmp_path: Path) -> None:
    central_users(central)
    before = _rows(central)
    with VendingDesk(central.endpoint, pending_store(tmp_path)) as desk:
        with pytest.raises(PermissionDeniedError):
            issue_management_token(as_role(ctx, Role.AGENT), desk, DRN_A, "clear_tamper",
                                   "alarme après contrôle", "a4")
        supervisor = as_role(ctx, Role.SUPERVISOR)
        with pytest.raises(ValidationError):
            issue_management_token(supervisor, desk, DRN_A, "clear_tamper", " ", "a4")
        with pytest.raises(ValidationError):
            issue_management_token(supervisor, desk, DRN_A, "power_limit", "trop de charge",
                                   "a4", watts=10)
        # central checks the role too: an agent's name sent by a desk that skipped the check
        from app.services.prepaid_desk import VendRefused
        with pytest.raises(VendRefused) as refused:
            desk.management(DRN_A, "clear_tamper", "alarme après contrôle", "agent")
        assert "superviseurs" in str(refused.value)
    assert _rows(central) == before


def test_a_supervisors_token_is_printed_and_audited(ctx: ServiceContext,
                                                    central: Central,  # noqa: F811
                                                    db_url: str, tmp_path: Path) -> None:
    central_users(central)
    supervisor = as_role(ctx, Role.SUPERVISOR)
    on_1993_key = key_change_meter(1 if db_url.startswith("sqlite") else 2)
    with VendingDesk(central.endpoint, pending_store(tmp_path)) as desk:
        issued = issue_management_token(supervisor, desk, DRN_A, "power_limit",
                                        "disjoncteur trop faible", "thermal80", watts=2300)
        change = issue_management_token(supervisor, desk, on_1993_key, "key_change",
                                        "clé du compteur à renouveler", "a4")
    assert len(issued.sale.token) == 20 and issued.sale.receipt.startswith("RP")
    assert issued.document.pdf.startswith(b"%PDF")
    assert len(change.sale.tokens_in_order) == 2, "a key change set alone"
    with ctx.reading() as session:
        names = session.scalars(select(Document.filename)).all()
        reasons = session.scalars(select(AuditEntry.reason)).all()
    assert f"recu-{issued.sale.receipt}.pdf" in names or any(
        issued.sale.receipt in n for n in names)
    assert any("Puissance maximale : 2300 W" in r and "disjoncteur" in r for r in reasons)



@pytest.mark.parametrize("paper", ["a4", "thermal80"])
def test_the_management_receipt_has_no_money_lines(paper: str) -> None:
    import io
    from datetime import datetime

    from pypdf import PdfReader

    from app.services.documents.prepaid_receipt import PrepaidReceiptData, render_prepaid_receipt
    from kernel.money import Currency

    data = PrepaidReceiptData(
        "Agence de Cocody", "RP000-2026-000123", datetime(2026, 12, 5, 10, 30), "47100000034",
        "", "0", 0, 0, 0, 0, 0, ("51638423060042734509", "15361891762113502242"), "",
        "superviseur", "guichet", Currency.of("XOF"), management="Changement de clé",
        reason="clé à renouveler")
    text = PdfReader(io.BytesIO(render_prepaid_receipt(data, paper))).pages[0].extract_text()  # type: ignore[arg-type]
    assert "Jeton de gestion" in text or "jeton de gestion" in text
    assert "clé à renouveler" in text and "5163 8423 0600 4273 4509" in text
    for money in ("TOTAL", "Total payé", "Titulaire", "crédit)"):
        assert money not in text, money
