"""The recovery paths against the real server on 127.0.0.1 (PostgreSQL central): central commits
numbered whatever the flush state, counters after a bootstrap, reconciliation by content, the
agency's own values kept at set-up, and the one-line messages and exit codes of a run that
cannot go on."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import select, update

from app.models import Agency, Customer
from app.models.database import Database
from tests.sync.conftest import ROOT, Central, Desk
from tests.sync.world import assert_numbered, customers


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


def test_a_central_commit_with_its_changes_unflushed_is_numbered(desk: Desk, central: Central
                                                                  ) -> None:
    """A central program that edits through the ORM and commits without flushing (nothing else
    imported that would flush first): its commit is numbered and the download carries it."""
    assert desk.sync().status == "succeeded"
    someone = customers(desk.db)[2]
    script = textwrap.dedent(f"""
        import uuid
        import central.sync.numbering  # noqa: F401  (the only hook: nothing else flushes first)
        from app.models import Customer
        from app.models.capture import Actor, set_actor
        from app.models.database import Database
        db = Database({central.db_url!r})
        with db.session() as session:
            set_actor(session, Actor(username="siège"))
            customer = session.get(Customer, uuid.UUID({str(someone.id)!r}))
            customer.email = "non-vidé@example.ci"
            session.commit()
        db.dispose()
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    central_db = Database(central.db_url)
    try:
        assert_numbered(central_db, someone.id)
    finally:
        central_db.dispose()
    night = desk.sync()
    assert night.status == "succeeded", night.message
    assert night.mismatches == [] and night.rows_down >= 1
    with desk.db.session() as session:
        assert session.scalars(select(Customer.email).where(Customer.id == someone.id)
                               ).one() == "non-vidé@example.ci"


def test_a_row_equal_in_version_but_not_in_content_is_seen_and_repaired(
        desk: Desk, central: Central) -> None:
    """Central's copy of a customer changed behind the journal (same version, another e-mail):
    the reconciliation sees it by content and the desk takes central's row."""
    assert desk.sync().status == "succeeded"
    someone = customers(desk.db)[3]
    central_db = Database(central.db_url)
    try:
        with central_db.engine.begin() as connection:
            connection.execute(update(Customer).where(Customer.id == someone.id)
                               .values(email="hors-journal@example.ci"))
    finally:
        central_db.dispose()
    night = desk.sync()
    assert night.status == "succeeded", night.message
    assert night.mismatches == ["customer"]
    with desk.db.session() as session:
        mine = session.get(Customer, someone.id)
        assert mine is not None
        assert (mine.email, mine.version) == ("hors-journal@example.ci", someone.version)
    assert desk.sync().mismatches == []


def test_the_agency_set_up_at_central_takes_the_desks_details_at_adoption(
        desk: Desk, central: Central) -> None:
    """``central agency ensure --id`` made the agency with its code and name only: adoption
    takes the desk's address, phone and e-mail, and neither side's values are blanked."""
    with desk.db.session() as session:
        ours = session.get(Agency, desk.installation.agency_id)
        assert ours is not None and ours.address and ours.phone and ours.email
        details = (ours.address, ours.phone, ours.email)
    central_db = Database(central.db_url)
    try:
        with central_db.session() as session:
            theirs = session.get(Agency, desk.installation.agency_id)
            assert theirs is not None and (theirs.address, theirs.phone) == ("", "")
        first = desk.sync()
        assert first.status == "succeeded", first.message
        with central_db.session() as session:
            theirs = session.get(Agency, desk.installation.agency_id)
            assert theirs is not None
            assert (theirs.address, theirs.phone, theirs.email) == details
        with desk.db.session() as session:
            ours = session.get(Agency, desk.installation.agency_id)
            assert ours is not None and (ours.address, ours.phone, ours.email) == details
        assert first.mismatches == []
        assert desk.sync().mismatches == []
    finally:
        central_db.dispose()
