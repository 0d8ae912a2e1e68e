"""Finding 5: bundles carried by hand are signed. A desk bundle is checked against the
credentials of the agency its manifest names before anything is applied (a forged one is
refused and uses up no batch number); central's reply is checked by the desk before it applies
anything (a forged reply plants nothing). Played against a real central on PostgreSQL with a
real desk and the real files."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.models import Customer, SyncJournalEntry, User
from app.models.enums import Role
from app.services.installation import load_installation
from app.settings import Settings
from app.sync import bundle as desk_bundle
from app.sync import state
from kernel import signature, wire
from tests.sync.conftest import (  # noqa: F401  (fixtures)
    ROOT,
    Central,
    Desk,
    _env,
    central,
    central_pg_template,
    central_pg_url,
    make_desk,
)
from tests.sync.world import checksums, customers, edit_mobile


@pytest.fixture
def desk(central: Central, sqlite_url: str, tmp_path: Path) -> Iterator[Desk]:  # noqa: F811
    made = make_desk(central, sqlite_url, tmp_path / "desk", customers=8)
    assert made.sync().status == "succeeded"
    yield made
    made.db.dispose()


def _central_cli(central: Central, *args: str) -> subprocess.CompletedProcess[str]:  # noqa: F811
    return subprocess.run(
        [sys.executable, "-m", "central", "--database-url", central.db_url, "--data-dir",
         str(central.data_dir), *args], cwd=ROOT, capture_output=True, text=True, env=_env(),
        timeout=120, check=False)


def _other_agency_credential(central: Central, tmp_path: Path) -> str:  # noqa: F811
    path = tmp_path / "102.credential"
    central.command("agency", "add", "102", "Agence de Yopougon", "--credential-file", str(path))
    return path.read_text().strip()


def _central_state(desk: Desk) -> dict[str, Any]:
    with desk.client() as client:
        return client.state()


def _snapshot(desk: Desk, central: Central) -> dict[str, Any]:  # noqa: F811
    """What must not move: central's batch counter and checksums, the desk's checksums."""
    from app.models.database import Database

    central_db = Database(central.db_url)
    try:
        with central_db.reading() as session:
            counts = {"customer": session.scalar(select(func.count()).select_from(Customer)),
                      "app_user": session.scalar(select(func.count()).select_from(User))}
        theirs = checksums(central_db, desk.installation.agency_id)
    finally:
        central_db.dispose()
    return {"last_batch": _central_state(desk)["last_batch"], "central": theirs,
            "central_counts": counts, "desk": checksums(desk.db, desk.installation.agency_id)}


def _one_change(desk: Desk) -> uuid.UUID:
    target = customers(desk.db)[0]
    edit_mobile(desk, target.id, f"07 {uuid.uuid4().int % 10**8:08d}")
    return target.id


def _rewrite(source: Path, target: Path, change: Any) -> None:
    """Copies a zip member by member, ``change(name, data)`` returning the new bytes (or None
    to leave the member out)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = change(info.filename, old.read(info.filename))
            if data is not None:
                new.writestr(info.filename, data)


def test_a_signed_bundle_goes_and_its_signed_reply_comes_back(
        central: Central, desk: Desk, tmp_path: Path) -> None:  # noqa: F811
    changed = _one_change(desk)
    credential = desk.endpoint.credential
    out = tmp_path / "poste.zip"
    desk_bundle.export_bundle(desk.db, desk.installation, out, credential)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with zipfile.ZipFile(out) as archive:
        assert signature.SIGNATURE in archive.namelist()
    before = _central_state(desk)["last_batch"]
    done = _central_cli(central, "sync", "import-bundle", str(out), "--reply",
                        str(tmp_path / "reponse.zip"))
    assert done.returncode == 0, done.stderr
    assert _central_state(desk)["last_batch"] == before + 1
    message = desk_bundle.import_bundle(desk.db, desk.installation, tmp_path / "reponse.zip",
                                        credential)
    assert f"n° {before + 1}" in message
    with desk.db.reading() as session:
        assert int(state.get(session, state.LAST_ACKED, "0") or 0) == before + 1
    assert changed


DESK_FORGERIES = ("unsigned", "other_agency", "member_changed", "member_added",
                  "manifest_changed")


def test_a_forged_desk_bundle_is_refused_before_anything_is_applied(
        central: Central, desk: Desk, tmp_path: Path) -> None:  # noqa: F811
    other = _other_agency_credential(central, tmp_path)
    for forgery in DESK_FORGERIES:
        _forged_desk_bundle_refused(central, desk, tmp_path / forgery, other, forgery)


