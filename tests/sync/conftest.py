"""A real central server process on 127.0.0.1 (PostgreSQL) and desks that talk to it."""

from __future__ import annotations

import io
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from app.models.database import Database
from app.services.installation import load_installation
from app.settings import Settings
from app.sync.client import CentralClient
from app.sync.endpoint import Endpoint
from app.sync.runner import SyncOutcome, run_sync
from central.embedded import free_port
from kernel import migrate
from kernel.context import Installation, ServiceContext
from tests.central.conftest import (  # noqa: F401  (fixtures)
    central_pg_template,
    central_pg_url,
    central_sqlite_template,
)
from tests.conftest import make_demo

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_CENTRAL_")}


@dataclass
class Central:
    """``python -m central serve`` in a child process, started, killed and started again."""

    db_url: str
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    #: Extra environment of the server process (fault points, settings).
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``python -m central …`` run in this process: a child process would spend a second
        or more importing the server for each of the two commands every desk is set up with."""
        from central.cli import main

        argv = ["--database-url", self.db_url, "--data-dir", str(self.data_dir), *args]
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        hidden = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("GUICHET_CENTRAL_")}
        out, err = io.StringIO(), io.StringIO()
        try:
            with redirect_stdout(out), redirect_stderr(err):
                code = main(argv)
        finally:
            os.environ.update(hidden)
            for handler in list(root.handlers):
                if handler not in handlers:
                    root.removeHandler(handler)
                    handler.close()
            root.setLevel(level)
        assert code == 0, err.getvalue()
        return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())

    def start(self) -> None:
        log = open(self.data_dir / "server.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "central", "--database-url", self.db_url, "--data-dir",
             str(self.data_dir), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**_env(), **self.env})
        log.close()
        deadline = time.monotonic() + 180  # a loaded machine starts a server slowly
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.data_dir / "server.log").read_text()[-2000:]
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("central did not answer")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Desk:
    db: Database
    installation: Installation
    endpoint: Endpoint
    data_dir: Path

    @property
    def ctx(self) -> ServiceContext:
        return ServiceContext(self.db, self.installation)

    def sync(self, **kwargs: object) -> SyncOutcome:
        outcome = run_sync(self.db, self.installation, self.endpoint, data_dir=self.data_dir,
                           **kwargs)  # type: ignore[arg-type]
        return outcome

    def client(self, **kwargs: object) -> CentralClient:
        return CentralClient(self.endpoint, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def central(central_pg_url: str, tmp_path: Path) -> Iterator[Central]:  # noqa: F811
    folder = tmp_path / "central"
    folder.mkdir()
    server = Central(central_pg_url, folder)
    server.start()
    yield server
    server.stop()


def make_desk(central: Central, url: str, folder: Path, customers: int,
              demo: bool = True) -> Desk:
    folder.mkdir(parents=True, exist_ok=True)
    db = Database(url)
    migrate.upgrade(db.engine)
    if demo:
        make_demo(db, customers=customers)
    settings = Settings(data_dir=folder, central_url=central.url, demo_customers=0)
    installation = load_installation(db, settings)
    credential_file = folder / "credential"
    if not credential_file.exists():
        central.command("agency", "ensure", installation.agency_code, installation.agency_name,
                        "--id", str(installation.agency_id), "--credential-file",
                        str(credential_file))
        # Shared reference data is central's (no agency writes it): the operator loads it.
        central.command("reference", "import", url)
    credential = credential_file.read_text().strip()
    return Desk(db, installation, Endpoint(central.url, credential, "101"), folder)


@pytest.fixture
def desk(central: Central, db_url: str, tmp_path: Path) -> Iterator[Desk]:
    made = make_desk(central, db_url, tmp_path / "desk", customers=20)
    yield made
    made.db.dispose()


def copy_sqlite(path: Path, target: Path) -> None:
    shutil.copy(path, target)
