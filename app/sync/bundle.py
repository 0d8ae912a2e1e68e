"""Where the line is down: the same batches carried in a file (``export-bundle``), and central's
reply (answers and changes) applied from a file (``import-bundle``), every payload checked by its
SHA-256 at both ends, the whole signed with a key made from the agency's credential
(``kernel.signature``): central applies nothing of a bundle it cannot verify, and the desk
applies nothing of a reply that central did not sign. Members are read within a size limit.
Formats in docs/sync.md."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

from app.models.database import Database
from app.private_files import create_private
from app.sync import outbox, state
from app.sync.download import apply_page
from kernel import signature, wire
from kernel.context import Installation
from kernel.errors import BusinessError

DESK_KIND = "guichet-desk-bundle"
REPLY_KIND = "guichet-central-reply"
MANIFEST = "manifest.json"
#: Default limit of one member of a reply, as stored and once inflated.
MAX_MEMBER_BYTES = 256 << 20


class BadBundle(BusinessError):
    pass


def export_bundle(db: Database, installation: Installation, path: str | Path,
                  credential: str) -> str:
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
    signing_key = signature.key(signature.credential_digest(credential), signature.DESK)
    target = Path(path)
    partial = target.with_name(target.name + ".partiel")
    with os.fdopen(create_private(partial), "wb") as handle, \
            zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
        writer = signature.Writer(archive)
        for batch in batches:
            name = f"batches/{batch.number:06d}.json.gz"
            writer.add(name, batch.body)
            listed.append({"number": batch.number, "sha256": batch.sha256,
                                        "rows": batch.rows, "file": name})
        writer.add(MANIFEST, json.dumps(manifest, indent=1).encode())
        writer.sign([signing_key])
    partial.replace(target)
    rows = sum(b.rows for b in batches)
    return f"{len(batches)} lot(s), {rows} ligne(s) écrits dans {path}."


def import_bundle(db: Database, installation: Installation, path: str | Path,
                  credential: str, max_member_bytes: int = MAX_MEMBER_BYTES) -> str:
    """Applies central's reply once its signature (made for this agency's credential) is
    verified; nothing is applied from a reply that is not."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise BadBundle(f"Fichier de réponse illisible : {error}") from error
    signing_key = signature.key(signature.credential_digest(credential), signature.CENTRAL)
    with archive:
        try:
            digests = signature.verify(archive, [signing_key])
            manifest = json.loads(signature.read_signed(archive, MANIFEST, digests, 8 << 20))
        except signature.BadSignature as error:
            raise BadBundle(f"Réponse refusée : {error}. Rien n'a été appliqué.") from error
        except (ValueError, RecursionError) as error:
            raise BadBundle("Fichier de réponse sans manifeste valide.") from error
        if not isinstance(manifest, dict) or manifest.get("kind") != REPLY_KIND \
                or manifest.get("agency") != installation.agency_code:
            raise BadBundle("Ce fichier n'est pas une réponse du site central pour cette agence.")
        items = manifest.get("pages") or []

        def page(item: dict[str, object]) -> dict[str, object]:
            try:
                body = signature.read_signed(archive, str(item["file"]), digests,
                                             max_member_bytes)
                found = wire.unpack(body, str(item["sha256"]), max_member_bytes)
            except (KeyError, TypeError, ValueError) as error:
                raise BadBundle(f"Page {item.get('file')} refusée : {error}. Rien n'a été "
                                "appliqué.") from error
            if not isinstance(found, dict) or not isinstance(found.get("commits"), list):
                raise BadBundle(f"Page {item.get('file')} refusée : contenu inattendu.")
            return found

        for item in items:  # every page checked before the first is applied
            page(item)
        applied = 0
        with db.session() as session:
            last = int(manifest.get("last_batch", 0))
            outbox.acknowledge(session, last)
            state.put(session, state.LAST_ACKED, str(last))
            if manifest.get("generation"):
                state.put(session, state.GENERATION, str(manifest["generation"]))
            session.commit()
        for item in items:
            content = page(item)
            commits: list[dict[str, object]] = content["commits"]  # type: ignore[assignment]
            with db.session() as session:
                if commits and int(str(commits[-1]["no"])) <= state.cursor(session):
                    continue
                applied += apply_page(session, content).applied
                session.commit()
    return (f"Réponse du site central appliquée : lots reçus jusqu'au n° {last}, "
            f"{applied} ligne(s) reçue(s).")
