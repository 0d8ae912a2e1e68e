"""``python -m central``: a few commands as real subprocesses (exit codes, one French line,
never a traceback), the rest in process."""

from __future__ import annotations

import io
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from app.models import User
from app.models.database import Database
from app.models.enums import Role
from central.cli import main
from central.credentials import hash_secret
from central.embedded import free_port
from central.models import Credential
from tests.central.world import World

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_CENTRAL_")}
    return subprocess.run([sys.executable, "-m", "central", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=120, env=env, check=False)


def one_error_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def test_agency_add_shows_the_credential_once_and_keeps_only_its_hash(
    central_sqlite_url: str, tmp_path: Path
) -> None:
    base = ["--database-url", central_sqlite_url, "--data-dir", str(tmp_path)]
    added = run(*base, "agency", "add", "101", "Agence de Cocody")
    assert added.returncode == 0, added.stderr
    secret = added.stdout.strip().splitlines()[-1]
    assert secret.startswith("gc1.101.") and len(secret) > 40
    assert "une seule fois" in added.stdout
    db = Database(central_sqlite_url)
    try:
        with db.reading() as session:
            (stored,) = session.scalars(select(Credential)).all()
        assert stored.secret_hash == hash_secret(secret) and secret not in stored.secret_hash
        raw = Path(central_sqlite_url.removeprefix("sqlite:///")).read_bytes()
        assert secret.encode() not in raw
    finally:
        db.dispose()
    again = run(*base, "agency", "add", "101", "Encore")
    assert one_error_line(again, 1) == "L'agence 101 existe déjà."
    assert secret not in (tmp_path / "logs" / "central.log").read_text()


def test_usage_and_environment_errors_are_one_french_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert "erreur d'utilisation" in one_error_line(run("bill"), 2)
    with pytest.raises(SystemExit) as usage:
        main(["bill", "--period", "2026-13"])
    assert usage.value.code == 2 and "AAAA-MM" in capsys.readouterr().err
    unreachable = run("--database-url", "postgresql+psycopg://nobody@127.0.0.1:1/x", "runs")
    assert one_error_line(unreachable, 1).startswith("Base de données injoignable")


def test_bill_dry_run_then_for_real(central_sqlite_url: str, tmp_path: Path) -> None:
    db = Database(central_sqlite_url)
    try:
        world = World(db)
        for start in (100, 200):
            sub = world.subscribe()
            world.read(sub.meter_id, date(2026, 10, 31), start)
            world.read(sub.meter_id, date(2026, 11, 30), start + 12)
    finally:
        db.dispose()
    base = ["--database-url", central_sqlite_url, "--data-dir", str(tmp_path)]
    dry = run(*base, "bill", "--period", "2026-11", "--issued-on", "2026-12-05", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "simulation" in dry.stdout and "abonnements facturés : 2" in dry.stdout
    real = run(*base, "bill", "--period", "2026-11", "--issued-on", "2026-12-05")
    assert real.returncode == 0 and "FC2026-00000001 → FC2026-00000002" in real.stdout
    # 12 m³: 2 450 + 890 + fixed 1 500, VAT 441 + 160 + 270: 5 711 each.
    assert "TTC 11" in real.stdout and "422" in real.stdout
    refused = run(*base, "bill", "--period", "2026-12", "--issued-on", "2026-12-05")
    assert "pas terminée" in one_error_line(refused, 1)


def test_users_are_managed_on_central(central_sqlite_url: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    base = ["--database-url", central_sqlite_url, "--data-dir", str(tmp_path)]
    assert main([*base, "agency", "add", "101", "Cocody"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("un-mot-de-passe-solide\n"))
    assert main([*base, "user", "add", "Awa.Kone", "--name", "Awa KONÉ", "--role",
                 "supervisor", "--agency", "101", "--password-stdin"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("court\n"))
    assert main([*base, "user", "add", "yao", "--name", "Yao", "--password-stdin"]) == 1
    assert main([*base, "user", "disable", "awa.kone"]) == 0
    assert main([*base, "user", "list"]) == 0
    out, err = capsys.readouterr()
    assert "awa.kone" in out and "superviseur" in out and "désactivé" in out
    assert "au moins 10 caractères" in err
    db = Database(central_sqlite_url)
    try:
        with db.reading() as session:
            user = session.scalars(select(User)).one()
        assert user.role is Role.SUPERVISOR and not user.is_active
        assert user.password_hash.startswith("$argon2") and "solide" not in user.password_hash
    finally:
        db.dispose()


def test_credentials_in_files_are_private(central_sqlite_url: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--database-url", central_sqlite_url, "--data-dir", str(tmp_path)]
    secret_file = tmp_path / "secrets" / "101.credential"
    assert main([*base, "agency", "ensure", "101", "Cocody", "--credential-file",
                 str(secret_file)]) == 0
    assert main([*base, "agency", "ensure", "101", "Cocody", "--credential-file",
                 str(secret_file)]) == 0
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text().strip()
    assert secret.startswith("gc1.101.")
    out = capsys.readouterr().out
    assert secret not in out and "déjà" in out
    assert main([*base, "admin", "create", "--label", "exploitation"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("gc1.admin.")


def test_invalid_configuration_is_a_usage_error(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "central.toml"
    config.write_text('port = "pas un port"\n')
    assert main(["--config", str(config), "runs"]) == 2
    assert "Configuration invalide (port)" in capsys.readouterr().err
    assert main(["--config", str(tmp_path / "absent.toml"), "runs"]) == 2


def test_serve_on_an_unreachable_database_is_one_line_without_traceback(tmp_path: Path) -> None:
    """``serve`` logs JSON lines to stderr; its failure at start is still one French line there,
    the traceback going to the log file only."""
    result = run("--data-dir", str(tmp_path), "--database-url",
                 "postgresql+psycopg://nobody@127.0.0.1:1/x", "serve", "--port", str(free_port()))
    assert one_error_line(result, 1).startswith("Base de données injoignable")
    logged = (tmp_path / "logs" / "central.log").read_text()
    assert "Traceback" in logged and "database unreachable" in logged


def test_an_unparsable_database_url_is_a_configuration_error(tmp_path: Path) -> None:
    line = one_error_line(run("--data-dir", str(tmp_path), "--database-url", "notaurl", "serve"), 2)
    assert line.startswith("Configuration invalide (database_url) : adresse de base illisible")
