"""Signatures of the bundles carried by hand (docs/sync.md, "Bundles").

A bundle is a zip of ``manifest.json`` and gzip members. Its ``signature.json`` is an
HMAC-SHA256 over the SHA-256 of every other member (name and digest, in name order), keyed by
the agency's credential: the desk signs its bundle with it, central checks it against the
credentials of the agency the manifest names *before* it applies anything, then signs its reply
with a key of the same credential for the other direction (a desk's signature cannot be passed
off as central's). Central stores only the SHA-256 of a credential; the keys are made from that
digest, so both sides can make them and nobody learns the credential from a bundle.

Reading a member is bounded: it is inflated a megabyte at a time and refused as soon as it
passes the limit, so a small zip cannot fill the memory.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import zipfile
from collections.abc import Iterable

SIGNATURE = "signature.json"
ALGORITHM = "HMAC-SHA256"
DESK = b"guichet-desk-bundle/1"
CENTRAL = b"guichet-central-reply/1"
_READ = 1 << 20


class BadSignature(ValueError):
    """A bundle without a valid signature, or a member that is too large or unreadable."""


def credential_digest(credential: str) -> str:
    """What central keeps of a credential (``central.credentials.hash_secret``)."""
    return hashlib.sha256(credential.strip().encode("utf-8")).hexdigest()


def key(digest: str, purpose: bytes) -> bytes:
    """The signing key of one direction, from a credential's SHA-256 (hex)."""
    return hmac.new(digest.encode("ascii"), purpose, hashlib.sha256).digest()


def read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """A member's bytes, refused (``BadSignature``) once they pass ``limit``."""
    try:
        info = archive.getinfo(name)
    except KeyError as error:
        raise BadSignature(f"élément {name} absent") from error
    if info.file_size > limit:
        raise BadSignature(f"élément {name} trop volumineux ({info.file_size} octets, "
                           f"limite {limit})")
    out = bytearray()
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_READ):
                out += chunk
                if len(out) > limit:
                    raise BadSignature(f"élément {name} trop volumineux (au-delà de {limit} "
                                       "octets)")
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as error:
        raise BadSignature(f"élément {name} illisible ({error})") from error
    return bytes(out)


def _mac(signing_key: bytes, digests: dict[str, str]) -> str:
    message = json.dumps(sorted(digests.items()), separators=(",", ":")).encode()
    return hmac.new(signing_key, message, hashlib.sha256).hexdigest()


def sign(archive: zipfile.ZipFile, keys: Iterable[bytes], digests: dict[str, str]) -> None:
    """Writes ``signature.json`` over ``digests`` (the SHA-256 of every other member of the
    archive, which the caller wrote), one MAC per key (an agency may have several
    credentials in service: the reply is checkable with any of them)."""
    macs = [_mac(k, digests) for k in keys]
    if not macs:
        raise BadSignature("aucune clé pour signer le paquet")
    archive.writestr(SIGNATURE, json.dumps(
        {"algorithm": ALGORITHM, "members": digests, "macs": macs}, indent=1, sort_keys=True))


class Writer:
    """Writes members into a zip and keeps their digests for ``sign``."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.digests: dict[str, str] = {}

    def add(self, name: str, data: bytes) -> None:
        self.archive.writestr(name, data)
        self.digests[name] = hashlib.sha256(data).hexdigest()

    def sign(self, keys: Iterable[bytes]) -> None:
        sign(self.archive, keys, self.digests)


def verify(archive: zipfile.ZipFile, keys: Iterable[bytes]) -> dict[str, str]:
    """The signed digest of every member but the signature, once the signature is found to be
    made with one of ``keys`` over exactly the archive's members; ``BadSignature`` otherwise.
    Members are then read one at a time with ``read_signed`` (nothing is applied before)."""
    try:
        signature = json.loads(read_member(archive, SIGNATURE, 1 << 20))
        listed = signature["members"]
        macs = [str(m) for m in signature["macs"]]
        if signature.get("algorithm") != ALGORITHM or not isinstance(listed, dict):
            raise ValueError(signature.get("algorithm"))
        digests = {str(name): str(digest) for name, digest in listed.items()}
    except BadSignature as error:
        raise BadSignature(f"paquet non signé ({error})") from error
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise BadSignature("signature illisible") from error
    names = [info.filename for info in archive.infolist() if info.filename != SIGNATURE]
    if len(names) != len(set(names)) or set(names) != set(digests):
        raise BadSignature("le paquet ne contient pas exactement les éléments signés")
    expected = [_mac(k, digests) for k in keys]
    if not any(hmac.compare_digest(e, m) for e in expected for m in macs):
        raise BadSignature("signature invalide : paquet falsifié ou signé avec un autre "
                           "identifiant")
    return digests


def read_signed(archive: zipfile.ZipFile, name: str, digests: dict[str, str],
                limit: int) -> bytes:
    """A member listed in a verified signature, checked against its signed digest."""
    if name not in digests:
        raise BadSignature(f"élément {name} non signé")
    data = read_member(archive, name, limit)
    if not hmac.compare_digest(hashlib.sha256(data).hexdigest(), digests[name]):
        raise BadSignature(f"élément {name} modifié après signature")
    return data
