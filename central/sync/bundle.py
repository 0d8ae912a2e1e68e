"""File bundles for a line that is down (docs/sync.md, "Bundles"): a desk's batches carried by
hand, applied exactly as the endpoint applies them, and central's reply (the answers, then the
changes after the desk's cursor) carried back. Each is a zip of ``manifest.json`` and gzip
payloads, every payload checked by its SHA-256, the whole signed (``kernel.signature``): a
desk's bundle must be signed with a credential in service of the agency its manifest names, or
nothing of it is applied (no batch number is used); the reply is signed for the desk."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.models import Agency as AgencyRow
from app.models.database import Database
from app.models.ids import utcnow
from central.models import Credential, CredentialKind
from central.sync.batches import MAX_UNCOMPRESSED, BatchRefused, read_batch, receive_batch
from central.sync.changes import anchor_ok, changes_after
from central.sync.numbering import head
from central.sync.state import Agency, generation, last_batch
from kernel import signature, wire
from kernel.errors import BusinessError, NotFoundError

MANIFEST = "manifest.json"
DESK_KIND = "guichet-desk-bundle"
REPLY_KIND = "guichet-central-reply"
PAGE_ENTRIES = 2000
#: Largest member of a desk's bundle as stored in the zip (a batch's gzip body).
MAX_MEMBER_BYTES = 16 << 20
MAX_MANIFEST_BYTES = 8 << 20


def find_agency(db: Database, code: str) -> Agency:
    with db.reading() as session:
        found = session.scalars(select(AgencyRow.id).where(AgencyRow.code == code)).one_or_none()
    if found is None:
        raise NotFoundError(f"L'agence {code} n'existe pas sur ce central.")
    return Agency(found, code)


def agency_keys(db: Database, agency: Agency, purpose: bytes) -> list[bytes]:
    """Signing keys of the agency's credentials in service."""
    with db.reading() as session:
        digests = session.scalars(select(Credential.secret_hash).where(
            Credential.agency_id == agency.id, Credential.kind == CredentialKind.AGENCY,
            Credential.revoked_at.is_(None))).all()
    return [signature.key(digest, purpose) for digest in digests]


def _refuse(path: Path, why: str) -> BusinessError:
    return BusinessError(f"Paquet {path} refusé : {why}.")


def read_manifest(data: bytes, path: Path, kind: str) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise _refuse(path, "manifest.json illisible") from error
    if not isinstance(manifest, dict) or manifest.get("kind") != kind:
        raise _refuse(path, f"ce n'est pas un paquet « {kind} »")
    if manifest.get("protocol", wire.PROTOCOL) != wire.PROTOCOL:
        raise _refuse(path, f"protocole {manifest.get('protocol')} non pris en charge")
    return manifest


def _peek_agency(archive: zipfile.ZipFile, path: Path) -> str:
    """The agency the (not yet verified) manifest names: whose keys to check it with."""
    try:
        data = signature.read_member(archive, MANIFEST, MAX_MANIFEST_BYTES)
    except signature.BadSignature as error:
        raise _refuse(path, f"manifest.json absent ou illisible ({error})") from error
    return str(read_manifest(data, path, DESK_KIND).get("agency"))


def import_bundle(db: Database, bundle: Path, reply: Path, *,
                  max_member_bytes: int = MAX_MEMBER_BYTES,
                  max_uncompressed: int = MAX_UNCOMPRESSED) -> dict[str, Any]:
    """Applies a desk's bundle and writes the reply; returns the reply's manifest. The
    signature is checked before anything is applied; every batch is inflated within
    ``max_uncompressed`` bytes."""
    try:
        archive = zipfile.ZipFile(bundle)
    except (OSError, zipfile.BadZipFile) as error:
        raise _refuse(bundle, f"fichier illisible ({error})") from error
    with archive:
        agency = find_agency(db, _peek_agency(archive, bundle))
        try:
            digests = signature.verify(archive, agency_keys(db, agency, signature.DESK))
            manifest = read_manifest(
                signature.read_signed(archive, MANIFEST, digests, MAX_MANIFEST_BYTES), bundle,
                DESK_KIND)
        except signature.BadSignature as error:
            raise _refuse(bundle, str(error)) from error
        if manifest.get("agency") != agency.code:
            raise _refuse(bundle, "le manifeste a changé pendant la lecture")
        results = []
        try:
            listed = sorted(manifest.get("batches") or [], key=lambda b: int(b["number"]))
        except (TypeError, ValueError, KeyError) as error:
            raise _refuse(bundle, "liste des lots illisible") from error
        # Every member is read and checked before the first batch is applied.
        for item in listed:
            try:
                signature.read_signed(archive, str(item.get("file")), digests, max_member_bytes)
            except signature.BadSignature as error:
                raise _refuse(bundle, f"lot {item['number']} : {error}") from error
        for item in listed:
            number = int(item["number"])
            body = signature.read_signed(archive, str(item["file"]), digests, max_member_bytes)
            try:
                batch = read_batch(agency, number, body, str(item.get("sha256") or ""),
                                   item.get("rows"), max_uncompressed)
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
    keys = agency_keys(db, agency, signature.CENTRAL)
    if not keys:
        raise BusinessError(f"L'agence {agency.code} n'a aucun identifiant en service : la "
                            "réponse ne peut pas être signée.")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
        writer = signature.Writer(archive)
        for number, page in enumerate(pages, start=1):
            _data, digest, packed = wire.pack(page)
            name = f"changes/{number:04d}.json.gz"
            writer.add(name, packed)
            manifest["pages"].append({"file": name, "sha256": digest, "after": page["after"],
                                        "next": page["next"], "commits": len(page["commits"])})
        writer.add(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode())
        writer.sign(keys)
    partial.replace(reply)
    return manifest


def export_bundle(db: Database, code: str, after: int, path: Path) -> dict[str, Any]:
    """Central's changes for an agency after commit ``after``, without batches to apply."""
    return write_reply(db, find_agency(db, code), path, after, None, [])
