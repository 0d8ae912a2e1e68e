"""Finding 7: size limits. A batch body is counted while it streams (413 beyond
``max_batch_bytes``), inflated a megabyte at a time and refused as soon as it passes
``max_batch_uncompressed_bytes`` (400, nothing applied, no batch number used), off the event
loop: ``/health`` keeps answering while a bomb is refused. Against a real central process."""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx

from central.settings import CentralSettings
from tests.security.served import served


def _headers(credential: str, data: bytes, rows: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}", "Content-Type": "application/gzip",
            "X-Batch-Sha256": hashlib.sha256(data).hexdigest(), "X-Batch-Rows": str(rows)}


def _bomb(megabytes: int) -> tuple[bytes, bytes]:
    """A valid batch payload whose one entry carries ``megabytes`` of spaces in a field."""
    filler = " " * (megabytes << 20)
    payload = {"agency": "101", "number": 1, "kind": "changes", "protocol": 1, "schema": 2,
               "entries": [{"seq": 1, "tx": "00000000-0000-0000-0000-000000000001",
                            "table": "customer", "row": "00000000-0000-0000-0000-000000000002",
                            "op": "update", "base": 1, "new": 2,
                            "changes": {"notes": [None, filler]}}]}
    data = json.dumps(payload, separators=(",", ":")).encode()
    return data, gzip.compress(data, compresslevel=9)


def test_a_50_megabyte_batch_is_refused_while_inflating_and_health_keeps_answering(
        tmp_path: Path) -> None:
    data, body = _bomb(50)
    assert len(body) < 1 << 20 < (50 << 20) < len(data)
    with served(tmp_path / "central") as server:
        answers: list[int] = []
        stop = threading.Event()

        def watch() -> None:
            with httpx.Client(timeout=30) as client:
                while not stop.is_set():
                    answers.append(client.get(server.url + "/health").status_code)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            for _ in range(3):
                refused = httpx.post(server.url + "/agencies/101/sync/batches/1", content=body,
                                     headers=_headers(server.credential, data, 1), timeout=60)
                assert refused.status_code == 400, refused.text
                assert refused.json()["error"] == "bad_batch"
                assert "décompressé au-delà de 32 Mo" in refused.json()["message"]
        finally:
            stop.set()
            watcher.join()
        assert answers and set(answers) == {200}
        state = httpx.get(server.url + "/agencies/101/sync/state", timeout=30,
                          headers={"Authorization": f"Bearer {server.credential}"}).json()
        assert state["last_batch"] == 0


def test_a_streamed_body_beyond_the_compressed_limit_gets_413(tmp_path: Path) -> None:
    with served(tmp_path / "central", "--max-batch-bytes", str(64 * 1024)) as server:
        sent = {"bytes": 0}

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams
            for _ in range(64):
                sent["bytes"] += 16 * 1024
                yield b"\x1f" * (16 * 1024)

        refused = httpx.post(server.url + "/agencies/101/sync/batches/1", content=chunks(),
                             headers=_headers(server.credential, b"", 1), timeout=60)
        assert refused.status_code == 413 and refused.json()["error"] == "payload_too_large"
        declared = httpx.post(server.url + "/agencies/101/sync/batches/1",
                              content=b"\x1f" * (65 * 1024),
                              headers=_headers(server.credential, b"", 1), timeout=60)
        assert declared.status_code == 413


def test_the_limit_is_a_setting_far_below_a_gibibyte(tmp_path: Path) -> None:
    settings = CentralSettings(data_dir=tmp_path)
    assert settings.max_batch_uncompressed_bytes == 32 << 20
    assert settings.max_batch_bytes == 16 << 20
    data, body = _bomb(2)
    with served(tmp_path / "central", "--max-batch-uncompressed-bytes", str(1 << 20)) as server:
        refused = httpx.post(server.url + "/agencies/101/sync/batches/1", content=body,
                             headers=_headers(server.credential, data, 1), timeout=60)
        assert refused.status_code == 400 and "au-delà de 1 Mo" in refused.json()["message"]
