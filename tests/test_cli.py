"""The command line as an operator uses it: real processes, real files."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


def run(*args: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, timeout=240, env={**os.environ, **env},
    )


def test_db_upgrade_then_demo_then_refusal_on_a_full_database(tmp_path: Path) -> None:
    upgraded = run("db", "upgrade", data_dir=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    from kernel.migrate import HEAD

    assert f"révision {HEAD} (dernière : {HEAD})" in upgraded.stdout
    demo = run("demo", "--customers", "120", "--as-of", "2026-11-15", data_dir=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "120 clients" in demo.stdout
    again = run("demo", "--customers", "10", data_dir=tmp_path)
    assert again.returncode == 1
    assert "déjà des données" in again.stderr and "Traceback" not in again.stderr
    reset = run("demo", "--customers", "10", "--reset", data_dir=tmp_path)
    assert reset.returncode == 0, reset.stderr
    rebuilt = run("search", "rebuild", data_dir=tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "Index de recherche reconstruit : 10 clients" in rebuilt.stdout


def test_bad_configuration_is_a_clear_message(tmp_path: Path) -> None:
    result = run("--currency", "XYZ", "db", "current", data_dir=tmp_path)
    assert result.returncode == 2
    assert "devise ISO 4217 inconnue" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.postgres
def test_demo_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    result = run("--database-url", pg_url, "demo", "--customers", "80", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "80 clients" in result.stdout
    from sqlalchemy import create_engine, text

    counted = create_engine(pg_url)
    try:
        with counted.connect() as connection:
            def one(sql: str) -> object:
                return connection.execute(text(sql)).scalar_one()

            # What the demo promises: the customers asked for, each with an account, meters read
            # and billed, payments, balances that add up, the three demo users, a search index.
            assert one("SELECT count(*) FROM customer") == 80
            assert one("SELECT count(DISTINCT customer_id) FROM account") == 80
            assert one("SELECT count(*) FROM agency WHERE code = '101'") == 1
            assert one("SELECT count(*) FROM meter") >= 80
            assert one("SELECT count(*) FROM contract") >= 80
            assert one("SELECT count(*) FROM meter_reading") > 80
            assert one("SELECT count(*) FROM invoice") > 80
            assert one("SELECT count(*) FROM payment") > 0
            assert one("SELECT count(*) FROM customer_search") == 80
            assert one("SELECT count(*) FROM app_user WHERE username IN "
                       "('admin', 'superviseur', 'agent')") == 3
            assert one("""SELECT count(*) FROM invoice i WHERE total_minor <>
                          (SELECT coalesce(sum(amount_minor), 0) FROM invoice_line l
                           WHERE l.invoice_id = i.id)""") == 0
            assert one("""SELECT count(*) FROM account a WHERE balance_minor <>
                          (SELECT coalesce(sum(total_minor), 0) FROM invoice i
                           WHERE i.account_id = a.id)
                        - (SELECT coalesce(sum(amount_minor), 0) FROM payment p
                           WHERE p.account_id = a.id)""") == 0
    finally:
        counted.dispose()
    # The bulk load leaves planner statistics behind (autovacuum may be off or hours late), and
    # the search index rebuild analyses the tables it reads and its own.
    engine = create_engine(pg_url)

    def analysed() -> dict[str, int]:
        with engine.connect() as connection:
            return dict(connection.execute(text(
                "SELECT relname, analyze_count FROM pg_stat_user_tables "
                "WHERE relname IN ('customer', 'meter', 'customer_search', 'customer_search_phone_end')"
            )).all())

    try:
        with engine.connect() as connection:
            described = connection.execute(text(
                "SELECT count(DISTINCT tablename) FROM pg_stats WHERE schemaname = current_schema() "
                "AND tablename IN ('customer', 'meter', 'customer_search', 'customer_search_phone_end')"
            )).scalar_one()
        assert described == 4
        before = analysed()
        rebuilt = run("--database-url", pg_url, "search", "rebuild", data_dir=tmp_path)
        assert rebuilt.returncode == 0, rebuilt.stderr
        # the tables it reads (first: a plan without statistics reads them whole) and its own
        assert analysed() == {table: count + 1 for table, count in before.items()}
    finally:
        engine.dispose()


def one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The answer to a mistake: that exit code, one French line on stderr, no traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


NOBODY_LISTENS = "postgresql+psycopg://postgres@127.0.0.1:1/guichet"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        pytest.param(["--database-url", NOBODY_LISTENS, "db", "current"],
                     "Serveur PostgreSQL injoignable sur 127.0.0.1:1", id="pg-unreachable"),
        pytest.param(["--database-url", "mysql://u@h/d", "db", "current"],
                     "base « mysql » non prise en charge", id="mysql"),
        pytest.param(["--database-url", "notaurl", "demo"], "adresse de base illisible",
                     id="unparsable-url"),
        pytest.param(["--log-level", "LOUD", "db", "current"], "niveau de journal inconnu",
                     id="log-level"),
        pytest.param(["demo", "--as-of", "2026-13-01"],
                     "argument --as-of : « 2026-13-01 » n'est pas une date", id="as-of"),
        pytest.param(["demo", "--customers", "-5"],
                     "« -5 » : un nombre positif ou nul est attendu", id="negative-customers"),
        pytest.param(["frobnicate"], "erreur d'utilisation : argument COMMANDE : choix invalide",
                     id="unknown-command"),
    ],
)
def test_configuration_mistakes_are_one_french_line_and_exit_2(
        tmp_path: Path, args: list[str], needle: str) -> None:
    assert needle in one_line(run(*args, data_dir=tmp_path / "data"), 2)
    assert not (tmp_path / "data" / "guichet.sqlite3").exists(), "nothing was created"


@pytest.mark.postgres
def test_a_database_not_created_is_named_with_the_command_that_creates_it(
        pg_admin_url: str, tmp_path: Path) -> None:
    missing = pg_admin_url.rsplit("/", 1)[0] + "/guichet_jamais_creee"
    line = one_line(run("--database-url", missing, "db", "current", data_dir=tmp_path), 2)
    assert "La base « guichet_jamais_creee » n'existe pas" in line and "createdb" in line


def test_a_data_folder_that_cannot_be_made_is_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    line = one_line(run("db", "current", data_dir=blocker / "data"), 2)
    assert line.startswith("Dossier de données impossible à créer ou à écrire")


def test_db_current_on_a_new_folder_creates_nothing(tmp_path: Path) -> None:
    result = run("db", "current", data_dir=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "Aucune base dans" in result.stdout and "db upgrade" in result.stdout
    assert not (tmp_path / "guichet.sqlite3").exists()


def test_help_names_the_launcher_and_the_test_command(tmp_path: Path) -> None:
    shown = run("--help", data_dir=tmp_path, GUICHET_LAUNCHER="./guichet")
    assert shown.returncode == 0
    assert shown.stdout.startswith("utilisation : ./guichet")
    assert "./guichet test" in shown.stdout and "python -m app" not in shown.stdout
    assert "show this help" not in shown.stdout


def test_no_display_is_said_in_french_and_logged(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=120, env=env)
    line = one_line(result, 2)
    assert "Aucun écran graphique" in line and "QT_QPA_PLATFORM=offscreen" in line
    assert "Aucun écran graphique" in (tmp_path / "logs" / "guichet.log").read_text()


def test_a_second_program_on_the_same_data_folder_is_told_who_holds_it(tmp_path: Path) -> None:
    from app.services.desk_lock import DataFolderLock

    with DataFolderLock(tmp_path, "la fenêtre Guichet"):
        line = one_line(run("demo", "--customers", "0", data_dir=tmp_path), 1)
        assert f"est déjà utilisé par la fenêtre Guichet (processus {os.getpid()}" in line
        line = one_line(run("sync", data_dir=tmp_path), 1)
        assert "la fenêtre Guichet" in line
    done = run("demo", "--customers", "0", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr


def test_agency_prints_the_desk_agency_id(tmp_path: Path) -> None:
    assert run("demo", "--customers", "0", data_dir=tmp_path).returncode == 0
    shown = run("agency", data_dir=tmp_path)
    assert shown.returncode == 0, shown.stderr
    from app.models.database import Database
    from app.services.installation import load_installation
    from app.settings import Settings

    db = Database(f"sqlite:///{tmp_path / 'guichet.sqlite3'}")
    try:
        installation = load_installation(db, Settings(data_dir=tmp_path, central_url="off"))
    finally:
        db.dispose()
    assert f"identifiant : {installation.agency_id}" in shown.stdout.splitlines()


def test_a_desk_pointed_at_a_central_never_builds_a_demo(tmp_path: Path) -> None:
    """The first start of a desk of a real agency: no demo agency that central would refuse;
    the message names the join command."""
    result = run("sync", "--dry-run", data_dir=tmp_path,
                 GUICHET_CENTRAL_URL="http://127.0.0.1:1", GUICHET_CENTRAL_CREDENTIAL="x")
    line = one_line(result, 1)
    assert "ce poste doit d'abord rejoindre son central" in line and "join" in line
    from app.models.database import Database
    from app.services.demo import database_is_empty

    db = Database(f"sqlite:///{tmp_path / 'guichet.sqlite3'}")
    try:
        assert database_is_empty(db)
    finally:
        db.dispose()


def test_sync_on_an_empty_database_never_builds_a_demo_agency(tmp_path: Path) -> None:
    """Making the agency (demo or join) is a step of its own: a sync with the embedded central
    on an empty desk says which step is missing and leaves the database empty."""
    result = run("sync", "--dry-run", data_dir=tmp_path, GUICHET_CENTRAL_URL="",
                 GUICHET_DEMO_CUSTOMERS="0")
    line = one_line(result, 1)
    assert "Base vide" in line and "./guichet demo" in line and "join" in line
    from app.models.database import Database
    from app.services.demo import database_is_empty

    db = Database(f"sqlite:///{tmp_path / 'guichet.sqlite3'}")
    try:
        assert database_is_empty(db)
    finally:
        db.dispose()


def test_a_second_window_on_the_same_data_folder_is_refused(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "GUICHET_DEMO_CUSTOMERS": "0",
           "GUICHET_CENTRAL_URL": "off"}
    first = subprocess.Popen([sys.executable, "-m", "app", "--data-dir", str(tmp_path)],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        lock = tmp_path / "guichet.lock"
        for _ in range(600):
            if lock.exists() and f'"pid": {first.pid}' in lock.read_text(errors="replace"):
                break
            assert first.poll() is None, "the first window ended"
            time.sleep(0.1)
        second = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(tmp_path)],
                                env=env, capture_output=True, text=True, timeout=120)
        line = one_line(second, 1)
        assert f"est déjà utilisé par la fenêtre Guichet (processus {first.pid}" in line
    finally:
        first.terminate()
        first.wait(30)