def _forged_desk_bundle_refused(central: Central, desk: Desk, tmp_path: Path,  # noqa: F811
                                other: str, forgery: str) -> None:
    tmp_path.mkdir()
    changed = _one_change(desk)
    genuine = tmp_path / "poste.zip"
    desk_bundle.export_bundle(desk.db, desk.installation, genuine, desk.endpoint.credential)
    forged = tmp_path / "faux.zip"
    with zipfile.ZipFile(genuine) as archive:
        batch_name = next(n for n in archive.namelist() if n.startswith("batches/"))
        manifest = json.loads(archive.read("manifest.json"))
        payload = wire.unpack(archive.read(batch_name))
    # The attacker's batch: an administrator for every desk, and the desk's customer renamed.
    payload["entries"][0]["changes"]["last_name"] = [None, "PIRATE"]
    _data, digest, packed = wire.pack(payload)
    manifest["batches"][0]["sha256"] = digest
    if forgery == "unsigned":
        _rewrite(genuine, forged, lambda n, d: None if n == signature.SIGNATURE
                 else packed if n == batch_name
                 else json.dumps(manifest).encode() if n == "manifest.json" else d)
    elif forgery == "other_agency":
        # Signed properly, but with agency 102's credential, for agency 101's rows.
        with zipfile.ZipFile(forged, "w") as archive:
            writer = signature.Writer(archive)
            writer.add(batch_name, packed)
            writer.add("manifest.json", json.dumps(manifest).encode())
            writer.sign([signature.key(signature.credential_digest(other), signature.DESK)])
    elif forgery == "member_changed":
        _rewrite(genuine, forged, lambda n, d: packed if n == batch_name else d)
    elif forgery == "member_added":
        _rewrite(genuine, forged, lambda n, d: d)
        with zipfile.ZipFile(forged, "a") as archive:
            archive.writestr("batches/999999.json.gz", packed)
    else:
        manifest["cursor"] = 0
        _rewrite(genuine, forged, lambda n, d: json.dumps(manifest).encode()
                 if n == "manifest.json" else d)
    before = _snapshot(desk, central)
    done = _central_cli(central, "sync", "import-bundle", str(forged), "--reply",
                        str(tmp_path / "reponse.zip"))
    assert done.returncode == 1, forgery
    assert "refusé" in done.stderr
    assert not (tmp_path / "reponse.zip").exists()
    assert _snapshot(desk, central) == before, "nothing applied, no batch number used"
    # The genuine bundle still goes through with the next number.
    assert _central_cli(central, "sync", "import-bundle", str(genuine), "--reply",
                        str(tmp_path / "reponse.zip")).returncode == 0
    assert _central_state(desk)["last_batch"] == before["last_batch"] + 1
    assert changed


def _planting_reply(desk: Desk, genuine: Path, target: Path, sign_with: str | None,
                    after: int) -> uuid.UUID:
    """A reply whose page inserts an administrator with a known password on the desk."""
    from kernel.passwords import hash_password

    admin = uuid.uuid4()
    page = {"after": after, "anchor_ok": True, "head": after + 1, "more": False,
            "next": after + 1, "commits": [{
                "no": after + 1, "tx": str(uuid.uuid4()), "at": "2026-12-01T00:00:00+00:00",
                "entries": [{"seq": 1, "tx": str(uuid.uuid4()), "table": "app_user",
                             "row": str(admin), "op": "insert", "base": 0, "new": 1,
                             "at": "2026-12-01T00:00:00+00:00", "schema": 2, "changes": {
                                 "username": [None, "pirate"], "full_name": [None, "Pirate"],
                                 "role": [None, Role.ADMINISTRATOR.value],
                                 "password_hash": [None, hash_password("Pirate-2026-!!")],
                                 "is_active": [None, True], "agency_id": [None, None],
                                 "created_at": [None, "2026-12-01T00:00:00+00:00"],
                                 "updated_at": [None, "2026-12-01T00:00:00+00:00"]}}]}]}
    _data, digest, packed = wire.pack(page)
    with zipfile.ZipFile(genuine) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    manifest["pages"] = [{"file": "changes/0001.json.gz", "sha256": digest, "after": after,
                          "next": after + 1, "commits": 1}]
    with zipfile.ZipFile(target, "w") as archive:
        writer = signature.Writer(archive)
        writer.add("changes/0001.json.gz", packed)
        writer.add("manifest.json", json.dumps(manifest).encode())
        if sign_with is not None:
            writer.sign([signature.key(signature.credential_digest(sign_with),
                                       signature.CENTRAL)])
    return admin


