"""docs/deploy.md is checked, not trusted: every command line it shows is parsed by the program
it names, and the guide's path (central on PostgreSQL, an agency, an agent, the service, a desk
joining it and synchronising, the central's backup and its restore) runs here against a real
PostgreSQL server, with this machine's URLs in place of the example ones."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.cli import _parser as desk_parser
from central.cli import build_parser as central_parser
from central.embedded import free_port
from tests import pg_server

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "deploy.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)


def _program_lines() -> list[tuple[str, list[str]]]:
    """(program, arguments) of every documented call of the desk or of central."""
    found: list[tuple[str, list[str]]] = []
    for block in _blocks("sh") + _blocks("bat"):
        for line in block.splitlines():
            line = line.split(" | ", 1)[-1].split(" && ")[-1].strip()
            words = shlex.split(line.replace("\\", "/"), comments=True) if line else []
            while words and (re.fullmatch(r"[A-Z_]+=\S*", words[0])
                             or words[0] in ("runuser", "-u", "guichet", "--")):
                words = words[1:]
            if words[:3] == [".venv/bin/python", "-m", "central"]:
                found.append(("central", words[3:]))
            elif words[:1] in (["./guichet"], ["guichet.cmd"]):
                found.append(("desk", words[1:]))
    return found


def test_the_guide_shows_the_whole_path() -> None:
    calls = _program_lines()
    central = [" ".join(args) for program, args in calls if program == "central"]
    desk = [" ".join(args) for program, args in calls if program == "desk"]
    for needed in ("db upgrade", "agency add", "user add", "db restored", "user disable"):
        assert any(needed in call for call in central), needed
    assert any(" join https://" in call for call in desk)
    assert "sync" in desk and "agency" in desk
    service = _blocks("ini")[0]
    assert "ExecStart=/opt/guichet/.venv/bin/python -m central serve" in service


@pytest.mark.parametrize(("program", "args"), _program_lines(),
                         ids=lambda value: value if isinstance(value, str) else " ".join(value))
def test_every_documented_command_line_is_understood(program: str, args: list[str]) -> None:
    parser = central_parser() if program == "central" else desk_parser()
    try:
        parser.parse_args(args)
    except SystemExit as stop:  # a usage error prints its line and exits 2
        pytest.fail(f"{program} refuses {' '.join(args)} (exit {stop.code})")


# --- the path, run -------------------------------------------------------------------------------
def _tool(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None)
    assert found, f"{name} is missing: ./guichet test installs postgresql-client"
    return str(found)


def _pg_env(url: str) -> dict[str, str]:
    parsed = make_url(url)
    return {**os.environ, "PGHOST": parsed.host or "127.0.0.1", "PGPORT": str(parsed.port or 5432),
            "PGUSER": parsed.username or "postgres"}


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}


@pytest.fixture
def central_database(pg_admin_url: str) -> Iterator[str]:
    name = f"guichet_t_deploy_{uuid.uuid4().hex[:8]}"
    env = _pg_env(pg_admin_url)
    done = subprocess.run([_tool("createdb"), name], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    yield name
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for db in (name, f"{name}_restauree"):
            connection.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    admin.dispose()


def test_the_guide_runs_central_agency_desk_backup_restore(
        pg_admin_url: str, central_database: str, tmp_path: Path) -> None:
    env = _pg_env(pg_admin_url)
    url = pg_server.database_url(central_database)
    port = free_port()
    config = tmp_path / "central.toml"
    config.write_text(f'database_url = "{url}"\ndata_dir = "{(tmp_path / "central").as_posix()}"\n'
                      f'host = "127.0.0.1"\nport = {port}\ncurrency = "XOF"\n'
                      'timezone = "Africa/Abidjan"\n')

    def central(*args: str, stdin: str | None = None,
                config_file: Path = config) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "central", "--config", str(config_file),
                               *args], cwd=ROOT, capture_output=True, text=True, input=stdin,
                              env=_clean_env(), timeout=300)
        assert done.returncode == 0, (args, done.stderr)
        return done

    def desk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "app", "--data-dir",
                               str(tmp_path / "poste"), *args], cwd=ROOT, capture_output=True,
                              text=True, env={**_clean_env(), "QT_QPA_PLATFORM": "offscreen"},
                              timeout=300)

    central("db", "upgrade")
    assert "0" in central("db", "current").stdout
    credential = tmp_path / "agence-102.credential"
    central("agency", "add", "102", "Agence de Yopougon", "--credential-file", str(credential))
    assert "102" in central("agency", "list").stdout
    central("user", "add", "awa.kone", "--name", "Awa KONÉ", "--role", "supervisor",
            "--agency", "102", "--password-stdin", stdin="Mot-de-passe-2026!\n")
    central("admin", "create", "--label", "exploitation")

    server = subprocess.Popen([sys.executable, "-m", "central", "serve"], cwd=ROOT,
                              env={**_clean_env(), "GUICHET_CENTRAL_CONFIG_FILE": str(config)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a loaded machine starts a server slowly
        while True:
            assert server.poll() is None, "the service stopped"
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "no answer on /health"
            time.sleep(0.2)

        joined = desk("--agency", "102", "join", base, "--credential-file", str(credential))
        assert joined.returncode == 0, joined.stderr
        shown = desk("agency")
        assert shown.returncode == 0 and "Agence 102 — Agence de Yopougon" in shown.stdout
        assert desk("sync", "--dry-run").returncode in (0, 3)
        night = desk("sync")
        assert night.returncode in (0, 3), night.stderr

        backup = tmp_path / "central.pgdump"
        dumped = subprocess.run([_tool("pg_dump"), "--format=custom", f"--file={backup}",
                                 central_database], env=env, capture_output=True, text=True)
        assert dumped.returncode == 0, dumped.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)

    restored = f"{central_database}_restauree"
    for command in ([_tool("createdb"), restored],
                    [_tool("pg_restore"), f"--dbname={restored}", "--no-owner", str(backup)]):
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    restored_config = tmp_path / "restored.toml"
    restored_config.write_text(config.read_text().replace(
        f"/{central_database}\"", f"/{restored}\""))
    said = central("db", "restored", config_file=restored_config)
    assert "nouvelle génération" in said.stdout
    assert "awa.kone" in central("user", "list", "--agency", "102",
                                 config_file=restored_config).stdout
    central("user", "disable", "awa.kone", config_file=restored_config)
