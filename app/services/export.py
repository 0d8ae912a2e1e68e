"""Exporting the current list of search results as CSV, the way French spreadsheets open it
(semicolons, UTF-8 with a byte order mark)."""

from __future__ import annotations

import csv
from pathlib import Path

from app.services.search import MAX_RESULTS, search_customers
from kernel.context import ServiceContext
from kernel.errors import BusinessError

HEADER = ("Client", "Comptes", "Téléphone", "Adresse", "Trouvé par", "Valeur trouvée")


def export_search_csv(ctx: ServiceContext, query: str, path: Path) -> int:
    """Write every result of ``query`` (at most ``MAX_RESULTS``) to ``path``; returns the count."""
    hits = search_customers(ctx, query, 0, MAX_RESULTS).hits
    try:
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, delimiter=";")
            writer.writerow(HEADER)
            for hit in hits:
                writer.writerow(
                    (
                        hit.name,
                        hit.accounts,
                        hit.phone,
                        hit.address,
                        hit.matched_field,
                        hit.matched_value,
                    )
                )
    except OSError as error:
        raise BusinessError(f"Impossible d'écrire le fichier {path} : {error.strerror}") from error
    return len(hits)
