"""The desk's embedded central: a child ``serve`` on a free port with SQLite in the desk's data
directory, its agency credential kept private, stopped with the desk."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import httpx
import pytest

from central.embedded import EmbeddedCentralError, credential_file, start_embedded

ROOT = Path(__file__).resolve().parents[2]


def test_start_use_stop_and_restart(tmp_path: Path) -> None:
    agency_id = uuid.uuid4()
    base_url, credential, handle = start_embedded(tmp_path, "101", "Agence de Cocody",
                                                  agency_id=agency_id, timeout=120)
    try:
        assert base_url.startswith("http://127.0.0.1:")
        agencies = httpx.get(base_url + "/reference/agencies",
                             headers={"Authorization": f"Bearer {credential}"}).json()
        assert [(a["code"], a["id"]) for a in agencies] == [("101", str(agency_id))]
        secret_file = credential_file(tmp_path, "101")
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        assert secret_file.read_text().strip() == credential
        assert (tmp_path / "central.sqlite3").exists()
    finally:
        handle.stop()
    assert not handle.is_running()
    with pytest.raises(httpx.HTTPError):
        httpx.get(base_url + "/health", timeout=1)

    again_url, again_credential, again = start_embedded(tmp_path, "101", "Agence de Cocody",
                                                          timeout=120)
    with again:
        assert again_credential == credential, "the credential made on first start is reused"
        response = httpx.get(again_url + "/agencies/101/customers",
                             headers={"Authorization": f"Bearer {credential}"})
        assert response.status_code == 200
    assert not again.is_running()


def test_a_server_that_cannot_start_is_a_clear_error(tmp_path: Path) -> None:
    credential_file(tmp_path, "101").write_text("gc1.101.x\n")
    (tmp_path / "central.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(EmbeddedCentralError, match="arrêté au démarrage") as raised:
        start_embedded(tmp_path, "101", "Cocody", timeout=60)
    assert "central-embedded.log" in raised.value.message or "database" in raised.value.message


def test_the_server_stops_when_the_desk_process_dies(tmp_path: Path) -> None:
    desk = textwrap.dedent(f"""
        import os, sys
        from pathlib import Path
        from central.embedded import start_embedded
        url, _, handle = start_embedded(Path({str(tmp_path)!r}), "101", "Cocody", timeout=120)
        print(url, handle.process.pid, flush=True)
        os._exit(0)  # a crash: no atexit, no stop()
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_CENTRAL_")}
    done = subprocess.run([sys.executable, "-c", desk], cwd=ROOT, capture_output=True, text=True,
                          timeout=240, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    url, pid = done.stdout.split()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(int(pid), 9)
        raise AssertionError("the embedded server outlived the desk")
    with pytest.raises(httpx.HTTPError):
        httpx.get(url + "/health", timeout=1)
