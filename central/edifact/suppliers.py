"""Suppliers and their sites: central's reference data for EDIFACT invoices."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, select

from app.models import Agency
from app.models.database import Database
from central.models import EdifactSite, EdifactSupplier
from kernel.errors import BusinessError, NotFoundError


@dataclass(frozen=True)
class Added:
    added: int
    already: int


def _check_code(code: str, what: str) -> str:
    code = code.strip()
    if not code or len(code) > 35:
        raise BusinessError(f"{what} « {code} » : 1 à 35 caractères attendus.")
    return code


def _add_supplier(connection: Connection, code: str, name: str) -> bool:
    code = _check_code(code, "Identifiant fournisseur")
    name = name.strip()
    if not name:
        raise BusinessError(f"Le fournisseur {code} doit avoir un nom.")
    found = connection.execute(select(EdifactSupplier.name)
                               .where(EdifactSupplier.code == code)).scalar_one_or_none()
    if found is not None:
        if found != name:
            raise BusinessError(f"Le fournisseur {code} existe déjà sous le nom « {found} ».")
        return False
    connection.execute(EdifactSupplier.__table__.insert().values(  # type: ignore[attr-defined]
        code=code, name=name[:120]))
    return True


def _add_site(connection: Connection, supplier: str, reference: str, agency_code: str) -> bool:
    supplier = _check_code(supplier, "Identifiant fournisseur")
    reference = _check_code(reference, "Référence de site")
    if connection.execute(select(EdifactSupplier.code)
                          .where(EdifactSupplier.code == supplier)).first() is None:
        raise NotFoundError(f"Fournisseur {supplier} inconnu : ajoutez-le d'abord "
                            "(edifact supplier add).")
    agency = connection.execute(select(Agency.id).where(Agency.code == agency_code)
                                ).scalar_one_or_none()
    if agency is None:
        raise NotFoundError(f"Agence {agency_code} inconnue.")
    found = connection.execute(
        select(EdifactSite.agency_code).where(EdifactSite.supplier_code == supplier,
                                              EdifactSite.reference == reference)
    ).scalar_one_or_none()
    if found is not None:
        if found != agency_code:
            raise BusinessError(f"Le site {reference} du fournisseur {supplier} appartient déjà "
                                f"à l'agence {found}.")
        return False
    connection.execute(EdifactSite.__table__.insert().values(  # type: ignore[attr-defined]
        supplier_code=supplier, reference=reference, agency_id=agency,
        agency_code=agency_code))
    return True


def add_supplier(db: Database, code: str, name: str) -> bool:
    """True when added, False when it already was (same name)."""
    with db.engine.begin() as connection:
        return _add_supplier(connection, code, name)


def add_site(db: Database, supplier: str, reference: str, agency_code: str) -> bool:
    with db.engine.begin() as connection:
        return _add_site(connection, supplier, reference, agency_code)


def _rows(path: Path, width: int) -> list[tuple[int, list[str]]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            sample = handle.read(4096)
            handle.seek(0)
            delimiter = ";" if sample.count(";") > sample.count(",") else ","
            rows = [(n, [c.strip() for c in row])
                    for n, row in enumerate(csv.reader(handle, delimiter=delimiter), start=1)
                    if any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError) as error:
        raise BusinessError(f"Fichier {path} illisible : {error}") from error
    if rows and not rows[0][1][0].strip()[:1].isdigit() and rows[0][1][0].lower() in (
            "supplier", "fournisseur", "code"):
        rows = rows[1:]
    for number, row in rows:
        if len(row) != width:
            raise BusinessError(f"{path.name}, ligne {number} : {width} colonnes attendues, "
                                f"{len(row)} trouvée(s).")
    return rows


def import_suppliers(db: Database, path: Path) -> Added:
    """``code;name`` per line (all or nothing)."""
    return _bulk(db, path, 2, _add_supplier)


def import_sites(db: Database, path: Path) -> Added:
    """``supplier;site;agency_code`` per line (all or nothing)."""
    return _bulk(db, path, 3, _add_site)


def _bulk(db: Database, path: Path, width: int, add: object) -> Added:
    rows = _rows(path, width)
    added = 0
    with db.engine.begin() as connection:
        for number, row in rows:
            try:
                added += bool(add(connection, *row))  # type: ignore[operator]
            except BusinessError as error:
                raise type(error)(f"{path.name}, ligne {number} : {error.message}") from error
    return Added(added, len(rows) - added)
