"""By hand when the line is down: ``sync import-bundle`` applies a desk's bundle exactly as the
endpoint would and writes the reply; ``sync export-bundle`` writes central's changes; ``db
restored`` gives the database a new generation."""

from __future__ import annotations

import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest

from app.models import Customer
from central.cli import main
from kernel import signature, wire
from tests.central.sync.kit import Central, Desk


def _cli(central: Central, tmp_path: Path, *args: str) -> int:
    return main(["--database-url", central.db.url, "--data-dir", str(tmp_path / "cli"), *args])


def _desk_bundle(desk: Desk, path: Path, payloads: list[dict[str, Any]], cursor: int,
                 tamper: int | None = None) -> Path:
    batches = []
    with zipfile.ZipFile(path, "w") as archive:
        writer = signature.Writer(archive)
        for payload in payloads:
            _data, digest, packed = wire.pack(payload)
            name = f"batches/{payload['number']:06d}.json.gz"
            writer.add(name, packed)
            batches.append({"number": payload["number"], "rows": len(payload["entries"]),
                            "sha256": "0" * 64 if payload["number"] == tamper else digest,
                            "file": name})
        writer.add("manifest.json", json.dumps({
            "kind": "guichet-desk-bundle", "agency": desk.code, "cursor": cursor,
            "anchor": None, "generation": None, "batches": batches}).encode())
        writer.sign([signature.key(signature.credential_digest(desk.credential),
                                   signature.DESK)])
    return path


def _reply(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        pages = [wire.unpack(archive.read(item["file"]), item["sha256"])
                 for item in manifest["pages"]]
    return manifest, pages


def test_a_bundle_is_applied_like_the_endpoint_and_the_reply_carries_the_changes(
        central: Central, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    desk = central.desks["101"]
    cursor = desk.get("state")["head"]
    rows = [uuid.uuid4(), uuid.uuid4(), uuid.uuid4()]
    payloads = [desk.payload([desk.insert("customer", {"last_name": f"Paquet {n}"}, row=row)],
                             number=n + 1) for n, row in enumerate(rows)]
    bundle = _desk_bundle(desk, tmp_path / "poste.zip", payloads, cursor, tamper=3)
    assert _cli(central, tmp_path, "sync", "import-bundle", str(bundle),
                "--reply", str(tmp_path / "reponse.zip")) == 0
    assert "lot 1 : applied" in capsys.readouterr().out
    manifest, pages = _reply(tmp_path / "reponse.zip")
    assert manifest["kind"] == "guichet-central-reply"
    assert [(a["number"], a["http"]) for a in manifest["results"]] == [(1, 200), (2, 200),
                                                                          (3, 400)]
    assert manifest["results"][0]["status"] == "applied"
    assert manifest["results"][0]["applied"] == 1
    assert manifest["results"][2]["error"] == "bad_batch"
    assert manifest["last_batch"] == 2 and manifest["anchor_ok"] is True
    assert manifest["generation"] == desk.get("state")["generation"]
    with central.db.reading() as session:
        assert [session.get(Customer, r) is not None for r in rows] == [True, True, False]
    assert pages[-1]["more"] is False and pages[0]["after"] == cursor
    assert all(e["row"] not in map(str, rows) for p in pages for c in p["commits"]
               for e in c["entries"]), "the desk's own rows do not come back"

    assert _cli(central, tmp_path, "sync", "import-bundle", str(bundle),
                "--reply", str(tmp_path / "encore.zip")) == 0
    again, _ = _reply(tmp_path / "encore.zip")
    assert [a.get("status") for a in again["results"][:2]] == ["duplicate", "duplicate"]


def test_export_bundle_writes_central_changes_after_a_cursor(
        central: Central, tmp_path: Path) -> None:
    desk = central.desks["102"]
    expected = desk.get("changes", after=0, limit=20000)["commits"]
    path = tmp_path / "export.zip"
    assert _cli(central, tmp_path, "sync", "export-bundle", "--agency", "102", "--after", "0",
                str(path)) == 0
    manifest, pages = _reply(path)
    assert manifest["agency"] == "102" and manifest["results"] == []
    assert [c for p in pages for c in p["commits"]] == expected
    assert _cli(central, tmp_path, "sync", "export-bundle", "--agency", "999", str(path)) == 1


def test_db_restored_rotates_the_generation(central: Central, tmp_path: Path) -> None:
    desk = central.desks["101"]
    before = desk.get("state")["generation"]
    assert _cli(central, tmp_path, "db", "restored") == 0
    after = desk.get("state")["generation"]
    assert uuid.UUID(after) and after != before