def test_a_forged_reply_plants_nothing_on_the_desk(
        central: Central, desk: Desk, tmp_path: Path) -> None:  # noqa: F811
    for forgery in ("unsigned", "desk_key", "other_credential", "page_swapped"):
        _forged_reply_refused(central, desk, tmp_path / forgery, forgery)


def _forged_reply_refused(central: Central, desk: Desk, tmp_path: Path,  # noqa: F811
                          forgery: str) -> None:
    tmp_path.mkdir()
    credential = desk.endpoint.credential
    genuine = tmp_path / "reponse.zip"
    done = _central_cli(central, "sync", "export-bundle", "--agency", "101", "--after", "0",
                        str(genuine))
    assert done.returncode == 0, done.stderr
    with desk.db.reading() as session:
        cursor = state.cursor(session)
    forged = tmp_path / "fausse-reponse.zip"
    if forgery == "page_swapped":
        _planting_reply(desk, genuine, tmp_path / "pages.zip", None, cursor)
        with zipfile.ZipFile(tmp_path / "pages.zip") as archive:
            planted = archive.read("changes/0001.json.gz")
        _rewrite(genuine, forged, lambda n, d: planted if n == "changes/0001.json.gz" else d)
    else:
        key_of = {"unsigned": None, "desk_key": None,
                  "other_credential": "gc1.101." + "x" * 43}[forgery]
        _planting_reply(desk, genuine, forged, key_of, cursor)
        if forgery == "desk_key":  # signed with the desk's own direction: not central's
            with zipfile.ZipFile(forged) as archive:
                members = {n: archive.read(n) for n in archive.namelist()}
            with zipfile.ZipFile(forged, "w") as archive:
                writer = signature.Writer(archive)
                for name, data in members.items():
                    writer.add(name, data)
                writer.sign([signature.key(signature.credential_digest(credential),
                                           signature.DESK)])
    before = checksums(desk.db, desk.installation.agency_id)
    with desk.db.reading() as session:
        journal = session.scalar(select(func.count()).select_from(SyncJournalEntry))
    with pytest.raises(desk_bundle.BadBundle) as refused:
        desk_bundle.import_bundle(desk.db, desk.installation, forged, credential)
    assert "Rien n'a été appliqué" in refused.value.message, forgery
    with desk.db.reading() as session:
        assert session.scalar(select(User.id).where(User.username == "pirate")) is None
        assert state.cursor(session) == cursor
        assert session.scalar(select(func.count()).select_from(SyncJournalEntry)) == journal
    assert checksums(desk.db, desk.installation.agency_id) == before
    # The genuine reply is accepted.
    desk_bundle.import_bundle(desk.db, desk.installation, genuine, credential)


def test_a_reply_member_that_inflates_beyond_the_limit_is_refused(
        central: Central, desk: Desk, tmp_path: Path) -> None:  # noqa: F811
    """A 50 KB page that would inflate to 64 MiB: refused while inflating, nothing applied."""
    import gzip

    credential = desk.endpoint.credential
    genuine = tmp_path / "reponse.zip"
    assert _central_cli(central, "sync", "export-bundle", "--agency", "101", "--after", "0",
                        str(genuine)).returncode == 0
    bomb = gzip.compress(b" " * (64 << 20))
    assert len(bomb) < 100_000
    with zipfile.ZipFile(genuine) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    manifest["pages"] = [{"file": "changes/0001.json.gz", "sha256": "0" * 64}]
    with zipfile.ZipFile(tmp_path / "bombe.zip", "w") as archive:
        writer = signature.Writer(archive)
        writer.add("changes/0001.json.gz", bomb)
        writer.add("manifest.json", json.dumps(manifest).encode())
        writer.sign([signature.key(signature.credential_digest(credential), signature.CENTRAL)])
    with pytest.raises(desk_bundle.BadBundle) as refused:
        desk_bundle.import_bundle(desk.db, desk.installation, tmp_path / "bombe.zip",
                                  credential, max_member_bytes=8 << 20)
    assert "décompressé au-delà" in refused.value.message


def test_the_desk_command_signs_with_the_credential_file(
        central: Central, desk: Desk, tmp_path: Path) -> None:  # noqa: F811
    """``python -m app sync export-bundle`` takes the agency's credential from the data
    folder's credential file, like the nightly synchronisation."""
    from app.sync.endpoint import agency_credential, credential_path

    settings = Settings(data_dir=desk.data_dir, central_url=central.url, demo_customers=0)
    credential_path(settings).write_text(desk.endpoint.credential)
    assert agency_credential(settings) == desk.endpoint.credential
    assert load_installation(desk.db, settings).agency_code == "101"
