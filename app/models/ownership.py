"""Who owns what: declared once, per table, per field and per foreign key. Central applies
every write that comes from a desk against these declarations (docs/sync.md, "Central trusts
no desk"); a table that does not declare them all does not synchronise (``undeclared``).

* ``AGENCY``: made and changed at the agency (readings, payments, quotes, interventions, letters,
  premises, accounts and customers created locally…); central takes them as they come.
* ``CENTRAL``: computed or managed by central (consumption invoices, tariffs, catalogue,
  balances, users, reference data, the conflict and parking queues); read-only on the desks.
* ``SHARED``: both may change them (customer master data, intervention status, a supervisor's
  answer in the queues); concurrent changes are merged field by field or queued for a
  supervisor.

Rows: a row belongs to the agency in its ``agency_id``; a row without one is shared by every
agency (reference data, head-office users, the agencies themselves) and is never written by an
agency, adoption included.

Foreign keys: every column that points at a synchronised row says what it may point at
(``Target``): only the writing agency's own rows, or shared reference data (or the agency's own).
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Table


class Owner(StrEnum):
    AGENCY = "agency"
    CENTRAL = "central"
    SHARED = "shared"


class Target(StrEnum):
    """What a foreign key of a row an agency writes may point at."""

    #: A row of the writing agency.
    AGENCY = "agency"
    #: Shared reference data (no agency), or a row of the writing agency.
    REFERENCE = "reference"


TABLE_OWNER: dict[str, Owner] = {
    "agency": Owner.CENTRAL,
    "commune": Owner.CENTRAL,
    "street": Owner.CENTRAL,
    "tariff": Owner.CENTRAL,
    "tariff_band": Owner.CENTRAL,
    "works_catalogue_item": Owner.CENTRAL,
    "app_user": Owner.CENTRAL,
    # Central's shipped templates have no agency (shared reference data: never written by an
    # agency); an agency's own templates are its rows, sent up and kept from the other agencies.
    "letter_template": Owner.AGENCY,
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
    "technician_team": Owner.AGENCY,
    "technician_absence": Owner.AGENCY,
    "intervention_request": Owner.AGENCY,
    "intervention_event": Owner.AGENCY,
    "intervention_line": Owner.AGENCY,
    "intervention_attachment": Owner.AGENCY,
    "intervention_deadline": Owner.CENTRAL,
    "working_hours": Owner.CENTRAL,
    "public_holiday": Owner.CENTRAL,
    "letter": Owner.AGENCY,
    "document": Owner.AGENCY,
    "vend_transaction": Owner.CENTRAL,
    # Supplier invoices integrated from EDIFACT at central, read-only at the site's agency.
    "supplier_invoice": Owner.CENTRAL,
    "supplier_invoice_line": Owner.CENTRAL,
    "sync_conflict": Owner.CENTRAL,
    "sync_parked": Owner.CENTRAL,
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
    # A supervisor's answer to a conflict central opened (the rest of the row is central's).
    ("sync_conflict", "status"): Owner.SHARED,
    ("sync_conflict", "choice"): Owner.SHARED,
    ("sync_conflict", "chosen_value"): Owner.SHARED,
    ("sync_conflict", "resolved_by"): Owner.SHARED,
    ("sync_conflict", "resolved_at"): Owner.SHARED,
    ("sync_conflict", "note"): Owner.SHARED,
    # A supervisor's decision on an entry central parked: retry it or drop it.
    ("sync_parked", "status"): Owner.SHARED,
    ("sync_parked", "resolved_by"): Owner.SHARED,
    ("sync_parked", "resolved_at"): Owner.SHARED,
}

#: Central-owned fields central computes itself: an agency's value is never taken, not even
#: while adopting (the balance follows the invoices and payments central holds).
COMPUTED: frozenset[tuple[str, str]] = frozenset({
    ("account", "balance_minor"),
    ("account", "balance_as_of"),
})

#: Central's queues: rows opened by central only, answered by a supervisor; never adopted.
QUEUES = frozenset({"sync_conflict", "sync_parked"})

#: Every foreign key of a synchronised table (``agency_id`` aside: it is the row's agency).
FOREIGN_KEYS: dict[tuple[str, str], Target] = {
    ("street", "commune_id"): Target.REFERENCE,
    ("tariff_band", "tariff_id"): Target.REFERENCE,
    ("premise", "commune_id"): Target.REFERENCE,
    ("premise", "street_id"): Target.REFERENCE,
    ("premise", "owner_customer_id"): Target.AGENCY,
    ("account", "customer_id"): Target.AGENCY,
    ("account", "billing_premise_id"): Target.AGENCY,
    ("service_connection", "premise_id"): Target.AGENCY,
    ("letter", "template_id"): Target.REFERENCE,
    ("letter", "customer_id"): Target.AGENCY,
    ("letter", "account_id"): Target.AGENCY,
    ("letter", "document_id"): Target.AGENCY,
    ("meter", "connection_id"): Target.AGENCY,
    ("meter", "prepaid_tariff_id"): Target.REFERENCE,
    ("works_quote", "customer_id"): Target.AGENCY,
    ("works_quote", "account_id"): Target.AGENCY,
    ("works_quote", "premise_id"): Target.AGENCY,
    ("works_quote", "commune_id"): Target.REFERENCE,
    ("works_quote", "prospect_street_id"): Target.REFERENCE,
    ("works_quote", "tariff_id"): Target.REFERENCE,
    ("works_quote", "previous_quote_id"): Target.AGENCY,
    ("works_quote", "document_id"): Target.AGENCY,
    ("works_quote", "approval_document_id"): Target.AGENCY,
    ("intervention_request", "customer_id"): Target.AGENCY,
    ("intervention_request", "account_id"): Target.AGENCY,
    ("intervention_request", "premise_id"): Target.AGENCY,
    ("intervention_request", "meter_id"): Target.AGENCY,
    ("intervention_request", "technician_id"): Target.AGENCY,
    ("intervention_request", "commune_id"): Target.REFERENCE,
    ("intervention_request", "street_id"): Target.REFERENCE,
    ("intervention_request", "quote_id"): Target.AGENCY,
    ("intervention_request", "disputed_reading_id"): Target.AGENCY,
    ("intervention_request", "reading_id"): Target.AGENCY,
    ("intervention_request", "follows_id"): Target.AGENCY,
    ("intervention_event", "request_id"): Target.AGENCY,
    ("intervention_line", "request_id"): Target.AGENCY,
    ("intervention_line", "quote_line_id"): Target.AGENCY,
    ("intervention_line", "catalogue_item_id"): Target.REFERENCE,
    ("intervention_attachment", "request_id"): Target.AGENCY,
    ("intervention_attachment", "document_id"): Target.AGENCY,
    ("technician", "team_id"): Target.AGENCY,
    ("technician_absence", "technician_id"): Target.AGENCY,
    ("meter_reading", "meter_id"): Target.AGENCY,
    ("vend_transaction", "meter_id"): Target.AGENCY,
    ("vend_transaction", "account_id"): Target.AGENCY,
    ("vend_transaction", "tariff_id"): Target.REFERENCE,
    ("works_quote_line", "quote_id"): Target.AGENCY,
    ("works_quote_line", "catalogue_item_id"): Target.REFERENCE,
    ("contract", "account_id"): Target.AGENCY,
    ("contract", "connection_id"): Target.AGENCY,
    ("contract", "tariff_id"): Target.REFERENCE,
    ("contract", "move_in_reading_id"): Target.AGENCY,
    ("contract", "move_out_reading_id"): Target.AGENCY,
    ("invoice", "account_id"): Target.AGENCY,
    ("invoice", "contract_id"): Target.AGENCY,
    ("invoice", "works_quote_id"): Target.AGENCY,
    ("invoice", "credited_invoice_id"): Target.AGENCY,
    ("invoice_line", "invoice_id"): Target.AGENCY,
    ("payment", "account_id"): Target.AGENCY,
    ("payment", "invoice_id"): Target.AGENCY,
    ("payment", "receipt_document_id"): Target.AGENCY,
    ("payment", "cancellation_document_id"): Target.AGENCY,
    ("supplier_invoice_line", "supplier_invoice_id"): Target.AGENCY,
}

#: Bookkeeping and identity: never changed by hand, never restored.
SYSTEM_FIELDS = frozenset({"id", "version", "created_at", "updated_at", "agency_id"})


def owner_of(table: str, field: str | None = None) -> Owner:
    if field is not None and (table, field) in FIELD_OWNER:
        return FIELD_OWNER[(table, field)]
    return TABLE_OWNER[table]


def agency_may_change(table: str, field: str) -> bool:
    return field not in SYSTEM_FIELDS and owner_of(table, field) is not Owner.CENTRAL


def target_of(table: str, column: str) -> Target:
    """What ``column`` of ``table`` may point at (``KeyError`` when it is not declared)."""
    return FOREIGN_KEYS[(table, column)]


def undeclared(table: Table, synced: set[str]) -> list[str]:
    """What ``table`` fails to declare for synchronisation: its owner, an agency column, a
    target for each foreign key to a synchronised table; and declarations naming columns or
    keys it does not have. Empty when the table may synchronise."""
    problems = []
    name = table.name
    if name not in TABLE_OWNER:
        return [f"{name}: no owner in TABLE_OWNER"]
    if "agency_id" not in table.c:
        problems.append(f"{name}: no agency_id column (whose row is it?)")
    for column in table.columns:
        for key in column.foreign_keys:
            if column.name == "agency_id" or key.column.table.name not in synced:
                continue
            if (name, column.name) not in FOREIGN_KEYS:
                problems.append(f"{name}.{column.name}: foreign key without a declared target")
    for table_name, column_name in (*FIELD_OWNER, *FOREIGN_KEYS, *COMPUTED):
        if table_name == name and column_name not in table.c:
            problems.append(f"{name}.{column_name}: declared but not a column")
    for table_name, column_name in FOREIGN_KEYS:
        if table_name == name and column_name in table.c \
                and not table.c[column_name].foreign_keys:
            problems.append(f"{name}.{column_name}: declared as a foreign key but is none")
    return problems
