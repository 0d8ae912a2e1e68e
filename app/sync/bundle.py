"""Where the line is down: the same batches carried in a file (``export-bundle``), and central's
reply (answers and changes) applied from a file (``import-bundle``), every payload checked by its
SHA-256 at both ends. Formats in docs/sync.md."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from app.models.database import Database
from app.services.context import Installation
from app.services.errors import BusinessError
from app.sync import outbox, state, wire
from app.sync.download import apply_page

DESK_KIND = "guichet-desk-bundle"
REPLY_KIND = "guichet-central-reply"


class BadBundle(BusinessError):
    pass


def export_bundle(db: Database, installation: Installation, path: str | Path) -> str:
    with db.session() as session:
        last = int(state.get(session, state.LAST_ACKED, "0") or 0)
        outbox.seal(session, installation.agency_code, last)
        session.commit()
        batches = outbox.unacknowledged(session, last)
        listed: list[dict[str, object]] = []
        manifest = {"kind": DESK_KIND, "agency": installation.agency_code,
                    "generation": state.get(session, state.GENERATION),
                    "cursor": state.cursor(session), "anchor": state.get(session, state.ANCHOR),
                    "batches": listed}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for batch in batches:
            name = f"batches/{batch.number:06d}.json.gz"
            archive.writestr(name, batch.body)
            listed.append({"number": batch.number, "sha256": batch.sha256,
                                        "rows": batch.rows, "file": name})
        archive.writestr("manifest.json", json.dumps(manifest, indent=1))
    rows = sum(b.rows for b in batches)
    return f"{len(batches)} lot(s), {rows} ligne(s) écrits dans {path}."


def import_bundle(db: Database, installation: Installation, path: str | Path) -> str:
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise BadBundle(f"Fichier de réponse illisible : {error}") from error
    with archive:
        try:
            manifest = json.loads(archive.read("manifest.json"))
        except (KeyError, ValueError) as error:
            raise BadBundle("Fichier de réponse sans manifeste valide.") from error
        if manifest.get("kind") != REPLY_KIND or manifest.get("agency") != installation.agency_code:
            raise BadBundle("Ce fichier n'est pas une réponse du site central pour cette agence.")
        pages = []
        for item in manifest.get("pages", []):
            try:
                pages.append(wire.unpack(archive.read(item["file"]), item["sha256"]))
            except (KeyError, ValueError) as error:
                raise BadBundle(f"Page {item.get('file')} refusée : {error}") from error
    applied = 0
    with db.session() as session:
        last = int(manifest.get("last_batch", 0))
        outbox.acknowledge(session, last)
        state.put(session, state.LAST_ACKED, str(last))
        if manifest.get("generation"):
            state.put(session, state.GENERATION, str(manifest["generation"]))
        session.commit()
    for page in pages:
        with db.session() as session:
            if page["commits"] and int(page["commits"][-1]["no"]) <= state.cursor(session):
                continue
            applied += apply_page(session, page).applied
            session.commit()
    return (f"Réponse du site central appliquée : lots reçus jusqu'au n° {last}, "
            f"{applied} ligne(s) reçue(s).")
