"""A real ``python -m central serve`` on 127.0.0.1 with the options a test gives (TLS, size
limits), on a SQLite central of its own with agency 101 and its credential."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from central.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_CENTRAL_")}


def central_cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "central", "--data-dir", str(folder), *args],
                          cwd=ROOT, capture_output=True, text=True, env=env(), timeout=300,
                          check=False)


@dataclass
class Served:
    url: str
    credential: str
    folder: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        path = self.folder / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def served(folder: Path, *serve_args: str, scheme: str = "http", verify: object = None,
           agency_id: str | None = None) -> Iterator[Served]:
    folder.mkdir(parents=True, exist_ok=True)
    made = central_cli(folder, "agency", "add", "101", "Agence de Cocody", "--credential-file",
                       str(folder / "101.credential"),
                       *(("--id", agency_id) if agency_id else ()))
    assert made.returncode == 0, made.stderr
    port = free_port()
    with open(folder / "server.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "central", "--data-dir", str(folder), "serve", "--host",
             "127.0.0.1", "--port", str(port), *serve_args],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env())
    url = f"{scheme}://127.0.0.1:{port}"
    server = Served(url, (folder / "101.credential").read_text().strip(), folder, process)
    try:
        deadline = time.monotonic() + 180  # a loaded machine starts a server slowly
        while True:
            assert process.poll() is None, server.log()[-3000:]
            try:
                if httpx.get(url + "/health", timeout=2,
                             verify=verify if verify is not None else True).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
