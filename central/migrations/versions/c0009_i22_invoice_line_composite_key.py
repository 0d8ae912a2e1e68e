"""An invoice line points at its invoice and that invoice's agency with one key (PostgreSQL)

A line had two foreign keys, one to its invoice and one to its agency: two checks per line,
about half of the cost of inserting it in a billing run (three lines an invoice), and the
agency one locks the same agency row from every line of every billing process. One composite
key ``(invoice_id, agency_id)`` → ``invoice (id, agency_id)`` (``MATCH FULL``: neither may be
empty) checks one row instead of two and says more: a line is in its invoice's agency. The
agency itself is still checked, through the invoice's own key to ``agency``. The invoice gets
the unique ``(agency_id, id)`` the key needs, which also serves what ``ix_invoice_agency_id``
served (an agency's invoices) and replaces it: an invoice costs no more index entries than
before. The desks keep their two keys and the index (their own schema, SQLite). PostgreSQL
only.

Revision ID: c0009
Revises: c0008
Create Date: 2026-12-06 08:30:00
"""

import contextlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c0009"
down_revision: str | None = "c0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNIQUE = "uq_invoice_agency_id_id"
AGENCY_INDEX = "ix_invoice_agency_id"
COMPOSITE = "fk_invoice_line_invoice_id_agency_id_invoice"
TO_INVOICE = "fk_invoice_line_invoice_id_invoice"
TO_AGENCY = "fk_invoice_line_agency_id_agency"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_unique_constraint(UNIQUE, "invoice", ["agency_id", "id"])
    op.drop_index(AGENCY_INDEX, table_name="invoice")
    op.execute(
        f"ALTER TABLE invoice_line ADD CONSTRAINT {COMPOSITE} FOREIGN KEY (invoice_id, agency_id) "
        "REFERENCES invoice (id, agency_id) MATCH FULL NOT VALID"
    )
    # A line stored before that the key refuses (no agency, or not its invoice's: no code writes
    # one, but the two keys allowed it) is left as it is: the key then holds for every line
    # written from now on (``NOT VALID``), and the migration does not fail on old rows.
    bind = op.get_bind()
    with contextlib.suppress(sa.exc.IntegrityError), bind.begin_nested():
        bind.execute(sa.text(f"ALTER TABLE invoice_line VALIDATE CONSTRAINT {COMPOSITE}"))
    op.drop_constraint(TO_INVOICE, "invoice_line", type_="foreignkey")
    op.drop_constraint(TO_AGENCY, "invoice_line", type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_foreign_key(TO_AGENCY, "invoice_line", "agency", ["agency_id"], ["id"])
    op.create_foreign_key(TO_INVOICE, "invoice_line", "invoice", ["invoice_id"], ["id"])
    op.drop_constraint(COMPOSITE, "invoice_line", type_="foreignkey")
    op.create_index(AGENCY_INDEX, "invoice", ["agency_id"])
    op.drop_constraint(UNIQUE, "invoice", type_="unique")
