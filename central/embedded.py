"""The central server a desk runs for itself when no central is configured: ``python -m central
serve`` in a child process on 127.0.0.1, on a free port, with a SQLite database in the desk's
data directory.

On first start the agency and its credential are created; the credential is kept in a file of
that directory readable by its owner only, and reused on every later start. The child stops
with ``stop()`` (the desk calls it on exit; ``atexit`` is a safety net), and stops by itself if
the desk process dies (``--watch-parent``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from kernel.errors import EnvironmentProblem

DATABASE_FILE = "central.sqlite3"
LOG_FILE = "central-embedded.log"


class EmbeddedCentralError(EnvironmentProblem):
    """The embedded central server could not be started."""


def credential_file(data_dir: Path, agency_code: str) -> Path:
    return data_dir / f"central-agence-{agency_code}.credential"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class EmbeddedCentral:
    """A running embedded server (also a context manager that stops it)."""

    base_url: str
    credential: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _stopped: bool = field(default=False, repr=False)

    def is_running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Asks the server to finish (SIGTERM: uvicorn shuts down cleanly), kills it if it
        does not within ``timeout`` seconds."""
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(ProcessLookupError):
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(5)
        atexit.unregister(self.stop)

    def __enter__(self) -> EmbeddedCentral:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _command(data_dir: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "central",
        "--data-dir", str(data_dir),
        "--database-url", f"sqlite:///{(data_dir / DATABASE_FILE).as_posix()}",
        *args,
    ]


def _tail(path: Path, lines: int = 3) -> str:
    try:
        return " | ".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _environment(currency: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_CENTRAL_")}
    env["GUICHET_CENTRAL_CURRENCY"] = currency
    return env


def _run(data_dir: Path, currency: str, timeout: float, *args: str) -> None:
    try:
        done = subprocess.run(_command(data_dir, *args), capture_output=True, text=True,
                              timeout=timeout, env=_environment(currency), check=False)
    except subprocess.TimeoutExpired as error:
        raise EmbeddedCentralError(
            f"Le serveur central local n'a pas pu être préparé en {timeout:g} s."
        ) from error
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["raison inconnue"])[-1]
        raise EmbeddedCentralError(f"Le serveur central local n'a pas pu être préparé : {reason}")


def _prepare(
    data_dir: Path, agency_code: str, agency_name: str, agency_id: uuid.UUID | None,
    currency: str, timeout: float, reference_from: str | None = None,
) -> str:
    """Creates the database, the agency and its credential file when missing, with the desk's
    shared reference data (``reference_from``: the desk's database; no agency writes shared
    rows through synchronisation); returns the credential."""
    secret_file = credential_file(data_dir, agency_code)
    if not secret_file.exists():
        if reference_from:
            _run(data_dir, currency, timeout, "reference", "import", reference_from)
        args = ["agency", "ensure", agency_code, agency_name, "--credential-file", str(secret_file)]
        if agency_id is not None:
            args += ["--id", str(agency_id)]
        _run(data_dir, currency, timeout, *args)
    return secret_file.read_text(encoding="utf-8").strip()


def start_embedded(
    data_dir: Path,
    agency_code: str,
    agency_name: str,
    *,
    agency_id: uuid.UUID | None = None,
    currency: str = "XOF",
    timeout: float = 30.0,
    reference_from: str | None = None,
) -> tuple[str, str, EmbeddedCentral]:
    """Starts the embedded central; returns (base URL, agency credential, handle with stop()).
    ``reference_from``: the desk's database, whose shared reference data a new embedded central
    is given."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    credential = _prepare(data_dir, agency_code, agency_name, agency_id, currency, timeout,
                          reference_from)
    log_path = data_dir / "logs" / LOG_FILE
    log_path.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            _command(data_dir, "serve", "--host", "127.0.0.1", "--port", str(port),
                     "--watch-parent", str(os.getpid())),
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=_environment(currency),
        )
    handle = EmbeddedCentral(base_url, credential, process, log_path)
    atexit.register(handle.stop)
    try:
        _wait_until_healthy(handle, deadline)
    except BaseException:
        handle.stop()
        raise
    return base_url, credential, handle


def _wait_until_healthy(handle: EmbeddedCentral, deadline: float) -> None:
    with httpx.Client(timeout=1.0) as client:
        while True:
            if handle.process.poll() is not None:
                raise EmbeddedCentralError(
                    "Le serveur central local s'est arrêté au démarrage "
                    f"(code {handle.process.returncode}) : {_tail(handle.log_path)}"
                )
            try:
                if client.get(handle.base_url + "/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise EmbeddedCentralError(
                    f"Le serveur central local ne répond pas sur {handle.base_url} après le délai "
                    f"imparti. Journal : {handle.log_path}"
                )
            time.sleep(0.1)
