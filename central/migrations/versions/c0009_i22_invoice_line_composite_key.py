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
#: A line stored before that the new key would refuse (no agency, or not its invoice's): none
#: is written by the code, but such a line was allowed by the two keys. When one is there the key
#: holds for every line written from now on and the old ones are left as they are (``NOT VALID``).
_BREAKING = (
    "SELECT 1 FROM invoice_line AS l WHERE l.agency_id IS NULL OR NOT EXISTS "
    "(SELECT 1 FROM invoice AS i WHERE i.id = l.invoice_id AND i.agency_id = l.agency_id) LIMIT 1"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_unique_constraint(UNIQUE, "invoice", ["agency_id", "id"])
    op.drop_index(AGENCY_INDEX, table_name="invoice")
    op.execute(
        f"ALTER TABLE invoice_line ADD CONSTRAINT {COMPOSITE} FOREIGN KEY (invoice_id, agency_id) "
        "REFERENCES invoice (id, agency_id) MATCH FULL NOT VALID"
    )
    if op.get_bind().execute(sa.text(_BREAKING)).first() is None:
        op.execute(f"ALTER TABLE invoice_line VALIDATE CONSTRAINT {COMPOSITE}")
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
