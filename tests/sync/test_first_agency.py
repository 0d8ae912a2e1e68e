"""The first real agency: a new desk joins a running central (the real server process on
PostgreSQL) by the command line, then synchronises; a desk that built a demo agency is refused
by a central that already knows its agency, with the way out; a dry run of a new installation
tells the truth about adoption."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import Customer, SyncJournalEntry, User
from app.models.database import Database
from tests.sync.conftest import ROOT, Central, Desk, make_desk

pytestmark = pytest.mark.postgres


def desk_cli(folder: Path, *args: str, stdin: str | None = None,
             **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}
    return subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(folder), *args], cwd=ROOT,
        capture_output=True, text=True, timeout=300, input=stdin,
        env={**clean, "GUICHET_LAUNCHER": "./guichet", **env})


def count(db: Database, model: type) -> int:
    with db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def agency_on_central(central: Central, tmp_path: Path) -> Desk:
    """Agency 101 already on central: its first desk adopted it and synchronised."""
    first = make_desk(central, f"sqlite:///{tmp_path / 'premier' / 'guichet.sqlite3'}",
                      tmp_path / "premier", customers=20)
    assert first.sync().status == "succeeded"
    return first


def test_a_new_desk_joins_the_central_then_synchronises(
        central: Central, agency_on_central: Desk, tmp_path: Path) -> None:
    folder = tmp_path / "nouveau-poste"
    credential = agency_on_central.data_dir / "credential"
    joined = desk_cli(folder, "--agency", "101", "join", central.url,
                      "--credential-file", str(credential))
    assert joined.returncode == 0, joined.stderr
    assert f"Poste rattaché au central {central.url} : agence 101" in joined.stdout
    assert str(agency_on_central.installation.agency_id) in joined.stdout
    assert oct((folder / "central-agence-101.credential").stat().st_mode & 0o777) == "0o600"

    db = Database(f"sqlite:///{folder / 'guichet.sqlite3'}")
    try:
        assert count(db, Customer) == count(agency_on_central.db, Customer) == 20
        assert count(db, User) == 0 < count(agency_on_central.db, User), \
            "the first desk's demo users (their passwords are published) stay on it"
    finally:
        db.dispose()

    # Later starts remember the central and the agency (poste.json): no flag needed.
    shown = desk_cli(folder, "agency")
    assert shown.returncode == 0, shown.stderr
    assert f"identifiant : {agency_on_central.installation.agency_id}" in shown.stdout
    assert f"serveur central : {central.url}" in shown.stdout
    night = desk_cli(folder, "sync")
    assert night.returncode in (0, 3), night.stderr
    assert "Synchronisation terminée" in night.stdout
    assert "[Adoption]" not in night.stdout and "[Amorçage]" not in night.stdout

    again = desk_cli(folder, "--agency", "101", "join", central.url,
                     "--credential-file", str(credential))
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert "contient déjà une agence" in again.stderr


def test_join_with_a_wrong_credential_is_one_line(central: Central, agency_on_central: Desk,
                                                  tmp_path: Path) -> None:
    refused = desk_cli(tmp_path / "poste", "--agency", "101", "join", central.url,
                       stdin="pas-le-bon-identifiant\n")
    assert refused.returncode == 1, refused.stderr
    assert "Traceback" not in refused.stderr
    assert "refuse l'identifiant" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "poste" / "poste.json").exists()


def test_a_demo_desk_is_refused_by_a_central_that_knows_its_agency(
        central: Central, agency_on_central: Desk, tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    built = desk_cli(folder, "demo", "--customers", "5")
    assert built.returncode == 0, built.stderr
    credential = (agency_on_central.data_dir / "credential").read_text().strip()
    env = {"GUICHET_CENTRAL_URL": central.url, "GUICHET_CENTRAL_CREDENTIAL": credential}
    for args in (["sync", "--dry-run"], ["sync"]):
        refused = desk_cli(folder, *args, **env)
        assert refused.returncode == 1, (refused.stdout, refused.stderr)
        assert "Traceback" not in refused.stderr
        assert "Le serveur central connaît déjà l'agence 101" in refused.stderr
        assert f"--agency 101 join {central.url}" in refused.stderr
    central_db = Database(central.db_url)
    try:
        assert count(central_db, Customer) == 20, "nothing of the demo reached central"
    finally:
        central_db.dispose()


def test_dry_run_of_a_new_installation_tells_the_truth_about_adoption(
        central: Central, tmp_path: Path) -> None:
    desk = make_desk(central, f"sqlite:///{tmp_path / 'poste' / 'guichet.sqlite3'}",
                     tmp_path / "poste", customers=15)
    try:
        outcome = desk.sync(dry_run=True)
        assert outcome.status == "succeeded", outcome.message
        assert "première synchronisation" in outcome.message
        assert f"({outcome.adoption_rows} ligne(s), adoption)" in outcome.message
        assert outcome.report["adoption"]["tables"]["customer"] == 15
        assert outcome.adoption_rows > 15
        assert "corrigé" not in outcome.message
        assert count(desk.db, SyncJournalEntry) == 0, "a simulation writes nothing"
        real = desk.sync()
        assert real.status == "succeeded", real.message
        with desk.db.reading() as session:
            from app.models import SyncRun

            run = session.scalars(select(SyncRun).order_by(SyncRun.started_at.desc())).first()
        assert run is not None
        adoption = next(p for p in run.phases if p["name"] == "adoption")
        assert adoption["rows"] == outcome.adoption_rows, "the dry run announced what was sent"
    finally:
        desk.db.dispose()


def test_the_program_started_for_a_central_joins_it_before_its_window(
        central: Central, agency_on_central: Desk, tmp_path: Path) -> None:
    """``./guichet`` with the central's address and credential in the settings, on a new data
    folder: the desk joins (no demo agency), then the window opens."""
    folder = tmp_path / "poste"
    credential = (agency_on_central.data_dir / "credential").read_text().strip()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}
    program = subprocess.Popen(
        [sys.executable, "-m", "app", "--data-dir", str(folder), "--agency", "101"], cwd=ROOT,
        env={**clean, "QT_QPA_PLATFORM": "offscreen", "GUICHET_CENTRAL_URL": central.url,
             "GUICHET_CENTRAL_CREDENTIAL": credential},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        while not (folder / "poste.json").exists():
            assert program.poll() is None, program.stdout.read() if program.stdout else ""
            assert time.monotonic() < deadline, "never joined"
            time.sleep(0.2)
        time.sleep(2)
        assert program.poll() is None, "the window is open after the join"
    finally:
        program.terminate()
        output, _ = program.communicate(timeout=30)
    assert "Premier démarrage : amorçage de l'agence 101" in output
    db = Database(f"sqlite:///{folder / 'guichet.sqlite3'}")
    try:
        assert count(db, Customer) == 20, "central's customers, not a demo"
    finally:
        db.dispose()
