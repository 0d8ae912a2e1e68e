"""The command line as an operator uses it: real processes, real files."""

import os
import subprocess
import sys
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
    from app.models.migrate import HEAD

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
