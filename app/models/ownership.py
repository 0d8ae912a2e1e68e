"""Who owns what: declared once, per table and where needed per field.

* ``AGENCY``: made and changed at the agency (readings, payments, quotes, interventions, letters,
  premises, accounts and customers created locally…); central takes them as they come.
* ``CENTRAL``: computed or managed by central (consumption invoices, tariffs, catalogue,
  balances, users, reference data); read-only on the desks.
* ``SHARED``: both may change them (customer master data, intervention status); concurrent
  changes are merged field by field or queued for a supervisor.
"""

from __future__ import annotations

from enum import StrEnum


class Owner(StrEnum):
    AGENCY = "agency"
    CENTRAL = "central"
    SHARED = "shared"


TABLE_OWNER: dict[str, Owner] = {
    "agency": Owner.CENTRAL,
    "commune": Owner.CENTRAL,
    "street": Owner.CENTRAL,
    "tariff": Owner.CENTRAL,
    "tariff_band": Owner.CENTRAL,
    "works_catalogue_item": Owner.CENTRAL,
    "app_user": Owner.CENTRAL,
    "letter_template": Owner.CENTRAL,
    "customer": Owner.SHARED,
    "account": Owner.AGENCY,
    "premise": Owner.AGENCY,
    "service_connection": Owner.AGENCY,
    "meter": Owner.AGENCY,
    "contract": Owner.AGENCY,
    "meter_reading": Owner.AGENCY,
    "invoice": Owner.CENTRAL,
    "invoice_line": Owner.CENTRAL,
    "payment": Owner.AGENCY,
    "works_quote": Owner.AGENCY,
    "works_quote_line": Owner.AGENCY,
    "technician": Owner.AGENCY,
    "intervention_request": Owner.AGENCY,
    "letter": Owner.AGENCY,
    "document": Owner.AGENCY,
    "vend_transaction": Owner.CENTRAL,
    "sync_conflict": Owner.SHARED,
    "sync_parked": Owner.SHARED,
}

FIELD_OWNER: dict[tuple[str, str], Owner] = {
    ("account", "balance_minor"): Owner.CENTRAL,
    ("account", "balance_as_of"): Owner.CENTRAL,
    ("contract", "billed_until"): Owner.CENTRAL,
    ("meter_reading", "consumption"): Owner.CENTRAL,
    ("intervention_request", "status"): Owner.SHARED,
    ("intervention_request", "done_at"): Owner.SHARED,
    ("intervention_request", "outcome"): Owner.SHARED,
    ("vend_transaction", "sms_status"): Owner.SHARED,
    ("vend_transaction", "reprint_count"): Owner.SHARED,
}

#: Bookkeeping and identity: never changed by hand, never restored.
SYSTEM_FIELDS = frozenset({"id", "version", "created_at", "updated_at", "agency_id"})


def owner_of(table: str, field: str | None = None) -> Owner:
    if field is not None and (table, field) in FIELD_OWNER:
        return FIELD_OWNER[(table, field)]
    return TABLE_OWNER[table]


def agency_may_change(table: str, field: str) -> bool:
    return field not in SYSTEM_FIELDS and owner_of(table, field) is not Owner.CENTRAL
