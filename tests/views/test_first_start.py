"""The first start of a new desk asks: a demo agency, or the agency's real central to join
(here the real central server process on PostgreSQL, holding agency 101 already)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from app.models import Customer
from app.settings import Settings
from app.views.application import Startup
from app.views.first_start import FirstStartChoice, FirstStartDialog
from tests.central.conftest import (  # noqa: F401  (fixtures)
    central_pg_template,
    central_pg_url,
)
from tests.sync.conftest import Central, central, make_desk  # noqa: F401
from tests.views.conftest import Answers


def test_the_dialog_checks_the_join_fields(qtbot: QtBot) -> None:
    dialog = FirstStartDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.demo.isChecked() and not dialog.url.isEnabled()
    dialog.join.setChecked(True)
    assert dialog.url.isEnabled() and dialog.credential.isEnabled()
    qtbot.keyClicks(dialog.url, "central.example.org")
    qtbot.keyClicks(dialog.agency, "12")
    qtbot.keyClick(dialog.credential, Qt.Key.Key_Return)
    assert dialog.result() == 0, "not accepted"
    assert dialog.errors.labels["url"].text().startswith("Adresse attendue")
    assert dialog.errors.labels["agency"].text() == "Le code agence fait 3 chiffres."
    assert dialog.errors.labels["credential"].text() == "L'identifiant de l'agence est obligatoire."
    dialog.url.setText("https://central.example.org")
    dialog.agency.setText("102")
    dialog.credential.setText("secret")
    qtbot.keyClick(dialog.credential, Qt.Key.Key_Return)
    assert dialog.result() == 1
    assert dialog.choice() == FirstStartChoice(False, "https://central.example.org", "102", "secret")


def _start(qtbot: QtBot, settings: Settings) -> Startup:
    started = Startup(settings)
    started.start()
    qtbot.waitUntil(lambda: started.dialog is not None and started.dialog.isVisible(),
                    timeout=120000)
    return started


def _stop(started: Startup) -> None:
    if started.dialog is not None:
        started.dialog.close()
    started.shutdown()


def test_an_offline_desk_is_not_asked(qtbot: QtBot, answers: Answers, tmp_path: Path) -> None:
    started = _start(qtbot, Settings(data_dir=tmp_path, central_url="off", demo_customers=0))
    try:
        assert answers.first_start_asked == []
    finally:
        _stop(started)


@pytest.mark.postgres
def test_a_new_desk_joins_its_central_from_the_first_start(
        qtbot: QtBot, answers: Answers, central: Central, tmp_path: Path) -> None:  # noqa: F811
    first = make_desk(central, f"sqlite:///{tmp_path / 'premier' / 'guichet.sqlite3'}",
                      tmp_path / "premier", customers=12)
    try:
        assert first.sync().status == "succeeded"
        credential = first.endpoint.credential
    finally:
        first.db.dispose()
    answers.first_start = [FirstStartChoice(False, central.url, "101", "mauvais-identifiant"),
                           FirstStartChoice(False, central.url, "101", credential)]
    folder = tmp_path / "nouveau"
    started = _start(qtbot, Settings(data_dir=folder, central_url="", demo_customers=50))
    try:
        assert answers.first_start_asked[0] == ""
        assert "refuse l'identifiant" in answers.first_start_asked[1], "asked again, with why"
        assert len(answers.first_start_asked) == 2
        assert started.settings.central_url == central.url
        assert not started.central.embedded
        assert started.desk is not None
        assert started.desk.installation.agency_id == first.installation.agency_id
        with started.desk.db.reading() as session:
            assert session.scalar(select(func.count()).select_from(Customer)) == 12
        recorded = json.loads((folder / "poste.json").read_text())
        assert recorded == {"central_url": central.url, "agency_code": "101", "currency": "XOF"}
    finally:
        _stop(started)
