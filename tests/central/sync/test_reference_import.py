"""``python -m central reference import``: a new central is given the shared reference data of
a desk database by its operator (no agency writes shared rows through synchronisation). The
command itself runs in every end-to-end sync test (tests/sync/conftest.py)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from app.models import (
    Agency,
    Commune,
    InterventionDeadline,
    LetterTemplate,
    PublicHoliday,
    Street,
    Tariff,
    TariffBand,
    User,
    WorkingHours,
    WorksCatalogueItem,
)
from app.models.database import Database
from central.reference import import_reference
from tests.central.sync.kit import Central
from tests.conftest import make_demo


def _shared(db: Database, model: type) -> dict[object, int]:
    with db.reading() as session:
        return dict(session.execute(select(model.id, model.version).where(
            model.agency_id.is_(None))).all())


def test_the_shared_rows_of_a_desk_become_centrals_and_travel_to_every_agency(
        central: Central, tmp_path: Path) -> None:
    desk = Database(f"sqlite:///{tmp_path / 'desk.sqlite3'}")
    try:
        from kernel import migrate

        migrate.upgrade(desk.engine)
        make_demo(desk)
        with central.db.reading() as session:
            agencies = session.scalar(select(func.count()).select_from(Agency))
        report = import_reference(central.db, desk.url)
        shared = (Commune, Street, Tariff, TariffBand, WorksCatalogueItem, LetterTemplate,
                  InterventionDeadline, WorkingHours, PublicHoliday)
        for model in shared:
            theirs = _shared(desk, model)
            assert theirs and theirs.items() <= _shared(central.db, model).items(), model
        assert report.total == sum(len(_shared(desk, m)) for m in shared)
        demo_admins = set(_shared(desk, User))
        assert demo_admins and not demo_admins & set(_shared(central.db, User)), \
            "the demo's head-office user (desk_only) stays on its desk"
        with central.db.reading() as session:
            assert session.scalar(select(func.count()).select_from(Agency)) == agencies, \
                "agencies are made by `agency add`, never copied"
        tariffs = set(map(str, _shared(desk, Tariff)))
        templates = set(map(str, _shared(desk, LetterTemplate)))
        for code in ("101", "102"):
            entries = [e for c in central.desks[code].get("changes", after=0)["commits"]
                       for e in c["entries"]]
            assert tariffs <= {e["row"] for e in entries if e["table"] == "tariff"}, code
            assert templates <= {e["row"] for e in entries if e["table"] == "letter_template"}, \
                "the shipped templates travel to every agency (an agency's own do not)"
        again = import_reference(central.db, desk.url)
        assert (again.total, again.already) == (0, report.total)
    finally:
        desk.dispose()
