"""File bundles for a line that is down (docs/sync.md, "Bundles"): a desk's batches carried by
hand, applied exactly as the endpoint applies them, and central's reply (the answers, then the
changes after the desk's cursor) carried back. Each is a zip of ``manifest.json`` and gzip
payloads, every payload checked by its SHA-256."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.models import Agency as AgencyRow
from app.models.database import Database
from app.models.ids import utcnow
from app.services.errors import BusinessError, NotFoundError
from app.sync import wire
from central.sync.batches import BatchRefused, read_batch, receive_batch
from central.sync.changes import anchor_ok, changes_after
from central.sync.numbering import head
from central.sync.state import Agency, generation, last_batch

MANIFEST = "manifest.json"
DESK_KIND = "guichet-desk-bundle"
REPLY_KIND = "guichet-central-reply"
PAGE_ENTRIES = 2000


def find_agency(db: Database, code: str) -> Agency:
    with db.reading() as session:
        found = session.scalars(select(AgencyRow.id).where(AgencyRow.code == code)).one_or_none()
    if found is None:
        raise NotFoundError(f"L'agence {code} n'existe pas sur ce central.")
    return Agency(found, code)


def _refuse(path: Path, why: str) -> BusinessError:
    return BusinessError(f"Paquet {path} refusé : {why}.")


def read_manifest(archive: zipfile.ZipFile, path: Path, kind: str) -> dict[str, Any]:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except (KeyError, ValueError) as error:
        raise _refuse(path, "manifest.json absent ou illisible") from error
    if not isinstance(manifest, dict) or manifest.get("kind") != kind:
        raise _refuse(path, f"ce n'est pas un paquet « {kind} »")
    if manifest.get("protocol", wire.PROTOCOL) != wire.PROTOCOL:
        raise _refuse(path, f"protocole {manifest.get('protocol')} non pris en charge")
    return manifest


def import_bundle(db: Database, bundle: Path, reply: Path) -> dict[str, Any]:
    """Applies a desk's bundle and writes the reply; returns the reply's manifest."""
    try:
        archive = zipfile.ZipFile(bundle)
    except (OSError, zipfile.BadZipFile) as error:
        raise _refuse(bundle, f"fichier illisible ({error})") from error
    with archive:
        manifest = read_manifest(archive, bundle, DESK_KIND)
        agency = find_agency(db, str(manifest.get("agency")))
        results = []
        for item in sorted(manifest.get("batches") or [], key=lambda b: int(b["number"])):
            number = int(item["number"])
            try:
                body = archive.read(str(item["file"]))
            except KeyError as error:
                raise _refuse(bundle, f"lot {number} absent ({item['file']})") from error
            try:
                batch = read_batch(agency, number, body, str(item.get("sha256") or ""),
                                   item.get("rows"))
                results.append({**receive_batch(db, agency, batch), "number": number,
                                "http": 200})
            except BatchRefused as refused:
                results.append({"error": refused.code, "message": refused.message,
                                **refused.extra, "number": number, "http": refused.status})
    cursor = int(manifest.get("cursor") or 0)
    return write_reply(db, agency, reply, cursor, manifest.get("anchor"), results)


def write_reply(db: Database, agency: Agency, reply: Path, after: int, anchor: str | None,
                results: list[dict[str, Any]]) -> dict[str, Any]:
    """A reply bundle: the answer to each batch, the state, and the changes after ``after``
    in pages."""
    pages = []
    with db.reading() as session:
        connection = session.connection()
        manifest: dict[str, Any] = {
            "kind": REPLY_KIND, "protocol": wire.PROTOCOL, "agency": agency.code,
            "generation": str(generation(session)), "last_batch": last_batch(session, agency.id),
            "head": head(connection), "anchor_ok": anchor_ok(connection, after, anchor),
            "after": after, "server_time": utcnow().isoformat(), "results": results, "pages": [],
        }
        cursor = after
        while True:
            page = changes_after(connection, agency.id, cursor, PAGE_ENTRIES, anchor)
            pages.append(page)
            cursor = page["next"]
            if not page["more"]:
                break
    reply.parent.mkdir(parents=True, exist_ok=True)
    partial = reply.with_name(reply.name + ".partiel")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
        for number, page in enumerate(pages, start=1):
            _data, digest, packed = wire.pack(page)
            name = f"changes/{number:04d}.json.gz"
            archive.writestr(name, packed)
            manifest["pages"].append({"file": name, "sha256": digest, "after": page["after"],
                                        "next": page["next"], "commits": len(page["commits"])})
        archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
    partial.replace(reply)
    return manifest


def export_bundle(db: Database, code: str, after: int, path: Path) -> dict[str, Any]:
    """Central's changes for an agency after commit ``after``, without batches to apply."""
    return write_reply(db, find_agency(db, code), path, after, None, [])
